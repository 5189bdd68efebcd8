"""Writing probe results (central workers): short skip-locked transactions, transitions as they
happen, and the tick's recount of what changed."""

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import EdgeHost, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync.locks import sync_lock
from palette_sync.sync import bulk, rollups
from palette_sync.sync.edge_api.cadence import next_due
from palette_sync.throttle import redis_for

log = logging.getLogger(__name__)

CHUNK = 500  # hosts written per transaction (and probed per chunk by the in-process pass)
TROUBLE = set(EdgeHost.API_PROBLEMS)
FIELDS = ["edge_api_state", "edge_api_since", "edge_api_checked_at", "edge_api_error", "edge_api_due_at"]
LOCK_TRIES = 5  # passes over rows the listing held, before writing them one row per transaction
RECOUNT_KEY = "palette:edge-recount:{account}"
RECOUNT_LOCK = "edge-recount"  # the lock's resource name (palette_sync.locks.lock_name)


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Written:
    """What writing a batch of results did."""

    hosts: int = 0
    transitions: int = 0
    states: Counter = field(default_factory=Counter)
    projects: set = field(default_factory=set)  # projects whose hosts changed state: to recount
    sites: set = field(default_factory=set)  # (project id, site) of those hosts: the sites to recount


def write_results(account_id: int, run_id: int, results: list[list]) -> Written:
    """Write probe results, a chunk per short transaction, with the transitions they reveal.

    Rows the Palette listing holds right now are skipped and tried again a few times; what is still
    held is then written one row per transaction, which may wait but holds no other row meanwhile.
    """
    written = Written()
    pending = {row[0]: row for row in results}
    for attempt in range(LOCK_TRIES + 1):
        last = attempt == LOCK_TRIES
        for chunk in chunks(list(pending.values()), 1 if last else CHUNK):
            for host_id in write_chunk(account_id, run_id, chunk, written, wait=last):
                pending.pop(host_id, None)
        if last or not pending:
            break
        time.sleep(0.1 * (attempt + 1))
    return written


def write_chunk(account_id: int, run_id: int, chunk: list[list], written: Written, *, wait: bool) -> list[int]:
    """Apply one chunk of results in one transaction; returns the ids it is done with."""
    by_id = {row[0]: row for row in chunk}
    read = ("id", "uid", "name", "project_id", "site", "edge_api_state", "edge_api_since", "edge_api_checked_at")
    with transaction.atomic():
        rows = EdgeHost.objects.filter(account_id=account_id, id__in=list(by_id)).only(*read)
        hosts = list(rows.select_for_update(skip_locked=not wait, of=("self",)))
        read_now, other, entries = [], [], []
        now = timezone.now()
        for host in hosts:
            try:
                state, error, facts, checked = readable(by_id[host.id], now)
            except (TypeError, ValueError) as exc:
                log.warning("edge result for host %s not written: %s", host.id, exc)
                continue
            if host.edge_api_checked_at is not None and checked <= host.edge_api_checked_at:
                continue  # an older reading than the one stored (a late batch): it tells nothing new
            entry = merge(account_id, run_id, host, state, error, checked, written)
            entries += [entry] if entry else []
            if facts is not None:
                host.edge_facts = facts
                read_now.append(host)
            else:
                other.append(host)  # the last facts stay, dated by their readAt
        bulk.update(EdgeHost, read_now, (*FIELDS, "edge_facts"))
        bulk.update(EdgeHost, other, tuple(FIELDS))
        TimelineEntry.objects.bulk_create(entries, batch_size=CHUNK, ignore_conflicts=True)
    written.hosts += len(read_now) + len(other)
    written.transitions += len(entries)
    return [h.id for h in hosts] if not wait else list(by_id)  # waited: a row not there is gone


def readable(row: list, now: datetime) -> tuple[str, str, dict | None, datetime]:
    """One result row as the writer trusts it: a known state, a short error, facts as an object, and
    a reading time no later than now (a site worker's clock may run ahead). ValueError otherwise."""
    _, state, error, facts, checked_at = row
    if state not in EdgeHost.EdgeApiState.values or state == EdgeHost.EdgeApiState.UNKNOWN:
        raise ValueError(f"unknown state {str(state)[:40]!r}")
    checked = parse_datetime(checked_at)
    if checked is None or timezone.is_naive(checked):
        raise ValueError(f"reading time {str(checked_at)[:40]!r} is not an ISO date-time with its offset")
    if facts is not None and not isinstance(facts, dict):
        raise ValueError("facts are not an object")
    return state, str(error)[:500], facts, min(checked, now)


