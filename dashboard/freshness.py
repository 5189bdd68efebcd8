"""How fresh a page's data is, and which of its sources are stale, partial or failing (DESIGN.md "Freshness").

A row is as fresh as the last complete listing of its (account, project, resource); a page that
mixes scopes is as fresh as the stalest of them. One query over SyncScope (a row per scope)
answers both, whatever the size of the fleet.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboard.models import SyncRun, SyncScope

# The sources whose data each page shows.
CLUSTERS = ("projects", "clusters")
PROFILES = ("projects", "profiles", "clusters")
EDGE_HOSTS = ("projects", "edgehosts", "edge_api")
TIMELINE = ("audits", "events", "clusters", "edgehosts")
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
    problems: list[Problem] = field(default_factory=list)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=2 * settings.PALETTE_SYNC_INTERVAL)


def scopes(resources: tuple[str, ...]) -> list[SyncScope]:
    """The live scopes of `resources` (projects still in Palette, or tenant scope), one query."""
    return list(
        SyncScope.objects.filter(resource__in=resources, account__enabled=True)
        .filter(Q(project__isnull=True) | Q(project__removed_at__isnull=True))
        .select_related("account", "project")
        .order_by("account__name", "resource", "project__name")
    )


def freshness(resources: tuple[str, ...], now: datetime | None = None) -> Freshness:
    """When the data of `resources` was last complete everywhere, and what is wrong with it."""
    now = now or timezone.now()
    result = Freshness()
    rows = scopes(resources)
    complete = [s.ok_started_at for s in rows if s.ok_started_at is not None]
    result.never_synced = not complete
    result.as_of = min(complete) if complete else None
    for scope in rows:
        why = problem(scope, now, result.stale_after)
        if why:
            result.problems.append(Problem(scope, why))
    return result


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
