"""Benchmark wall screens: N displays polling their screens against gunicorn + PostgreSQL; prints JSON.

    python bench/wall.py --json                    # 50 displays, a poll every 10 s each, 180 s measured
    python bench/wall.py --displays 100 --seconds 300 --workers 4

What runs: the bench drops and creates its own PostgreSQL database (`--database-url`, default
postgres://postgres@127.0.0.1:5432/palette_bench_wall), migrates it and fills it with
bench/pages.py's fill at its small scale (1,000 clusters, 2,000 edge hosts, 200 profile versions,
50,000 timeline entries in 20 projects, with the sync's counts). One operator makes two saved views
(unhealthy clusters, unhealthy edge hosts) and `--displays` displays, each with a mix of the
built-in screens and the saved views. Then gunicorn serves the app (config.wsgi, `--workers` sync
workers, persistent database connections) on a free loopback port.

Each display does what its page does in a browser: it loads the page once, then asks for its
screens partial every `--poll` seconds (each at its own phase), sending the last ETag as
If-None-Match. Every `--churn` seconds a cluster changes health and its project is recounted by the
sync's own code (`rollups.refresh_counts`), as a sync run changes data, so some polls get new data.

Figures (the measured window starts after the pages loaded and one poll round):
`cpu_fraction` CPU seconds of the gunicorn master and workers over the window's seconds (1.0 = one
core, from psutil); `p95_ms`/`p50_ms` of the polls as the client timed them on loopback;
`not_modified_share` the share of polls answered 304 or 204. Goals: cpu_fraction < 0.05, p95 < 30 ms.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/palette_bench_wall"
GOAL_CPU, GOAL_P95_MS = 0.05, 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--database-url", default=DEFAULT_URL, help=f"the bench's own database (default {DEFAULT_URL})")
    p.add_argument("--displays", type=int, default=50, help="displays polling at once (default 50)")
    p.add_argument("--poll", type=float, default=10, help="seconds between two polls of a display (default 10)")
    p.add_argument("--seconds", type=float, default=180, help="seconds measured (default 180)")
    p.add_argument("--churn", type=float, default=60, help="seconds between two data changes; 0: none (default 60)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--skip-fill", action="store_true", help="reuse the fleet of the last run (displays are remade)")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the fleet and the displays --------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[list[str], dict]:
    """Fill the database (bench/pages.py's small fleet) and make the displays; returns their tokens."""
    import pages

    if not args.skip_fill:
        say(f"creating {args.database_url} ...")
        pages.recreate_database(args.database_url)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from dashboard.models import Cluster, EdgeHost, SavedView
    from wall.models import Display

    call_command("migrate", verbosity=0)
    if not args.skip_fill:
        say("filling the fleet (bench/pages.py --scale small) ...")
        pages.fill(pages.parse_args(["--scale", "small"]))
    Display.objects.all().delete()
    operator, _ = User.objects.get_or_create(username="bench-operator")
    operator.groups.add(Group.objects.get_or_create(name="operator")[0])
    clusters, _ = SavedView.objects.get_or_create(
        owner=operator, page="clusters", name="Unhealthy clusters", defaults={"query": "health=UnHealthy"}
    )
    hosts, _ = SavedView.objects.get_or_create(
        owner=operator, page="edge_hosts", name="Unhealthy edge hosts", defaults={"query": "health=unhealthy"}
    )
    mixes = [
        ["overview", "unhealthy", "sites", "timeline"],
        ["overview", f"view:{clusters.pk}"],
        ["unhealthy", f"view:{hosts.pk}"],
        ["sites", "timeline", f"view:{clusters.pk}"],
    ]
    tokens = []
    for n in range(args.displays):
        display = Display(name=f"TV {n:03d}", created_by=operator, screens=mixes[n % len(mixes)])
        tokens.append(display.new_token())
        display.save()
    fleet = {
        "clusters": Cluster.objects.filter(removed_at__isnull=True).count(),
        "edge_hosts": EdgeHost.objects.filter(removed_at__isnull=True).count(),
        "unhealthy_clusters": Cluster.objects.filter(removed_at__isnull=True, health=Cluster.UNHEALTHY).count(),
    }
    from django.db import connections

    connections.close_all()
    return tokens, fleet


def churn() -> str:
    """One cluster changes health, its project is recounted and its run ends, as a sync run that saw the
    change would leave them (the run's SyncScope row is what moves the walls' data version)."""
    from django.utils import timezone

    from dashboard.models import Cluster, SyncScope
    from palette_sync.sync import rollups

    cluster = Cluster.objects.filter(removed_at__isnull=True).order_by("?").select_related("account", "project")[0]
    health = "Healthy" if cluster.health == Cluster.UNHEALTHY else Cluster.UNHEALTHY
    now = timezone.now()
    Cluster.objects.filter(pk=cluster.pk).update(health=health, health_since=now)
    rollups.refresh_counts(cluster.account, cluster.project, "clusters")
    SyncScope.objects.filter(account=cluster.account, project=cluster.project, resource="clusters").update(
        last_finished_at=now
    )
    return f"{cluster.name} -> {health}"


# --- the server --------------------------------------------------------------------------------------


def start_gunicorn(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DB_CONN_MAX_AGE": "600",  # persistent connections, as in production
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "BUILD_ID": "bench",
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", "sync"),
        *("--log-level", "warning"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    raise TimeoutError("gunicorn did not listen within 30 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_seconds(proc: object) -> float:
    """User + system CPU of the gunicorn master and its live workers."""
    import psutil

    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


# --- the displays --------------------------------------------------------------------------------------


async def display_loop(client: object, token: str, args: argparse.Namespace, start: float, polls: list) -> None:
    """One TV: its page once (at its own phase in the first round), then its partial every --poll seconds
    with If-None-Match, until the end."""
    next_at = start + random.uniform(0, args.poll)
    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    page = await client.get(f"/wall/{token}/")
    page.raise_for_status()
    etag = page.headers.get("ETag")
    end = start + 2 * args.poll + args.seconds
    next_at += args.poll
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if time.monotonic() >= end:
            return
        headers = {"HX-Request": "true", **({"If-None-Match": etag} if etag else {})}
        sent = time.monotonic()
        try:
            answer = await client.get(f"/wall/{token}/screens/", headers=headers)
            status = answer.status_code
            etag = answer.headers.get("ETag", etag)
        except Exception:  # noqa: BLE001 - a failed poll is a figure, not a crash
            status = 0
        polls.append((sent, (time.monotonic() - sent) * 1000, status))
        next_at += args.poll


async def churn_loop(args: argparse.Namespace, start: float, changes: list) -> None:
    if not args.churn:
        return
    end = start + 2 * args.poll + args.seconds
    while time.monotonic() + args.churn < end:
        await asyncio.sleep(args.churn)
        changes.append(await asyncio.to_thread(churn))


async def run(args: argparse.Namespace, tokens: list[str], port: int, server: object) -> dict:
    import httpx

    polls: list[tuple[float, float, int]] = []
    changes: list[str] = []
    limits = httpx.Limits(max_connections=args.displays, max_keepalive_connections=args.displays)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        start = time.monotonic()
        tasks = [display_loop(client, token, args, start, polls) for token in tokens]

        async def measure() -> tuple[float, float, float]:
            await asyncio.sleep(max(0.0, start + 2 * args.poll - time.monotonic()))  # pages loaded, one poll round
            return time.monotonic(), cpu_seconds(server), os.getloadavg()[0]

        window, *_ = await asyncio.gather(measure(), churn_loop(args, start, changes), *tasks)
    ended, cpu_end = time.monotonic(), cpu_seconds(server)
    began, cpu_begin, load_before = window
    measured = [(ms, status) for sent, ms, status in polls if sent >= began]
    latencies = sorted(ms for ms, status in measured if status)
    statuses: dict[str, int] = {}
    for _, status in measured:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    not_modified = statuses.get("304", 0) + statuses.get("204", 0)
    return {
        "displays": args.displays,
        "cpu_fraction": round((cpu_end - cpu_begin) / (ended - began), 4),
        "p95_ms": round(statistics.quantiles(latencies, n=20)[18], 1) if len(latencies) >= 20 else None,
        "not_modified_share": round(not_modified / len(measured), 3) if measured else None,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "polls": len(measured),
        "statuses": statuses,
        "seconds": round(ended - began, 1),
        "poll_seconds": args.poll,
        "workers": args.workers,
        "data_changes": changes,
        "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["PALETTE_API_KEY"] = ""
    tokens, fleet = prepare(args)
    import psutil

    port = free_port()
    log = ROOT / "var" / "bench-wall-gunicorn.log"
    log.parent.mkdir(exist_ok=True)
    say(f"gunicorn ({args.workers} workers) on 127.0.0.1:{port}; {args.displays} displays polling every {args.poll} s")
    proc = start_gunicorn(args, port, log)
    try:
        say(f"measuring {args.seconds:.0f} s after one poll round ...")
        figures = asyncio.run(run(args, tokens, port, psutil.Process(proc.pid)))
    finally:
        stop(proc)
    figures["fleet"] = fleet
    figures["goals"] = {"cpu_fraction": GOAL_CPU, "p95_ms": GOAL_P95_MS}
    figures["meets_goals"] = bool(
        figures["cpu_fraction"] < GOAL_CPU and figures["p95_ms"] is not None and figures["p95_ms"] < GOAL_P95_MS
    )
    return figures


if __name__ == "__main__":
    arguments = parse_args()
    result = main()
    if not arguments.json:
        say(
            f"{result['displays']} displays: CPU {result['cpu_fraction']:.1%} of a core, p95 {result['p95_ms']} ms, "
            f"{result['not_modified_share']:.0%} not modified"
        )
    print(json.dumps(result, indent=2))
