"""Observed transitions, idempotency and removal: what a second sync notices, and what it must not."""

import time
from collections.abc import Callable

import pytest

from dashboard.freshness import CLUSTERS, freshness
from dashboard.models import Cluster, EdgeHost, PaletteAccount, TimelineEntry
from palette_sim import Fleet
from palette_sim.harness.faults import FaultConfig
from palette_sync import sync

pytestmark = pytest.mark.django_db


def transitions() -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(kind="transition").order_by("id"))


def healthy_cluster(fleet: Fleet) -> object:
    return next(c for c in fleet.clusters.values() if c.health == "Healthy" and c.state == "Running")


def changed(fleet: Fleet, record: object, **fields: object) -> None:
    """Change a simulated record as Palette would: new values and a new lastModifiedTimestamp."""
    for name, value in fields.items():
        setattr(record, name, value)
    record.modified = time.time()
    fleet.version += 1


def test_it_writes_no_transitions_on_the_first_sync(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))

    assert transitions() == []
    assert not Cluster.objects.filter(health_since__isnull=True).exists()


def test_it_records_a_health_flip_once(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    record = healthy_cluster(sim_fleet)
    before = Cluster.objects.get(uid=record.uid)

    changed(sim_fleet, record, health="UnHealthy")
    runs = sync.sync_account(account, sim_client(sim_fleet))

    [entry] = transitions()
    assert (entry.subject_kind, entry.subject_uid, entry.action) == ("cluster", record.uid, "health")
    assert entry.details["before"] == "Healthy" and entry.details["after"] == "UnHealthy"
    assert entry.severity == "warning"
    assert entry.project.uid == record.project.uid
    after = Cluster.objects.get(uid=record.uid)
    assert after.health == "UnHealthy"
    assert after.health_since == entry.occurred_at > before.health_since
    assert after.state_since == before.state_since
    assert sum(r.transitions for r in runs) == 1

    sync.sync_account(account, sim_client(sim_fleet))
    assert len(transitions()) == 1
    assert Cluster.objects.get(uid=record.uid).health_since == after.health_since


def test_it_records_state_and_profile_version_changes(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    record = healthy_cluster(sim_fleet)
    family = record.infra.family
    newer = next(v for v in family.versions if v is not record.infra)

    changed(sim_fleet, record, state="Error", infra=newer)
    sync.sync_account(account, sim_client(sim_fleet))

    entries = {e.action: e for e in transitions()}
    assert set(entries) == {"state", "profiles"}
    assert entries["state"].message == "state Running → Error"
    assert family.name in entries["profiles"].message
    assert newer.uid in {p["uid"] for p in entries["profiles"].details["after"]}


def test_it_records_edge_host_health_changes(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    host = next(h for h in sim_fleet.hosts.values() if h.health == "healthy")

    changed(sim_fleet, host, health="unhealthy")
    sync.sync_account(account, sim_client(sim_fleet))

    [entry] = transitions()
    assert (entry.subject_kind, entry.action, entry.details["after"]) == ("edgehost", "health", "unhealthy")
    assert EdgeHost.objects.get(uid=host.uid).health_since == entry.occurred_at


def test_it_records_appeared_and_removed(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    gone = healthy_cluster(sim_fleet)
    sim_fleet.remove_cluster(gone)
    sim_fleet.version += 1
    sync.sync_account(account, sim_client(sim_fleet))

    [entry] = transitions()
    assert (entry.subject_uid, entry.action) == (gone.uid, "removed")
    assert Cluster.objects.get(uid=gone.uid).removed_at == entry.occurred_at

    sim_fleet.add_cluster(gone)
    sim_fleet.version += 1
    sync.sync_account(account, sim_client(sim_fleet))
    assert [e.action for e in transitions()] == ["removed", "returned"]
    assert Cluster.objects.get(uid=gone.uid).removed_at is None


def test_it_is_idempotent(account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    changed(sim_fleet, healthy_cluster(sim_fleet), health="UnHealthy")
    sync.sync_account(account, sim_client(sim_fleet))
    rows = sorted(Cluster.objects.values_list("uid", "health", "state", "health_since", "first_seen_at"))
    timeline = TimelineEntry.objects.count()

    runs = sync.sync_account(account, sim_client(sim_fleet))

    assert sorted(Cluster.objects.values_list("uid", "health", "state", "health_since", "first_seen_at")) == rows
    assert TimelineEntry.objects.count() == timeline
    assert sum(r.added + r.removed + r.transitions for r in runs) == 0


def test_it_removes_nothing_after_a_partial_listing(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    live = Cluster.objects.filter(removed_at__isnull=True).count()
    sim_fleet.remove_cluster(healthy_cluster(sim_fleet))
    sim_fleet.version += 1

    # Every page's continue token skips items: the listing ends short of listmeta.count (REFERENCE.md 4).
    dropping = FaultConfig(drop_rate=1.0, paths=("/v1/dashboard/spectroclusters/search",))
    runs = sync.sync_account(account, sim_client(sim_fleet, faults=dropping))

    clusters = [r for r in runs if r.resource == "clusters"]
    assert "partial" in {r.status for r in clusters}
    assert any("incomplete" in e for r in clusters for e in r.errors)
    assert Cluster.objects.filter(removed_at__isnull=True).count() == live
    assert not TimelineEntry.objects.filter(action="removed").exists()
    assert freshness(CLUSTERS).as_of < runs[0].started_at  # the data is as old as the last complete listing
    assert any("ended early" in p.why for p in freshness(CLUSTERS).problems)


def test_it_removes_nothing_when_palette_refuses_the_key(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    runs = sync.sync_account(account, sim_client(sim_fleet, key="revoked"))

    assert runs[0].status == "failed"
    assert "401" in runs[0].errors[0]
    assert Cluster.objects.filter(removed_at__isnull=True).count() == len(
        [c for c in sim_fleet.clusters.values() if c.state != "Deleted"]
    )


def test_it_removes_the_contents_of_a_removed_project(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    sync.sync_account(account, sim_client(sim_fleet))
    gone = sim_fleet.projects.pop()
    sim_fleet.project_index.pop(gone.uid)
    sim_fleet.version += 1
    sync.sync_account(account, sim_client(sim_fleet))

    removed = {(e.subject_kind, e.subject_uid) for e in transitions() if e.action == "removed"}
    contents = {("cluster", uid) for uid in Cluster.objects.filter(project__uid=gone.uid).values_list("uid", flat=True)}
    contents |= {
        ("edgehost", uid) for uid in EdgeHost.objects.filter(project__uid=gone.uid).values_list("uid", flat=True)
    }
    assert contents and removed >= {("project", gone.uid)} | contents  # each removed row says so in the timeline
    assert {e.action for e in transitions()} == {"removed"}
    assert not Cluster.objects.filter(project__uid=gone.uid, removed_at__isnull=True).exists()
    assert not EdgeHost.objects.filter(project__uid=gone.uid, removed_at__isnull=True).exists()
    assert Cluster.objects.filter(removed_at__isnull=True).exists()
