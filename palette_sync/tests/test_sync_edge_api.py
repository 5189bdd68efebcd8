"""Each edge host's own API merged into EdgeHost: states with their age, transitions, credentials per site."""

import pytest
from django.db import connection

from conftest import EDGE_KEY as KEY
from conftest import EDGE_PASSWORD as PASSWORD
from conftest import EdgeSim
from dashboard.models import EdgeCredential, EdgeHost, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync import sync
from palette_sync.client import PaletteClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(edge_sim: EdgeSim, settings) -> tuple[PaletteAccount, PaletteClient]:
    """An account whose projects and edge hosts (Palette's side) are synced from the edge simulator."""
    settings.PALETTE_EDGE_TIMEOUT = 1.0  # slow hosts (2 s an answer, by seed) count as unreachable
    account = PaletteAccount.objects.create(name="edge", api_url=edge_sim.url)
    client = PaletteClient(edge_sim.url, KEY)
    sync.sync_projects(account, client)
    for project in Project.objects.filter(account=account):
        sync.sync_resource(account, client, "edgehosts", project)
    return account, client


def credential(account: PaletteAccount, edge_sim: EdgeSim, selector: str, password: str) -> EdgeCredential:
    cred = EdgeCredential(account=account, selector=selector, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    cred.set_password(password)
    cred.save()
    return cred


def read_all(account: PaletteAccount, client: PaletteClient) -> list[SyncRun]:
    return [sync.sync_resource(account, client, "edge_api", p) for p in Project.objects.filter(account=account)]


def test_it_is_not_run_without_edge_credentials(synced) -> None:
    account, _ = synced
    assert "edge_api" not in sync.project_resources(account)
    assert set(EdgeHost.objects.values_list("edge_api_state", flat=True)) == {"unknown"}


def test_it_merges_each_hosts_own_facts(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", PASSWORD)
    assert "edge_api" in sync.project_resources(account)

    runs = read_all(account, client)

    assert {r.status for r in runs} == {"ok"}
    hosts = EdgeHost.objects.filter(account=account)
    reachable = hosts.filter(edge_api_state="reachable")
    assert reachable.count() >= hosts.count() * 0.8
    for host in reachable:
        assert host.edge_facts["agentVersion"]
        assert host.edge_facts["readAt"]
        assert host.edge_api_since is not None
    for host in hosts.exclude(edge_api_state="reachable"):
        assert host.edge_api_state == "unreachable"
        assert host.edge_api_error
        assert host.edge_api_checked_at is not None
    assert not TimelineEntry.objects.filter(details__field="edge_api_state").exists()  # first reading: no news
    assert all(r.requests == {} for r in runs)  # the edge pass spends no Palette request


def test_it_records_a_change_of_state_once(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    cred = credential(account, edge_sim, "*", PASSWORD)
    read_all(account, client)
    was_reachable = set(EdgeHost.objects.filter(edge_api_state="reachable").values_list("uid", flat=True))

    cred.set_password("rotated-without-telling-us")
    cred.save()
    read_all(account, client)
    read_all(account, client)  # a re-run finds nothing new

    refused = set(EdgeHost.objects.filter(edge_api_state="auth_failed").values_list("uid", flat=True))
    assert refused == was_reachable
    entries = TimelineEntry.objects.filter(kind="edge", details__field="edge_api_state")
    assert entries.count() == len(was_reachable)
    assert set(entries.values_list("severity", flat=True)) == {"warning"}
    entry = entries.first()
    assert entry.details["before"] == "reachable"
    assert entry.details["after"] == "auth_failed"
    host = EdgeHost.objects.get(uid=entry.subject_uid)
    assert host.edge_facts["agentVersion"]  # the last facts stay, dated by readAt


def test_it_prefers_the_site_credential(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", "wrong-for-everyone")
    read_all(account, client)
    target = EdgeHost.objects.filter(edge_api_state="auth_failed").first()
    site = target.raw["metadata"]["labels"]["site"]
    credential(account, edge_sim, f"site={site}", PASSWORD)

    read_all(account, client)

    target.refresh_from_db()
    assert target.edge_api_state == "reachable"
    others = EdgeHost.objects.exclude(raw__metadata__labels__site=site)
    assert not others.filter(edge_api_state="reachable").exists()


def test_it_never_stores_the_password_in_plaintext(synced, edge_sim: EdgeSim) -> None:
    account, _ = synced
    cred = credential(account, edge_sim, "*", PASSWORD)
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_sealed FROM dashboard_edgecredential WHERE id = %s", [cred.pk])
        (stored,) = cursor.fetchone()
    assert PASSWORD not in stored
    assert EdgeCredential.objects.get(pk=cred.pk).password() == PASSWORD
