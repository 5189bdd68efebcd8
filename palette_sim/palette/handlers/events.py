"""Component events: the tenant/project listing and the per-object form (REFERENCE.md 12)."""

import re

from palette_sim.palette.context import Context
from palette_sim.palette.errors import BadRequest, not_found
from palette_sim.palette.shapes import logs as shapes_logs

OBJECT_KINDS = ("spectrocluster", "edgehost")
EVENT_FILTERS = (
    "relatedObject.kind",
    "relatedObject.uid",
    "relatedObject.name",
    "severity",
    "reason",
    "involvedObject.kind",
)


def parse_filters(text: str) -> list[tuple[str, str]]:
    """`field=value` terms joined with AND (OR is refused: the simulator keeps to conjunctions)."""
    if not text:
        return []
    if re.search(r"(?<=\w)OR(?=[\w.]+=)", text):
        raise BadRequest("filters: only AND is supported")
    terms = []
    for term in re.split(r"AND(?=[\w.]+=)", text):
        field, sep, value = term.partition("=")
        if not sep or field not in EVENT_FILTERS:
            raise BadRequest(f"filters: unsupported field {field!r}")
        terms.append((field, value))
    return terms


def newest_first(text: str) -> bool:
    """`orderBy`: only creation time can be ordered on; descending (newest first) by default."""
    if not text:
        return True
    field, _, direction = text.partition("=")
    if field not in ("metadata.creationTimestamp", "creationTimestamp") or direction not in ("1", "-1", ""):
        raise BadRequest(f"orderBy: unsupported {text!r}")
    return direction != "1"


def project_fields(item: dict, fields: list[str]) -> dict:
    """`fields=metadata.uid,metadata.name`: keep only the named dotted paths."""
    out: dict = {}
    for path in fields:
        src, dst = item, out
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
                break
            if i == len(parts) - 1:
                dst[part] = src[part]
            else:
                src, dst = src[part], dst.setdefault(part, {})
    return out


def render_events(ctx: Context, positions: object) -> dict:
    args = ctx.request.args
    fields = [f for f in args.get("fields", "").split(",") if f]
    reverse = newest_first(args.get("orderBy", ""))

    def render(pos: int) -> dict:
        item = shapes_logs.event(ctx.fleet, pos)
        return project_fields(item, fields) if fields else item

    return ctx.page(positions, render, reverse=reverse)


def event_predicate(ctx: Context, terms: list[tuple[str, str]]):
    fleet = ctx.fleet
    log = fleet.events

    def predicate(pos: int) -> bool:
        kind, uid, name, _p = fleet.registry[log.serial[pos]]
        reason, severity, _component, involved = shapes_logs.event_reason(log.code[pos])
        values = {
            "relatedObject.kind": kind,
            "relatedObject.uid": uid,
            "relatedObject.name": name,
            "severity": severity,
            "reason": reason,
            "involvedObject.kind": involved,
        }
        return all(values[f] == v for f, v in terms)

    return predicate


def events_list(ctx: Context) -> dict:
    """`GET /v1/events/components` -> `v1Events`: events of the objects visible in the scope."""
    fleet = ctx.fleet
    terms = parse_filters(ctx.request.args.get("filters", ""))
    tenant_projects = None if ctx.app.tenant_sees_all else (-1,)  # tenant scope: tenant-owned objects only
    projects = tenant_projects if ctx.scope is None else (fleet.project_index[ctx.scope],)
    where = tuple(terms) or None
    with fleet.lock:
        positions = fleet.events.select(
            projects=projects, where=where, predicate=event_predicate(ctx, terms) if terms else None
        )
    return render_events(ctx, positions)


def events_of_object(ctx: Context, kind: str, uid: str) -> dict:
    """`GET /v1/events/components/{objectKind}/{objectUid}`."""
    fleet = ctx.fleet
    if kind not in OBJECT_KINDS:
        raise BadRequest(f"objectKind must be one of {', '.join(OBJECT_KINDS)}")
    record = fleet.clusters.get(uid) if kind == "spectrocluster" else fleet.hosts.get(uid)
    if record is None or not ctx.visible(record.project):
        raise not_found(kind, uid)
    terms = parse_filters(ctx.request.args.get("filters", ""))
    with fleet.lock:
        positions = fleet.events.select(
            serial=record.serial, where=tuple(terms) or None, predicate=event_predicate(ctx, terms) if terms else None
        )
    return render_events(ctx, positions)
