"""The sync at fleet scale, measured: 10,000 clusters, 50,000 edge hosts with their own API, 100,000 audits.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/palette_fleet_scale python bench/scale.py --json
    python bench/scale.py --clusters 500 --edge-hosts 2000 --audits 5000 --edge-interval 60   # a quick look

The same machinery as bench/sync.py (the simulator at the published limits with 100 ms added to
every answer, two Celery worker processes, one Redis, a warm-up on a tiny second simulator), at
fleet size, with the simulator's Edge Host API on (TLS, a CA the simulator makes) and the bench
account given an edge credential for every host, as `make demo` does. Phases:

* `full`: a full sync of a new account (about 4,500 listing pages);
* `incremental`: 1 % of the clusters + edge hosts changed through the simulator's churn, then the
  same account synced again;
* `edge`: the Edge Host API cadence with a compressed PALETTE_EDGE_INTERVAL (`--edge-interval`):
  the bench sends `palette_sync.schedule_edge_probes` every PALETTE_EDGE_TICK, as beat would,
  until every host was read once (the first round: logins), then for `--edge-steady` seconds more
  (hosts come due again at their own offsets: sessions reused, or not).

Per phase, besides bench/sync.py's figures: peak RSS and CPU seconds (cores = CPU seconds / phase
seconds) of each worker process and of the simulator, their children included, sampled with
psutil every 0.25 s; at the end each worker's lifetime peak (VmHWM). PostgreSQL when DATABASE_URL
is set, else a temporary SQLite file (only for small sizes). Every process the bench starts is
stopped at the end; the bench's accounts are deleted unless --keep.
"""

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sync as base  # noqa: E402 (after the path: the bench runs as a script)
from config.celery import WORKER_ARENAS  # noqa: E402
from devtools import processes  # noqa: E402

PHASES = ("full", "incremental", "edge")
GOAL_RATIO = 1.10  # the goal for the full sync at fleet scale: seconds / least seconds
GOAL_RSS_MB = 300  # worker peak RSS
GOAL_CORES = 0.5  # "well under one core": a worker's CPU seconds over the phase's seconds
EDGE_USER = "kairos"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    p.add_argument("--pool", default="threads", choices=("threads", "prefork"), help="worker pool (default threads)")
    p.add_argument("--concurrency", type=int, default=16, help="tasks in flight per worker (default 16)")
    p.add_argument("--latency-ms", type=float, default=100.0, help="added to every Palette answer (default 100)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--projects", type=int, default=10)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--profiles", type=int, default=200)
    p.add_argument("--edge-hosts", type=int, default=50_000)
    p.add_argument("--audits", type=int, default=100_000)
    p.add_argument("--backfill-days", type=float, default=91, help="PALETTE_TIMELINE_BACKFILL in days (default 91)")
    p.add_argument("--change", type=float, default=0.01, help="fraction of clusters + edge hosts changed (0.01)")
    p.add_argument(
        "--edge-interval",
        type=int,
        default=900,
        help="PALETTE_EDGE_INTERVAL of the edge phase, seconds (default 900, the production setting: first "
        "readings go at twice the fair share, so the first round takes half of it if the workers keep up)",
    )
    p.add_argument("--edge-tick", type=int, default=15, help="PALETTE_EDGE_TICK, seconds (default 15)")
    p.add_argument(
        "--edge-steady", type=float, default=120, help="seconds the cadence runs on after the first round (120)"
    )
    p.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated (default {','.join(PHASES)}); all need full"
    )
    p.add_argument("--no-warm-up", action="store_true", help="measure the first phase with fresh workers")
    p.add_argument("--timeout", type=float, default=1800, help="seconds a phase may take before the bench gives up")
    p.add_argument("--sample-every", type=float, default=0.25, help="seconds between RSS samples (0.25)")
    p.add_argument(
        "--malloc-arena-max",
        type=int,
        help="MALLOC_ARENA_MAX for the workers (default: the 2 a worker sets itself, config/celery.py): what glibc "
        "keeps of freed memory grows with the arenas that threads spread over",
    )
    p.add_argument("--keep", action="store_true", help="keep the bench accounts' rows in the database")
    p.add_argument("--log-dir", type=Path, help="copy the simulator's and workers' logs here at the end")
    return p.parse_args(argv)


