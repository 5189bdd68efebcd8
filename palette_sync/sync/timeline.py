"""Audits and events into the timeline, incrementally by watermark (REFERENCE.md 11, 12).

The next listing asks from the newest stored entry minus an overlap, so entries that Palette
records late are not missed; the unique (account, kind, source_id) drops what is already there.
An incomplete listing writes nothing: the next run asks for the same window again.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from dashboard.models import PaletteAccount, Project, SyncRun, TimelineEntry
from palette_sync import mappers
from palette_sync.client import Listing, PaletteClient
from palette_sync.errors import PaletteError
from palette_sync.sync.listing import BATCH, project_ids
from palette_sync.sync.runs import Recorder


def window_start(account: PaletteAccount, kind: str, project: Project | None, now: datetime) -> datetime:
    """Where a listing resumes: the watermark minus the overlap, or the backfill on a first run."""
    watermark = TimelineEntry.watermark(account, kind, project)
    if watermark is None:
        return now - timedelta(seconds=settings.PALETTE_TIMELINE_BACKFILL)
    return watermark - timedelta(seconds=settings.PALETTE_TIMELINE_OVERLAP)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sync_audits(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """Tenant-scope audits in [watermark − overlap, now] (`GET /v1/audits?startTime&endTime`)."""
    recorder = Recorder(account, "audits", None, client)
    start = window_start(account, TimelineEntry.Kind.AUDIT, None, recorder.now)
    # endTime pins the window: entries arriving while we page do not shift the pages under us.
    items = get_listing(client, "/v1/audits", {"startTime": rfc3339(start), "endTime": rfc3339(recorder.now)})
    projects = project_ids(recorder)

    def project_for(values: dict) -> int | None:
        return projects.get(values.pop("project_uid", ""))

    return record(recorder, TimelineEntry.Kind.AUDIT, items, mappers.audit_entry, project_for)


def sync_events(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """One project's component events, newest first, down to the watermark − overlap (REFERENCE.md 12).

    `GET /v1/events/components` has no time filter: the listing is read newest first and left as
    soon as it passes the window's start, so a run costs pages in proportion to what is new.
    """
    recorder = Recorder(account, "events", project, client)
    start = window_start(account, TimelineEntry.Kind.EVENT, project, recorder.now)
    order = {"orderBy": "metadata.creationTimestamp=-1"}
    items = get_listing(client, "/v1/events/components", order, project_uid=project.uid)
    return record(
        recorder, TimelineEntry.Kind.EVENT, newer_than(items, start), mappers.event_entry, lambda v: project.pk
    )


class QueryPages:
    """A client whose pages carry extra query parameters (`paginate` sends only limit and continue)."""

    def __init__(self, client: PaletteClient, query: dict) -> None:
        self.client, self.query = client, query

    def page(self, method: str, path: str, *, body: dict | None, params: dict, project_uid: str | None) -> dict:
        return self.client.page(method, path, body=body, params={**self.query, **params}, project_uid=project_uid)


def get_listing(client: PaletteClient, path: str, query: dict, project_uid: str | None = None) -> Listing:
    """A paged GET listing with query parameters, following `continue` tokens (REFERENCE.md 4)."""
    return Listing(QueryPages(client, query), path, method="GET", body=None, project_uid=project_uid, strict=True)


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
    items: Iterable[dict],
    mapper: Callable[[dict], dict],
    project_for: Callable[[dict], int | None],
) -> SyncRun:
    """Map every item; if the listing completed, insert the entries not stored yet."""
    entries: dict[str, TimelineEntry] = {}
    try:
        for item in items:
            recorder.count(items=1)
            entry = to_entry(recorder, kind, item, mapper, project_for)
            if entry is not None:
                entries[entry.source_id] = entry
    except PaletteError as exc:
        recorder.error(str(exc))
        return recorder.finish(SyncRun.Status.PARTIAL if recorder.run.items else SyncRun.Status.FAILED)
    insert(recorder, kind, list(entries.values()))
    return recorder.finish(SyncRun.Status.OK)


def to_entry(
    recorder: Recorder, kind: str, item: dict, mapper: Callable[[dict], dict], project_for: Callable[[dict], int | None]
) -> TimelineEntry | None:
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
    return TimelineEntry(account=recorder.account, kind=kind, project_id=project_id, **values)


def insert(recorder: Recorder, kind: str, entries: list[TimelineEntry]) -> None:
    """Insert in batches; entries already stored (the overlap) are counted out, then ignored."""
    for i in range(0, len(entries), BATCH):
        batch = entries[i : i + BATCH]
        known = set(
            TimelineEntry.objects.filter(
                account=recorder.account, kind=kind, source_id__in=[e.source_id for e in batch]
            ).values_list("source_id", flat=True)
        )
        with transaction.atomic():
            TimelineEntry.objects.bulk_create(batch, ignore_conflicts=True)
        recorder.count(added=sum(1 for e in batch if e.source_id not in known))
