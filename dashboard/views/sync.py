"""The sync status page (issue: pages, /sync/): per account, source and project, what the last run did,
how fresh each source is, and how far a running listing has got, kept current by htmx polling.

Everything is read from SyncScope (a row per scope, kept by the sync): one query for every scope
(their states make the summary, the per-source table and the banner), one for the last runs of the
page of scopes listed (problems and running listings first, PER_PAGE at a time), and one small
aggregate over SyncScope for the version. A poll whose version is the one the page shows gets
204 No Content; SyncRun is never aggregated.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import labels
from dashboard.access import EVERYTHING, Scope, scope_of
from dashboard.freshness import Freshness, Problem, problem
from dashboard.models import SyncRun, SyncScope

FAST, SLOW = "every 2s", "every 30s"  # while something runs / when idle
PER_PAGE = 100  # scopes listed a page at a time: problems and running listings first
ERRORS_SHOWN, ERRORS_KEPT = 3, 20
HEALTHS = ("ok", "stale", "partial", "failed")
SOURCES = {
    "projects": "Projects",
    "clusters": "Clusters",
    "profiles": "Cluster profiles",
    "edgehosts": "Edge hosts",
    "edge_api": "Edge host API",
    "audits": "Audits",
    "events": "Events",
}


@dataclass
class Row:
    """One scope as the page shows it."""

    scope: SyncScope
    health: str  # ok | stale | partial | failed | pending (first listing still running)
    why: str
    families: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    more_errors: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return SOURCES.get(self.scope.resource, labels.readable(self.scope.resource))

    @property
    def duration(self) -> str:
        run = self.scope.last_run
        return spoken(run.duration) if run and run.duration is not None else ""


@dataclass
class Source:
    """The freshness of one (account, resource) over its scopes: as fresh as its stalest scope."""

    account: str
    name: str
    scopes: int = 0
    problems: int = 0
    running: int = 0
    as_of: datetime | None = None
    never: bool = False


def live_scopes(rows: Scope = EVERYTHING) -> QuerySet:
    """The scopes the banners count: enabled accounts, tenant scope or projects still in Palette, within `rows`."""
    return rows.filter(SyncScope.objects.filter(account__enabled=True)).filter(
        Q(project__isnull=True) | Q(project__removed_at__isnull=True)
    )


def minute() -> int:
    return int(timezone.now().timestamp() // 60)


def version(rows: Scope = EVERYTHING) -> str:
    """A short digest of what the page shows: it moves when a run ends, a listing progresses or a scope
    comes or goes, and once a minute so that ages and staleness move on. One aggregate over SyncScope."""
    seen = live_scopes(rows).aggregate(
        finished=Max("last_finished_at"),
        items=Sum("progress_items"),
        total=Sum("progress_total"),
        running=Count("running_since"),
        since=Max("running_since"),
        scopes=Count("id"),
        newest=Max("id"),
    )
    text = repr(sorted(seen.items())) + f"|{minute()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def sync_status(request: HttpRequest) -> HttpResponse:
    """The sync page, or its polled `#sync-status` partial (204 when nothing changed since `v`)."""
    rows_seen = scope_of(request.user)
    current = version(rows_seen)
    htmx = request.htmx
    partial = bool(htmx) and not htmx.history_restore_request and not htmx.boosted
    if partial and request.GET.get("v") == current:
        return HttpResponse(status=204)
    problems_only = request.GET.get("problems") == "1"
    now = timezone.now()
    fresh = Freshness()
    every = [
        Row(scope, health(scope, now, fresh.stale_after), problem(scope, now, fresh.stale_after))
        for scope in scopes(rows_seen)
    ]
    fresh.problems = [Problem(r.scope, r.why) for r in every if r.why]
    fresh.problem_count = len(fresh.problems)
    complete = [r.scope.ok_started_at for r in every if r.scope.ok_started_at]
    fresh.as_of, fresh.never_synced = (min(complete) if complete else None), not complete
    running = any(r.scope.running_since for r in every)
    shown = [r for r in every if r.why] if problems_only else every
    # Problems and running listings first; a page of scopes at a time, so a poll during a backfill of
    # a thousand scopes re-renders a page, not all of them. A new list: `every` keeps the sync order
    # the per-source table is drawn in.
    listed = sorted(shown, key=lambda r: not (r.why or r.scope.running_since))
    page = Paginator(listed, PER_PAGE).get_page(request.GET.get("page"))
    with_runs(page.object_list)
    query = "problems=1&" if problems_only else ""
    if page.number > 1:
        query += f"page={page.number}&"
    context = {
        "freshness": fresh,
        "summary": summary(every),
        "sources": sources(every),
        "accounts": by_account(page.object_list),
        "page": page,
        "problems_only": problems_only,
        "trigger": FAST if running else SLOW,
        "poll_query": f"{query}v={current}",
        "stale_after": spoken(fresh.stale_after),
    }
    template = "dashboard/sync_status.html#status" if partial else "dashboard/sync_status.html"
    return render(request, template, context)


def scopes(rows: Scope = EVERYTHING) -> list[SyncScope]:
    """The live scopes with their last runs (one query), by account, then sources in sync order, tenant first."""
    found = live_scopes(rows).select_related("account", "project").defer("project__raw", "account__ca_pem")
    order = {name: n for n, name in enumerate(SOURCES)}
    return sorted(
        found,
        key=lambda s: (
            s.account.name,
            s.account_id,
            order.get(s.resource, len(order)),
            s.resource,
            s.project.name if s.project else "",
            s.pk,
        ),
    )


def with_runs(rows: list[Row]) -> None:
    """Read the last runs of the rows a page shows (one query), with their requests and errors."""
    runs = SyncRun.objects.in_bulk([r.scope.last_run_id for r in rows if r.scope.last_run_id])
    for r in rows:
        run = r.scope.last_run = runs.get(r.scope.last_run_id)
        errors = [str(e) for e in run.errors[:ERRORS_KEPT]] if run and isinstance(run.errors, list) else []
        requests = run.requests if run and isinstance(run.requests, dict) else {}
        r.families = sorted((str(k), v) for k, v in requests.items())
        r.errors, r.more_errors = errors[:ERRORS_SHOWN], errors[ERRORS_SHOWN:]


def health(scope: SyncScope, now: datetime, stale_after: timedelta) -> str:
    """ok | stale | partial | failed, as the freshness banner judges it; pending while a first listing runs."""
    if scope.last_status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL):
        return scope.last_status
    if scope.ok_started_at is None:
        return "pending" if scope.running_since else "stale"
    return "stale" if now - scope.ok_started_at > stale_after else "ok"


def summary(rows: list[Row]) -> list[tuple[str, int]]:
    counts = {name: 0 for name in HEALTHS}
    for r in rows:
        if r.health in counts:
            counts[r.health] += 1
    return [*counts.items(), ("running", sum(1 for r in rows if r.scope.running_since))]


def sources(rows: list[Row]) -> list[Source]:
    """Per account and resource: scopes, problems, running listings, and the oldest complete listing."""
    found: dict[tuple[int, str], Source] = {}
    for r in rows:
        key = (r.scope.account_id, r.scope.resource)
        source = found.setdefault(key, Source(account=r.scope.account.name, name=r.source))
        source.scopes += 1
        source.problems += bool(r.why)
        source.running += bool(r.scope.running_since)
        moment = r.scope.ok_started_at
        source.never = source.never or moment is None
        if moment and (source.as_of is None or moment < source.as_of):
            source.as_of = moment
    return list(found.values())


def by_account(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    groups: dict[int, tuple[str, list[Row]]] = {}
    for r in rows:
        groups.setdefault(r.scope.account_id, (r.scope.account.name, []))[1].append(r)
    return list(groups.values())


def spoken(span: timedelta) -> str:
    """A run's length as people say it: "0.4 s", "42 s", "3 min 5 s", "2 h 10 min"."""
    seconds = span.total_seconds()
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
