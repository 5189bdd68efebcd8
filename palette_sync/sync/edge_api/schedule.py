"""The beat's tick: claim the hosts due before the next tick and hand them out in paced batches."""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from dashboard.models import EdgeHost, PaletteAccount, SyncRun
from palette_sync.client import ClientStats
from palette_sync.sync.edge_api.cadence import RESOURCE, lease
from palette_sync.sync.edge_api.credentials import credentials_of, sealed
from palette_sync.sync.edge_api.probe import triage
from palette_sync.sync.edge_api.write import chunks, deliver
from palette_sync.sync.runs import Recorder

MIN_CLAIM = 100  # a tick may always hand out this many hosts of an account (first readings, catching up)
RUN_EVERY = 60.0  # seconds: a tick this soon after the account's last edge_api run adds to it
NO_PALETTE = SimpleNamespace(stats=ClientStats())  # the schedule spends no Palette request


@dataclass
class Plan:
    """One tick of one account: the SyncRun its readings belong to, and the batches to send."""

    run: int
    claimed: int = 0
    batches: list[tuple[str | None, float, dict]] = field(default_factory=list)  # (queue, countdown, payload)


def plan(account: PaletteAccount, now: datetime | None = None) -> Plan:
    """Claim the account's hosts due before the next tick and make their probe batches.

    Hosts that must not be contacted (no credential, no usable address) are settled here at once.
    """
    now = now or timezone.now()
    hosts = claim_due(account, now)
    result = Plan(run=tick_run(account, len(hosts), now), claimed=len(hosts))
    credentials = {str(c.pk): c for c in credentials_of(account)}
    ordered = list(credentials.values())
    settled, to_read = triage(hosts, ordered)
    queues: dict[str | None, list[dict]] = {}
    for host, credential in to_read:
        queues.setdefault(queue_for(host["site"]), []).append(host | {"credential": str(credential.pk)})
    if settled:
        deliver({"account": account.pk, "run": result.run, "results": settled})
    for queue, due in queues.items():
        pace(due, now)
        for batch in chunks(due, settings.PALETTE_EDGE_BATCH):
            used = {h["credential"] for h in batch}
            payload = {
                "account": account.pk,
                "run": result.run,
                "credentials": {cid: sealed(credentials[cid]) for cid in used},
                "hosts": [[h["id"], h["host_address"], h["credential"], h["start"]] for h in batch],
            }
            result.batches.append((queue, max(0.0, batch[0]["start"] - now.timestamp()), payload))
    return result


def pace(hosts: list[dict], now: datetime) -> None:
    """Give each host (in due order) the moment to read it: its due time when that is still ahead;
    hosts already due (first readings, catching up) spread evenly over this tick, not all at once."""
    overdue = [h for h in hosts if h["edge_api_due_at"] is None or h["edge_api_due_at"] <= now]
    step = settings.PALETTE_EDGE_TICK / max(1, len(overdue))
    for n, host in enumerate(overdue):
        host["start"] = now.timestamp() + n * step
    for host in hosts[len(overdue) :]:
        host["start"] = host["edge_api_due_at"].timestamp()
    hosts.sort(key=lambda h: h["start"])


def claim_due(account: PaletteAccount, now: datetime) -> list[dict]:
    """Claim the hosts due before the next tick: those never read first, then the longest overdue.

    At most twice the tick's fair share (hosts × tick / interval), so first readings and catching up
    after an outage go at twice the steady pace, never as one burst. Claimed rows are leased (their
    due time moved past the lease) in a transaction that skips rows another writer holds.
    """
    tick, interval = settings.PALETTE_EDGE_TICK, settings.PALETTE_EDGE_INTERVAL
    live = EdgeHost.objects.filter(account=account, removed_at__isnull=True)
    limit = max(MIN_CLAIM, math.ceil(2 * live.count() * tick / interval))
    columns = ("id", "uid", "host_address", "site", "edge_api_due_at", "labels")
    horizon = now + timedelta(seconds=tick)
    with transaction.atomic():
        rows = list(locked(live.filter(edge_api_due_at__isnull=True).order_by("id")).values(*columns)[:limit])
        if len(rows) < limit:
            due = live.filter(edge_api_due_at__lt=horizon).order_by("edge_api_due_at", "id")
            rows += list(locked(due).values(*columns)[: limit - len(rows)])
        EdgeHost.objects.filter(id__in=[r["id"] for r in rows]).update(edge_api_due_at=now + lease())
    rows.sort(key=lambda r: r["edge_api_due_at"] or now)  # never read first, then in due order
    return rows


def locked(hosts: QuerySet) -> QuerySet:
    """Rows of `hosts` that no other transaction holds, locked until this one ends (PostgreSQL;
    SQLite has one writer at a time anyway)."""
    return hosts.annotate(labels=KeyTextTransform("labels", "raw__metadata")).select_for_update(
        skip_locked=True, of=("self",)
    )


def tick_run(account: PaletteAccount, claimed: int, now: datetime) -> int:
    """The SyncRun a tick's readings belong to: the account's latest edge_api run when it began
    within RUN_EVERY, else a new one (the sync page and freshness hear from the schedule about once
    a minute, not at every tick)."""
    latest = (
        SyncRun.objects.filter(account=account, resource=RESOURCE, status=SyncRun.Status.OK, project=None)
        .order_by("-started_at")
        .values("id", "started_at")
        .first()
    )
    if latest and (now - latest["started_at"]).total_seconds() < RUN_EVERY:
        if claimed:
            SyncRun.objects.filter(pk=latest["id"]).update(items=F("items") + claimed)
        return latest["id"]
    with Recorder(account, RESOURCE, None, NO_PALETTE) as recorder:
        recorder.count(items=claimed)
        return recorder.finish(SyncRun.Status.OK).pk


def queue_for(site: str) -> str | None:
    """The queue of a site that runs its own worker (PALETTE_EDGE_SITE_QUEUES); None: the central one."""
    if site and site in settings.PALETTE_EDGE_SITE_QUEUES:
        return f"{settings.PALETTE_EDGE_QUEUE_PREFIX}{site}"
    return None
