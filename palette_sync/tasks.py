"""Thin Celery tasks: they name what to sync; `palette_sync.sync` does the work.

Beat sends `sync_accounts`; it fans out one `sync_account` per enabled account, which lists the
projects and fans out one `sync_resource` per (resource, project) and per tenant-scope resource.
Each scope runs under a Redis lock: a second run of the same scope is skipped, never queued.
Only transient infrastructure errors are retried; Palette's own errors end up in the SyncRun.

Edge hosts' own API has a cadence of its own: beat sends `schedule_edge_probes` every
PALETTE_EDGE_TICK; it sends `probe_edge_hosts` batches (to a site's queue where that site runs a
worker of its own), whose results a central worker writes (`write_edge_probes` when they come back
through the broker from a site worker, which has no database).
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dashboard.models import EdgeCredential, PaletteAccount, Project, SyncRun
from palette_sync import sync
from palette_sync.sync import edge_api
from palette_sync.sync.runs import closed_run, longest_first

log = logging.getLogger(__name__)

# The database or Redis went away for a moment: worth another try. Anything else is a bug or a
# Palette answer, and Palette's answers are recorded in the SyncRun, not raised.
TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 5, "retry_backoff_max": 120, "max_retries": 3}


def fan_out_options() -> dict:
    # expires: a task still queued when the next round is due is superseded by it.
    return {"expires": settings.PALETTE_SYNC_INTERVAL}


@shared_task(name="palette_sync.sync_accounts", **RETRY)
def sync_accounts() -> list[int]:
    """Fan out one sync per enabled Palette account (the env-configured one included)."""
    if sync.has_env_account():
        sync.default_account()
    account_ids = list(PaletteAccount.objects.filter(enabled=True).values_list("id", flat=True))
    for account_id in account_ids:
        sync_account.apply_async(args=[account_id], **fan_out_options())
    return account_ids


@shared_task(name="palette_sync.sync_account", **RETRY)
def sync_account(account_id: int) -> dict:
    """List one account's projects, then fan out its tenant-scope and per-project syncs."""
    account = PaletteAccount.objects.get(pk=account_id)
    outcome = run_scope(account, "projects", None)
    if outcome["status"] in ("skipped", "failed"):
        return outcome
    project_ids = [project.pk for project in sync.live_projects(account)]
    resources = sync.project_resources(account)
    scopes = [(resource, None) for resource in sync.TENANT_RESOURCES]
    scopes += [(resource, project_id) for project_id in project_ids for resource in resources]
    # Longest first: the long listings must not be the last tasks to start (DESIGN.md, the sync).
    for resource, project_id in longest_first(account, scopes):
        scope = [resource] if project_id is None else [resource, project_id]
        sync_resource.apply_async(args=[account_id, *scope], **fan_out_options())
    return {**outcome, "projects": len(project_ids)}


@shared_task(name="palette_sync.sync_resource", **RETRY)
def sync_resource(account_id: int, resource: str, project_id: int | None = None) -> dict:
    """Sync one (account, resource[, project]) under its lock."""
    account = PaletteAccount.objects.get(pk=account_id)
    project = Project.objects.get(pk=project_id, account=account) if project_id is not None else None
    return run_scope(account, resource, project)


def run_scope(account: PaletteAccount, resource: str, project: Project | None) -> dict:
    """Run one scope if its lock is free; otherwise record a skipped run and say so."""
    try:
        client = sync.client_for(account)
    except ValueError as exc:  # no usable credential: nothing to retry until someone fixes it
        run = closed_run(account, resource, project, SyncRun.Status.FAILED, f"not run: {exc}")
        return {"run": run.pk, "status": run.status}
    with client:
        run = sync.run_locked(account, client, resource, project)
    return {"run": run.pk, "status": run.status, "items": run.items}


@shared_task(name="palette_sync.schedule_edge_probes", **RETRY)
def schedule_edge_probes() -> dict:
    """Hand out the edge hosts due before the next tick, per enabled account with edge credentials,
    and recount the projects whose hosts changed state since the last tick."""
    accounts = PaletteAccount.objects.filter(enabled=True, pk__in=EdgeCredential.objects.values("account_id")).order_by(
        "pk"
    )
    sent = {}
    for account in accounts:
        edge_api.recount(account)
        plan = edge_api.plan(account)
        for queue, countdown, payload in plan.batches:
            probe_edge_hosts.apply_async(
                args=[payload],
                queue=queue,  # None: the default (central) queue
                countdown=countdown,  # each batch when its first host is due: no burst at the tick
                expires=edge_api.lease().total_seconds(),  # past that its hosts are due again anyway
                argsrepr=f"(account {account.pk}, {len(payload['hosts'])} hosts)",  # sealed passwords stay out of logs
            )
        sent[account.pk] = plan.claimed
    return sent


@shared_task(name="palette_sync.probe_edge_hosts")
def probe_edge_hosts(payload: dict) -> dict:
    """Read one batch of edge hosts through their own API, without the database.

    A central worker writes the results itself; a site worker (PALETTE_WORKER_ROLE=edge-site) sends
    them back as `write_edge_probes` on its default queue, which the central workers consume.
    """
    results = edge_api.probe_batch(payload)
    tally = results["tally"]
    log.info(
        "edge probes: %d hosts, %d logins, %d renewals, %d sessions reused",
        len(results["results"]),
        *(tally.get(k, 0) for k in ("logins", "renewals", "reused")),
    )
    if settings.PALETTE_WORKER_ROLE == "edge-site":
        where = f"(account {results['account']}, {len(results['results'])} hosts)"
        write_edge_probes.apply_async(args=[results], argsrepr=where)
    else:
        edge_api.deliver(results)
    return {"hosts": len(results["results"]), **tally}


@shared_task(name="palette_sync.write_edge_probes", **RETRY)
def write_edge_probes(results: dict) -> dict:
    """Write what a site worker read (chunked, short transactions, transitions as they happen)."""
    written = edge_api.deliver(results)
    return {"hosts": written.hosts, "transitions": written.transitions}
