"""Retention rules, each on rows either side of its horizon, in batches smaller than the rows to delete."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from dashboard.models import (
    Cluster,
    HealthSample,
    PaletteAccount,
    ProfileUse,
    Project,
    SyncRun,
    SyncScope,
    TimelineEntry,
)
from palette_sync.throttle import redis_for
from retention import purge
from retention.tasks import purge_old_rows

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _small_batches(settings: object) -> None:
    settings.RETENTION_BATCH = 3  # several batches per rule
    settings.RETENTION_TIMELINE_DAYS = 400
    settings.RETENTION_SYNC_RUN_DAYS = 30
    settings.RETENTION_REMOVED_DAYS = 90
    settings.RETENTION_ALERT_DAYS = 90
    settings.RETENTION_PAUSE = 0


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example.com")


def entry(account: PaletteAccount, n: int, age: timedelta, project: Project | None = None) -> TimelineEntry:
    return TimelineEntry.objects.create(
        account=account, kind="audit", source_id=f"a{n}", occurred_at=timezone.now() - age, project=project
    )


def project(account: PaletteAccount, name: str, removed_ago: timedelta | None = None) -> Project:
    now = timezone.now()
    removed = now - removed_ago if removed_ago else None
    return Project.objects.create(
        account=account, uid=name, name=name, first_seen_at=now - 999 * DAY, last_seen_at=now, removed_at=removed
    )


def test_it_deletes_the_timeline_past_its_horizon(account: PaletteAccount) -> None:
    old = [entry(account, n, (401 + n) * DAY) for n in range(8)]
    kept = [entry(account, 100 + n, (399 - n) * DAY) for n in range(3)]

    assert purge.purge()["timeline"] == 8

    assert set(TimelineEntry.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert not TimelineEntry.objects.filter(pk__in=[e.pk for e in old]).exists()


def test_it_deletes_old_health_samples_with_the_timeline() -> None:
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    HealthSample.objects.create(hour=hour - 401 * DAY)
    HealthSample.objects.create(hour=hour - 2 * DAY)

    purge.purge()

    assert list(HealthSample.objects.values_list("hour", flat=True)) == [hour - 2 * DAY]


def test_it_keeps_the_last_run_of_each_scope(account: PaletteAccount) -> None:
    shop = project(account, "retail")
    now = timezone.now()

    def run(resource: str, age: timedelta, status: str = "ok", proj: Project | None = None) -> SyncRun:
        return SyncRun.objects.create(
            account=account, resource=resource, project=proj, status=status, started_at=now - age
        )

    # a scope that stopped syncing 60 days ago: its last run is old, and stays
    old_runs = [run("audits", (60 + d) * DAY) for d in range(5)]
    SyncScope.objects.create(account=account, resource="audits", last_run=old_runs[0], last_status="ok")
    # a scope synced yesterday: its old runs go, its recent ones stay
    gone = [run("clusters", (31 + d) * DAY, proj=shop) for d in range(4)]
    recent = run("clusters", DAY, proj=shop)
    SyncScope.objects.create(account=account, resource="clusters", project=shop, last_run=recent, last_status="ok")
    stuck = run("events", 40 * DAY, status="running", proj=shop)  # a run still open is not history yet

    assert purge.purge()["sync runs"] == 4 + 4

    assert set(SyncRun.objects.values_list("pk", flat=True)) == {old_runs[0].pk, recent.pk, stuck.pk}
    assert not SyncRun.objects.filter(pk__in=[r.pk for r in gone]).exists()
    assert dict(SyncScope.objects.values_list("resource", "last_run")) == {
        "audits": old_runs[0].pk,
        "clusters": recent.pk,
    }


def test_it_deletes_rows_removed_from_palette_long_ago(account: PaletteAccount) -> None:
    now = timezone.now()

    def cluster(name: str, removed_ago: timedelta | None) -> Cluster:
        return Cluster.objects.create(
            account=account,
            uid=name,
            name=name,
            first_seen_at=now - 999 * DAY,
            last_seen_at=now,
            removed_at=now - removed_ago if removed_ago else None,
        )

    long_gone = [cluster(f"gone-{n}", (91 + n) * DAY) for n in range(4)]
    ProfileUse.objects.create(account=account, cluster=long_gone[0], profile_uid="p1")
    recently_gone = cluster("recent", 89 * DAY)
    live = cluster("live", None)

    assert purge.purge()["removed clusters"] == 4

    assert set(Cluster.objects.values_list("pk", flat=True)) == {recently_gone.pk, live.pk}
    assert not ProfileUse.objects.exists()


def test_it_keeps_a_removed_project_while_the_timeline_names_it(account: PaletteAccount) -> None:
    named = project(account, "named", removed_ago=100 * DAY)
    entry(account, 1, 120 * DAY, project=named)
    unnamed = project(account, "unnamed", removed_ago=100 * DAY)
    recent = project(account, "recent", removed_ago=10 * DAY)

    assert purge.purge()["removed projects"] == 1

    assert set(Project.objects.values_list("pk", flat=True)) == {named.pk, recent.pk}
    assert not Project.objects.filter(pk=unnamed.pk).exists()
    assert TimelineEntry.objects.get().project_id == named.pk


def test_it_deletes_alerts_closed_long_ago(account: PaletteAccount) -> None:
    now = timezone.now()

    def alert(key: str, state: str, resolved_ago: timedelta | None) -> Alert:
        resolved = now - resolved_ago if resolved_ago else None
        return Alert.objects.create(
            kind="cluster_unhealthy",
            key=key,
            subject=key,
            since=now - 200 * DAY,
            opened_at=now - 200 * DAY,
            notify_after=now - 200 * DAY,
            state=state,
            resolved_at=resolved,
        )

    alert("old-closed", Alert.State.CLOSED, 91 * DAY)
    owing = alert("old-owing", Alert.State.RESOLVING, 91 * DAY)  # its resolved message never went: kept
    still_open = alert("open", Alert.State.NOTIFIED, None)

    assert purge.purge()["closed alerts"] == 1

    assert set(Alert.objects.values_list("pk", flat=True)) == {owing.pk, still_open.pk}


def test_it_keeps_forever_what_is_set_to_zero_days(account: PaletteAccount, settings: object) -> None:
    settings.RETENTION_TIMELINE_DAYS = 0
    entry(account, 1, 4000 * DAY)

    assert "timeline" not in purge.purge()
    assert TimelineEntry.objects.count() == 1


def test_it_stops_when_its_time_is_up(account: PaletteAccount) -> None:
    for n in range(5):
        entry(account, n, 500 * DAY)

    assert purge.purge(max_seconds=0) == {rule.name: 0 for rule in purge.RULES}
    assert TimelineEntry.objects.count() == 5


def test_it_runs_one_pass_at_a_time(account: PaletteAccount, settings: object) -> None:
    entry(account, 1, 500 * DAY)
    lock = redis_for(settings.REDIS_URL).lock("palette:retention", timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert purge_old_rows() == "skipped: another pass is running"
        assert TimelineEntry.objects.count() == 1
    finally:
        lock.release()

    assert purge_old_rows()["timeline"] == 1
    assert not TimelineEntry.objects.exists()
