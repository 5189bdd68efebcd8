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


def test_it_copies_projects_and_clusters(account: PaletteAccount, sim_fleet) -> None:
    runs = sync.sync_account(account, client_for(sim_fleet))

    assert [r.status for r in runs] == ["ok"] * 4
    assert Project.objects.count() == 3
    assert Cluster.objects.count() == 120
    item = sim_fleet.clusters[5]
    cluster = Cluster.objects.get(uid=item["metadata"]["uid"])
    assert cluster.name == item["metadata"]["name"]
    assert cluster.project.uid == item["specSummary"]["projectMeta"]["uid"]
    assert cluster.state == item["status"]["state"]
    assert cluster.health == item["status"]["health"]["state"]
    assert cluster.cloud_type == item["specSummary"]["cloudConfig"]["cloudType"]
    assert cluster.kubernetes_version == item["specSummary"]["clusterProfileTemplate"]["packs"][0]["tag"]
    assert cluster.raw == item


def test_it_is_idempotent(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    first_seen = dict(Cluster.objects.values_list("uid", "first_seen_at"))
    sync.sync_account(account, client_for(sim_fleet))

    assert Cluster.objects.count() == 120
    assert dict(Cluster.objects.values_list("uid", "first_seen_at")) == first_seen
    assert SyncRun.objects.filter(resource="clusters", status="ok").count() == 6


def test_it_marks_a_vanished_cluster_removed(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    gone = sim_fleet.clusters.pop(0)
    sync.sync_account(account, client_for(sim_fleet))

    assert Cluster.objects.get(uid=gone["metadata"]["uid"]).removed_at is not None
    assert Cluster.objects.filter(removed_at__isnull=True).count() == 119


def test_it_removes_nothing_when_a_listing_fails(account: PaletteAccount, sim_fleet) -> None:
    sync.sync_account(account, client_for(sim_fleet))
    runs = sync.sync_account(account, client_for(sim_fleet, key="revoked"))

    assert runs[0].status == "failed"
    assert "401" in runs[0].errors[0]
    assert Cluster.objects.filter(removed_at__isnull=True).count() == 120


def test_it_runs_once_from_the_command_line(sim_server, settings, capsys) -> None:
    settings.PALETTE_API_URL = sim_server.url
    settings.PALETTE_API_KEY = sim_server.api_key
    call_command("sync_palette", "--once")

    assert Cluster.objects.count() == 120
    assert "clusters" in capsys.readouterr().out
