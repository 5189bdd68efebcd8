"""The sync under the simulator's faults: it ends converged to what the simulator serves, loses
nothing, removes nothing on the strength of a broken listing, and its SyncRuns say what happened.

"Converged" is checked against the simulator itself: a fault-free client lists every project's
clusters and edge hosts, and the live rows in the database must be exactly those uids, in the
same states and health.
"""

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from config.celery import app as celery_app
from conftest import SIM_KEY, Sim, database_url, served, start_sim, stop
from dashboard.models import Cluster, EdgeHost, PaletteAccount, SyncRun, TimelineEntry
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sim.harness.faults import FaultConfig
from palette_sync import sync
from palette_sync.client import PaletteClient, RetryPolicy
from palette_sync.locks import lock_name
from palette_sync.sync.timeline import sync_audits
from palette_sync.tests.conftest import FAST_RETRY, PrivateRedis, start_worker
from palette_sync.throttle import LocalThrottle, redis_for

DAY = 86400
CONTROL_KEY = "test-control-key"
# Patient enough to outlast the faults below, with waits short enough for a test.
PATIENT = RetryPolicy(
    attempts=12, timeout=30.0, wait_initial=0.02, wait_max=0.2, wait_jitter=0.0, bad_response_attempts=8
)


# --- what the simulator serves, and what the database holds ------------------------------------------


def served_in_process(fleet: Fleet) -> dict[str, dict[str, tuple[str, str]]]:
    with PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=SimApp(fleet, SIM_KEY))) as client:
        return served(client)


def stored(account: PaletteAccount) -> dict[str, dict[str, tuple[str, str]]]:
    def live(model: type) -> dict[str, tuple[str, str]]:
        rows = model.objects.filter(account=account, removed_at__isnull=True)
        return {uid: (state, health) for uid, state, health in rows.values_list("uid", "state", "health")}

    return {"clusters": live(Cluster), "edgehosts": live(EdgeHost)}


def total_requests(runs: list[SyncRun]) -> int:
    return sum(sum(run.requests.values()) for run in runs)


@pytest.fixture
def fleet() -> Fleet:
    return generate_fleet(seed=21, projects=2, clusters=150, profiles=8, edge_hosts=120, audits=400, anchor=time.time())


def faulty_client(fleet: Fleet, faults: FaultConfig, **app_options: object) -> tuple[PaletteClient, SimApp]:
    """A client with its own throttle on a simulator app serving `fleet` with `faults`."""
    sim = SimApp(fleet, SIM_KEY, faults=faults, **app_options)
    throttle = LocalThrottle(f"faults-{time.monotonic_ns()}", penalty=0.2)
    client = PaletteClient(
        "http://sim", SIM_KEY, transport=httpx.WSGITransport(app=sim), retry=PATIENT, throttle=throttle
    )
    return client, sim


# --- in-process: the client's retries and the listing's checks -----------------------------------------


@pytest.mark.django_db
def test_it_rides_out_a_429_storm(account: PaletteAccount, fleet: Fleet) -> None:
    client, sim = faulty_client(fleet, FaultConfig(storm_seconds=1.0))

    runs = sync.sync_account(account, client)

    assert {run.status for run in runs} == {"ok"}
    assert stored(account) == served_in_process(fleet)
    served_429 = sim.stats.snapshot()["throttledTotal"]
    assert served_429 > 0
    assert sum(run.throttled for run in runs) == served_429  # every 429 is on some run's record
    assert total_requests(runs) == sim.stats.snapshot()["total"]


@pytest.mark.django_db
def test_it_retries_one_answer_in_five_being_a_5xx(account: PaletteAccount, fleet: Fleet) -> None:
    client, sim = faulty_client(fleet, FaultConfig(error_rate=0.2))

    runs = sync.sync_account(account, client)

    assert {run.status for run in runs} == {"ok"}
    assert stored(account) == served_in_process(fleet)
    statuses = sim.stats.snapshot()["statuses"]
    assert sum(n for code, n in statuses.items() if code.startswith("5")) > 0
    assert total_requests(runs) == sim.stats.snapshot()["total"]  # the retries are on the record too


@pytest.mark.django_db
def test_it_keeps_what_it_had_when_a_listing_keeps_failing(account: PaletteAccount, fleet: Fleet) -> None:
    sync.sync_account(account, faulty_client(fleet, FaultConfig())[0])
    before = stored(account)
    client, _ = faulty_client(fleet, FaultConfig(error_rate=1.0, paths=("/v1/dashboard/spectroclusters",)))

    runs = sync.sync_account(account, client)

    failed = [run for run in runs if run.resource == "clusters"]
    assert {run.status for run in failed} == {"failed"}
    assert all("simulated server error" in run.errors[0] for run in failed)
    assert {run.status for run in runs if run.resource != "clusters"} == {"ok"}
    assert stored(account) == before  # nothing removed, nothing changed
    assert not Cluster.objects.filter(removed_at__isnull=False).exists()


