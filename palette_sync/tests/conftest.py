"""Fixtures for the sync tests: an account, and clients on the simulator in-process."""

import time
from collections.abc import Callable

import httpx
import pytest

from conftest import SIM_KEY
from dashboard.models import PaletteAccount
from palette_sim import Fleet, SimApp
from palette_sim.faults import FaultConfig
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
    return Fleet.generate(seed=11, projects=2, clusters=40, profiles=8, edge_hosts=30, audits=600, anchor=time.time())
