"""How stored values and ages read on a page (dashboard/labels.py)."""

import random
from datetime import timedelta

from django.utils import timezone
from django.utils.timesince import timesince

from dashboard import labels


def test_an_age_reads_as_djangos_timesince_says_its_largest_unit() -> None:
    """The short ages worked out directly read exactly as timesince(depth=1) does, at every unit's
    edges and at random spans up to two months (past four weeks timesince answers itself)."""
    now = timezone.now()
    edges = [60, 61, 119, 120, 3599, 3600, 7199, 86399, 86400, 172800, 604799, 604800, 1209600]
    edges += [28 * 86400 - 1, 28 * 86400, 31 * 86400, 45 * 86400]
    spans = edges + [random.Random(7).randrange(60, 60 * 86400) for _ in range(2000)]
    for seconds in spans:
        moment = now - timedelta(seconds=seconds)
        # Both sides read the clock: compare with the span the function saw, give or take a second.
        expected = {timesince(moment, depth=1), timesince(moment - timedelta(seconds=1), depth=1)}
        assert labels.age(moment) in expected, seconds


def test_an_age_under_a_minute_or_unknown() -> None:
    assert labels.age(timezone.now() - timedelta(seconds=20)) == "under a minute"
    assert labels.age(None) == ""
    assert labels.age(timezone.now() - timedelta(hours=1, minutes=5)) == "1\xa0hour"
    assert labels.age(timezone.now() - timedelta(days=3, hours=5)) == "3\xa0days"