say = base.say


# --- what the processes spend ------------------------------------------------------------------------


class Resources:
    """Peak RSS and CPU seconds of each process the bench started (with its children), sampled in a thread."""

    def __init__(self, roles: dict[str, int], every: float) -> None:
        self.roles = roles  # role -> pid
        self.every = every
        self.peaks = dict.fromkeys(roles, 0)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="resources", daemon=True)
        self.thread.start()

    @staticmethod
    def tree(pid: int) -> list:
        import psutil

        try:
            parent = psutil.Process(pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def measure(self, pid: int) -> tuple[int, float]:
        """(RSS in bytes, CPU seconds) of a process and its children now."""
        import psutil

        rss, cpu = 0, 0.0
        for proc in self.tree(pid):
            try:
                rss += proc.memory_info().rss
                times = proc.cpu_times()
                cpu += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return rss, cpu

    def run(self) -> None:
        while not self.stop.wait(self.every):
            for role, pid in self.roles.items():
                rss, _ = self.measure(pid)
                with self.lock:
                    self.peaks[role] = max(self.peaks[role], rss)

    @contextmanager
    def window(self) -> Iterator[dict]:
        """The figures of what runs inside, per role: peak RSS (MB), CPU seconds, cores."""
        out: dict = {}
        start = {role: self.measure(pid) for role, pid in self.roles.items()}
        with self.lock:
            self.peaks = {role: rss for role, (rss, _) in start.items()}
        began = time.monotonic()
        yield out
        seconds = time.monotonic() - began
        for role, pid in self.roles.items():
            rss, cpu = self.measure(pid)
            with self.lock:
                peak = max(self.peaks[role], rss)
            spent = cpu - start[role][1]
            out[role] = {
                "rss_at_start_mb": round(start[role][0] / 2**20, 1),
                "peak_rss_mb": round(peak / 2**20, 1),
                "rss_at_end_mb": round(rss / 2**20, 1),
                "cpu_seconds": round(spent, 1),
                "cores": round(spent / seconds, 3) if seconds else None,
            }

    def lifetime_peaks(self) -> dict:
        """Each role's main process's peak RSS since it started (Linux VmHWM), MB."""
        out = {}
        for role, pid in self.roles.items():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                out[role] = round(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024, 1)
            except (OSError, AttributeError):
                out[role] = None
        return out

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


# --- the simulator with the Edge Host API on ---------------------------------------------------------------


def start_sim(stack: ExitStack, args: argparse.Namespace, tmp: Path, control_key: str) -> tuple[str, dict]:
    """The fleet's simulator, its Edge Host API on a port of its own over TLS; (url, edge access)."""
    edge_port = processes.free_port()
    password = secrets.token_urlsafe(12)
    ca_file = tmp / "edge-ca.pem"
    sim = processes.start_simulator(
        base.API_KEY,
        *("--quiet", "--rate-scale", "1", "--edge-port", str(edge_port), "--edge-ca-out", str(ca_file)),
        *("--latency-ms", str(args.latency_ms), "--seed", str(args.seed), "--projects", str(args.projects)),
        *("--clusters", str(args.clusters), "--profiles", str(args.profiles)),
        *("--edge-hosts", str(args.edge_hosts), "--audits", str(args.audits)),
        log=tmp / "sim.log",
        env={**os.environ, "PALETTE_SIM_CONTROL_KEY": control_key, "PALETTE_SIM_EDGE_PASSWORD": password},
        timeout=300,
    )
    stack.callback(processes.stop, sim.proc)
    proc = sim.proc
    deadline = time.monotonic() + 60
    while not ca_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the simulator's edge server did not start:\n{(tmp / 'sim.log').read_text()[-2000:]}")
        time.sleep(0.1)
    base.CHILDREN["simulator"].append(proc)
    return sim.url, {"port": edge_port, "password": password, "ca_pem": ca_file.read_text()}


def scale_account(sim_url: str, phase: str, edge: dict) -> object:
    """A bench account with one edge credential for every host (selector `*`), as `make demo` makes."""
    from dashboard.models import EdgeCredential

    account = base.bench_account(sim_url, phase)
    base.ACCOUNTS.append(account)
    credential = EdgeCredential(account=account, selector="*", username=EDGE_USER, ca_pem=edge["ca_pem"])
    credential.port = edge["port"]
    credential.set_password(edge["password"])
    credential.save()
    return account


# --- the edge phase -------------------------------------------------------------------------------------

PROBES_LINE = re.compile(rb"edge probes: (\d+) hosts, (\d+) logins, (\d+) renewals, (\d+) sessions reused")
SUCCEEDED = re.compile(rb"Task (palette_sync\.\w+)\[[^\]]+\] succeeded in ([0-9.]+)s")
EDGE_TASKS = (b"palette_sync.schedule_edge_probes", b"palette_sync.probe_edge_hosts", b"palette_sync.write_edge_probes")
TROUBLE = re.compile(rb"\] (?:ERROR|CRITICAL)|Traceback|Task \S+ raised|WARNING/\S+\] .*(?:retry|expired|revoked)")


class LogTail:
    """What the workers logged from a point on: the edge probe tallies, task times and trouble."""

    def __init__(self, logs: list[Path]) -> None:
        self.logs = logs
        self.offsets = [log.stat().st_size for log in logs]

    def read(self) -> bytes:
        chunks = []
        for i, log in enumerate(self.logs):
            with log.open("rb") as fh:
                fh.seek(self.offsets[i])
                data = fh.read()
            cut = data.rfind(b"\n") + 1  # whole lines only; the rest is read next time
            self.offsets[i] += cut
            chunks.append(data[:cut])
        return b"".join(chunks)


def tally(text: bytes) -> dict:
    """Hosts probed, logins, renewals, sessions reused; task durations; troubled lines."""
    counts = Counter()
    for match in PROBES_LINE.finditer(text):
        for key, value in zip(("hosts", "logins", "renewals", "reused"), match.groups(), strict=True):
            counts[key] += int(value)
    durations: dict[str, list[float]] = {}
    for name, seconds in SUCCEEDED.findall(text):
        if name in EDGE_TASKS:  # not a sync task of an earlier phase that returned late
            durations.setdefault(name.decode().rsplit(".", 1)[-1], []).append(float(seconds))
    trouble = [line.decode(errors="replace")[:300] for line in text.splitlines() if TROUBLE.search(line)]
    return {"counts": counts, "durations": durations, "trouble": trouble}


def round_figures(seen: dict, seconds: float) -> dict:
    counts = seen["counts"]
    hosts = counts.get("hosts", 0)
    return {
        "seconds": round(seconds, 1),
        "probes": hosts,
        "probes_per_second": round(hosts / seconds, 1) if seconds else None,
        "logins": counts.get("logins", 0),
        "renewals": counts.get("renewals", 0),
        "sessions_reused": counts.get("reused", 0),
        "logins_per_probe": round(counts.get("logins", 0) / hosts, 3) if hosts else None,
        "tasks": {name: spread(values) for name, values in sorted(seen["durations"].items())},
    }


def spread(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median_s": round(statistics.median(ordered), 2),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max_s": round(ordered[-1], 2),
    }


def run_edge_phase(
    args: argparse.Namespace, account: object, queue: str, redis_url: str, sim: object, logs: list
) -> dict:
    """Run the Edge Host API cadence (the bench as beat) until every live host of the account was
    read once, then `--edge-steady` seconds more; the figures of both parts."""
    from django.db.models import Count
    from django.utils import timezone

    from config.celery import app
    from dashboard.models import EdgeHost, FleetCount, SyncRun

    live = EdgeHost.objects.filter(account=account, removed_at__isnull=True)
    total = live.count()
    tail, before = LogTail(logs), sim.stats()
    started, began = timezone.now(), time.monotonic()
    first_round: float | None = None
    first_seen: dict = {}
    progress: list[tuple[float, int]] = []
    next_tick = began
    timed_out = False
    with app.connection_for_write(redis_url) as conn:
        while True:
            now = time.monotonic()
            if now >= next_tick:  # beat's schedule, PALETTE_EDGE_TICK apart; a tick nobody took is dropped
                app.send_task("palette_sync.schedule_edge_probes", queue=queue, connection=conn, expires=args.edge_tick)
                next_tick = now + args.edge_tick  # as beat: the next one a tick after this one, never a burst
            read = live.filter(edge_api_checked_at__gte=started).count()
            if not progress or now - began - progress[-1][0] >= 10:
                progress.append((round(now - began, 1), read))
                say(f"edge: {read} of {total} hosts read in {now - began:.0f}s")
            if first_round is None and read >= total:
                first_round = now - began
                time.sleep(2)  # the last batches' log lines
                first_seen = tally(tail.read())
                say(f"edge: every host read once in {first_round:.0f}s; {args.edge_steady:.0f}s more ...")
            if first_round is not None and now - began >= first_round + args.edge_steady:
                break
            if now - began > args.timeout:
                timed_out = True
                break
            time.sleep(1.0)
    seconds = time.monotonic() - began
    time.sleep(2)
    rest = tally(tail.read())
    if first_round is None:
        first_seen, rest = rest, {"counts": Counter(), "durations": {}, "trouble": []}
    after = sim.stats()
    states = Counter(live.values_list("edge_api_state", flat=True))
    errors = Counter(
        (state, re.sub(r"\d+\.\d+\.\d+\.\d+", "<address>", error)[:160])
        for state, error in live.exclude(edge_api_state="reachable").values_list("edge_api_state", "edge_api_error")
    )
    reach = sim.call("GET", "edge")
    counted = FleetCount.objects.filter(account=account).values("project", "resource", "dimension", "value")
    runs = SyncRun.objects.filter(account=account, resource="edge_api", started_at__gte=started)
    return {
        "interval": args.edge_interval,
        "tick": args.edge_tick,
        "hosts": total,
        "seconds": round(seconds, 1),
        "timed_out": timed_out,
        "first_round": round_figures(first_seen, first_round or seconds) | {"complete": first_round is not None},
        "steady": round_figures(rest, seconds - first_round) if first_round is not None else None,
        "fair_rate_per_second": round(total / args.edge_interval, 1),
        "first_round_least_seconds": round(args.edge_interval / 2, 1),  # twice the fair share, if the workers keep up
        "read_at_least_once": live.filter(edge_api_checked_at__gte=started).count(),
        "overdue_at_end": live.filter(edge_api_due_at__lt=timezone.now()).count(),
        "states": dict(states),
        "simulated_down": len(reach["down"]),
        "simulated_slow": len(reach["slow"]),
        "errors": [{"state": s, "error": e, "hosts": n} for (s, e), n in errors.most_common(8)],
        "edge_requests": after["edgeRequests"] - before["edgeRequests"],
        "palette_requests": after["total"] - before["total"],
        "runs": dict(Counter(runs.values_list("status", flat=True))),
        # Two recounts of one project at once would leave two rows for one value (no unique constraint).
        "fleetcount_duplicates": counted.annotate(n=Count("id")).filter(n__gt=1).count(),
        "trouble_lines": len(first_seen["trouble"]) + len(rest["trouble"]),
        "trouble_sample": (first_seen["trouble"] + rest["trouble"])[:10],
        "progress": progress,
    }


# --- main ---------------------------------------------------------------------------------------------


def worker_env(args: argparse.Namespace, database_url: str, redis_url: str, queue: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PALETTE_API_KEY": "",  # only the bench's own accounts are synced
        "PALETTE_SECRET_KEY": os.getenv("PALETTE_SECRET_KEY") or secrets.token_urlsafe(32),
        "PALETTE_TIMELINE_BACKFILL": str(int(args.backfill_days * base.DAY)),
        "PALETTE_EDGE_INTERVAL": str(args.edge_interval),
        "PALETTE_EDGE_TICK": str(args.edge_tick),
        "PYTHONUNBUFFERED": "1",
        **({"MALLOC_ARENA_MAX": str(args.malloc_arena_max)} if args.malloc_arena_max else {}),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    wanted = args.phases.split(",")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-")))
        if args.log_dir:
            stack.callback(base.copy_logs, tmp, args.log_dir)
        database_url = os.getenv("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
        if database_url.startswith(("postgres://", "postgresql://")):
            base.ensure_postgres_database(database_url)
        shared_redis = os.getenv("REDIS_URL", "")
        redis_url = shared_redis or base.private_redis(stack, tmp)
        queue = f"bench-scale-{os.getpid()}-{secrets.token_hex(3)}"
        env = worker_env(args, database_url, redis_url, queue)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        control_key = secrets.token_urlsafe(16)
        say(
            f"starting the simulator ({args.clusters} clusters, {args.edge_hosts} edge hosts, {args.audits} audits) ..."
        )
        sim_url, edge = start_sim(stack, args, tmp, control_key)
        sim = base.SimControl(sim_url, control_key)
        stack.callback(sim.http.close)
        say(f"simulator on {sim_url}; starting {args.workers} workers ({args.pool} x {args.concurrency}) ...")
        logs = base.start_workers(stack, args, tmp, env)
        roles = {"simulator": base.CHILDREN["simulator"][0].pid}
        roles |= {f"worker-{i}": proc.pid for i, proc in enumerate(base.CHILDREN["workers"])}
        resources = Resources(roles, args.sample_every)
        stack.callback(resources.close)
        if not args.keep:
            stack.callback(delete_accounts)
        if not args.no_warm_up:
            say(f"warm-up: a tiny fleet synced in {base.warm_up(args, tmp, queue, redis_url, logs)}s")
        phases: dict = {}
        account = scale_account(sim_url, "scale-full", edge)
        say("full sync ...")
        with resources.window() as used:
            phases["full"] = base.run_phase(account.pk, queue, redis_url, sim, args.timeout, logs)
        phases["full"] |= {"account": account.pk, "processes": used}
        say(f"full: {brief(phases['full'])}")
        if "incremental" in wanted:
            n = round(args.change * (args.clusters + args.edge_hosts))
            changes = sim.change(n)
            say(f"changed: {changes}; incremental sync ...")
            with resources.window() as used:
                incremental = base.run_phase(account.pk, queue, redis_url, sim, args.timeout, logs)
            changed = sum(changes.values())
            incremental |= {
                "changed": {"total": changed, **changes},
                "goal_requests": incremental["listing_pages_needed"] + changed,
                "processes": used,
            }
            phases["incremental"] = incremental
            say(f"incremental: {brief(incremental)}")
        if "edge" in wanted:
            say(f"edge API cadence, PALETTE_EDGE_INTERVAL={args.edge_interval}s, tick {args.edge_tick}s ...")
            with resources.window() as used:
                phases["edge"] = run_edge_phase(args, account, queue, redis_url, sim, logs)
            phases["edge"] |= {"processes": used, **per_probe(phases["edge"], used, args.workers)}
        lifetime = resources.lifetime_peaks()
        return {
            "setup": {
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "redis": "REDIS_URL" if shared_redis else "private",
                "workers": args.workers,
                "pool": args.pool,
                "concurrency": args.concurrency,
                "warm_up": not args.no_warm_up,
                "cushion": settings.PALETTE_RATE_CUSHION,
                "latency_ms": args.latency_ms,
                "backfill_days": args.backfill_days,
                "malloc_arena_max": args.malloc_arena_max or os.getenv("MALLOC_ARENA_MAX") or WORKER_ARENAS,
                "edge": {
                    "interval": args.edge_interval,
                    "tick": args.edge_tick,
                    "batch": settings.PALETTE_EDGE_BATCH,
                    "concurrency": settings.PALETTE_EDGE_CONCURRENCY,
                    "sessions": settings.PALETTE_EDGE_SESSIONS,
                },
                "fleet": sim.call("GET", "fleet")["counts"],
                "cpus": os.cpu_count(),
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "at": datetime.now().astimezone().isoformat(timespec="seconds"),
                "commit": commit(),
            },
            **phases,
            "lifetime_peak_rss_mb": lifetime,
            "goals": goals(phases, lifetime),
        }


def commit() -> str | None:
    """The commit the bench runs (None outside a git checkout, e.g. in a `git archive` export)."""
    import subprocess

    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() or os.getenv("BENCH_COMMIT") or None


def per_probe(edge: dict, used: dict, workers: int) -> dict:
    """CPU a probe costs the workers and the simulator, and the workers' cores at the fair rate
    (every host once per PALETTE_EDGE_INTERVAL), whatever pace the phase itself ran at."""
    probes = edge["first_round"]["probes"] + (edge["steady"] or {}).get("probes", 0)
    if not probes:
        return {}
    worker_cpu = sum(p["cpu_seconds"] for role, p in used.items() if role.startswith("worker"))
    return {
        "worker_cpu_ms_per_probe": round(1000 * worker_cpu / probes, 1),
        "simulator_cpu_ms_per_probe": round(1000 * used["simulator"]["cpu_seconds"] / probes, 1),
        "worker_cores_at_fair_rate": round(worker_cpu / probes * edge["fair_rate_per_second"] / workers, 3),
    }


def brief(f: dict) -> str:
    workers = {role: (p["peak_rss_mb"], p["cores"]) for role, p in f["processes"].items()}
    return (
        f"{f['seconds']}s, {f['requests']['total']} requests, {f['throttled']} throttled, "
        f"ratio {f['ratio_to_limit']} (least {f['least_seconds']}s, {f['bottleneck']}); (MB, cores) {workers}"
    )


def delete_accounts() -> None:
    started = time.monotonic()
    for account in base.ACCOUNTS:
        account.delete()
    say(f"bench accounts deleted in {time.monotonic() - started:.0f}s")


def goals(phases: dict, lifetime: dict) -> dict:
    """The issue's goals at fleet scale, for the phases that ran."""
    out = {}
    full = phases["full"]
    out[f"full_ratio_le_{GOAL_RATIO}"] = full["ratio_to_limit"] is not None and full["ratio_to_limit"] <= GOAL_RATIO
    out["full_throttled_0"] = full["throttled"] == 0
    peaks = [p["peak_rss_mb"] for f in phases.values() for r, p in f["processes"].items() if r.startswith("worker")]
    peaks += [mb for role, mb in lifetime.items() if role.startswith("worker") and mb is not None]
    out[f"worker_peak_rss_le_{GOAL_RSS_MB}_mb"] = max(peaks) <= GOAL_RSS_MB
    cores = [p["cores"] for f in phases.values() for r, p in f["processes"].items() if r.startswith("worker")]
    out[f"worker_cores_le_{GOAL_CORES}"] = max(cores) <= GOAL_CORES
    if "incremental" in phases:
        incremental = phases["incremental"]
        out["incremental_requests_le_pages_plus_changed"] = (
            incremental["requests"]["total"] <= incremental["goal_requests"]
        )
    if "edge" in phases:
        out["edge_every_host_read"] = phases["edge"]["first_round"]["complete"]
    return out


def summary(figures: dict) -> str:
    lines = []
    for name in ("full", "incremental"):
        if name in figures:
            lines.append(f"{name}: {brief(figures[name])}")
    if "incremental" in figures:
        inc = figures["incremental"]
        lines.append(f"  incremental requests {inc['requests']['total']} vs goal {inc['goal_requests']}")
    if "edge" in figures:
        e = figures["edge"]
        for part in ("first_round", "steady"):
            if e.get(part):
                p = e[part]
                lines.append(
                    f"edge {part}: {p['probes']} probes in {p['seconds']}s ({p['probes_per_second']}/s), "
                    f"{p['logins_per_probe']} logins a probe"
                )
        lines.append(f"edge states {e['states']}; overdue at the end {e['overdue_at_end']}; processes {e['processes']}")
        lines.append(
            f"edge CPU a probe: workers {e.get('worker_cpu_ms_per_probe')} ms, simulator "
            f"{e.get('simulator_cpu_ms_per_probe')} ms; "
            f"a worker at the fair rate: {e.get('worker_cores_at_fair_rate')} cores"
        )
    lines.append(f"lifetime peak RSS (MB): {figures['lifetime_peak_rss_mb']}")
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
