"""Consume one listing into one synced model: bulk upserts, observed transitions, removals.

Each batch of up to 500 items costs one query to read the stored rows, then one transaction that
upserts them and writes the transitions they reveal, so a re-run finds no change and writes
nothing. `removed_at` is set only after the listing ran to its end (DESIGN.md "Data model").
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from dashboard.models import Project, SyncRun, TimelineEntry
from palette_sync import mappers
from palette_sync.errors import PaletteError, PaletteNotFound
from palette_sync.sync import bulk
from palette_sync.sync.fetch import read_ahead
from palette_sync.sync.runs import Recorder

BATCH = 500
SEVERE = {"health": {"unhealthy"}, "state": {"error", "failed", "deleting", "deleted"}}

Enricher = Callable[[Recorder, list[dict], dict[str, dict]], None]


@dataclass(frozen=True)
class Source:
    """How one resource maps into its model, and which of its fields are watched for changes."""

    resource: str
    model: type
    subject_kind: str
    mapper: Callable[[dict], dict]
    watched: tuple[str, ...] = ()  # a change here is a transition
    since: dict[str, str] = field(default_factory=dict)  # watched field -> the field saying since when
    carry: tuple[str, ...] = ()  # stored fields an enricher may reuse
    keep: tuple[str, ...] = ()  # model fields the listing never writes (the Edge Host API's)
    cascade: tuple[type, ...] = ()  # models whose rows go with a removed row (a project's contents)
    after_write: Callable[[Recorder, list[str]], None] | None = None  # told the uids of rows it upserted
    detail: str = ""  # the detail path of one object, "{uid}" in it: a 404 there confirms a removal


def consume(
    recorder: Recorder,
    source: Source,
    items: Iterable[dict],
    *,
    project_for: Callable[[dict], int | None] = lambda values: None,
    accept: Callable[[dict], bool] = lambda values: True,
    enrich: Enricher | None = None,
) -> SyncRun:
    """Map, upsert and compare every item of `items`; remove what a complete listing no longer had.

    `project_for` names the owning project of mapped values; `accept` drops items that belong to
    another listing's scope; `enrich` may fill fields from detail reads before the write.
    """
    batch: dict[str, dict] = {}
    complete = False
    recorder.watch(items)
    try:
        # Pages are fetched in another thread while this one maps and writes (sync/fetch.py).
        for item in read_ahead(items):
            recorder.count(items=1)
            values = map_item(recorder, source, item)
            if values is not None and accept(values):
                if has_project(source.model):
                    values["project_id"] = project_for(values)
                batch[values["uid"]] = values
            if len(batch) >= BATCH:
                write_batch(recorder, source, list(batch.values()), enrich)
                batch = {}
        complete = True
    except PaletteError as exc:
        recorder.error(str(exc))
    if batch:
        write_batch(recorder, source, list(batch.values()), enrich)
    if complete:
        recorder.checkpoint()
        if not remove_missing(recorder, source):
            return recorder.finish(SyncRun.Status.PARTIAL)
        return recorder.finish(SyncRun.Status.OK)
    return recorder.finish(SyncRun.Status.PARTIAL if recorder.run.items else SyncRun.Status.FAILED)


def map_item(recorder: Recorder, source: Source, item: dict) -> dict | None:
    """The mapped values of one item, or None (and an error noted) when it cannot be read."""
    try:
        values = source.mapper(item)
    except Exception as exc:  # one odd item must not stop the sync: note it and go on
        uid = mappers.obj(mappers.obj(item).get("metadata")).get("uid", "?")
        recorder.error(f"{source.resource} item {uid}: unreadable ({exc.__class__.__name__}: {exc})")
        return None
    if not values.get("uid"):
        recorder.error(f"{source.resource} item without a usable metadata.uid (missing, or longer than a uid) skipped")
        return None
    return values


def write_batch(recorder: Recorder, source: Source, batch: list[dict], enrich: Enricher | None) -> None:
    """Upsert one batch and write the transitions it reveals, in one transaction.

    A row that Palette returned exactly as stored (same JSON, same project, not removed) only has
    its last_seen_at moved: most rows of an incremental listing cost no upsert at all.
    """
    model = source.model
    stored = stored_rows(recorder, source, batch)
    if enrich is not None:
        enrich(recorder, batch, stored)  # network reads happen before the transaction opens
    recorder.checkpoint()
    rows, entries, seen = [], [], []
    for values in batch:
        values.pop("project_uid", None)
        old = stored.get(values["uid"])
        if unchanged(old, values):
            seen.append(values["uid"])
            continue
        entries.extend(compare(recorder, source, values, old))
        rows.append(
            {
                "account_id": recorder.account.pk,
                "first_seen_at": recorder.now,
                "last_seen_at": recorder.now,
                "removed_at": None,
                **values,
            }
        )
    with transaction.atomic():
        if seen:
            model.objects.filter(account=recorder.account, uid__in=seen).update(
                last_seen_at=recorder.now, missing_since=None
            )
        upsert(model, rows, keep=source.keep)
        TimelineEntry.objects.bulk_create(entries, batch_size=BATCH, ignore_conflicts=True)
    if source.after_write is not None and rows:
        source.after_write(recorder, [row["uid"] for row in rows])
    recorder.count(added=sum(1 for v in batch if is_new(stored.get(v["uid"]))), transitions=len(entries))


def stored_rows(recorder: Recorder, source: Source, batch: list[dict]) -> dict[str, dict]:
    """uid -> the stored row of each item of `batch` that has one: the fields compared, and
    `same_raw`, whether the stored raw JSON is the listed one.

    PostgreSQL compares the raw documents itself (jsonb equality, the listed ones sent as one
    parameter), so they are not read back and parsed: that was most of an unchanged listing's CPU.
    """
    model = source.model
    columns = ["uid", "name", "removed_at", "modified_at", *source.watched, *source.since.values(), *source.carry]
    columns += ["project_id"] if has_project(model) else []
    rows = model.objects.filter(account=recorder.account, uid__in=[v["uid"] for v in batch])
    if connection.vendor == "postgresql":
        listed = json.dumps({v["uid"]: v["raw"] for v in batch})
        rows = rows.annotate(same_raw=RawSQL("raw = (%s::jsonb -> uid)", [listed], output_field=BooleanField()))
        return {row["uid"]: row for row in rows.values(*dict.fromkeys(columns), "same_raw")}
    raws = {v["uid"]: v["raw"] for v in batch}
    return {
        row["uid"]: {**row, "same_raw": row.pop("raw") == raws[row["uid"]]}
        for row in rows.values(*dict.fromkeys(columns), "raw")
    }


def unchanged(old: dict | None, values: dict) -> bool:
    """Whether the stored row already says all that `values` would write (every field is mapped from raw)."""
    return (
        old is not None
        and old["removed_at"] is None
        and old["same_raw"]
        and old.get("project_id") == values.get("project_id")
        and all(old[name] == values[name] for name in old.keys() & values.keys())
    )


def is_new(old: dict | None) -> bool:
    return old is None or old["removed_at"] is not None


def compare(recorder: Recorder, source: Source, values: dict, old: dict | None) -> list[TimelineEntry]:
    """Set the *_since fields of `values`, and return the transitions from `old` to `values`."""
    for watched, since in source.since.items():
        unchanged = not is_new(old) and old[watched] == values[watched]
        values[since] = (old[since] or recorder.now) if unchanged else recorder.now
    if is_new(old):
        if recorder.baseline and old is None:
            return []  # the first complete listing of a scope is where history starts, not news
        action = "appeared" if old is None else "returned"
        return [transition(recorder, source, values, action, None, None)]
    return [
        transition(recorder, source, values, name, old[name], values[name])
        for name in source.watched
        if old[name] != values[name]
    ]


def transition(
    recorder: Recorder, source: Source, values: dict, action: str, before: object, after: object
) -> TimelineEntry:
    """A `transition` timeline entry, unique per (subject, change, run)."""
    uid = values["uid"]
    severe = isinstance(after, str) and after.lower() in SEVERE.get(action, ())
    return TimelineEntry(
        account=recorder.account,
        kind=TimelineEntry.Kind.TRANSITION,
        source_id=f"{source.resource}:{uid}:{action}:{recorder.run.pk}",
        occurred_at=recorder.now,
        project_id=values.get("project_id"),
        subject_kind=source.subject_kind,
        subject_uid=uid,
        subject_name=values.get("name", ""),
        actor="palette-sync",
        action=action,
        severity="warning" if severe or action == "removed" else "info",
        message=describe(action, before, after),
        details={"field": action, "before": before, "after": after, "run": recorder.run.pk},
    )


def describe(action: str, before: object, after: object) -> str:
    if action in ("appeared", "returned", "removed"):
        return action
    if action == "profiles":
        return "profiles " + profile_change(before or [], after or [])
    return f"{action} {before or 'unknown'} → {after or 'unknown'}"


def profile_change(before: list[dict], after: list[dict]) -> str:
    """ "pos-apps 6 → 7, +edge-monitoring 2": what changed between two profile lists."""
    old = {p.get("name"): p.get("version") for p in before}
    new = {p.get("name"): p.get("version") for p in after}
    changes = [f"{n} {old[n]} → {v}" for n, v in new.items() if n in old and old[n] != v]
    changes += [f"+{n} {v}" for n, v in new.items() if n not in old]
    changes += [f"-{n} {v}" for n, v in old.items() if n not in new]
    return ", ".join(changes) or "changed"


def has_project(model: type) -> bool:
    """Whether rows of `model` belong to a project (all synced models but Project itself)."""
    return any(f.name == "project" for f in model._meta.concrete_fields)


def upsert(model: type, rows: list[dict], *, keep: tuple[str, ...] = ()) -> None:
    """Bulk insert-or-update keyed by (account, uid); first_seen_at is kept from the first insert."""
    fixed = {"id", "account", "uid", "first_seen_at", *keep}
    fields = [f.name for f in model._meta.concrete_fields if f.name not in fixed]
    bulk.insert(model, rows, update=fields, unique=("account", "uid"))


def remove_missing(recorder: Recorder, source: Source) -> bool:
    """After a complete listing: remove the scope's rows it lacked, once each absence is confirmed.

    Listings are offset-paged (REFERENCE.md 4): an object deleted behind the cursor shifts a live
    one into a page already read, and `listmeta.count` drops with it, so one complete listing can
    lack a live row. A row is removed when its detail read answers 404, or when a second complete
    listing in a row lacks it too (the detail read failing otherwise); a detail read that finds
    it keeps it. More than PALETTE_REMOVAL_MAX_SHARE of the scope missing at once is refused as
    a whole (an empty "complete" listing after a permission change must not wipe a project):
    returns False then, and the run says why.
    """
    model = source.model
    scope = scope_filter(recorder, model)
    live = model.objects.filter(account=recorder.account, removed_at__isnull=True, **scope)
    missing = list(
        live.filter(last_seen_at__lt=recorder.now).values(
            "id", "uid", "name", "missing_since", *(("project_id",) if scope else ())
        )
    )
    if not missing:
        return True
    total = live.count()
    if len(missing) > max(settings.PALETTE_REMOVAL_MIN_GUARD, settings.PALETTE_REMOVAL_MAX_SHARE * total):
        recorder.error(
            f"refused to remove {len(missing)} of {total} {source.resource} at once (more than "
            f"{settings.PALETTE_REMOVAL_MAX_SHARE:.0%} of the scope): if Palette really removed them, run "
            "`manage.py sync_palette --once --allow-mass-removal`; if the credential lost access, fix it"
        )
        if not recorder.allow_mass_removal:
            return False
    gone, kept, pending = confirm(recorder, source, missing)
    with transaction.atomic():
        if kept:
            model.objects.filter(id__in=kept).update(last_seen_at=recorder.now, missing_since=None)
        if pending:
            model.objects.filter(id__in=pending, missing_since__isnull=True).update(missing_since=recorder.now)
        if gone:
            remove_rows(recorder, source, [row for row in missing if row["id"] in gone])
    if kept:
        recorder.error(f"{len(kept)} {source.resource} missing from the listing still exist: kept")
    return True


def scope_filter(recorder: Recorder, model: type) -> dict:
    if not has_project(model):
        return {}
    return {"project": recorder.project} if recorder.project is not None else {"project__isnull": True}


def confirm(recorder: Recorder, source: Source, missing: list[dict]) -> tuple[set[int], set[int], set[int]]:
    """Sort missing rows into (gone, kept, pending): a 404, found after all, or not known yet."""
    gone, kept, pending = set(), set(), set()
    project_uid = recorder.project.uid if recorder.project is not None else None
    for row in missing:
        if not source.detail or len(gone) + len(kept) >= settings.PALETTE_REMOVAL_CONFIRM_MAX:
            status = "unknown"
        else:
            recorder.count(detail_reads=1)
            try:
                recorder.client.request("GET", source.detail.format(uid=row["uid"]), project_uid=project_uid)
                status = "found"
            except PaletteNotFound:
                status = "gone"
            except PaletteError as exc:
                recorder.error(f"{source.resource} {row['uid']} missing, detail read failed: {exc}")
                status = "unknown"
        if status == "found":
            kept.add(row["id"])
        elif status == "gone" or row["missing_since"] is not None:  # a 404, or the second listing in a row
            gone.add(row["id"])
        else:
            pending.add(row["id"])
    return gone, kept, pending


def remove_rows(recorder: Recorder, source: Source, rows: list[dict]) -> None:
    """Mark rows removed with a `removed` transition each; a removed project takes its contents along."""
    ids = [row["id"] for row in rows]
    source.model.objects.filter(id__in=ids).update(removed_at=recorder.now, missing_since=None)
    entries = [transition(recorder, source, row, "removed", None, None) for row in rows]
    for child in source.cascade:  # no project, no listing that could ever remove them
        contents = child.objects.filter(project_id__in=ids, removed_at__isnull=True)
        child_source = CASCADE_SOURCES.get(child)
        if child_source is not None:
            entries += [
                transition(recorder, child_source, row, "removed", None, None)
                for row in contents.values("uid", "name", "project_id")
            ]
        contents.update(removed_at=recorder.now)
    TimelineEntry.objects.bulk_create(entries, batch_size=BATCH, ignore_conflicts=True)
    recorder.count(removed=len(rows), transitions=len(entries))


# The sources of the models a removed project takes along, for their own `removed` transitions.
CASCADE_SOURCES: dict[type, Source] = {}


def project_ids(recorder: Recorder) -> dict[str, int]:
    """uid -> id of the account's projects, for attributing rows by uid in one query."""
    return dict(Project.objects.filter(account=recorder.account).values_list("uid", "id"))
