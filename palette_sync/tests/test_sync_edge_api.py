"""Each edge host's own API merged into EdgeHost: states with their age, transitions, credentials per site,
and the cadence: each host once per interval at its own offset, batches routed per site, sessions reused."""

import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from conftest import EDGE_KEY as KEY
from conftest import EDGE_PASSWORD as PASSWORD
from conftest import EdgeSim
from dashboard.models import (
    EdgeCredential,
    EdgeHost,
    FleetCount,
    PaletteAccount,
    Project,
    SiteSummary,
    SyncRun,
    TimelineEntry,
)
from palette_sync import edge, sync
from palette_sync.client import PaletteClient
from palette_sync.edge import sessions
from palette_sync.sync import edge_api

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
    return [sync.sync_resource(account, client, "edge_api")]


def test_it_is_not_run_without_edge_credentials(synced) -> None:
    account, client = synced
    runs = sync.sync_account(account, client)
    assert "edge_api" not in {r.resource for r in runs}
    assert set(EdgeHost.objects.values_list("edge_api_state", flat=True)) == {"unknown"}


def test_it_merges_each_hosts_own_facts(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", PASSWORD)
    assert "edge_api" not in sync.project_resources(account)  # its own cadence, not every sync's

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


# --- the cadence: each host once per interval, at its own offset ------------------------------------


def test_it_spreads_hosts_evenly_over_the_interval() -> None:
    interval, buckets = 900, 30
    counts = Counter(int(edge_api.slot(f"edgehost-{n}") * buckets) for n in range(30_000))
    assert len(counts) == buckets
    assert max(counts.values()) < 1.1 * 1000 and min(counts.values()) > 0.9 * 1000
    now = timezone.now()
    for n in range(200):
        uid = f"edgehost-{n}"
        due = edge_api.next_due(uid, now, interval)
        assert now + timedelta(seconds=interval / 2) < due <= now + timedelta(seconds=1.5 * interval)
        assert abs((due.timestamp() % interval) - edge_api.slot(uid) * interval) < 1e-3
        again = edge_api.next_due(uid, due + timedelta(seconds=7), interval)  # read 7 s late
        assert again - due == timedelta(seconds=interval)  # back on its own offset


def probe_and_write(plan: edge_api.Plan) -> list[dict]:
    """What the workers do with a tick's batches, in this process (unpaced: see the pacing test)."""
    unpaced = [payload | {"hosts": [h[:3] for h in payload["hosts"]]} for _, _, payload in plan.batches]
    results = [edge_api.probe_batch(payload) for payload in unpaced]
    for result in results:
        edge_api.deliver(result)
    return results


def test_a_tick_hands_out_first_readings_then_only_what_is_due(synced, edge_sim: EdgeSim, settings) -> None:
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    settings.PALETTE_EDGE_INTERVAL, settings.PALETTE_EDGE_TICK, settings.PALETTE_EDGE_BATCH = 900, 15, 25
    hosts = EdgeHost.objects.filter(account=account)
    now = timezone.now()

    first = edge_api.plan(account, now)

    assert first.claimed == hosts.count() == 60  # never read: all at once (fewer than MIN_CLAIM)
    assert [len(p["hosts"]) for _, _, p in first.batches] == [25, 25, 10]
    assert {queue for queue, _, _ in first.batches} == {None}  # no site runs a worker of its own
    assert PASSWORD not in json.dumps([p for _, _, p in first.batches])  # the password travels sealed
    assert edge_api.plan(account, now).claimed == 0  # leased: the next tick does not hand them out again

    probe_and_write(first)

    assert not hosts.filter(edge_api_checked_at__isnull=True).exists()
    for host in hosts:
        ahead = (host.edge_api_due_at - host.edge_api_checked_at).total_seconds()
        assert 450 < ahead <= 1350  # back on its own offset, at least half an interval on
    later = now + timedelta(seconds=1000)
    due = hosts.filter(edge_api_due_at__lt=later + timedelta(seconds=15)).count()
    assert 0 < due < 60
    assert edge_api.plan(account, later).claimed == due  # only those whose offset came round


def test_a_tick_hands_out_at_most_twice_its_share(synced, edge_sim: EdgeSim, settings, monkeypatch) -> None:
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    settings.PALETTE_EDGE_INTERVAL, settings.PALETTE_EDGE_TICK = 60, 15
    monkeypatch.setattr(edge_api.schedule, "MIN_CLAIM", 1)  # no floor: the share alone sets the claim
    share = len(edge_sim.hosts) * settings.PALETTE_EDGE_TICK / settings.PALETTE_EDGE_INTERVAL
    assert edge_api.plan(account).claimed == 2 * share


def test_it_sends_a_sites_hosts_to_that_sites_queue(synced, edge_sim: EdgeSim, settings) -> None:
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    site = Counter(EdgeHost.objects.values_list("site", flat=True)).most_common(1)[0][0]
    settings.PALETTE_EDGE_SITE_QUEUES = {site}

    plan = edge_api.plan(account)

    by_queue: dict = {}
    for queue, _, payload in plan.batches:
        by_queue.setdefault(queue, set()).update(h[0] for h in payload["hosts"])
    assert set(by_queue) == {None, f"edge.{site}"}
    assert by_queue[f"edge.{site}"] == set(EdgeHost.objects.filter(site=site).values_list("id", flat=True))
    assert not by_queue[None] & by_queue[f"edge.{site}"]


def test_a_worker_without_the_central_key_says_so(synced, edge_sim: EdgeSim, settings) -> None:
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    plan = edge_api.plan(account)
    settings.PALETTE_SECRET_KEY = "another-key-than-the-one-that-sealed-it"

    results = probe_and_write(plan)

    assert results[0]["tally"] == {}  # nobody was contacted with a wrong password
    host = EdgeHost.objects.filter(account=account).first()
    assert host.edge_api_state == "error"
    assert "PALETTE_SECRET_KEY" in host.edge_api_error


def test_later_readings_reuse_the_sessions(synced, edge_sim: EdgeSim, monkeypatch) -> None:
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    monkeypatch.setattr(edge.SESSIONS, "local", edge.Lru(50_000))  # no session from earlier tests,
    monkeypatch.setattr(sessions, "SHARED_PREFIX", f"test-edge-session:{time.monotonic_ns()}:")  # here or shared
    now = timezone.now()
    first = probe_and_write(edge_api.plan(account, now))
    second = probe_and_write(edge_api.plan(account, now + timedelta(seconds=1400)))  # all due again

    reachable = EdgeHost.objects.filter(account=account, edge_api_state="reachable").count()
    assert sum(r["tally"].get("logins", 0) for r in first) == reachable
    assert sum(r["tally"].get("logins", 0) for r in second) == 0
    assert sum(r["tally"].get("reused", 0) for r in second) == reachable


def test_an_older_reading_does_not_overwrite_a_newer_one(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", PASSWORD)
    run = read_all(account, client)[0]
    host = EdgeHost.objects.filter(account=account, edge_api_state="reachable").first()
    older = (host.edge_api_checked_at - timedelta(minutes=5)).isoformat()

    edge_api.deliver({"account": account.pk, "run": run.pk, "results": [[host.pk, "unreachable", "late", None, older]]})

    host.refresh_from_db()
    assert host.edge_api_state == "reachable"
    assert host.edge_api_error == ""


def test_changes_of_state_are_recounted_at_the_next_tick(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", PASSWORD)
    read_all(account, client)  # recounts as it ends
    reachable = EdgeHost.objects.filter(account=account, edge_api_state="reachable")
    counted = FleetCount.objects.filter(account=account, dimension="edge_api_state", value="reachable")
    assert sum(counted.values_list("count", flat=True)) == reachable.count()
    host = reachable.first()
    now = timezone.now().isoformat()
    result = {"account": account.pk, "run": SyncRun.objects.latest("started_at").pk}
    edge_api.recount(account)  # what earlier tests may have left marked under this account id

    edge_api.deliver(result | {"results": [[host.pk, "unreachable", "gone quiet", None, now]]})
    assert sum(counted.values_list("count", flat=True)) == reachable.count() + 1  # not yet
    assert edge_api.recount(account) == 1

    assert sum(counted.values_list("count", flat=True)) == reachable.count()
    site = SiteSummary.objects.get(account=account, project=host.project, site=host.site)
    assert site.unreadable >= 1
    entry = TimelineEntry.objects.get(kind="edge", subject_uid=host.uid)
    assert (entry.details["before"], entry.details["after"]) == ("reachable", "unreachable")


def test_a_tick_recounts_only_the_sites_whose_hosts_changed(synced, edge_sim: EdgeSim) -> None:
    account, client = synced
    credential(account, edge_sim, "*", PASSWORD)
    read_all(account, client)
    edge_api.recount(account)  # what earlier tests may have left marked under this account id
    host = EdgeHost.objects.filter(account=account, edge_api_state="reachable").exclude(site="").first()
    rows = SiteSummary.objects.filter(account=account, project=host.project)
    before = dict(rows.values_list("site", "pk"))
    assert len(before) >= 2  # other sites of the project, which the tick must leave alone
    unreadable = rows.get(site=host.site).unreadable
    result = {"account": account.pk, "run": SyncRun.objects.latest("started_at").pk}

    edge_api.deliver(result | {"results": [[host.pk, "unreachable", "gone quiet", None, timezone.now().isoformat()]]})
    assert edge_api.recount(account) == 1

    after = dict(rows.values_list("site", "pk"))
    assert rows.get(site=host.site).unreadable == unreadable + 1
    assert after[host.site] != before[host.site]  # rewritten
    assert {s: pk for s, pk in after.items() if s != host.site} == {s: pk for s, pk in before.items() if s != host.site}


@pytest.mark.django_db(transaction=True)
def test_writing_results_never_waits_on_rows_the_listing_holds(synced, edge_sim: EdgeSim) -> None:
    """A listing batch holds one row and then wants another that a result is for: the writer takes
    what is free, comes back for the rest, and the two never deadlock (PostgreSQL's row locks)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    account, _ = synced
    low, high = EdgeHost.objects.filter(account=account).order_by("id")[:2]
    run = SyncRun.objects.create(account=account, resource="edge_api")
    now = timezone.now().isoformat()
    held, errors = threading.Event(), []

    def listing() -> None:  # holds `high` first, then wants `low`: the order a deadlock needs
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '10s'")
                list(EdgeHost.objects.select_for_update().filter(pk=high.pk))
                held.set()
                time.sleep(0.5)
                EdgeHost.objects.filter(pk=low.pk).update(name="listed again")
                time.sleep(0.3)
        except Exception as exc:  # noqa: BLE001 (whatever it is, the test reports it)
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=listing)
    thread.start()
    assert held.wait(10)
    written = edge_api.write_results(
        account.pk, run.pk, [[low.pk, "unreachable", "a", None, now], [high.pk, "unreachable", "b", None, now]]
    )
    thread.join()

    assert errors == []
    assert written.hosts == 2
    assert set(EdgeHost.objects.filter(pk__in=[low.pk, high.pk]).values_list("edge_api_error", flat=True)) == {"a", "b"}
    assert EdgeHost.objects.get(pk=low.pk).name == "listed again"


def test_a_tick_paces_its_hosts_over_the_tick(synced, edge_sim: EdgeSim, settings) -> None:
    """Hosts already due (here: never read) start evenly over the tick; hosts due later at their due time."""
    account, _ = synced
    credential(account, edge_sim, "*", PASSWORD)
    settings.PALETTE_EDGE_TICK, settings.PALETTE_EDGE_BATCH = 2, 25
    now = timezone.now()

    plan = edge_api.plan(account, now)

    starts = [h[3] - now.timestamp() for _, _, p in plan.batches for h in p["hosts"]]
    assert starts == sorted(starts)
    assert starts[0] == 0 and 1.9 < starts[-1] < 2
    assert [round(countdown, 2) for _, countdown, _ in plan.batches] == [
        round(p["hosts"][0][3] - now.timestamp(), 2) for _, _, p in plan.batches
    ]
    began = time.monotonic()
    results = [edge_api.probe_batch(p) for _, _, p in plan.batches[-1:]]  # the last batch: its hosts from 1.7 s on
    assert time.monotonic() - began >= starts[-len(plan.batches[-1][2]["hosts"])] - 0.1
    assert len(results[0]["results"]) == len(plan.batches[-1][2]["hosts"])


def test_odd_results_are_not_written_and_a_clock_ahead_is_not_believed(synced, edge_sim: EdgeSim) -> None:
    account, _ = synced
    run = SyncRun.objects.create(account=account, resource="edge_api")
    first, second, third = EdgeHost.objects.filter(account=account).order_by("id")[:3]
    ahead = (timezone.now() + timedelta(hours=3)).isoformat()  # a site worker whose clock runs 3 h ahead
    now = timezone.now().isoformat()

    written = edge_api.write_results(
        account.pk,
        run.pk,
        [
            [first.pk, "reachable", "", {"agentVersion": "4.6.21"}, ahead],
            [second.pk, "owned", "", None, now],  # not a state
            [third.pk, "unreachable", "", None, "yesterday"],
        ],
    )

    assert written.hosts == 1
    first.refresh_from_db()
    assert first.edge_api_checked_at <= timezone.now()
    assert first.edge_api_due_at < timezone.now() + timedelta(seconds=1.5 * 900 + 5)
    assert set(EdgeHost.objects.filter(pk__in=[second.pk, third.pk]).values_list("edge_api_state", flat=True)) == {
        "unknown"
    }