@pytest.mark.django_db
def test_it_retries_malformed_and_truncated_bodies(account: PaletteAccount, fleet: Fleet) -> None:
    client, sim = faulty_client(fleet, FaultConfig(malformed_rate=0.15, truncated_rate=0.1))

    runs = sync.sync_account(account, client)

    assert {run.status for run in runs} == {"ok"}
    assert stored(account) == served_in_process(fleet)
    injected = sim.faults.injected
    assert injected.get("malformed_rate", 0) + injected.get("truncated_rate", 0) > 0


@pytest.mark.django_db
def test_it_removes_nothing_after_a_dropped_page_and_converges_next_time(account: PaletteAccount, fleet: Fleet) -> None:
    sync.sync_account(account, faulty_client(fleet, FaultConfig())[0])
    gone = next(c for c in fleet.clusters.values() if c.state != "Deleted")
    fleet.remove_cluster(gone)  # really deleted in Palette: a complete listing may remove it
    fleet.version += 1
    dropping = FaultConfig(drop_rate=1.0, paths=("/v1/dashboard/spectroclusters", "/v1/dashboard/edgehosts"))

    runs = sync.sync_account(account, faulty_client(fleet, dropping)[0])

    broken = [run for run in runs if run.resource in ("clusters", "edgehosts") and run.items > 50]
    assert broken and {run.status for run in broken} == {"partial"}
    assert all("incomplete" in run.errors[0] and run.removed == 0 for run in broken)
    assert not Cluster.objects.filter(removed_at__isnull=False).exists()
    assert not EdgeHost.objects.filter(removed_at__isnull=False).exists()

    runs = sync.sync_account(account, faulty_client(fleet, FaultConfig())[0])

    assert {run.status for run in runs} == {"ok"}
    assert stored(account) == served_in_process(fleet)
    assert Cluster.objects.get(uid=gone.uid).removed_at is not None
    assert Cluster.objects.filter(removed_at__isnull=False).count() == 1


class FailingAfter(httpx.BaseTransport):
    """Answers 503 to every `/v1/audits` page whose window starts after `cutoff`: a slice that breaks."""

    def __init__(self, inner: httpx.BaseTransport, cutoff: datetime) -> None:
        self.inner, self.cutoff = inner, cutoff

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = request.url.params.get("startTime")
        if request.url.path == "/v1/audits" and start and datetime.fromisoformat(start) > self.cutoff:
            return httpx.Response(503, json={"code": "Unavailable", "message": "slice broken"}, request=request)
        return self.inner.handle_request(request)


@pytest.mark.django_db
def test_it_stores_no_audit_beyond_a_broken_slice_and_fills_the_gap_next_time(
    account: PaletteAccount, sim_client: Callable, settings
) -> None:
    settings.PALETTE_TIMELINE_BACKFILL = 91 * DAY
    fleet = generate_fleet(seed=5, projects=2, clusters=30, audits=3000, anchor=time.time())
    sync.sync_projects(account, sim_client(fleet))
    cutoff = datetime.now(UTC) - timedelta(days=60)  # the newest of the window's slices breaks
    transport = FailingAfter(httpx.WSGITransport(app=SimApp(fleet, SIM_KEY)), cutoff)

    broken = sync_audits(account, PaletteClient("http://sim", SIM_KEY, transport=transport, retry=FAST_RETRY))

    assert broken.status == "partial" and "503" in broken.errors[0]
    uids = {fleet.audits.uid(pos): t for pos, t in enumerate(fleet.audits.ts)}
    kept = set(TimelineEntry.objects.filter(kind="audit").values_list("source_id", flat=True))
    missing = [t for uid, t in uids.items() if uid not in kept]
    assert kept and missing
    assert max(uids[uid] for uid in kept) <= min(missing)  # nothing stored beyond the first gap

    again = sync_audits(account, sim_client(fleet))

    assert again.status == "ok", again.errors
    assert again.added == len(missing)
    assert TimelineEntry.objects.filter(kind="audit").count() == len(fleet.audits)


