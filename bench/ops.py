"""Benchmark /metrics and /readyz on PostgreSQL at fleet scale; prints JSON figures.

    python bench/ops.py --json                      # 500 projects, 2 accounts (about 100,000 clusters' counts)
    python bench/ops.py --projects 50 --repeat 50   # smaller, to try it out

What a scrape and a readiness poll read does not grow with the fleet's rows but with its scopes:
FleetCount (a row per project, dimension and value), SyncScope (a row per project and source),
the sync totals (a row per account, source, status and duration bucket). The bench drops and
creates its own database (`--database-url`, default .../palette_bench_ops), migrates it, and fills
those tables as the sync would have left them for `--projects` projects per account, with the
values a large fleet has (cluster states, health, cloud types; edge host states, health, own-API
states). Then each URL is requested `--repeat` times through Django's test client: p50/p95 wall
time, queries, bytes and (for /metrics) series. /readyz is timed with the workers' ping answer
shared in Redis (every poll but one in five seconds); `readyz_cold_ms` is a poll that pings, with
no worker running, so it waits the whole ping timeout.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATES = {"clusters": ["Running", "Provisioning", "Deleting", "Pending", "Error"], "edgehosts": ["ready", "in-use"]}
HEALTH = ["Healthy", "UnHealthy", ""]
CLOUDS = ["aws", "azure", "gcp", "edge-native", "vsphere", "maas"]
API = ["reachable", "unreachable", "auth_failed", "tls_failed", "no_access", "unknown"]
SOURCES = ["clusters", "profiles", "edgehosts", "events", "edge_api"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/palette_bench_ops")
    parser.add_argument("--redis-url", default=os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--projects", type=int, default=500, help="per account")
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="JSON only")
    args = parser.parse_args()
    token = secrets.token_urlsafe(16)
    os.environ.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, METRICS_TOKEN=token)
    os.environ.update(ALLOWED_HOSTS="testserver", LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fill(args.projects, args.accounts)
    figures = {"projects_per_account": args.projects, "accounts": args.accounts, **measure(args.repeat, token)}
    print(json.dumps(figures, indent=None if args.json else 2))


def recreate(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def fill(projects: int, accounts: int) -> None:
    from django.utils import timezone

    from dashboard.models import FleetCount, PaletteAccount, Project, SyncScope
    from ops.models import DURATION_BUCKETS, RequestTally, SyncTally

    now = timezone.now()
    for a in range(accounts):
        account = PaletteAccount.objects.create(name=f"tenant-{a}", api_url=f"https://palette-{a}.example.com")
        rows = [
            Project(account=account, uid=f"p{a}-{i}", name=f"project-{i:04d}", first_seen_at=now, last_seen_at=now)
            for i in range(projects)
        ]
        Project.objects.bulk_create(rows)
        counts, scopes = [], []
        for project in Project.objects.filter(account=account):
            dims = [
                ("clusters", "state", STATES["clusters"]),
                ("clusters", "health", HEALTH),
                ("clusters", "cloud_type", CLOUDS),
                ("clusters", "behind", ["yes"]),
                ("edgehosts", "state", STATES["edgehosts"]),
                ("edgehosts", "health", HEALTH),
                ("edgehosts", "edge_api_state", API),
                ("edgehosts", "site", [f"store-{s}" for s in range(20)]),
            ]
            for resource, dimension, values in dims:
                counts += [
                    FleetCount(
                        account=account,
                        project=project,
                        resource=resource,
                        dimension=dimension,
                        value=v,
                        count=1 + hash((project.pk, v)) % 90,
                    )
                    for v in values
                ]
            scopes += [
                SyncScope(
                    account=account,
                    project=project,
                    resource=r,
                    last_status="ok",
                    last_finished_at=now,
                    ok_started_at=now,
                )
                for r in SOURCES
            ]
        scopes += [
            SyncScope(account=account, resource=r, last_status="ok", last_finished_at=now, ok_started_at=now)
            for r in ("projects", "audits")
        ]
        FleetCount.objects.bulk_create(counts, batch_size=5000)
        SyncScope.objects.bulk_create(scopes, batch_size=5000)
        SyncTally.objects.bulk_create(
            SyncTally(account=account, resource=r, status=s, le=le, runs=100, seconds=100.0 * le, throttled=1)
            for r in SOURCES
            for s in ("ok", "partial", "failed", "skipped")
            for le in (*DURATION_BUCKETS, 0)
        )
        RequestTally.objects.bulk_create(
            RequestTally(account=account, family=f, requests=10_000)
            for f in ("/v1/dashboard", "/v1/spectroclusters", "/v1/clusterprofiles", "/v1/edgehosts", "/v1/audits")
        )


def measure(repeat: int, token: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from ops import checks
    from ops.connections import client as redis_client

    web = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    figures = {}
    for name, url in (("metrics", "/metrics"), ("readyz", "/readyz")):
        times, response = [], None
        redis_client().set(checks.PING_KEY, json.dumps({"ok": True, "reason": "a worker answered"}), ex=3600)
        for i in range(repeat + 5):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = web.get(url)
                elapsed = (time.perf_counter() - start) * 1000
            if i >= 5:  # warm-ups
                times.append(elapsed)
        times.sort()
        figures[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "queries": len(queries),
            "bytes": len(response.content),
            "status": response.status_code,
        }
        if name == "metrics":
            lines = response.content.decode().splitlines()
            figures[name]["series"] = sum(1 for line in lines if line and not line.startswith("#"))
    redis_client().delete(checks.PING_KEY)
    start = time.perf_counter()
    web.get("/readyz")
    figures["readyz_cold_ms"] = round((time.perf_counter() - start) * 1000, 1)
    redis_client().delete(checks.PING_KEY)
    return figures


if __name__ == "__main__":
    main()
