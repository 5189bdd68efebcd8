"""Freshness from the sync scopes, and the timeline's watermark and uniqueness."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from dashboard.freshness import CLUSTERS, freshness
from dashboard.models import PaletteAccount, Project, SyncScope, TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


def project(account: PaletteAccount, uid: str) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid=uid, name=uid, first_seen_at=now, last_seen_at=now)


def scope(account: PaletteAccount, resource: str, project: Project | None, **values: object) -> SyncScope:
    return SyncScope.objects.create(account=account, resource=resource, project=project, **values)


def test_it_dates_data_by_the_stalest_scope(account: PaletteAccount) -> None:
    now = timezone.now()
    a, b = project(account, "a"), project(account, "b")
    scope(account, "clusters", a, last_status="ok", ok_started_at=now - timedelta(minutes=2))
    scope(account, "clusters", b, last_status="partial", ok_started_at=now - timedelta(minutes=7), last_error="cut")

    fresh = freshness(CLUSTERS, now)
    assert fresh.as_of == now - timedelta(minutes=7)
    assert [(p.scope.project, p.why) for p in fresh.problems] == [(b, "the last listing ended early: cut")]
    assert freshness(("edgehosts",), now).as_of is None


def test_it_calls_data_stale_after_twice_the_schedule(account: PaletteAccount, settings) -> None:
    settings.PALETTE_SYNC_INTERVAL = 300
    now = timezone.now()
    scope(account, "clusters", project(account, "a"), last_status="ok", ok_started_at=now - timedelta(minutes=9))
    scope(account, "clusters", project(account, "b"), last_status="ok", ok_started_at=now - timedelta(minutes=11))
    problems = freshness(CLUSTERS, now).problems
    assert len(problems) == 1 and problems[0].scope.project.uid == "b" and "older than 0:10:00" in problems[0].why


def test_it_forgets_the_freshness_of_removed_projects(account: PaletteAccount) -> None:
    now = timezone.now()
    a, gone = project(account, "a"), project(account, "gone")
    scope(account, "clusters", a, last_status="ok", ok_started_at=now)
    scope(account, "clusters", gone, last_status="failed", ok_started_at=now - timedelta(days=3))
    Project.objects.filter(pk=gone.pk).update(removed_at=now)

    assert freshness(CLUSTERS, now).as_of == now
    assert freshness(CLUSTERS, now).problems == []


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
