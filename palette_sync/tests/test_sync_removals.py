"""Removals are confirmed: a row one listing lacked is removed only on a 404 or a second listing
lacking it too, and a mass disappearance is refused (REFERENCE.md 4: listings are offset-paged)."""

import json
from collections.abc import Callable

import httpx
import pytest

from conftest import SIM_KEY
from dashboard.models import Cluster, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sim import Fleet, SimApp
from palette_sim.harness.faults import FaultConfig
from palette_sync import sync
from palette_sync.client import PaletteClient
from palette_sync.sync.runs import ALLOW_MASS_REMOVAL
from palette_sync.tests.conftest import FAST_RETRY

pytestmark = pytest.mark.django_db
SEARCH = "/v1/dashboard/spectroclusters/search"


class DeletesBehindTheCursor(httpx.BaseTransport):
    """Serves the simulator, and deletes the first cluster of the first page right after serving it:
    every later item shifts one place towards the start, so one live cluster is never listed."""

    def __init__(self, app: SimApp, fleet: Fleet) -> None:
        self.inner, self.fleet, self.victim = httpx.WSGITransport(app=app), fleet, None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path == SEARCH and self.victim is None:
            body = response.read()
            self.victim = json.loads(body)["items"][0]["metadata"]["uid"]
            self.fleet.remove_cluster(self.fleet.clusters[self.victim])
            self.fleet.version += 1
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        return response


def biggest_project(fleet: Fleet) -> str:
    return max(fleet.clusters_by_project.items(), key=lambda kv: len(kv[1]))[0]


def client_on(transport: httpx.BaseTransport) -> PaletteClient:
    return PaletteClient("http://sim", SIM_KEY, transport=transport, retry=FAST_RETRY)


def test_a_deletion_behind_the_cursor_removes_no_live_row(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=biggest_project(sim_fleet))
    sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert Cluster.objects.filter(project=project).count() > 50  # more than one page

    transport = DeletesBehindTheCursor(SimApp(sim_fleet, SIM_KEY), sim_fleet)
    run = sync.sync_resource(account, client_on(transport), "clusters", project)

    assert run.status == "ok" and run.removed == 0
    assert run.detail_reads == 1  # one live cluster was missing from the listing, and was checked
    assert not Cluster.objects.filter(removed_at__isnull=False).exists()
    assert any("still exist: kept" in e for e in run.errors)
    assert not TimelineEntry.objects.filter(action="removed").exists()

    # The next listing sees the deletion itself; the detail read confirms it (404).
    run = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert run.removed == 1
    assert list(Cluster.objects.filter(removed_at__isnull=False).values_list("uid", flat=True)) == [transport.victim]


def test_without_detail_reads_a_second_listing_confirms(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=biggest_project(sim_fleet))
    sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    gone = sim_fleet.clusters_by_project[project.uid][5]
    sim_fleet.remove_cluster(gone)
    sim_fleet.version += 1
    no_details = FaultConfig(error_rate=1.0, paths=("/v1/spectroclusters/",))

    first = sync.sync_resource(account, sim_client(sim_fleet, faults=no_details), "clusters", project)
    row = Cluster.objects.get(uid=gone.uid)
    assert first.removed == 0 and row.removed_at is None and row.missing_since is not None

    second = sync.sync_resource(account, sim_client(sim_fleet, faults=no_details), "clusters", project)
    row.refresh_from_db()
    assert second.removed == 1 and row.removed_at is not None and row.missing_since is None


def test_a_row_listed_again_is_no_longer_a_candidate(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=biggest_project(sim_fleet))
    sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    some = Cluster.objects.filter(project=project).first()
    Cluster.objects.filter(pk=some.pk).update(missing_since=some.last_seen_at)
    sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert Cluster.objects.get(pk=some.pk).missing_since is None


def test_a_mass_disappearance_is_refused_until_an_operator_allows_it(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=biggest_project(sim_fleet))
    sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    live = Cluster.objects.filter(project=project, removed_at__isnull=True).count()
    for cluster in list(sim_fleet.clusters_by_project[project.uid]):  # an empty but complete listing
        sim_fleet.remove_cluster(cluster)
    sim_fleet.version += 1

    run = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert run.status == SyncRun.Status.PARTIAL and run.removed == 0
    assert any(f"refused to remove {live} of {live} clusters" in e for e in run.errors)
    assert Cluster.objects.filter(project=project, removed_at__isnull=True).count() == live

    token = ALLOW_MASS_REMOVAL.set(True)
    try:
        run = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    finally:
        ALLOW_MASS_REMOVAL.reset(token)
    assert run.removed == live and not Cluster.objects.filter(project=project, removed_at__isnull=True).exists()
