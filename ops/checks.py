"""The checks behind /readyz: each answers ok or not, and why, in words safe to show anyone.

Cheap enough to poll every few seconds: one `SELECT 1`, one Redis PING and GET, the freshness
query the pages use (one query over SyncScope), and a worker ping that is shared by every web
process through Redis for PING_CACHE seconds.
"""

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from dashboard import freshness
from ops import heartbeat
from ops.connections import client

PING_TIMEOUT = 1.0  # seconds a worker has to answer
PING_CACHE = 5  # seconds a ping's answer is reused
PING_KEY = "palette:ops:worker-ping"


@dataclass(frozen=True)
class Check:
    """One check's outcome."""

    ok: bool
    reason: str

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "fail", "reason": self.reason}


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Check(False, f"database unavailable ({exc.__class__.__name__})")
    return Check(True, "answered")


def redis_check() -> Check:
    try:
        client().ping()
    except redis.RedisError as exc:
        return Check(False, f"Redis unavailable ({exc.__class__.__name__})")
    return Check(True, "answered")


def workers() -> Check:
    """Some Celery worker answered a ping (shared by every web process for PING_CACHE seconds)."""
    cached = client().get(PING_KEY)
    if cached:
        return Check(**json.loads(cached))
    result = ping_workers()
    client().set(PING_KEY, json.dumps(asdict(result)), ex=PING_CACHE)
    return result


def ping_workers() -> Check:
    from config.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            replies = app.control.ping(timeout=PING_TIMEOUT, limit=1, connection=conn)  # the first answer will do
    except Exception as exc:  # the broker refused or went away mid-ping: say so, do not raise
        return Check(False, f"could not ping the workers ({exc.__class__.__name__})")
    if not replies:
        return Check(False, f"no Celery worker answered a ping within {PING_TIMEOUT:g} s")
    return Check(True, "a worker answered")


def beat() -> Check:
    """Beat sent a task within two of its shortest intervals (ops.heartbeat)."""
    sent, allowed = heartbeat.last_sent(), 2 * heartbeat.interval()
    if sent is None:
        return Check(False, "beat has not sent a task yet")
    age = time.time() - sent
    if age > allowed:
        return Check(False, f"beat last sent a task {age:.0f} s ago, more than {allowed:.0f} s")
    return Check(True, f"last sent a task {age:.0f} s ago")


def sync() -> Check:
    """The last sync of every source is fresh: complete, not failed, within twice its schedule.

    Only counts and source names are shown: account and project names and Palette's error texts
    stay on the sync page, behind login.
    """
    found = freshness.freshness(freshness.EVERYTHING)
    if found.never_synced:
        return Check(False, "no source has completed a sync yet")
    if found.problem_count:
        sources = sorted({p.scope.resource for p in found.problems})
        return Check(False, f"{found.problem_count} scope(s) stale or failing: {', '.join(sources)}")
    return Check(True, "every source is fresh")


# In order: a check whose prerequisite failed is reported as such, not attempted.
CHECKS: dict[str, tuple[Callable[[], Check], str | None]] = {
    "database": (database, None),
    "redis": (redis_check, None),
    "workers": (workers, "redis"),
    "beat": (beat, "redis"),
    "sync": (sync, "database"),
}


def run_all() -> dict[str, Check]:
    results: dict[str, Check] = {}
    for name, (check, needs) in CHECKS.items():
        if needs and not results[needs].ok:
            results[name] = Check(False, f"not checked: {needs} is unavailable")
            continue
        try:
            results[name] = check()
        except (DatabaseError, redis.RedisError) as exc:  # went away between checks
            results[name] = Check(False, f"failed ({exc.__class__.__name__})")
    return results
