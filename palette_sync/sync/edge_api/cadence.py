"""The edge probe cadence: each host once per PALETTE_EDGE_INTERVAL, at its own offset in it."""

import hashlib
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings

RESOURCE = "edge_api"


def slot(uid: str) -> float:
    """Where in every interval a host is read: a stable fraction of it, from a hash of its uid."""
    return int.from_bytes(hashlib.blake2b(uid.encode(), digest_size=8).digest()) / 2**64


def next_due(uid: str, after: datetime, interval: float) -> datetime:
    """The host's next reading: at its own offset in the interval, at least half an interval after
    `after`, so a reading that came late or early (a first reading, catching up) puts it back on its
    offset and the fleet's readings stay evenly spread."""
    offset = slot(uid) * interval
    periods = math.ceil((after.timestamp() + interval / 2 - offset) / interval)
    return datetime.fromtimestamp(offset + periods * interval, tz=UTC)


def lease() -> timedelta:
    """How long a claimed host is left to its batch: past that (a worker died, a site worker is
    down and the batch expired in its queue) it is due again."""
    return timedelta(seconds=max(settings.PALETTE_EDGE_INTERVAL / 2, 4 * settings.PALETTE_EDGE_TICK))
