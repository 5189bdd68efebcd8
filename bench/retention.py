"""Benchmark retention's purge on PostgreSQL while the pages and the sync go on; prints JSON figures.

    python bench/retention.py --json                # 5,000,000 timeline rows over 500 days: 1,000,000 to purge
    python bench/retention.py --timeline 500000     # a tenth of that, to try it out
    python bench/retention.py --skip-fill           # purge again... on what the last run left (fill first)

What runs: the bench drops and creates its own database (`--database-url`, default
postgres://postgres@127.0.0.1:5432/palette_bench_retention) and fills it with bench/pages.py's
server-side fill (a small fleet, and the timeline spread evenly over `--days` days, so the rows older
than RETENTION_TIMELINE_DAYS (400) are the backlog a first pass meets on an install that kept
everything). Then, in this order:

1. baseline: for `--baseline` seconds, the timeline page (full and htmx partial, through Django's
   test client as a signed-in user) is requested in a loop while a writer thread inserts timeline
   rows as the sync does (bulk inserts of 100 rows);
2. purge: `manage.py purge_old_rows` runs in a process of its own (the beat task's code) while the
   same page loop and writer go on, and a sampler reads pg_locks and pg_stat_activity every 100 ms:
   lock waits (a backend waiting on a lock, and on what), and the longest DELETE seen running;
3. partitions (unless --no-partitions): the same rows copied into a table partitioned by month,
   and the time to DETACH ... CONCURRENTLY and DROP the months past the horizon.

Figures: the purge's total time, rows and rows/s; page p50/p95/max and writer p95/max in the
baseline and during the purge; lock-wait samples; the partition drop time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402  (the fill is pages.py's: reused, not copied)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/palette_bench_retention"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON figures (progress goes to stderr)")
    p.add_argument("--database-url", default=DEFAULT_URL, help=f"the bench's own database (default {DEFAULT_URL})")
    p.add_argument("--timeline", type=int, default=5_000_000, help="timeline rows to fill (default 5,000,000)")
    p.add_argument("--days", type=int, default=500, help="days the timeline spans (default 500: a fifth is past 400)")
    p.add_argument("--batch", type=int, default=5000, help="RETENTION_BATCH for the purge (default 5000)")
    p.add_argument("--baseline", type=float, default=20, help="seconds of page and writer load before the purge")
    p.add_argument("--skip-fill", action="store_true", help="reuse the database the last run filled")
    p.add_argument("--no-partitions", action="store_true", help="skip the monthly-partition comparison")
    return p.parse_args(argv)


say = pages.say


def fill(args: argparse.Namespace) -> dict:
    """pages.py's fill with a small fleet and the timeline over `--days` days."""
    fleet = pages.parse_args(
        ["--clusters", "2000", "--hosts", "4000", "--profiles", "400", "--projects", "20", "--run-hours", "6"]
        + ["--timeline", str(args.timeline)]
    )
    pages.DAYS = args.days
    return pages.fill(fleet)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[min(len(values) - 1, int(len(values) * 0.95))], 1),
        "max_ms": round(values[-1], 1),
    }


