"""The sync status page (issue: pages, /sync/): per account, source and project, what the last run did,
how fresh each source is, and how far a running listing has got, kept current by htmx polling.

Everything is read from SyncScope (a row per scope, kept by the sync), judged in SQL (`judged`:
ok, stale, partial, failed or pending), so a thousand scopes cost what ten do: one aggregate per
account, source and state (the summary, the per-source table and the page's version), the banner's
query (dashboard/freshness.py, the whole page only), and one page of scopes (problems and running
listings first, PER_PAGE at a time) with their last runs. A poll whose version is the one the page
shows gets 204 No Content after the aggregate alone; SyncRun is never aggregated. The page of
scopes and the banner's names are read again only when that version moves (or after
PALETTE_BANNER_SECONDS): a reload or a second viewer gets them with the aggregate alone.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Page
from django.db.models import Case, Count, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import labels
from dashboard.access import scope_of
from dashboard.freshness import EVERYTHING as EVERY_SOURCE
from dashboard.freshness import SHOWN, Freshness, Problem, as_named, kept, live_scopes, problem
from dashboard.lists import Counted, built_from_values, with_names
from dashboard.models import SyncRun, SyncScope

FAST, SLOW = "every 2s", "every 30s"  # while something runs / when idle
PER_PAGE = 50  # scopes listed a page at a time: problems and running listings first
ERRORS_SHOWN, ERRORS_KEPT = 3, 20
HEALTHS = ("ok", "stale", "partial", "failed")
PROBLEMS = ("stale", "partial", "failed")  # the states the freshness banner names (a scope's `why`)
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
    running: int = 0
    as_of: datetime | None = None
    never: bool = False
    healths: dict[str, int] = field(default_factory=dict)  # scopes in each of HEALTHS

    @property
    def problems(self) -> int:
        return sum(self.healths.get(h, 0) for h in PROBLEMS)


def minute() -> int:
    return int(timezone.now().timestamp() // 60)


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def sync_status(request: HttpRequest) -> HttpResponse:
    """The sync page, or its polled `#sync-status` partial (204 when nothing changed since `v`)."""
    rows_seen = scope_of(request.user)
    htmx = request.htmx
    partial = bool(htmx) and not htmx.history_restore_request and not htmx.boosted
    now = timezone.now()
    stale_after = Freshness().stale_after
    scopes = judged(live_scopes(EVERY_SOURCE, rows_seen), now, stale_after)
    counted, current = sources(scopes)
    if partial and request.GET.get("v") == current:
        return HttpResponse(status=204)
    problems_only = request.GET.get("problems") == "1"
    # What the page lists and names moves only with its version: read again when `current` moves,
    # and at least every PALETTE_BANNER_SECONDS, as other pages' banners and totals are (`kept`).
    wanted = request.GET.get("page")
    page, rows = kept(
        ("sync page", rows_seen, current, problems_only, wanted),
        lambda: listing(scopes, counted, problems_only, wanted, now, stale_after),
    )
    query = "problems=1&" if problems_only else ""
    if page.number > 1:
        query += f"page={page.number}&"
    context = {
        # The banner and "data as of" are outside the polled partial: only the whole page shows them.
        "freshness": None
        if partial
        else kept(("sync banner", rows_seen, current), lambda: banner(scopes, counted, now, stale_after)),
        "summary": summary(counted),
        "sources": counted,
        "accounts": by_account(rows),
        "page": page,
        "problems_only": problems_only,
        "trigger": FAST if any(s.running for s in counted) else SLOW,
        "poll_query": f"{query}v={current}",
        "stale_after": spoken(stale_after),
    }
    template = "dashboard/sync_status.html#status" if partial else "dashboard/sync_status.html"
    return render(request, template, context)


def listing(
    scopes: QuerySet,
    counted: list[Source],
    problems_only: bool,
    wanted: str | None,
    now: datetime,
    stale_after: timedelta,
) -> tuple[Page, list[Row]]:
    """The page of scopes asked for (problems and running listings first), each with its last run."""
    listed = scopes.filter(health__in=PROBLEMS) if problems_only else scopes
    total = sum(s.problems if problems_only else s.scopes for s in counted)
    page = Counted(listed_first(listed), PER_PAGE, total=total).get_page(wanted)
    rows = [Row(scope, scope.health, problem(scope, now, stale_after)) for scope in built_from_values(page.object_list)]
    with_runs(rows)
    return page, rows


def judged(scopes: QuerySet, now: datetime, stale_after: timedelta) -> QuerySet:
    """`scopes` annotated with `health` (ok, stale, partial, failed, or pending while a first listing
    runs) in SQL, so that counts and pages need no pass over every scope; stale, partial and failed
    are the scopes `freshness.problem` names a reason for."""
    return scopes.annotate(
        health=Case(
            When(last_status__in=[SyncRun.Status.FAILED, SyncRun.Status.PARTIAL], then=F("last_status")),
            When(ok_started_at__isnull=True, running_since__isnull=False, then=Value("pending")),
            When(ok_started_at__isnull=True, then=Value("stale")),
            When(ok_started_at__lt=now - stale_after, then=Value("stale")),
            default=Value("ok"),
        )
    )


def banner(scopes: QuerySet, counted: list[Source], now: datetime, stale_after: timedelta) -> Freshness:
    """The page's banner and "data as of" from its own aggregate, so they agree with its summary to
    the scope: the oldest complete listing, the problems counted, and the first of them by name (a
    query only when there are some). What `freshness` tells other pages, as of this request."""
    result = Freshness(problem_count=sum(s.problems for s in counted))
    result.as_of = min((s.as_of for s in counted if s.as_of), default=None)
    result.never_synced = result.as_of is None
    if result.problem_count:
        named = as_named(scopes.filter(health__in=PROBLEMS)).order_by(
            "account__name", "resource", F("project__name").asc(nulls_first=True), "pk"
        )[:SHOWN]
        result.problems = [Problem(scope, problem(scope, now, stale_after)) for scope in named]
    return result


def listed_first(scopes: QuerySet) -> QuerySet:
    """Problems and running listings first; then by account, sources in sync order, tenant first, project."""
    order = Case(*(When(resource=name, then=n) for n, name in enumerate(SOURCES)), default=len(SOURCES))
    urgent = Case(When(Q(health__in=PROBLEMS) | Q(running_since__isnull=False), then=0), default=1)
    return with_names(scopes, "account", "project").order_by(
        urgent, "account__name", "account_id", order, "resource", F("project__name").asc(nulls_first=True), "pk"
    )


def sources(scopes: QuerySet) -> tuple[list[Source], str]:
    """Per account and resource of the `judged` scopes: scopes, their states, running listings and
    the oldest complete listing, in the sync's order; and the page's version, a short digest of the
    same figures that moves when a run ends, a listing progresses or a scope comes or goes, and once
    a minute so that ages and staleness move on. One aggregate, whatever the number of scopes."""
    grouped = (
        scopes.values("account_id", "account__name", "resource", "health")
        .annotate(
            n=Count("id"),
            running=Count("running_since"),
            as_of=Min("ok_started_at"),
            never=Count("id", filter=Q(ok_started_at__isnull=True)),
            finished=Max("last_finished_at"),
            items=Sum("progress_items"),
            total=Sum("progress_total"),
            since=Max("running_since"),
            newest=Max("id"),
        )
        .order_by()
    )
    order = {name: n for n, name in enumerate(SOURCES)}
    found: dict[tuple, Source] = {}
    seen = []
    in_order = sorted(
        grouped, key=lambda g: (g["account__name"], g["account_id"], order.get(g["resource"], len(order)), g["health"])
    )
    for g in in_order:
        seen.append(sorted(g.items()))
        source = found.get((g["account_id"], g["resource"]))
        if source is None:
            name = SOURCES.get(g["resource"], labels.readable(g["resource"]))
            source = found[g["account_id"], g["resource"]] = Source(
                account=g["account__name"], name=name, healths=dict.fromkeys(HEALTHS, 0)
            )
        source.scopes += g["n"]
        source.running += g["running"]
        source.never = source.never or bool(g["never"])
        if g["as_of"] is not None and (source.as_of is None or g["as_of"] < source.as_of):
            source.as_of = g["as_of"]
        if g["health"] in HEALTHS:
            source.healths[g["health"]] += g["n"]
    text = repr(seen) + f"|{minute()}"
    return list(found.values()), hashlib.sha256(text.encode()).hexdigest()[:16]


def with_runs(rows: list[Row]) -> None:
    """Read the last runs of the rows a page shows (one query), with their requests and errors."""
    ids = [r.scope.last_run_id for r in rows if r.scope.last_run_id]
    runs = {run.pk: run for run in built_from_values(SyncRun.objects.filter(pk__in=ids))} if ids else {}
    for r in rows:
        run = r.scope.last_run = runs.get(r.scope.last_run_id)
        errors = [str(e) for e in run.errors[:ERRORS_KEPT]] if run and isinstance(run.errors, list) else []
        requests = run.requests if run and isinstance(run.requests, dict) else {}
        r.families = sorted((str(k), v) for k, v in requests.items())
        r.errors, r.more_errors = errors[:ERRORS_SHOWN], errors[ERRORS_SHOWN:]


def summary(sources: list[Source]) -> list[tuple[str, int]]:
    """Scopes by state over every source, and how many listings run now."""
    counts = [(name, sum(s.healths[name] for s in sources)) for name in HEALTHS]
    return [*counts, ("running", sum(s.running for s in sources))]


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