def merge(
    account_id: int, run_id: int, host: EdgeHost, state: str, error: str, checked: datetime, written: Written
) -> TimelineEntry | None:
    """Apply one probe to its host; return the transition it reveals, if any."""
    before = host.edge_api_state
    host.edge_api_checked_at = checked
    host.edge_api_error = error
    host.edge_api_due_at = next_due(host.uid, checked, settings.PALETTE_EDGE_INTERVAL)
    written.states[state] += 1
    if before == state:
        return None
    host.edge_api_state = state
    host.edge_api_since = checked
    written.projects.add(host.project_id)
    written.sites.add((host.project_id, host.site))
    if before == EdgeHost.EdgeApiState.UNKNOWN:
        return None  # the first reading is where history starts
    return TimelineEntry(
        account_id=account_id,
        kind=TimelineEntry.Kind.EDGE,  # what the host's own API said, apart from Palette's view
        source_id=f"edge:{host.uid}:edge_api_state:{run_id}",
        occurred_at=checked,
        project_id=host.project_id,
        subject_kind="edgehost",
        subject_uid=host.uid,
        subject_name=host.name,
        actor="palette-sync",
        action="edge_api_state",
        severity="warning" if state in TROUBLE else "info",
        message=f"edge_api_state {before} → {state}",
        details={"field": "edge_api_state", "before": before, "after": state, "run": run_id},
    )


def deliver(results: dict) -> Written:
    """Write a probed batch's results (a central worker), count its transitions on its run, and
    leave the projects whose counts moved to the next tick's recount."""
    written = write_results(results["account"], results["run"], results["results"])
    if written.transitions:
        SyncRun.objects.filter(pk=results["run"]).update(transitions=F("transitions") + written.transitions)
    mark_recount(results["account"], written.sites)
    return written


def mark_recount(account_id: int, sites: set) -> None:
    """Leave the (project, site) pairs whose hosts changed state to the account's next tick."""
    if sites:
        key = RECOUNT_KEY.format(account=account_id)
        redis_for(settings.REDIS_URL).sadd(key, *(json.dumps([p, s]) for p, s in sites))


def recount(account: PaletteAccount, *, wait: float = 0.0) -> int:
    """Recount the projects whose hosts changed state since the last tick (FleetCount) and, of their
    sites, only those that changed (SiteSummary): once per tick, whatever the number of batches
    written. A project has hundreds of sites at fleet scale, and rewriting all of them at every
    tick was a seventh of the edge path's CPU. Returns the number of projects recounted.

    One recount of an account at a time, on every worker (`recount_lock`): a tick slower than the
    tick interval, or an account read whole, must not recount beside it. Two at once doubled the
    counts of hosts outside any project (no project row to take turns on) and refused sites as
    duplicates. A recount that finds another running returns 0 after `wait` seconds at most, its
    marks left for the next one."""
    with recount_lock(account.pk, wait) as held:
        if not held:
            log.info("edge recount of account %s skipped: another is running; its changes wait", account.pk)
            return 0
        return recount_marked(account)


def recount_lock(account_id: int, wait: float = 0.0) -> AbstractContextManager:
    """The account's edge recount lock (palette_sync.locks), shared by every recount of its edge
    hosts' counts: the tick's and an account read whole."""
    return sync_lock(account_id, RECOUNT_LOCK, wait=wait)


def recount_marked(account: PaletteAccount) -> int:
    client = redis_for(settings.REDIS_URL)
    marked = client.spop(RECOUNT_KEY.format(account=account.pk), 10_000) or []
    sites: dict[int | None, set[str] | None] = {}
    for member in marked:
        try:
            project, site = json.loads(member)
        except (ValueError, TypeError):  # a project alone (marked before sites were): all its sites
            project, site = (None if member in (b"-", "-") else int(member)), None
        changed = sites.setdefault(project, set())
        if site is None or changed is None:
            sites[project] = None
        else:
            changed.add(site)
    for project in projects_of(account, set(sites)):
        rollups.refresh_counts(account, project, "edgehosts", sites=False)
        only = sites[project.pk if project else None]
        rollups.refresh_sites(account, project, only=only)
    return len(sites)


def projects_of(account: PaletteAccount, ids: set) -> list[Project | None]:
    found = list(Project.objects.filter(account=account, pk__in=[i for i in ids if i is not None]))
    return found + ([None] if None in ids else [])
