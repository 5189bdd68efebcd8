"""The CPU a worker spends per Edge Host API reading, in one process, optionally under cProfile; prints JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/palette_fleet_cpu python bench/edge_cpu.py
    python bench/edge_cpu.py --hosts 2000 --rounds 2 --write   # and the writer's CPU per reading
    python bench/edge_cpu.py --tick                            # and a tick's plan, claiming every host
    python bench/edge_cpu.py --profile 40                      # and the 40 costliest functions

The simulator serves N edge hosts over TLS on 127.x.y.z (one cluster per 250 hosts by default, so a
host answers cluster details of the size bench/edge.py's 50,000-host runs saw; no added latency for
slow hosts), in a process of its own. Their Palette side is synced and one `*` credential trusts
the simulator's CA, as in bench/edge.py. Then, with the collector set as a worker sets it
(config/celery.py), every host is read `--rounds` times in this process exactly as a probe task
reads its batch (`probe_batch`: the sealed credential, `read_hosts`, each reading cut to its
summary; batches of PALETTE_EDGE_BATCH), and with `--write` each batch's results are written as a
central worker writes them (`write_results`). The first round logs in to every host; later rounds
reuse the sessions (a worker's steady state).

What is measured is this process's `time.process_time()` (its reading threads included) per
reading, not the simulator's, not Celery's. Profiled (--profile), the reading threads are made
serial, and cProfile counts CPU time, not waits. PostgreSQL when DATABASE_URL is set (the database
is created if missing), else a temporary SQLite file; sessions are kept in Redis (REDIS_URL) as a
worker keeps them.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu import InThisThread  # noqa: E402 (after the path: the bench runs as a script)
from bench.edge import API_KEY, EDGE_PASSWORD, ensure_postgres_database, listed_account  # noqa: E402
from devtools import processes  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hosts", type=int, default=2000, help="simulated edge hosts (default 2000)")
    p.add_argument("--projects", type=int, default=5)
    p.add_argument("--clusters", type=int, help="clusters the hosts belong to (default: one per 250 hosts)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2, help="times every host is read (default 2)")
    p.add_argument("--batch", type=int, default=250, help="hosts per probe batch (PALETTE_EDGE_BATCH)")
    p.add_argument("--edge-concurrency", type=int, default=16, help="PALETTE_EDGE_CONCURRENCY (default 16)")
    p.add_argument("--write", action="store_true", help="write each batch's results too, and count its CPU")
    p.add_argument("--tick", action="store_true", help="first, one tick's plan claiming every host, and its CPU")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions (cProfile)")
    p.add_argument("--save", type=Path, help="write the profile here too (pstats format), to read with pstats")
    return p.parse_args(argv)


def start_sim(stack: ExitStack, args: argparse.Namespace, tmp: Path) -> tuple[str, int]:
    edge_port = processes.free_port()
    sim = processes.start_simulator(
        API_KEY,
        *("--quiet", "--rate-scale", "0", "--seed", str(args.seed), "--edge-slow-seconds", "0"),
        *("--projects", str(args.projects), "--clusters", str(args.clusters or max(1, args.hosts // 250))),
        *("--profiles", "4", "--audits", "10"),
        *("--edge-hosts", str(args.hosts), "--edge-port", str(edge_port), "--edge-ca-out", str(tmp / "edge-ca.pem")),
        log=tmp / "sim.log",
        env={**os.environ, "PALETTE_SIM_EDGE_PASSWORD": EDGE_PASSWORD},
        timeout=600,
    )
    stack.callback(processes.stop, sim.proc)
    processes.wait_for_port(edge_port, sim.proc, timeout=600)
    return sim.url, edge_port


def setup(args: argparse.Namespace, stack: ExitStack, tmp: Path) -> list[dict]:
    """The simulator, its hosts listed on the Palette side, one credential: the batches' payloads."""
    import django

    django.setup()
    from django.core.management import call_command

    from dashboard.models import EdgeHost
    from palette_sync.sync.edge_api import sealed
    from palette_sync.sync.edge_api.write import chunks

    call_command("migrate", verbosity=0)
    sim_url, edge_port = start_sim(stack, args, tmp)
    name = f"bench-edge-cpu-{secrets.token_hex(4)}"
    account, credential = listed_account(stack, name, sim_url, tmp / "edge-ca.pem", edge_port)
    hosts = EdgeHost.objects.filter(account=account, removed_at__isnull=True).order_by("id")
    targets = [[pk, address, str(credential.pk)] for pk, address in hosts.values_list("id", "host_address")]
    credentials = {str(credential.pk): sealed(credential)}
    return [
        {"account": account.pk, "run": 0, "credentials": credentials, "hosts": batch}
        for batch in chunks(targets, args.batch)
    ]


