"""How fresh a page's data is, and which of its sources are stale, partial or failing (DESIGN.md "Freshness").

A row is as fresh as the last complete listing of its (account, project, resource); a page that
mixes scopes is as fresh as the stalest of them. One query over SyncScope (a row per scope)
answers both, whatever the size of the fleet.
"""

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Q, QuerySet, Subquery, Window
from django.utils import timezone

from dashboard.access import EVERYTHING as ALL_ROWS
from dashboard.access import Scope
from dashboard.models import SyncRun, SyncScope

# The sources whose data each page shows.
CLUSTERS = ("projects", "clusters")
PROFILES = ("projects", "profiles", "clusters")
EDGE_HOSTS = ("projects", "edgehosts", "edge_api")
TIMELINE = ("audits", "events", "clusters", "edgehosts")
SHOWN = 8  # problems listed by name (the overview names 8, the banner 5); beyond that, counted
JUDGED = ("last_status", "last_error", "ok_started_at", "running_since")  # the fields `problem` reads
EVERYTHING = ("projects", "clusters", "profiles", "edgehosts", "edge_api", "audits", "events")


@dataclass(frozen=True)
class Problem:
    """One source that is stale, partial or failing, and why."""

    scope: SyncScope
    why: str


@dataclass
class Freshness:
    """The page's "data as of" and the problems to put in its banner."""

    as_of: datetime | None = None
    never_synced: bool = True
    problems: list[Problem] = field(default_factory=list)  # the first SHOWN of them
    problem_count: int = 0

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=2 * settings.PALETTE_SYNC_INTERVAL)


def live_scopes(resources: tuple[str, ...], rows: Scope = ALL_ROWS) -> QuerySet:
    """The scopes of `resources` whose data pages show: enabled accounts, projects still in Palette,
    within the project scope `rows` of the viewer."""
    scopes = SyncScope.objects.filter(resource__in=resources, account__enabled=True).filter(
        Q(project__isnull=True) | Q(project__removed_at__isnull=True)
    )
    return rows.filter(scopes)


def freshness(resources: tuple[str, ...], now: datetime | None = None, rows: Scope = ALL_ROWS) -> Freshness:
    """When the data of `resources` was last complete everywhere, and what is wrong with it.

    One query, whatever the number of scopes: the first scopes with a problem (failed, partial,
    stale, or never complete and not running) and the one with the oldest complete listing, each
    row carrying the count of problems and the oldest listing over all of them (window aggregates).
    """
    now = now or timezone.now()
    result = Freshness()
    scopes = live_scopes(resources, rows)
    troubled = (
        Q(last_status__in=[SyncRun.Status.FAILED, SyncRun.Status.PARTIAL])
        | Q(ok_started_at__lt=now - result.stale_after)
        | Q(ok_started_at__isnull=True, running_since__isnull=True)
    )
    oldest = scopes.filter(ok_started_at__isnull=False).order_by("ok_started_at").values("pk")[:1]
    rows = list(
        as_named(scopes.filter(troubled | Q(pk__in=Subquery(oldest))))
        # Over every row the filter keeps, before the LIMIT: how many have a problem, and the oldest
        # complete listing (its scope is among them), for when there are more than we read.
        .annotate(troubled_count=Window(Count("id", filter=troubled)), oldest_at=Window(Min("ok_started_at")))
        .order_by(F("ok_started_at").asc(nulls_first=True), "pk")[: SHOWN + 2]
    )
    found = [Problem(scope, why) for scope in rows if (why := problem(scope, now, result.stale_after))]
    found.sort(key=lambda p: (p.scope.account.name, p.scope.resource, p.scope.project.name if p.scope.project else ""))
    result.problems, result.problem_count = found[:SHOWN], len(found)
    if len(rows) > SHOWN + 1:  # more than we read: the counts over all of them
        result.problem_count, result.as_of = rows[0].troubled_count, rows[0].oldest_at
    else:
        result.as_of = min((s.ok_started_at for s in rows if s.ok_started_at), default=None)
    result.never_synced = result.as_of is None
    return result


def as_named(scopes: QuerySet) -> QuerySet:
    """`scopes` read for a banner: what `problem` reads and the names of their source, account and project."""
    return scopes.select_related("account", "project").only(*JUDGED, "resource", "account__name", "project__name")


def banner(resources: tuple[str, ...], rows: Scope = ALL_ROWS) -> Freshness:
    """`freshness` for a page's banner and "data as of", read again at most every
    PALETTE_BANNER_SECONDS per process and viewer scope (0: on every request), as `kept`.

    Every page carries the banner; the sync changes what it says once a run ends, every few
    minutes. Reading it once in a few seconds instead of on every request takes its query and its
    Python off most page views, and the banner is at most those seconds late. The health checks
    call `freshness` themselves, and the sync page reads its banner from its own aggregate
    (dashboard/views/sync.py): they tell the state as of the request.
    """
    return kept(("banner", resources, rows), lambda: freshness(resources, rows=rows))


KEPT = 1000  # values `kept` holds per process; beyond that it starts afresh
_kept: dict[Hashable, tuple[float, object]] = {}


def kept[T](key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, read again at most every PALETTE_BANNER_SECONDS per process (0: on every call).

    For what the sync writes and changes once a run ends: the banner, the accounts, projects and
    counted values the lists' filters offer, a list's total (per viewer scope and filters), the
    site roll-up's totals, the overview's counts and its chart of hourly samples.
    Reading them once in a few seconds takes their queries off most page views; a new project,
    value or count shows those seconds late.
    """
    ttl = settings.PALETTE_BANNER_SECONDS
    if ttl <= 0:
        return read()
    now = time.monotonic()
    found = _kept.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = read()
    if len(_kept) >= KEPT:
        _kept.clear()
    _kept[key] = (now + ttl, value)
    return value


def problem(scope: SyncScope, now: datetime, stale_after: timedelta) -> str:
    """Why a scope's data cannot be trusted as current, or "" when it can."""
    if scope.last_status == SyncRun.Status.FAILED:
        return f"the last sync failed: {scope.last_error or 'no reason given'}"
    if scope.last_status == SyncRun.Status.PARTIAL:
        return f"the last listing ended early: {scope.last_error or 'no reason given'}"
    if scope.ok_started_at is None:
        return "" if scope.running_since else "no complete listing yet"
    if now - scope.ok_started_at > stale_after:
        return (
            f"last complete listing {timezone.localtime(scope.ok_started_at):%Y-%m-%d %H:%M}, older than {stale_after}"
        )
    return ""
