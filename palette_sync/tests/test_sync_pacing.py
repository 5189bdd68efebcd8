"""What keeps the sync at the rate limit: read-ahead, concurrent audit slices, cheap unchanged rows,
and long scopes fanned out first."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conftest import SIM_KEY
from dashboard.models import Cluster, PaletteAccount, Project, SyncRun
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sync import sync
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteError
from palette_sync.sync.fetch import SLICES_AHEAD, read_ahead, time_slices, windowed
from palette_sync.sync.runs import longest_first
from palette_sync.sync.timeline import rfc3339
from palette_sync.tests.conftest import FAST_RETRY


def test_it_reads_every_source_ahead_in_order_and_raises_after_what_arrived() -> None:
    def broken() -> Iterator[dict]:
        yield {"n": 1}
        yield {"n": 2}
        raise PaletteError("page 2 broke")

    got: list[int] = []
    with pytest.raises(PaletteError, match="page 2 broke"):
        got.extend(item["n"] for item in read_ahead(broken()))
    assert got == [1, 2]
    merged = list(read_ahead(({"n": i} for i in range(100)), ({"n": -i} for i in range(1, 50))))
    assert [m["n"] for m in merged if m["n"] >= 0] == list(range(100))
    assert len(merged) == 149


def test_it_asks_a_lazy_source_for_nothing_past_where_the_caller_stopped() -> None:
    asked = []

    def pages() -> Iterator[dict]:
        for n in range(10):
            asked.append(n)
            yield {"n": n}

    def until_three(items: Iterator[dict]) -> Iterator[dict]:
        for item in items:
            if item["n"] == 3:
                return
            yield item

    assert [i["n"] for i in read_ahead(until_three(pages()))] == [0, 1, 2]
    assert asked == [0, 1, 2, 3]


def test_it_cuts_a_window_into_adjoining_slices_that_ramp_up() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    slices = time_slices(start, start + timedelta(days=70), 8, ramp=4)

    assert slices[0][0] == start and slices[-1][1] == start + timedelta(days=70)
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    lengths = [(hi - lo).total_seconds() for lo, hi in slices]
    assert lengths[0] < lengths[1] < lengths[2] < lengths[3] == pytest.approx(lengths[-1])


@pytest.mark.django_db
def test_it_lists_a_long_audit_window_in_concurrent_slices_each_item_once() -> None:
    fleet = generate_fleet(seed=5, projects=2, clusters=30, audits=3000, anchor=time.time())
    app = SimApp(fleet, SIM_KEY, rate_scale=0)  # four chains at once, no throttle here: limits off
    client = PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=app), retry=FAST_RETRY)
    end = datetime.now(UTC)

    pieces = [list(piece) for piece in windowed(client, "/v1/audits", end - timedelta(days=91), end, stamp=rfc3339)]

    uids = [item["metadata"]["uid"] for piece in pieces for item in piece]
    assert len(pieces) > 1  # a long window is listed in several concurrent slices
    assert sorted(uids) == sorted(fleet.audits.uid(pos) for pos in range(len(fleet.audits)))
    newest = [max(item["metadata"]["creationTimestamp"] for item in piece) for piece in pieces]
    assert newest == sorted(newest)  # oldest slice first
    assert client.stats.requests["/v1/audits"] <= 1 + 60 + len(pieces)


class SliceCounter(httpx.BaseTransport):
    """The simulator, counting the distinct time windows asked for (one per slice, and the whole)."""

    def __init__(self, app: SimApp) -> None:
        self.inner, self.windows, self.requests = httpx.WSGITransport(app=app), set(), 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.windows.add((request.url.params.get("startTime"), request.url.params.get("endTime")))
        return self.inner.handle_request(request)


def settled(counter: SliceCounter, quiet: float = 1.0, limit: float = 20.0) -> None:
    """Wait until no request has been made for `quiet` seconds (the readers ahead have stopped)."""
    deadline, last, since = time.monotonic() + limit, -1, time.monotonic()
    while time.monotonic() < deadline:
        if counter.requests != last:
            last, since = counter.requests, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


@pytest.mark.django_db
def test_it_reads_a_bounded_number_of_slices_ahead_of_what_is_stored() -> None:
    fleet = generate_fleet(seed=5, projects=2, clusters=30, audits=15000, anchor=time.time())
    counter = SliceCounter(SimApp(fleet, SIM_KEY, rate_scale=0))
    client = PaletteClient("http://sim", SIM_KEY, transport=counter, retry=FAST_RETRY)
    end = datetime.now(UTC)
    pieces = windowed(client, "/v1/audits", end - timedelta(days=91), end, stamp=rfc3339)

    first = list(next(pieces))  # the caller is storing the first slice, slowly
    settled(counter)
    # the whole window's first page, the slice being stored, and SLICES_AHEAD more at the most
    assert first and len(counter.windows) <= 2 + SLICES_AHEAD
    rest = [item for piece in pieces for item in piece]
    assert len(counter.windows) > 2 + SLICES_AHEAD  # there were more slices, read as the caller went on
    assert len(first) + len(rest) == len(fleet.audits)


@pytest.mark.django_db
def test_it_only_moves_last_seen_at_of_rows_palette_returned_unchanged(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable, django_assert_max_num_queries: Callable
) -> None:
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=max(sim_fleet.clusters_by_project.items(), key=lambda kv: len(kv[1]))[0])
    first = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    changed = next(c for c in sim_fleet.clusters_by_project[project.uid] if c.state == "Running")
    changed.health = "UnHealthy" if changed.health != "UnHealthy" else "Healthy"
    sim_fleet.version += 1
    before = dict(Cluster.objects.filter(project=project).values_list("uid", "last_seen_at"))

    # run bookkeeping, stored rows, one UPDATE for the unchanged, one upsert, removal check, and the
    # rollups the pages read (profile uses, counts, scope, sample): no query per row
    with django_assert_max_num_queries(40):
        second = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)

    assert second.status == "ok" and second.items == first.items
    assert second.transitions == 1
    rows = Cluster.objects.filter(project=project)
    assert all(seen > before[uid] for uid, seen in rows.values_list("uid", "last_seen_at"))
    assert rows.get(uid=changed.uid).health == changed.health
    assert rows.get(uid=changed.uid).health_since == second.started_at


@pytest.mark.django_db
def test_it_fans_out_the_longest_scopes_first(account: PaletteAccount) -> None:
    project = Project.objects.create(
        account=account, uid="p1", name="p1", first_seen_at=time_now(), last_seen_at=time_now()
    )
    scopes = [("profiles", None), ("audits", None), ("clusters", project.pk), ("events", project.pk)]
    assert longest_first(account, scopes) == [
        ("audits", None),
        ("events", project.pk),
        ("clusters", project.pk),
        ("profiles", None),
    ]

    for resource, project_id, seconds in (("audits", None, 1), ("events", project.pk, 2), ("clusters", project.pk, 9)):
        started = time_now() - timedelta(seconds=60)
        SyncRun.objects.create(
            account=account,
            resource=resource,
            project_id=project_id,
            status="ok",
            started_at=started,
            finished_at=started + timedelta(seconds=seconds),
        )

    assert longest_first(account, scopes) == [
        ("profiles", None),
        ("clusters", project.pk),
        ("events", project.pk),
        ("audits", None),
    ]


def time_now() -> datetime:
    return datetime.now(UTC)
