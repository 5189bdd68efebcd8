"""Fixtures for the operations tests: a fleet synced fresh from the simulator (in-process), and a
clean slate in Redis for the checks' shared keys."""

import time

import httpx
import pytest

from conftest import SIM_KEY
from dashboard.models import PaletteAccount
from ops import checks, heartbeat
from ops.connections import connect
from palette_sim import SimApp, generate_fleet
from palette_sync import sync
from palette_sync.client import PaletteClient


@pytest.fixture
def fresh_fleet(db: None) -> PaletteAccount:
    """An account whose every source was just synced from a small simulated fleet."""
    fleet = generate_fleet(seed=5, projects=2, clusters=20, profiles=4, edge_hosts=10, audits=50, anchor=time.time())
    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    with PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=SimApp(fleet, SIM_KEY))) as client:
        sync.sync_account(account, client)
    return account


@pytest.fixture(autouse=True)
def _no_shared_check_state(redis_url: str, settings: object) -> None:
    """The worker ping and beat's pulse are shared through Redis: no test sees another's."""
    settings.CELERY_BROKER_URL = redis_url
    connect(redis_url).delete(checks.PING_KEY, heartbeat.KEY)
