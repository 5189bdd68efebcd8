"""Every inventory source against the simulator in-process: what lands in which model."""

from collections.abc import Callable

import pytest

from dashboard.models import Cluster, ClusterProfile, EdgeHost, PaletteAccount, Project, SyncRun
from palette_sim import Fleet
from palette_sync import sync
from palette_sync.sync.inventory import CLUSTERS
from palette_sync.sync.listing import consume
from palette_sync.sync.runs import Recorder

pytestmark = pytest.mark.django_db


def live(fleet: Fleet) -> list:
    return [c for c in fleet.clusters.values() if c.state != "Deleted"]


def test_it_copies_every_source(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    runs = sync.sync_account(account, sim_client(sim_fleet))

    assert {r.status for r in runs} == {"ok"}
    assert sorted({(r.resource, r.project is None) for r in runs}) == [
        ("audits", True),
        ("clusters", False),
        ("edgehosts", False),
        ("events", False),
        ("profiles", False),
        ("profiles", True),
        ("projects", True),
    ]
    assert Project.objects.count() == len(sim_fleet.projects)
    assert Cluster.objects.count() == len(live(sim_fleet))
    assert ClusterProfile.objects.count() == len(sim_fleet.versions)
    assert EdgeHost.objects.count() == len(sim_fleet.hosts)
    assert all(r.requests and r.finished_at for r in runs)


def test_it_copies_a_clusters_fields(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    sync.sync_account(account, sim_client(sim_fleet))

    record = live(sim_fleet)[5]
    cluster = Cluster.objects.get(uid=record.uid)
    assert (cluster.name, cluster.project.uid) == (record.name, record.project.uid)
    assert (cluster.state, cluster.health, cluster.cloud_type) == (record.state, record.health, record.cloud)
    assert cluster.kubernetes_version == next(p.version for p in record.infra.packs if p.layer == "k8s")
    assert cluster.raw["metadata"]["uid"] == record.uid


def test_it_keeps_each_profile_version_with_its_packs_and_clusters(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))

    users = sim_fleet.version_users()
    version = max(sim_fleet.versions.values(), key=lambda v: len(users.get(v.uid, [])))
    row = ClusterProfile.objects.get(uid=version.uid)
    assert row.name == version.family.name
    assert row.version == version.version
    assert row.latest_version == version.family.latest.version
    assert [v["uid"] for v in row.versions] == [v.uid for v in version.family.versions]
    assert [(p["name"], p["version"]) for p in row.packs] == [(p.name, p.version) for p in version.packs]
    assert {c["uid"] for c in row.in_use_clusters} == {c.uid for c in users[version.uid]}
    assert row.cluster_count == len(users[version.uid])
    owner = version.family.project
    assert (row.project.uid if row.project else None) == (owner.uid if owner else None)


def test_it_copies_edge_hosts_with_their_address(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))

    record = next(h for h in sim_fleet.hosts.values() if h.cluster is not None)
    host = EdgeHost.objects.get(uid=record.uid)
    assert host.host_address == record.ip
    assert host.state == record.state
    assert host.health == record.health
    assert host.project.uid == record.project.uid
    assert host.cluster_uid == record.cluster.uid
    assert host.edge_api_state == EdgeHost.EdgeApiState.UNKNOWN


def test_it_never_overwrites_the_edge_host_api_fields(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    EdgeHost.objects.update(edge_api_state="reachable", edge_facts={"os": "kairos"})
    sync.sync_account(account, sim_client(sim_fleet))

    assert set(EdgeHost.objects.values_list("edge_api_state", flat=True)) == {"reachable"}
    assert EdgeHost.objects.filter(edge_facts={"os": "kairos"}).count() == len(sim_fleet.hosts)


def test_it_reads_a_cluster_detail_only_for_a_missing_k8s_pack_on_a_new_or_changed_row(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    cluster = live(sim_fleet)[0]
    on_version = [c for c in live(sim_fleet) if c.infra is cluster.infra and c.project is cluster.project]
    cluster.infra.packs = tuple(p for p in cluster.infra.packs if p.layer != "k8s")
    sim_fleet.version += 1

    def detail_reads() -> int:
        runs = SyncRun.objects.filter(resource="clusters", project__uid=cluster.project.uid).order_by("-started_at")
        return runs.first().detail_reads

    sync.sync_account(account, sim_client(sim_fleet))
    assert detail_reads() == len(on_version)

    sync.sync_account(account, sim_client(sim_fleet))
    assert detail_reads() == 0

    cluster.modified += 60
    sim_fleet.version += 1
    sync.sync_account(account, sim_client(sim_fleet))
    assert detail_reads() == 1


def test_it_notes_an_unreadable_item_and_goes_on(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.first()
    good = {"metadata": {"uid": "c1", "name": "store-1"}, "status": {"state": "Running", "health": "odd"}}
    odd = {"metadata": {"uid": "c2", "name": 42}, "specSummary": ["not", "a", "dict"], "status": None}
    broken = {"metadata": "nope"}

    run = consume(
        Recorder(account, "clusters", project, sim_client(sim_fleet)),
        CLUSTERS,
        [good, odd, broken],
        project_for=lambda v: project.pk,
    )

    assert run.status == "ok"
    assert run.items == 3
    assert set(Cluster.objects.values_list("uid", flat=True)) == {"c1", "c2"}
    assert Cluster.objects.get(uid="c2").name == "42"
    assert len(run.errors) == 1 and "without a usable metadata.uid" in run.errors[0]


def test_it_writes_a_listing_in_a_bounded_number_of_queries(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable, django_assert_max_num_queries: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=max(sim_fleet.clusters_by_project.items(), key=lambda kv: len(kv[1]))[0])
    client = sim_client(sim_fleet)

    # run bookkeeping 3 (+ the /metrics tallies: one, and one per rate-limit family, in a savepoint),
    # one read of stored rows, upsert, timeline, removal check, the profile-use rows, and the
    # rollups the pages read (scope, counts, hourly sample): no query per row
    with django_assert_max_num_queries(44):
        run = sync.sync_resource(account, client, "clusters", project)
    assert run.items > 50