@pytest.mark.django_db
def test_it_logs_in_again_when_the_session_token_expires_mid_sync(account: PaletteAccount, fleet: Fleet) -> None:
    # Tokens live 1-2 s (whole seconds of the simulated clock); the sync takes longer than that.
    sim = SimApp(fleet, SIM_KEY, token_ttl=2, faults=FaultConfig(latency_ms=100))
    client = PaletteClient(
        "http://sim", username=sim.email, password=SIM_KEY, transport=httpx.WSGITransport(app=sim), retry=PATIENT
    )

    runs = sync.sync_account(account, client)

    assert {run.status for run in runs} == {"ok"}
    assert stored(account) == served_in_process(fleet)
    stats = sim.stats.snapshot()
    assert stats["endpoints"]["POST /v1/auth/authenticate"] >= 2  # the first login, and after an expiry
    assert stats["statuses"].get("401", 0) >= 1
    assert sum(run.requests.get("/v1/auth/authenticate", 0) for run in runs) >= 2


# --- over a socket: hangs --------------------------------------------------------------------------------


def control(sim: Sim) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers={"X-Sim-Control-Key": CONTROL_KEY}, timeout=10)


def served_by(sim: Sim) -> dict[str, dict[str, tuple[str, str]]]:
    """What a socket simulator serves once its faults are cleared."""
    with control(sim) as ctl:
        ctl.delete("/__sim/faults").raise_for_status()
    with PaletteClient(sim.url, SIM_KEY) as client:
        return served(client)


@pytest.fixture
def hanging_sim() -> Iterator[Sim]:
    sim = start_sim(
        *("--seed", "21", "--projects", "2", "--clusters", "150", "--edge-hosts", "120"),
        *("--hang-rate", "0.15", "--hang-seconds", "3", "--control-key", CONTROL_KEY),
    )
    yield sim
    stop(sim.proc)


@pytest.mark.django_db
def test_it_times_out_hung_requests_and_retries_them(account: PaletteAccount, hanging_sim: Sim) -> None:
    client = PaletteClient(hanging_sim.url, SIM_KEY, timeout=0.5, retry=PATIENT)

    runs = sync.sync_account(account, client)

    assert {run.status for run in runs} == {"ok"}
    with control(hanging_sim) as ctl:
        hangs = ctl.get("/__sim/stats").json()["faultsInjected"].get("hang_rate", 0)
    assert hangs > 0
    assert stored(account) == served_by(hanging_sim)


# --- real workers, a real Redis: a worker killed, Redis restarted ---------------------------------------


def worker_env(redis_url: str, sim: Sim, queue: str) -> dict:
    from django.db import connection

    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PALETTE_API_URL": sim.url,
        "PALETTE_API_KEY": "",
        "PALETTE_SYNC_LOCK_TIMEOUT": "3",  # a dead worker's locks lapse quickly
        "PALETTE_RETRY_WAIT_MAX": "0.5",
        "PYTHONUNBUFFERED": "1",
    }


def sim_account(sim: Sim) -> PaletteAccount:
    account = PaletteAccount(name=f"faults-{time.monotonic_ns()}", api_url=sim.url)
    account.set_secret(SIM_KEY)
    account.save()
    return account


def send_sync(account: PaletteAccount, redis_url: str, queue: str) -> None:
    with celery_app.connection_for_write(redis_url) as conn:
        celery_app.send_task("palette_sync.sync_account", args=[account.pk], queue=queue, connection=conn)


def held_locks(redis_url: str, account: PaletteAccount) -> list:
    """The account's scope locks still in Redis (each lapses after PALETTE_SYNC_LOCK_TIMEOUT)."""
    return redis_for(redis_url).keys(lock_name(account.pk, "*"))


class Supervised:
    """A worker run as the deployment runs it (systemd `Restart=always`, compose `restart:`): one that
    exits is started again, and each exit is recorded. Celery 5.7's worker can exit instead of
    reconnecting when Redis goes away while its threads are busy (README "One machine, its parts failing")."""

    def __init__(self, env: dict, tmp_path: Path) -> None:
        self.env, self.tmp_path, self.exits = env, tmp_path, []
        self.logs = [tmp_path / "worker.log"]
        self.proc = start_worker(env, self.logs[0])

    def keep_running(self) -> None:
        if self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            self.logs.append(self.tmp_path / f"worker-{len(self.logs)}.log")
            self.proc = start_worker(self.env, self.logs[-1])


def wait_for(
    condition: Callable[[], bool], timeout: float, logs: list[Path], what: str, tick: Callable[[], None] = lambda: None
) -> None:
    deadline = time.monotonic() + timeout
    tick()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s\n" + "\n".join(map(log_excerpt, logs)))
        time.sleep(0.2)
        tick()


def log_excerpt(log: Path) -> str:
    """What a failed wait shows of a worker's log: every error in it (a worker that stopped working
    early may have logged the cause long before the end), then its last lines."""
    if not log.exists():
        return f"{log.name}: no log"
    text = log.read_text()
    errors = [line for line in text.splitlines() if "[error" in line or "[critical" in line or "Error:" in line]
    return f"{log.name}, errors:\n" + "\n".join(errors[-40:]) + f"\n{log.name}, last lines:\n{text[-2500:]}"