class Load:
    """The timeline page in a loop (this thread) and a writer thread inserting rows as the sync does."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.test import Client
        from django.urls import reverse

        self.url = reverse("dashboard:timeline")
        member = User.objects.get(username="bench-member")
        for backend in settings.AUTHENTICATION_BACKENDS:  # the one that keeps a session for a passwordless user
            self.client = Client()
            self.client.force_login(member, backend=backend)
            response = self.client.get(self.url)
            if response.status_code == 200:
                break
        else:
            raise RuntimeError(f"the timeline page answered {response.status_code} {response.get('Location', '')}")
        self.writes: list[float] = []
        self.stop = threading.Event()
        self.prefix = f"bench:{time.time_ns()}"  # a run of its own: a rerun with --skip-fill adds, never collides
        self.serial = 0

    def writer(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from dashboard.models import PaletteAccount, TimelineEntry

        account = PaletteAccount.objects.order_by("pk").first()
        while not self.stop.is_set():
            now = timezone.now()
            rows = [
                TimelineEntry(
                    account=account, kind="transition", source_id=f"{self.prefix}:{self.serial}:{i}", occurred_at=now
                )
                for i in range(100)
            ]
            self.serial += 1
            started = time.perf_counter()
            TimelineEntry.objects.bulk_create(rows)
            self.writes.append((time.perf_counter() - started) * 1000)
            self.stop.wait(0.2)
        connection.close()

    def run(self, until: callable) -> dict:
        """Request the page (full, then partial, in turn) until `until()`; the writer runs alongside."""
        self.writes, page_times, partial_times, errors = [], [], [], 0
        self.stop.clear()
        writer = threading.Thread(target=self.writer)
        writer.start()
        try:
            while not until():
                for htmx, times in ((False, page_times), (True, partial_times)):
                    started = time.perf_counter()
                    response = self.client.get(self.url, headers={"HX-Request": "true"} if htmx else {})
                    times.append((time.perf_counter() - started) * 1000)
                    errors += response.status_code != 200
        finally:
            self.stop.set()
            writer.join()
        return {
            "timeline_page": percentiles(page_times),
            "timeline_partial": percentiles(partial_times),
            "writer_100_rows": percentiles(self.writes),
            "page_errors": errors,
        }


class Sampler(threading.Thread):
    """pg_locks and pg_stat_activity every 100 ms, from a connection of its own."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.done = url, threading.Event()
        self.samples = self.lock_wait_samples = self.max_waiting = 0
        self.waits: Counter = Counter()
        self.longest_delete_ms = 0.0
        self.blocked_statements: Counter = Counter()

    def run(self) -> None:
        import dj_database_url
        import psycopg

        db = dj_database_url.parse(self.url)
        params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or None}
        with psycopg.connect(dbname=db["NAME"], autocommit=True, **params) as conn:
            while not self.done.is_set():
                rows = conn.execute(
                    "SELECT a.wait_event_type, a.wait_event, left(a.query, 60),"
                    " extract(epoch FROM now() - a.query_start) * 1000,"
                    " EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)"
                    " FROM pg_stat_activity a WHERE a.datname = current_database() AND a.state = 'active'"
                    " AND a.pid <> pg_backend_pid()"
                ).fetchall()
                self.samples += 1
                waiting = [r for r in rows if r[4]]
                self.lock_wait_samples += bool(waiting)
                self.max_waiting = max(self.max_waiting, len(waiting))
                for event_type, event, query, ms, _ in rows:
                    if event_type:
                        self.waits[f"{event_type}:{event}"] += 1
                    if query.lstrip().upper().startswith("DELETE"):
                        self.longest_delete_ms = max(self.longest_delete_ms, float(ms or 0))
                for r in waiting:
                    self.blocked_statements[r[2]] += 1
                self.done.wait(0.1)

    def figures(self) -> dict:
        return {
            "samples": self.samples,
            "samples_with_a_lock_wait": self.lock_wait_samples,
            "most_backends_waiting_on_a_lock": self.max_waiting,
            "blocked_statements": dict(self.blocked_statements.most_common(5)),
            "wait_events_seen": dict(self.waits.most_common(8)),
            "longest_delete_seen_ms": round(self.longest_delete_ms, 1),
        }


