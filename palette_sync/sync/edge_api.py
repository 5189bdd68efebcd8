"""Each edge host's own API, merged into EdgeHost (REFERENCE.md 13; the client is palette_sync.edge).

Every host is read once per PALETTE_EDGE_INTERVAL, at its own offset within the interval (a hash of
its uid), so the readings of a large fleet spread evenly over the interval instead of coming in
bursts. Every PALETTE_EDGE_TICK the beat's tick (`plan`) claims the hosts due before the next tick
(`EdgeHost.edge_api_due_at`, a bounded number) and hands them out in batches, each sent for the
moment its first host is due: to the queue of the host's site where a worker runs inside that
site's network (PALETTE_EDGE_SITE_QUEUES), else to the central workers.

A batch carries all a worker needs (addresses, the credential with its password still sealed), and
probing it (`probe_batch`) never touches the database, so a site worker needs only the broker. The
results are written on a central worker (`write_results`) in short transactions that take only the
rows no one else holds (SKIP LOCKED): the Palette listing writing the same rows is never waited on
while a lock is held, so the two cannot deadlock.

A host that cannot be read is recorded with its state, since when, and why; its last facts stay,
dated. Changes of that state are transitions in the timeline, like health changes.
"""

import hashlib
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import EdgeCredential, EdgeHost, PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync import edge
from palette_sync.client import ClientStats, PaletteClient
from palette_sync.sync import rollups
from palette_sync.sync.runs import Recorder
from palette_sync.throttle import redis_for

log = logging.getLogger(__name__)

RESOURCE = "edge_api"
CHUNK = 500  # hosts written per transaction (and probed per chunk by the in-process pass)
TROUBLE = set(EdgeHost.API_PROBLEMS)
FIELDS = ["edge_api_state", "edge_api_since", "edge_api_checked_at", "edge_api_error", "edge_api_due_at"]
MIN_CLAIM = 100  # a tick may always hand out this many hosts of an account (first readings, catching up)
RUN_EVERY = 60.0  # seconds: a tick this soon after the account's last edge_api run adds to it
LOCK_TRIES = 5  # passes over rows the listing held, before writing them one row per transaction
RECOUNT_KEY = "palette:edge-recount:{account}"
NO_PALETTE = SimpleNamespace(stats=ClientStats())  # the schedule spends no Palette request


def has_edge_credentials(account: PaletteAccount) -> bool:
    return EdgeCredential.objects.filter(account=account).exists()


def credentials_of(account: PaletteAccount) -> list[EdgeCredential]:
    """The account's edge credentials, most specific first (`site=` before `key=value` before `*`)."""
    return sorted(EdgeCredential.objects.filter(account=account), key=lambda c: -c.specificity)


def credential_for(labels: dict, credentials: list[EdgeCredential]) -> EdgeCredential | None:
    """The most specific credential whose selector matches the host's labels."""
    return next((c for c in credentials if c.matches(labels if isinstance(labels, dict) else {})), None)


def sealed(credential: EdgeCredential) -> dict:
    """What a probe batch carries of a credential: the password stays sealed (PALETTE_SECRET_KEY)."""
    return {
        "account_id": credential.account_id,  # the password is bound to it (dashboard/sealing.py)
        "username": credential.username,
        "password_sealed": credential.password_sealed,
        "ca_pem": credential.ca_pem,
        "fingerprint": credential.fingerprint,
        "insecure": credential.insecure,
        "scheme": credential.scheme,
        "port": credential.port,
    }


def unsealed(values: dict) -> edge.EdgeAccess | None:
    """Client settings from a batch's credential; None when its password cannot be unsealed here."""
    bound = {name: values[name] for name in ("ca_pem", "fingerprint", "insecure", "scheme", "port")}
    credential = EdgeCredential(account_id=values.get("account_id"), password_sealed=values["password_sealed"], **bound)
    password = credential.password()  # no database involved
    if values["password_sealed"] and not password:
        return None
    return edge.EdgeAccess(
        username=values["username"],
        password=password,
        ca_pem=values["ca_pem"],
        fingerprint=values["fingerprint"],
        insecure=values["insecure"],
        scheme=values["scheme"],
        port=values["port"],
    )


# --- the schedule -------------------------------------------------------------------------------


def slot(uid: str) -> float:
    """Where in every interval a host is read: a stable fraction of it, from a hash of its uid."""
    return int.from_bytes(hashlib.blake2b(uid.encode(), digest_size=8).digest()) / 2**64


def next_due(uid: str, after: datetime, interval: float) -> datetime:
    """The host's next reading: at its own offset in the interval, at least half an interval after
    `after`, so a reading that came late or early (a first reading, catching up) puts it back on its
    offset and the fleet's readings stay evenly spread."""
    offset = slot(uid) * interval
    periods = math.ceil((after.timestamp() + interval / 2 - offset) / interval)
    return datetime.fromtimestamp(offset + periods * interval, tz=UTC)


