"""Add a finished SyncRun to the running totals that /metrics exports (ops.models)."""

import bisect

from django.db import connection

from dashboard.models import SyncRun
from ops.models import DURATION_BUCKETS, INFINITE, RequestTally, SyncTally


def bucket(seconds: float) -> int:
    """The `le` of the histogram bucket a duration falls in (the smallest bound not below it)."""
    i = bisect.bisect_left(DURATION_BUCKETS, seconds)
    return DURATION_BUCKETS[i] if i < len(DURATION_BUCKETS) else INFINITE


def record_run(run: SyncRun) -> None:
    """Count a run that has just been closed. Call it once per run, inside the transaction that closes it,
    so a run is counted exactly when its closing is committed."""
    seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    add(
        SyncTally,
        {"account_id": run.account_id, "resource": run.resource, "status": run.status, "le": bucket(seconds)},
        runs=1,
        seconds=seconds,
        throttled=run.throttled,
    )
    for family, n in sorted(run.requests.items()):  # one order everywhere: no deadlock between two runs
        if n:
            add(RequestTally, {"account_id": run.account_id, "family": family}, requests=n)


def add(model: type, key: dict, **increments: float) -> None:
    """Add `increments` to the row of `key`, creating it on first use: one INSERT ... ON CONFLICT DO
    UPDATE (PostgreSQL and SQLite alike), so concurrent adds from several workers all count."""
    table, quote = model._meta.db_table, connection.ops.quote_name
    columns = [*key, *increments]
    sums = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in increments)
    # Table and column names come from the model; the values are bound parameters.
    names, slots, conflict = (
        ", ".join(map(quote, columns)),
        ", ".join(["%s"] * len(columns)),
        ", ".join(map(quote, key)),
    )
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({slots}) ON CONFLICT ({conflict}) DO UPDATE SET {sums}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*key.values(), *increments.values()])
