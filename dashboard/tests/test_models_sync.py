"""SyncRun freshness and the timeline's watermark and uniqueness."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from dashboard.models import PaletteAccount, Project, SyncRun, TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


def project(account: PaletteAccount, uid: str) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid=uid, name=uid, first_seen_at=now, last_seen_at=now)


def test_it_dates_data_by_the_stalest_scope(account: PaletteAccount) -> None:
    now = timezone.now()
    a, b = project(account, "a"), project(account, "b")
    SyncRun.objects.create(
        account=account, resource="clusters", project=a, status="ok", started_at=now - timedelta(minutes=9)
    )
    stale = SyncRun.objects.create(
        account=account, resource="clusters", project=b, status="ok", started_at=now - timedelta(minutes=7)
    )
    SyncRun.objects.create(
        account=account, resource="clusters", project=a, status="ok", started_at=now - timedelta(minutes=2)
    )
    SyncRun.objects.create(account=account, resource="clusters", project=b, status="partial", started_at=now)

    assert SyncRun.data_as_of("clusters") == stale
    assert SyncRun.data_as_of("edgehosts") is None


def test_it_forgets_the_freshness_of_removed_projects(account: PaletteAccount) -> None:
    now = timezone.now()
    a, gone = project(account, "a"), project(account, "gone")
    fresh = SyncRun.objects.create(account=account, resource="clusters", project=a, status="ok", started_at=now)
    SyncRun.objects.create(
        account=account, resource="clusters", project=gone, status="ok", started_at=now - timedelta(days=3)
    )
    Project.objects.filter(pk=gone.pk).update(removed_at=now)

    assert SyncRun.data_as_of("clusters") == fresh


def test_it_keeps_one_timeline_row_per_source_id(account: PaletteAccount) -> None:
    now = timezone.now()
    TimelineEntry.objects.create(account=account, kind="audit", source_id="u1", occurred_at=now)
    TimelineEntry.objects.create(account=account, kind="event", source_id="u1", occurred_at=now)

    with pytest.raises(IntegrityError):
        TimelineEntry.objects.create(account=account, kind="audit", source_id="u1", occurred_at=now)


def test_it_resumes_from_the_newest_entry_of_the_scope(account: PaletteAccount) -> None:
    now = timezone.now()
    a, b = project(account, "a"), project(account, "b")
    TimelineEntry.objects.create(account=account, kind="event", source_id="1", occurred_at=now, project=a)
    TimelineEntry.objects.create(
        account=account, kind="event", source_id="2", occurred_at=now - timedelta(hours=1), project=b
    )

    assert TimelineEntry.watermark(account, "event", b) == now - timedelta(hours=1)
    assert TimelineEntry.watermark(account, "event") == now
    assert TimelineEntry.watermark(account, "audit") is None
