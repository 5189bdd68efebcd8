"""Fixtures for the sync tests: an account, clients on the simulator in-process, and for the fault
tests a Redis of their own."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import SIM_KEY, start_worker  # noqa: F401 (start_worker: re-exported)
from dashboard.models import PaletteAccount
from devtools.processes import PrivateRedis
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sim.harness.faults import FaultConfig
from palette_sync.client import PaletteClient, RetryPolicy

# No waiting between retries: a test that provokes errors should not sleep through backoff.
FAST_RETRY = RetryPolicy(attempts=2, timeout=5.0, wait_initial=0.01, wait_max=0.01, wait_jitter=0.0)


@pytest.fixture
def account(db: None) -> PaletteAccount:
    return PaletteAccount.objects.create(name="sim", api_url="http://sim")


@pytest.fixture
def sim_client() -> Callable[..., PaletteClient]:
    """A factory: a client on a fresh simulator app serving `fleet`, optionally with faults."""

    def make(fleet: Fleet, *, faults: FaultConfig | None = None, key: str = SIM_KEY) -> PaletteClient:
        app = SimApp(fleet, SIM_KEY, faults=faults)
        return PaletteClient("http://sim", key, transport=httpx.WSGITransport(app=app), retry=FAST_RETRY)

    return make


@pytest.fixture
def live_fleet() -> Fleet:
    """A small fleet anchored at the real now, so audits and events fall in the backfill window."""
    return generate_fleet(seed=11, projects=2, clusters=40, profiles=8, edge_hosts=30, audits=600, anchor=time.time())


# --- for the fault tests: a Redis that can be killed and restarted ---


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis that keeps its queues across a restart (appendonly), as a production one does."""
    server = PrivateRedis(tmp_path, appendonly=True).start()
    yield server
    server.kill()