def lease() -> timedelta:
    """How long a claimed host is left to its batch: past that (a worker died, a site worker is
    down and the batch expired in its queue) it is due again."""
    return timedelta(seconds=max(settings.PALETTE_EDGE_INTERVAL / 2, 4 * settings.PALETTE_EDGE_TICK))


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
    settled, queues = [], {}
    for host in hosts:
        credential = credential_for(labels_of(host), ordered)
        outcome = edge.unprobeable(host["host_address"], credential)
        if outcome is not None:
            settled.append(result_row(host["id"], outcome))
        else:
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


def labels_of(host: dict) -> dict:
    """The host's Palette labels (`metadata.labels`), read as JSON text by the query."""
    labels = host.get("labels")
    if isinstance(labels, str):
        try:
            labels = json.loads(labels)
        except ValueError:
            return {}
    return labels if isinstance(labels, dict) else {}


def chunks(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- probing: no database -----------------------------------------------------------------------


def probe_batch(payload: dict) -> dict:
    """Read one batch's hosts through their own API, without the database: the results to write
    (`write_results`) and what logging in cost (logins, renewals, sessions reused)."""
    edge.configure(settings.PALETTE_EDGE_SESSIONS, settings.PALETTE_EDGE_PROCESS_CONCURRENCY)
    accesses = {cid: unsealed(values) for cid, values in payload["credentials"].items()}
    rows, targets, start_at = [], [], {}
    for host_id, address, cid, *start in payload["hosts"]:
        if accesses.get(cid) is None:
            why = (
                "the edge password could not be unsealed here: this worker's PALETTE_SECRET_KEY is not the central one"
            )
            rows.append(result_row(host_id, edge.EdgeProbe(edge.EdgeApiState.ERROR, error=why)))
        else:
            targets.append((host_id, address, accesses[cid]))
            start_at[host_id] = start[0] if start else 0.0
    tally = edge.Tally()
    probes = edge.read_hosts(
        targets,
        concurrency=settings.PALETTE_EDGE_CONCURRENCY,
        timeout=settings.PALETTE_EDGE_TIMEOUT,
        tally=tally,
        start_at=start_at,
    )
    rows += [result_row(host_id, probe) for host_id, probe in probes.items()]
    return {"account": payload["account"], "run": payload["run"], "results": rows, "tally": dict(tally.counts)}


def result_row(host_id: int, probe: edge.EdgeProbe) -> list:
    """One probe as the writer takes it (JSON: it may travel through the broker)."""
    facts = None
    if probe.state == edge.EdgeApiState.REACHABLE:
        facts = {**probe.facts, "readAt": probe.checked_at.isoformat()}  # read_hosts kept only the summary
    return [host_id, probe.state, probe.error[:500], facts, probe.checked_at.isoformat()]


# --- writing: central workers -------------------------------------------------------------------


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
        EdgeHost.objects.bulk_update(read_now, [*FIELDS, "edge_facts"], batch_size=CHUNK)
        EdgeHost.objects.bulk_update(other, FIELDS, batch_size=CHUNK)
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


def recount(account: PaletteAccount) -> int:
    """Recount the projects whose hosts changed state since the last tick (FleetCount) and, of their
    sites, only those that changed (SiteSummary): once per tick, whatever the number of batches
    written. A project has hundreds of sites at fleet scale, and rewriting all of them at every
    tick was a seventh of the edge path's CPU. Returns the number of projects recounted."""
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


# --- the whole account now, in this process (sync_palette --once, tests) -------------------------


def sync_edge_api(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """Read every live edge host of an account through its own API now, a chunk at a time.

    The same batches, probes and writes as the schedule's, in this process; each host's next
    scheduled reading then comes at its own offset in the interval.
    """
    with Recorder(account, RESOURCE, None, client) as recorder:
        credentials = credentials_of(account)
        by_id = {str(c.pk): c for c in credentials}
        hosts = (
            EdgeHost.objects.filter(account=account, removed_at__isnull=True)
            .annotate(labels=KeyTextTransform("labels", "raw__metadata"))
            .values("id", "host_address", "labels")
            .order_by("id")
        )
        states: Counter = Counter()
        projects: set = set()
        for chunk in chunks(hosts.iterator(chunk_size=CHUNK), CHUNK):
            recorder.checkpoint()
            rows, targets = [], []
            for host in chunk:
                credential = credential_for(labels_of(host), credentials)
                outcome = edge.unprobeable(host["host_address"], credential)
                if outcome is not None:
                    rows.append(result_row(host["id"], outcome))
                else:
                    targets.append([host["id"], host["host_address"], str(credential.pk)])
            if targets:
                used = {t[2] for t in targets}
                payload = {"account": account.pk, "run": recorder.run.pk, "hosts": targets}
                rows += probe_batch(payload | {"credentials": {c: sealed(by_id[c]) for c in used}})["results"]
            written = write_results(account.pk, recorder.run.pk, rows)
            states.update(written.states)
            projects |= written.projects
            recorder.count(items=len(chunk), transitions=written.transitions)
        for project in projects_of(account, projects):
            rollups.refresh_counts(account, project, "edgehosts")
        if set(states) - {edge.EdgeApiState.REACHABLE}:
            recorder.error("edge hosts: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
        return recorder.finish(SyncRun.Status.OK)  # unreachable hosts are data, not a failed sync
