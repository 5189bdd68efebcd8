"""Auth, users, projects, audits and events (REFERENCE.md 2, 7, 11, 12)."""

import secrets

from werkzeug.wrappers import Response

from palette_sim.fleet.catalog import AUDIT_ACTIONS
from palette_sim.fleet.fleet import parse_time
from palette_sim.palette.context import Context
from palette_sim.palette.errors import BadRequest, ResourceNotFound, Unauthorized, ok
from palette_sim.palette.search import PROJECT_SORT, as_dict, filter_string, sort_records
from palette_sim.palette.shapes import logs as shapes_logs
from palette_sim.palette.shapes import profiles as shapes_profiles

# --- auth -------------------------------------------------------------------------------------------


def set_cookie_wanted(ctx: Context) -> bool:
    return ctx.request.args.get("setCookie", "true").lower() != "false"


def token_response(ctx: Context, token: str) -> Response:
    response = ok({"Authorization": token, "isMfa": False})
    if set_cookie_wanted(ctx):
        # The cookie's name is not documented (REFERENCE.md 15); the simulator never reads it back.
        response.set_cookie("Authorization", token, httponly=True, secure=True, samesite="Strict")
    return response


def authenticate(ctx: Context) -> Response:
    """`POST /v1/auth/authenticate`: `v1AuthLogin` -> `v1UserToken`."""
    body = ctx.body()
    email, org, password = body.get("emailId"), body.get("org"), body.get("password")
    app = ctx.app
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadRequest("emailId and password are required")
    good = (
        secrets.compare_digest(email.lower(), app.email.lower())
        and secrets.compare_digest(password, app.password)
        and (org in (None, "") or org == ctx.fleet.org)
    )
    if not good:
        raise Unauthorized("Invalid credentials")
    return token_response(ctx, app.tokens.issue(email, app.clock.now()))


def refresh(ctx: Context, token: str) -> Response:
    """`GET /v1/auth/refresh/{token}`: a new token for the same session, while the old one is valid."""
    app = ctx.app
    claims = app.tokens.verify(token, app.clock.now())
    if claims is None:
        raise Unauthorized("Token is invalid or expired")
    return token_response(ctx, app.tokens.issue(claims["sub"], app.clock.now(), session=claims["sid"]))


def users_info(ctx: Context) -> dict:
    """`GET /v1/users/info` -> `v1UserInfo`."""
    return {"orgName": ctx.fleet.org, "tenantUid": ctx.fleet.tenant_uid, "userUid": ctx.fleet.people[0].uid}


def users_list(ctx: Context) -> dict:
    """`GET /v1/users` -> `v1Users` (paged)."""
    return ctx.page(list(range(len(ctx.fleet.people))), lambda i: shapes_profiles.user_item(ctx.fleet, i))


# --- projects ---------------------------------------------------------------------------------------


def projects_search(ctx: Context) -> dict:
    """`POST /v1/dashboard/projects` -> `v1ProjectsSummary`. Projects are tenant-scoped (REFERENCE.md 3)."""
    body = ctx.body()
    spec = as_dict(body.get("filter"), "filter")

    def build() -> list:
        items = list(ctx.fleet.projects)
        if "name" in spec:
            items = [p for p in items if filter_string(spec["name"], p.name, "filter.name")]
        return sort_records(items, body.get("sort"), PROJECT_SORT)

    items = ctx.app.cached(ctx.listing_key(), build)
    return ctx.page(items, lambda p: shapes_profiles.project_summary(ctx.fleet, p))


def projects_metadata(ctx: Context) -> dict:
    """`GET /v1/dashboard/projects/metadata` -> `v1ProjectsMetadata` (unpaginated)."""
    name = ctx.request.args.get("name")
    return {
        "items": [
            {"metadata": {"name": p.name, "uid": p.uid}} for p in ctx.fleet.projects if name is None or p.name == name
        ]
    }


def project_get(ctx: Context, uid: str) -> dict:
    """`GET /v1/projects/{uid}` -> `v1Project`."""
    project = ctx.fleet.project(uid)
    if project is None:
        raise ResourceNotFound(f"Project '{uid}' not found")
    return shapes_profiles.project_full(ctx.fleet, project)


def projects_list(ctx: Context) -> dict:
    """Deprecated `GET /v1/projects`: as observed, it ignores paging and returns the first 50 rows.

    `listmeta.count` is the true total and `continue` is empty, so only a client that compares
    the rows with the count notices (REFERENCE.md 4, observed third party).
    """
    projects = ctx.fleet.projects
    return {
        "items": [shapes_profiles.project_full(ctx.fleet, p) for p in projects[:50]],
        "listmeta": {"continue": "", "count": len(projects), "limit": 50, "offset": min(50, len(projects))},
    }


# --- audits -----------------------------------------------------------------------------------------


def time_arg(ctx: Context, name: str) -> float | None:
    value = ctx.request.args.get(name)
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise BadRequest(f"{name} must be an RFC 3339 date-time") from None


def audits_list(ctx: Context) -> dict:
    """`GET /v1/audits` -> `v1Audits`, newest first, filtered by time window, scope and the other params."""
    fleet, args = ctx.fleet, ctx.request.args
    log = fleet.audits
    start, end = time_arg(ctx, "startTime"), time_arg(ctx, "endTime")
    projects = None if ctx.scope is None else (fleet.project_index[ctx.scope],)
    action = args.get("actionType")
    if action and action not in AUDIT_ACTIONS:
        raise BadRequest(f"actionType must be one of {', '.join(AUDIT_ACTIONS)}")
    tenant = args.get("tenantUid")
    if tenant and tenant != fleet.tenant_uid:
        return ctx.page([], lambda pos: {})
    wanted = {k: args.get(k) for k in ("userUid", "resourceKind", "resourceUid") if args.get(k)}
    people = {p.uid: i for i, p in enumerate(fleet.people)}
    action_code = AUDIT_ACTIONS.index(action) if action else None

    def predicate(pos: int) -> bool:
        if "userUid" in wanted and log.actor[pos] != people.get(wanted["userUid"], -2):
            return False
        if "resourceKind" in wanted or "resourceUid" in wanted:
            kind, uid, _name = shapes_logs.audit_subject(fleet, pos)
            if wanted.get("resourceKind", kind) != kind or wanted.get("resourceUid", uid) != uid:
                return False
        return True

    where = tuple(sorted(wanted.items())) or None
    with fleet.lock:
        positions = log.select(
            projects=projects,
            code=action_code,
            start=start,
            end=end,
            where=where,
            predicate=predicate if where else None,
        )
    return ctx.page(positions, lambda pos: shapes_logs.audit(fleet, pos), reverse=True)


def audit_position(ctx: Context, uid: str) -> int:
    pos = ctx.fleet.audits.position(uid)
    if pos is None or (ctx.scope is not None and ctx.fleet.audits.project[pos] != ctx.fleet.project_index[ctx.scope]):
        raise ResourceNotFound(f"Audit '{uid}' not found")
    return pos


def audit_get(ctx: Context, uid: str) -> dict:
    """`GET /v1/audits/{uid}` -> `v1Audit`."""
    return shapes_logs.audit(ctx.fleet, audit_position(ctx, uid))


def audit_sysmsg(ctx: Context, uid: str) -> dict:
    """`GET /v1/audits/{uid}/sysMsg` -> `v1AuditSysMsg`."""
    return shapes_logs.audit_sysmsg(ctx.fleet, audit_position(ctx, uid))