def scopes_ok_since(account: PaletteAccount, since: float) -> bool:
    """Every scope of the account has a run that started after `since` and ended ok."""
    after = datetime.fromtimestamp(since, UTC)
    projects = len(sync.live_projects(account))
    ok = SyncRun.objects.filter(account=account, started_at__gte=after, status="ok")
    scopes = set(ok.values_list("resource", "project"))
    return projects > 0 and len(scopes) >= 1 + len(sync.TENANT_RESOURCES) + projects * len(sync.PROJECT_RESOURCES)


@pytest.fixture
def slow_sim() -> Iterator[Sim]:
    """400 ms an answer: a sync of this fleet takes several seconds, long enough to break it midway."""
    sim = start_sim(
        *("--seed", "21", "--projects", "2", "--clusters", "300", "--edge-hosts", "200"),
        *("--latency-ms", "400", "--control-key", CONTROL_KEY),
    )
    yield sim
    stop(sim.proc)


@pytest.mark.worker
def test_it_recovers_from_a_worker_killed_mid_sync(
    transactional_db: None, redis_url: str, slow_sim: Sim, tmp_path: Path
) -> None:
    queue = f"faults-kill-{os.getpid()}-{time.monotonic_ns()}"
    env = worker_env(redis_url, slow_sim, queue)
    account = sim_account(slow_sim)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = start_worker(env, logs[0])
    try:
        send_sync(account, redis_url, queue)
        running = SyncRun.objects.filter(account=account, finished_at__isnull=True)
        wait_for(
            lambda: running.exists() and SyncRun.objects.filter(account=account, status="ok").count() >= 2,
            60,
            logs,
            "no run was in progress",
        )
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its threads die mid-sync
        first.wait()
    finally:
        stop(first)
    killed = list(running.values_list("pk", flat=True))
    assert killed

    second = start_worker(env, logs[1])
    try:
        wait_for(lambda: not held_locks(redis_url, account), 10, logs, "the dead worker's locks did not lapse")
        restarted = time.time()
        send_sync(account, redis_url, queue)  # the next beat
        wait_for(lambda: scopes_ok_since(account, restarted), 90, logs, "the next sync did not complete")
    finally:
        stop(second)

    assert stored(account) == served_by(slow_sim)
    for run in SyncRun.objects.filter(pk__in=killed):  # the next run of each scope said what became of them
        assert run.status == "failed" and run.finished_at is not None
        assert "abandoned" in run.errors[0]
    assert not SyncRun.objects.filter(account=account, finished_at__isnull=True).exists()


@pytest.mark.worker
def test_it_recovers_from_redis_restarting_mid_sync(
    transactional_db: None, private_redis: PrivateRedis, slow_sim: Sim, tmp_path: Path
) -> None:
    queue = f"faults-redis-{os.getpid()}-{time.monotonic_ns()}"
    env = worker_env(private_redis.url, slow_sim, queue)
    account = sim_account(slow_sim)
    worker = Supervised(env, tmp_path)
    logs, tick = worker.logs, worker.keep_running
    try:
        send_sync(account, private_redis.url, queue)
        running = SyncRun.objects.filter(account=account, finished_at__isnull=True)
        wait_for(
            lambda: running.exists() and SyncRun.objects.filter(account=account, status="ok").count() >= 2,
            60,
            logs,
            "no run was in progress",
        )
        private_redis.kill()  # broker, rate budget and locks gone at once
        time.sleep(1.5)  # the outage itself: Redis stays down this long
        private_redis.start()
        wait_for(lambda: not held_locks(private_redis.url, account), 10, logs, "locks from before did not lapse", tick)
        restarted = time.time()
        send_sync(account, private_redis.url, queue)
        done = "the sync after the restart did not complete"
        wait_for(lambda: scopes_ok_since(account, restarted), 90, logs, done, tick)
        wait_for(lambda: not running.exists(), 30, logs, "runs were left open", tick)
    finally:
        stop(worker.proc)
    print(f"worker exits during the outage: {worker.exits or 'none'}")  # shown with -s or on failure

    assert stored(account) == served_by(slow_sim)
    broken = SyncRun.objects.filter(account=account).exclude(status__in=("ok", "skipped"))
    assert broken.exists()  # the outage is on the record ...
    assert all(run.errors and run.finished_at for run in broken)  # ... with what went wrong
    errors = [error for run in broken for error in run.errors]
    assert any(error.startswith(("rate budget unavailable", "abandoned")) for error in errors), errors