def one_tick(account_id: int) -> dict:
    """The beat's tick (`plan`: claim, credentials, batches) over every host, never read yet."""
    from dashboard.models import PaletteAccount
    from palette_sync.sync.edge_api import plan

    account = PaletteAccount.objects.get(pk=account_id)
    cpu = time.process_time()
    planned = plan(account)
    cpu = time.process_time() - cpu
    return {"claimed": planned.claimed, "cpu_ms_per_host": round(1000 * cpu / max(1, planned.claimed), 3)}


def one_round(payloads: list[dict], write: bool) -> dict:
    """Every batch probed (and written): CPU seconds of each step, the readings' states and logins."""
    from palette_sync.sync.edge_api import probe_batch, write_results

    spent = {"read": 0.0, "write": 0.0}
    states: Counter = Counter()
    tally: Counter = Counter()
    wall = time.monotonic()
    for payload in payloads:
        cpu = time.process_time()
        results = probe_batch(payload)
        spent["read"] += time.process_time() - cpu
        states.update(row[1] for row in results["results"])
        tally.update(results["tally"])
        if write:
            cpu = time.process_time()
            write_results(payload["account"], payload["run"], results["results"])
            spent["write"] += time.process_time() - cpu
    readings = sum(states.values())
    figures = {
        "readings": readings,
        "seconds": round(time.monotonic() - wall, 2),
        "read_cpu_ms_per_reading": round(1000 * spent["read"] / max(1, readings), 2),
        "states": dict(states),
        "tally": dict(tally),
    }
    if write:
        figures["write_cpu_ms_per_reading"] = round(1000 * spent["write"] / max(1, readings), 2)
    return figures


@contextmanager
def one_thread() -> Iterator[None]:
    """read_hosts' threads made serial while profiled: cProfile keeps one call stack."""
    from palette_sync.edge import hosts

    saved = hosts.ThreadPoolExecutor
    hosts.ThreadPoolExecutor = InThisThread
    try:
        yield
    finally:
        hosts.ThreadPoolExecutor = saved


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-edge-cpu-")))
        database_url = os.getenv("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
        if database_url.startswith(("postgres://", "postgresql://")):
            ensure_postgres_database(database_url)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url,
            PALETTE_API_KEY="",
            PALETTE_SECRET_KEY=secrets.token_urlsafe(32),
            PALETTE_EDGE_CONCURRENCY=str(args.edge_concurrency),
            PALETTE_EDGE_BATCH=str(args.batch),
        )
        if args.tick:  # an interval of two ticks: a tick claims every host (twice the fair share)
            os.environ.update(PALETTE_EDGE_INTERVAL="30", PALETTE_EDGE_TICK="15")
        payloads = setup(args, stack, tmp)
        from config.celery import spare_the_collector

        spare_the_collector()  # the worker's collector: what it loaded frozen, young collections less often
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if profiler:
            stack.enter_context(one_thread())
        tick = one_tick(payloads[0]["account"]) if args.tick else None
        rounds = []
        for n in range(args.rounds):
            if profiler and n == args.rounds - 1:  # the last round: sessions reused once there are two
                profiler.enable()
            rounds.append(one_round(payloads, args.write))
            if profiler:
                profiler.disable()
        figures = {
            "setup": {
                "hosts": sum(len(p["hosts"]) for p in payloads),
                "clusters": args.clusters or max(1, args.hosts // 250),
                "batch": args.batch,
                "edge_concurrency": 1 if profiler else args.edge_concurrency,
                "profiled": bool(profiler),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            "rounds": rounds,
        }
        if tick:
            figures["tick"] = tick
    if profiler and args.save:
        profiler.dump_stats(args.save)
    if profiler:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile)
            print(out.getvalue(), file=sys.stderr)
    return figures


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
