"""What the sync precomputes for the pages: which cluster runs which profile version (and whether it
is behind), counts per project, the hourly health sample, and the latest word on each scope."""

from collections import Counter
from collections.abc import Callable

import pytest
from django.db.models import Sum

from dashboard.models import (
    Cluster,
    ClusterProfile,
    EdgeHost,
    FleetCount,
    HealthSample,
    PaletteAccount,
    ProfileUse,
    SiteSummary,
    SyncRun,
    SyncScope,
)
from palette_sim import Fleet
from palette_sim.harness.faults import FaultConfig
from palette_sync import sync
from palette_sync.tests.test_sync_transitions import changed

pytestmark = pytest.mark.django_db


def counted(resource: str, dimension: str) -> dict[str, int]:
    rows = FleetCount.objects.filter(resource=resource, dimension=dimension, project__removed_at__isnull=True)
    return {v: n for v, n in rows.values_list("value").annotate(n=Sum("count")).order_by() if n}


def actual(model: type, field: str) -> dict[str, int]:
    return dict(Counter(model.objects.filter(removed_at__isnull=True).values_list(field, flat=True)))


def assert_rollups_match_rows() -> None:
    for field in ("state", "health", "cloud_type"):
        assert counted("clusters", field) == actual(Cluster, field), field
    for field in ("state", "health", "edge_api_state"):
        assert counted("edgehosts", field) == actual(EdgeHost, field), field
    sites = {
        (s.project_id, s.site): (s.hosts, s.unhealthy, s.unreadable)
        for s in SiteSummary.objects.filter(project__removed_at__isnull=True)
    }
    live = EdgeHost.objects.filter(removed_at__isnull=True)
    assert sites == {
        (project_id, site): (
            live.filter(project_id=project_id, site=site).count(),
            live.filter(project_id=project_id, site=site, health=EdgeHost.UNHEALTHY).count(),
            live.filter(project_id=project_id, site=site, edge_api_state__in=EdgeHost.API_PROBLEMS).count(),
        )
        for project_id, site in live.values_list("project_id", "site").distinct()
    }
    for use in ProfileUse.objects.select_related("cluster"):
        profile = ClusterProfile.objects.filter(uid=use.profile_uid, removed_at__isnull=True).first()
        if profile is None:
            assert use.behind is None
        else:
            assert (use.version, use.latest_version) == (profile.version, profile.latest_version or profile.version)
            assert use.behind == (profile.version != (profile.latest_version or profile.version))
    lagging = ProfileUse.objects.filter(behind=True, cluster__removed_at__isnull=True).values("cluster").distinct()
    assert sum(counted("clusters", "behind").values()) == lagging.count()


def test_it_records_which_cluster_runs_which_profile_version(
    account: PaletteAccount, live_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(live_fleet))
    for cluster in Cluster.objects.all():
        assert sorted(ProfileUse.objects.filter(cluster=cluster).values_list("profile_uid", flat=True)) == sorted(
            p["uid"] for p in cluster.profiles
        )
    assert ProfileUse.objects.filter(behind=True).exists() and ProfileUse.objects.filter(behind=False).exists()
    assert not ProfileUse.objects.filter(behind=None).exists()  # every profile the clusters run was synced
    assert_rollups_match_rows()


def test_its_counts_follow_the_fleet_through_churn(account: PaletteAccount, live_fleet: Fleet, sim_client) -> None:
    sync.sync_account(account, sim_client(live_fleet))
    clusters = list(live_fleet.clusters.values())
    for cluster in clusters[:5]:
        changed(live_fleet, cluster, health="UnHealthy" if cluster.health != "UnHealthy" else "Healthy")
    live_fleet.remove_cluster(clusters[-1])
    live_fleet.version += 1
    sync.sync_account(account, sim_client(live_fleet))
    assert Cluster.objects.filter(removed_at__isnull=False).exists()
    assert_rollups_match_rows()
    sample = HealthSample.objects.get()
    assert sample.clusters_unhealthy == Cluster.objects.filter(removed_at__isnull=True, health="UnHealthy").count()
    assert sample.hosts_total == EdgeHost.objects.filter(removed_at__isnull=True).count()


def test_it_keeps_the_latest_word_on_each_scope(account: PaletteAccount, live_fleet: Fleet, sim_client) -> None:
    sync.sync_account(account, sim_client(live_fleet))
    runs = SyncRun.objects.exclude(status="skipped")
    assert SyncScope.objects.count() == runs.values("resource", "project").distinct().count()
    first_ok = {(s.resource, s.project_id): s.ok_started_at for s in SyncScope.objects.all()}
    assert all(first_ok.values())

    failing = FaultConfig(error_rate=1.0, paths=("/v1/dashboard/spectroclusters/search",))
    sync.sync_account(account, sim_client(live_fleet, faults=failing))
    for scope in SyncScope.objects.filter(resource="clusters"):
        assert scope.last_status == "failed" and scope.last_error
        assert scope.ok_started_at == first_ok[("clusters", scope.project_id)]  # the data is still that old
        assert scope.running_since is None and scope.last_run.status == "failed"
    assert all(s.last_status == "ok" for s in SyncScope.objects.exclude(resource="clusters"))


@pytest.mark.django_db(transaction=True)
def test_recounts_of_one_project_at_once_never_double_or_fail(live_fleet: Fleet, sim_client) -> None:
    import threading

    from django.db import connection

    from palette_sync.sync.rollups import refresh_counts

    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    sync.sync_account(account, sim_client(live_fleet))
    project = EdgeHost.objects.filter(removed_at__isnull=True).first().project
    failures = []

    def recount() -> None:
        try:
            for _ in range(5):
                refresh_counts(account, project, "edgehosts")
        except Exception as exc:  # collected: the assertion below names it
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=recount) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert_rollups_match_rows()
