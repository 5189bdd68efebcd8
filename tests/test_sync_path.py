"""The sync against the simulator, into the database (PostgreSQL in CI)."""

import httpx
import pytest
from django.core.management import call_command

from conftest import SIM_KEY
from dashboard.models import Cluster, PaletteAccount, Project, SyncRun
from palette_sim import SimApp
from palette_sync import sync
from palette_sync.client import PaletteClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="sim", api_url="http://sim")


def client_for(fleet, key: str = SIM_KEY) -> PaletteClient:
    return PaletteClient("http://sim", key, transport=httpx.WSGITransport(app=SimApp(fleet, SIM_KEY)))


def live_clusters(fleet) -> list:
    """The clusters a search returns: deleted ones are filtered out (REFERENCE.md 8)."""
    return [c for c in fleet.clusters.values() if c.state != "Deleted"]


def test_it_copies_projects_and_clusters(account: PaletteAccount, sim_fleet) -> None:
    runs = sync.sync_account(account, client_for(sim_fleet))

    assert {r.status for r in runs} == {"ok"}
    assert [r.resource for r in runs].count("clusters") == 3
    assert Project.objects.count() == 3
    assert Cluster.objects.count() == len(live_clusters(sim_fleet))
    record = live_clusters(sim_fleet)[5]
    cluster = Cluster.objects.get(uid=record.uid)
    assert cluster.name == record.name
    assert cluster.project.uid == record.project.uid
    assert cluster.state == record.state
    assert cluster.health == record.health
    assert cluster.cloud_type == record.cloud
    assert cluster.kubernetes_version == next(p.version for p in record.infra.packs if p.layer == "k8s")
    assert cluster.raw["metadata"]["uid"] == record.uid


def test_it_is_idempotent(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    first_seen = dict(Cluster.objects.values_list("uid", "first_seen_at"))
    sync.sync_account(account, client_for(sim_fleet))

    assert Cluster.objects.count() == len(live_clusters(sim_fleet))
    assert dict(Cluster.objects.values_list("uid", "first_seen_at")) == first_seen
    assert SyncRun.objects.filter(resource="clusters", status="ok").count() == 6


def test_it_marks_a_vanished_cluster_removed(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    gone = live_clusters(sim_fleet)[0]
    sim_fleet.remove_cluster(gone)
    sim_fleet.version += 1
    sync.sync_account(account, client_for(sim_fleet))

    assert Cluster.objects.get(uid=gone.uid).removed_at is not None
    assert Cluster.objects.filter(removed_at__isnull=True).count() == len(live_clusters(sim_fleet))


def test_it_removes_nothing_when_a_listing_fails(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    runs = sync.sync_account(account, client_for(sim_fleet, key="revoked"))

    assert runs[0].status == "failed"
    assert "401" in runs[0].errors[0]
    assert Cluster.objects.filter(removed_at__isnull=True).count() == len(live_clusters(sim_fleet))


def test_it_runs_once_from_the_command_line(sim_server, settings, capsys) -> None:
    settings.PALETTE_API_URL = sim_server.url
    settings.PALETTE_API_KEY = sim_server.api_key
    call_command("sync_palette", "--once")

    assert Cluster.objects.count() == Cluster.objects.filter(removed_at__isnull=True).count() > 100
    assert "clusters" in capsys.readouterr().out
