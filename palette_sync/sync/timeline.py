"""Audits and events into the timeline, incrementally (REFERENCE.md 11, 12).

Entries are inserted in batches, each in its own short transaction (never one held open across
network reads); the unique (account, kind, source_id) drops what is already there. A listing
resumes a little before where the last one left off (the overlap), so entries Palette records
late are not missed, and it never resumes beyond a gap:

- audits are read in time slices, oldest first, each slice complete in memory before any of it
  is stored, so the newest stored audit is where the next listing resumes;
- events are read newest first and stored as they arrive, so a listing that broke off may have
  stored newer events than an unread older one: the next listing resumes where the scope's last
  complete one started (SyncScope.ok_started_at), or at the newest stored event if that is older.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from dashboard.models import PaletteAccount, Project, SyncRun, SyncScope, TimelineEntry
from palette_sync import mappers
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteError
from palette_sync.sync import bulk
from palette_sync.sync.fetch import read_ahead, windowed
from palette_sync.sync.listing import BATCH, project_ids
from palette_sync.sync.runs import Recorder


def window_start(account: PaletteAccount, kind: str, project: Project | None, now: datetime) -> datetime:
    """Where a listing resumes, minus the overlap; the backfill on a first run (see the module)."""
    overlap = timedelta(seconds=settings.PALETTE_TIMELINE_OVERLAP)
    backfill = now - timedelta(seconds=settings.PALETTE_TIMELINE_BACKFILL)
    watermark = TimelineEntry.watermark(account, kind, project)
    if kind == TimelineEntry.Kind.AUDIT:
        return backfill if watermark is None else watermark - overlap
    scope = SyncScope.objects.filter(account=account, resource="events", project=project).first()
    if scope is not None and scope.ok_started_at is None:
        return backfill  # no listing of this scope ever completed: what is stored may have gaps
    marks = [m for m in (scope.ok_started_at if scope else None, watermark) if m is not None]
    return min(marks) - overlap if marks else backfill


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sync_audits(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """Tenant-scope audits in [watermark − overlap, now] (`GET /v1/audits?startTime&endTime`)."""
    with Recorder(account, "audits", None, client) as recorder:
        start = window_start(account, TimelineEntry.Kind.AUDIT, None, recorder.now)
        # endTime pins the window: entries arriving while we page do not shift the pages under us.
        # A long window (a backfill) is listed as concurrent time slices, stored oldest first.
        pieces = windowed(client, "/v1/audits", start, recorder.now, stamp=rfc3339)
        projects = project_ids(recorder)

        def project_for(values: dict) -> int | None:
            return projects.get(values.pop("project_uid", ""))

        return record(recorder, TimelineEntry.Kind.AUDIT, pieces, mappers.audit_entry, project_for)


def sync_events(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """One project's component events, newest first, down to the watermark − overlap (REFERENCE.md 12).

    `GET /v1/events/components` has no time filter: the listing is read newest first and left as
    soon as it passes the window's start, so a run costs pages in proportion to what is new.
    """
    with Recorder(account, "events", project, client) as recorder:
        start = window_start(account, TimelineEntry.Kind.EVENT, project, recorder.now)
        order = {"orderBy": "metadata.creationTimestamp=-1"}
        items = client.paginate("/v1/events/components", method="GET", params=order, project_uid=project.uid)
        # The window's end is found in the reading thread, so no page past it is fetched.
        new = read_ahead(newer_than(items, start))
        return record(recorder, TimelineEntry.Kind.EVENT, [new], mappers.event_entry, lambda v: project.pk)


def newer_than(items: Iterable[dict], start: datetime) -> Iterable[dict]:
    """The items of a newest-first listing down to `start`; all of them if the order is not newest first."""
    previous = None
    ordered = True
    for item in items:
        when = mappers.timestamp(
            ((item.get("metadata") or {}) if isinstance(item, dict) else {}).get("creationTimestamp")
        )
        if when is not None and previous is not None and when > previous:
            ordered = False  # the server ignored orderBy: read to the end, the constraint de-duplicates
        previous = when or previous
        if when is not None and when < start:
            if ordered:
                return
            continue
        yield item


def record(
    recorder: Recorder,
    kind: str,
    pieces: Iterable[Iterable[dict]],
    mapper: Callable[[dict], dict],
    project_for: Callable[[dict], int | None],
) -> SyncRun:
    """Map every item and insert the entries not stored yet, a batch at a time.

    A listing that breaks off ends the run partial (or failed, having read nothing): the scope's
    last complete listing stays where the next one resumes.
    """
    try:
        for piece in pieces:
            store(recorder, kind, piece, mapper, project_for)
    except PaletteError as exc:
        recorder.error(str(exc))
        return recorder.finish(SyncRun.Status.PARTIAL if recorder.run.items else SyncRun.Status.FAILED)
    return recorder.finish(SyncRun.Status.OK)


def store(
    recorder: Recorder,
    kind: str,
    piece: Iterable[dict],
    mapper: Callable[[dict], dict],
    project_for: Callable[[dict], int | None],
) -> None:
    """Map and insert one piece, BATCH entries per short transaction: events as they are read, an
    audit slice (already complete in memory, see fetch.windowed) only once all of it has arrived."""
    streaming = kind == TimelineEntry.Kind.EVENT
    entries: dict[str, dict] = {}
    for item in piece:
        recorder.count(items=1)
        entry = to_entry(recorder, kind, item, mapper, project_for)
        if entry is not None:
            entries[entry["source_id"]] = entry
        if streaming and len(entries) >= BATCH:
            insert(recorder, kind, list(entries.values()))
            entries = {}
    insert(recorder, kind, list(entries.values()))


def to_entry(
    recorder: Recorder, kind: str, item: dict, mapper: Callable[[dict], dict], project_for: Callable[[dict], int | None]
) -> dict | None:
    """The TimelineEntry fields of one item (by attname, as bulk.insert takes them), or None when unusable."""
    try:
        values = mapper(item)
    except Exception as exc:  # one odd item must not stop the sync: note it and go on
        recorder.error(f"{kind} item unreadable ({exc.__class__.__name__}: {exc})")
        return None
    if not values["source_id"] or values["occurred_at"] is None:
        recorder.error(f"{kind} {values['source_id'] or '?'} skipped: no uid or no creationTimestamp")
        return None
    project_id = project_for(values)
    values.pop("project_uid", None)
    return {"account_id": recorder.account.pk, "kind": kind, "project_id": project_id, **values}


def insert(recorder: Recorder, kind: str, entries: list[dict]) -> None:
    """Insert in batches; entries already stored (the overlap) are ignored, and not counted as added."""
    recorder.checkpoint()
    for i in range(0, len(entries), BATCH):
        batch = entries[i : i + BATCH]
        # PostgreSQL says how many rows it inserted; bulk_create does not, so there the stored ones are read first.
        known = None if bulk.counts_rows() else stored(recorder, kind, batch)
        with transaction.atomic():
            inserted = bulk.insert(TimelineEntry, batch, ignore_conflicts=True)
        recorder.count(added=inserted if known is None else sum(1 for e in batch if e["source_id"] not in known))


def stored(recorder: Recorder, kind: str, batch: list[dict]) -> set[str]:
    """The source ids of `batch` already stored."""
    source_ids = [e["source_id"] for e in batch]
    entries = TimelineEntry.objects.filter(account=recorder.account, kind=kind, source_id__in=source_ids)
    return set(entries.values_list("source_id", flat=True))
