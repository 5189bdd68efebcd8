"""The CPU one full sync costs the sync itself, in one process, optionally under cProfile; prints JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/palette_fleet_cpu python bench/cpu.py
    python bench/cpu.py --profile 40          # and the 40 costliest functions, by own and by total time

The fleet is bench/sync.py's (5 projects, 2,000 clusters, 200 profiles, 5,000 edge hosts, 10,000
audits, a 91-day backfill). The simulator runs in a process of its own with no rate limits and no
added latency, and `sync_account` runs every scope one after another in this process, with no
throttle: what is measured is the CPU of reading, mapping, comparing and writing (this process's
`time.process_time()`, its read-ahead threads included), not the pacing, not Celery. Profiled
(--profile), the reading threads are made serial, and cProfile counts CPU time, not waits. A new
account each time; it is deleted at the end unless --keep. With --again the same account is
synced a second time (nothing changed: every row is read back and compared), not profiled.
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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import ExitStack, contextmanager
from itertools import chain
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync import add_fleet_arguments  # noqa: E402 (after the path: the bench runs as a script)
from devtools import processes  # noqa: E402

API_KEY = "bench-api-key"
DAY = 86400


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions (cProfile)")
    p.add_argument("--save", type=Path, help="write the profile here too (pstats format), to read with pstats")
    add_fleet_arguments(p)
    p.add_argument("--again", action="store_true", help="then sync the same account again, nothing changed")
    p.add_argument("--keep", action="store_true", help="keep the account's rows in the database")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["PALETTE_TIMELINE_BACKFILL"] = str(int(args.backfill_days * DAY))
    os.environ["PALETTE_API_KEY"] = ""  # only this account is synced
    import django

    django.setup()
    from django.core.management import call_command

    from dashboard.models import PaletteAccount
    from palette_sync.client import PaletteClient
    from palette_sync.sync import sync_account

    call_command("migrate", verbosity=0)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cpu-")))
        sim = processes.start_simulator(
            API_KEY,
            *("--quiet", "--rate-scale", "0", "--seed", str(args.seed), "--projects", str(args.projects)),
            *("--clusters", str(args.clusters), "--profiles", str(args.profiles)),
            *("--edge-hosts", str(args.edge_hosts), "--audits", str(args.audits)),
            log=tmp / "sim.log",
            timeout=120,
        )
        stack.callback(processes.stop, sim.proc)
        account = PaletteAccount(name=f"bench-cpu-{secrets.token_hex(4)}", api_url=sim.url)
        account.set_secret(API_KEY)
        account.save()
        if not args.keep:
            stack.callback(account.delete)
        client = stack.enter_context(PaletteClient(sim.url, API_KEY))
        profilers = [cProfile.Profile(time.process_time)] if args.profile else []
        if profilers:
            stack.enter_context(one_thread())
        cpu, wall = time.process_time(), time.monotonic()
        if profilers:
            profilers[0].enable()
        runs = sync_account(account, client)
        if profilers:
            profilers[0].disable()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        figures = {
            "cpu_seconds": round(cpu, 2),
            "seconds": round(wall, 2),
            "profiled": bool(profilers),
            "runs": {run.status: sum(1 for r in runs if r.status == run.status) for run in runs},
            "items": sum(run.items for run in runs),
            "requests": sum(sum(run.requests.values()) for run in runs),
        }
        if args.again:
            cpu = time.process_time()
            runs = sync_account(account, client)
            figures["again"] = {"cpu_seconds": round(time.process_time() - cpu, 2), "items": sum(r.items for r in runs)}
    if profilers and args.save:
        profilers[0].dump_stats(args.save)
    if profilers:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(*profilers, stream=out).sort_stats(order).print_stats(args.profile)
            print(out.getvalue(), file=sys.stderr)
    return figures


class InThisThread(Executor):
    """An executor that runs each call at once, in the caller's thread."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@contextmanager
def one_thread() -> Iterator[None]:
    """The sync's reading threads and pools made serial while profiled: cProfile keeps one call
    stack, and what other threads do in between would be charged to whatever this one is in."""
    from palette_sync.sync import fetch, inventory, listing, timeline

    def serial(*sources: Iterable[dict], buffer: int = 0) -> Iterator[dict]:
        return chain(*sources)

    with ExitStack() as stack:
        for module, name, stand_in in (
            (listing, "read_ahead", serial),
            (timeline, "read_ahead", serial),
            (fetch, "ThreadPoolExecutor", InThisThread),
            (inventory, "ThreadPoolExecutor", InThisThread),
        ):
            stack.callback(setattr, module, name, getattr(module, name))
            setattr(module, name, stand_in)
        yield


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
