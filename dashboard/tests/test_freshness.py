"""The freshness banner of the pages: read once in PALETTE_BANNER_SECONDS per process and viewer scope."""

import pytest
from django.utils import timezone

from dashboard import freshness
from dashboard.access import Scope
from dashboard.models import PaletteAccount, SyncRun, SyncScope

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The banner's clock, moved by the test; no banner kept from another test."""
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    return now


def failing(account: PaletteAccount, resource: str = "clusters") -> SyncScope:
    return SyncScope.objects.create(
        account=account, resource=resource, last_status=SyncRun.Status.FAILED, last_error="boom"
    )


def test_a_banner_is_read_once_in_its_seconds_then_again(
    account: PaletteAccount, clock: list[float], settings, django_assert_num_queries
) -> None:
    settings.PALETTE_BANNER_SECONDS = 5
    SyncScope.objects.create(account=account, resource="projects", last_status="ok", ok_started_at=timezone.now())
    with django_assert_num_queries(1):
        first = freshness.banner(freshness.CLUSTERS)
    assert first.problem_count == 0
    failing(account)
    clock[0] += 4.9
    with django_assert_num_queries(0):
        assert freshness.banner(freshness.CLUSTERS) is first  # within its seconds: as read
    clock[0] += 0.2
    with django_assert_num_queries(1):
        again = freshness.banner(freshness.CLUSTERS)  # past them: the failure shows
    assert again.problem_count == 1 and "boom" in again.problems[0].why


def test_each_viewer_scope_and_page_has_its_own_banner(
    account: PaletteAccount, clock: list[float], settings, django_assert_num_queries
) -> None:
    settings.PALETTE_BANNER_SECONDS = 5
    failing(account)
    other = PaletteAccount.objects.create(name="other", api_url="https://palette.example")
    assert freshness.banner(freshness.CLUSTERS).problem_count == 1
    with django_assert_num_queries(1):
        assert freshness.banner(freshness.CLUSTERS, rows=Scope(accounts=frozenset({other.pk}))).problem_count == 0
    with django_assert_num_queries(1):
        assert freshness.banner(freshness.EDGE_HOSTS).problem_count == 0  # another page's sources


def test_no_seconds_means_every_request_reads_it(
    account: PaletteAccount, clock: list[float], settings, django_assert_num_queries
) -> None:
    settings.PALETTE_BANNER_SECONDS = 0
    assert freshness.banner(freshness.CLUSTERS).problem_count == 0
    failing(account)
    with django_assert_num_queries(1):
        assert freshness.banner(freshness.CLUSTERS).problem_count == 1