def purge_under_load(args: argparse.Namespace, load: Load) -> dict:
    """`manage.py purge_old_rows` in its own process, with the page loop, the writer and the sampler."""
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.models import TimelineEntry
    from retention.purge import old_timeline

    cutoff = timezone.now() - timedelta(days=400)
    to_purge = old_timeline(cutoff).count()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "RETENTION_BATCH": str(args.batch),
        "RETENTION_TIMELINE_DAYS": "400",
        "LOG_LEVEL": "WARNING",
    }
    sampler = Sampler(args.database_url)
    sampler.start()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "purge_old_rows", "--max-seconds", "3600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    under_load = load.run(until=lambda: proc.poll() is not None)
    out, err = proc.communicate()
    seconds = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode:
        raise RuntimeError(f"purge failed: {err[-2000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    deleted, purge_seconds = report["deleted"], report["seconds"]
    batches = -(-deleted.get("timeline", 0) // args.batch)
    return {
        "rows_past_horizon": to_purge,
        "deleted": deleted,
        "seconds": purge_seconds,
        "seconds_with_process_start": round(seconds, 1),
        "timeline_rows_per_second": round(deleted.get("timeline", 0) / purge_seconds) if purge_seconds else None,
        "batch": args.batch,
        "batches": batches,
        "mean_batch_ms": round(purge_seconds * 1000 / max(1, batches), 1),
        "left_past_horizon": TimelineEntry.objects.filter(occurred_at__lt=cutoff).count(),
        "under_load": under_load,
        "locks": sampler.figures(),
    }


def partitions(args: argparse.Namespace) -> dict:
    """Copy the timeline into a table partitioned by month; time dropping the months past 400 days."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    sql, scalar = pages.sql, pages.scalar
    figures = {}
    sql("DROP TABLE IF EXISTS bench_part")
    sql("CREATE TABLE bench_part (LIKE dashboard_timelineentry INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)")
    first = scalar("SELECT date_trunc('month', min(occurred_at)) FROM dashboard_timelineentry")
    last = scalar("SELECT max(occurred_at) FROM dashboard_timelineentry")
    months, month = [], first
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        name = f"bench_part_{month:%Y_%m}"
        sql(
            f"CREATE TABLE {name} PARTITION OF bench_part FOR VALUES FROM (%(a)s) TO (%(b)s)",
            {"a": month, "b": following},
        )
        months.append((name, following))
        month = following
    started = time.monotonic()
    sql("INSERT INTO bench_part SELECT * FROM dashboard_timelineentry")
    sql('CREATE INDEX ON bench_part ("occurred_at" DESC, "id" DESC)')
    figures["copy_and_index_seconds"] = round(time.monotonic() - started, 1)
    sql("ANALYZE bench_part")
    cutoff = timezone.now() - timedelta(days=400)
    old = [name for name, end in months if end <= cutoff]
    boundary = months[len(old) - 1][1] if old else first
    rows = scalar("SELECT count(*) FROM bench_part WHERE occurred_at < %(c)s", {"c": boundary})

    started = time.monotonic()
    with connection.cursor() as cursor:
        for name in old:  # CONCURRENTLY: not in a transaction block (autocommit here)
            cursor.execute(f"ALTER TABLE bench_part DETACH PARTITION {name} CONCURRENTLY")
            cursor.execute(f"DROP TABLE {name}")
    figures |= {
        "months": len(months),
        "months_dropped": len(old),
        "rows_dropped": rows,
        "detach_and_drop_seconds": round(time.monotonic() - started, 2),
        "rows_past_400_days_kept_until_their_month_ends": scalar(
            "SELECT count(*) FROM bench_part WHERE occurred_at < %(c)s", {"c": cutoff}
        ),
    }
    sql("DROP TABLE bench_part")
    return figures


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["PALETTE_API_KEY"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # a log line per request would be timed with the page
    if not args.skip_fill:
        say(f"creating {args.database_url} ...")
        pages.recreate_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    steps = {} if args.skip_fill else fill(args)
    fill_seconds = round(time.monotonic() - started, 1)
    figures = {"setup": {"timeline_rows": pages.scalar("SELECT count(*) FROM dashboard_timelineentry")}}
    figures["setup"] |= {"fill_seconds": fill_seconds, "fill_steps": steps, "days": args.days, "cpus": os.cpu_count()}
    if not args.no_partitions:
        say("partitions: copy, then detach and drop the old months ...")
        figures["partitions"] = partitions(args)
        say(f"  {figures['partitions']}")
    load = Load()
    say(f"baseline: {args.baseline} s of page and writer load ...")
    until = time.monotonic() + args.baseline
    figures["baseline"] = load.run(until=lambda: time.monotonic() > until)
    say(f"  {figures['baseline']}")
    say("purge under load ...")
    load_before = os.getloadavg()
    figures["purge"] = purge_under_load(args, load)
    figures["setup"]["load_average"] = {"before": load_before, "after": os.getloadavg()}
    say(f"  {figures['purge']}")
    return figures


if __name__ == "__main__":
    result = main()
    print(json.dumps(result, indent=2, default=str))
