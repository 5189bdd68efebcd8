"""What a listing tells the rate budget: the pages its `continue` chain has left (palette_sync.throttle)."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conftest import SIM_KEY
from palette_sim import SimApp, generate_fleet
from palette_sync.client import PaletteClient
from palette_sync.sync.fetch import windowed
from palette_sync.sync.timeline import rfc3339
from palette_sync.tests.conftest import FAST_RETRY
from palette_sync.throttle import CHAIN, Chain, LocalThrottle, family_for


class ChainRecorder(httpx.BaseTransport):
    """The simulator, noting the chain each request was sent for (the throttle reads the same, in the
    same thread, just before)."""

    def __init__(self, app: SimApp) -> None:
        self.inner, self.seen = httpx.WSGITransport(app=app), []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(CHAIN.get())
        return self.inner.handle_request(request)


def client_on(recorder: ChainRecorder) -> PaletteClient:
    return PaletteClient("http://sim", SIM_KEY, transport=recorder, retry=FAST_RETRY)


def test_it_tells_the_budget_how_many_pages_its_chain_has_left() -> None:
    fleet = generate_fleet(seed=3, projects=1, clusters=140, edge_hosts=5, audits=10)
    (project,) = fleet.clusters_by_project
    recorder = ChainRecorder(SimApp(fleet, SIM_KEY, rate_scale=0))

    listing = client_on(recorder).clusters(project)
    rows = list(listing)

    assert listing.complete and 100 < len(rows) == listing.count <= 150  # 3 pages of 50 (deleted ones left out)
    first, *rest = recorder.seen
    assert first is None  # before the first page nobody knows: it goes at the full burst
    assert [chain.pages_left for chain in rest] == [2, 1]
    assert len({chain.name for chain in rest}) == 1
    assert CHAIN.get() is None  # nothing left behind in the caller's context


def test_it_gives_every_listing_a_chain_of_its_own() -> None:
    fleet = generate_fleet(seed=3, projects=1, clusters=140, edge_hosts=5, audits=10)
    (project,) = fleet.clusters_by_project
    recorder = ChainRecorder(SimApp(fleet, SIM_KEY, rate_scale=0))
    client = client_on(recorder)

    list(client.clusters(project))
    list(client.clusters(project))

    names = [chain.name for chain in recorder.seen if isinstance(chain, Chain)]
    assert len(names) == 4 and len(set(names)) == 2


@pytest.mark.django_db
def test_it_leaves_the_slices_of_a_long_window_in_arrival_order() -> None:
    fleet = generate_fleet(seed=5, projects=2, clusters=30, audits=3000, anchor=time.time())
    recorder = ChainRecorder(SimApp(fleet, SIM_KEY, rate_scale=0))
    end = datetime.now(UTC)

    pieces = windowed(client_on(recorder), "/v1/audits", end - timedelta(days=91), end, stamp=rfc3339)
    items = [item for piece in pieces for item in piece]

    assert len(items) == 3000 and len(recorder.seen) > 60
    # ramped to end one after another, so the oldest can be stored while the others are read
    assert set(recorder.seen) == {None}


def test_it_takes_its_chain_out_of_the_family_when_left_early() -> None:
    fleet = generate_fleet(seed=3, projects=1, clusters=140, edge_hosts=5, audits=10)
    (project,) = fleet.clusters_by_project
    throttle = LocalThrottle(f"paging-{uuid.uuid4().hex}")
    client = PaletteClient(
        "http://sim",
        SIM_KEY,
        transport=httpx.WSGITransport(app=SimApp(fleet, SIM_KEY, rate_scale=0)),
        retry=FAST_RETRY,
        throttle=throttle,
    )
    chains = throttle.bucket(family_for("/v1/dashboard/spectroclusters/search")).chains

    rows = iter(client.clusters(project))
    for _ in range(51):  # into the second page: the chain has said it has 2 pages left
        next(rows)
    assert list(chains.values())[0][0] == 2
    del rows  # the caller stopped reading (as a newest-first listing does at its watermark)
    assert chains == {}

    list(client.clusters(project))  # read to the end: its last page took it out
    assert chains == {}
