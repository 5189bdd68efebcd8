"""What counts as a problem, and the evaluation that opens and resolves alerts for them.

Each rule answers two questions cheaply: which problems are new (not yet an open alert; at most
ALERT_BATCH a pass, oldest first, from an index on the problem's "since" column or from a small
precomputed table), and which of the open alerts still hold (a lookup by primary key). An open
alert whose problem no longer holds is resolved.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.models import OPEN, Alert
from dashboard.freshness import EVERYTHING, Freshness, live_scopes
from dashboard.models import LIVE, Cluster, EdgeHost, SiteSummary, SyncRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """A problem as a rule sees it, before it is an alert."""

    key: str
    subject: str
    message: str
    since: datetime
    subject_id: int | None = None
    account_id: int | None = None
    project_id: int | None = None
    notify_after: datetime | None = None  # default: since + ALERT_GRACE


def grace() -> timedelta:
    return timedelta(seconds=settings.ALERT_GRACE)


def in_projects(rows: QuerySet, field: str = "project") -> QuerySet:
    """ALERT_PROJECTS (names or uids): problems in other projects are not alerted; problems that
    belong to no project (tenant-wide sources, wall screens) always are."""
    if not settings.ALERT_PROJECTS:
        return rows
    names = settings.ALERT_PROJECTS
    return rows.filter(
        Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__name__in": names}) | Q(**{f"{field}__uid__in": names})
    )


def not_open(rows: QuerySet, kind: str) -> QuerySet:
    return rows.filter(~Exists(Alert.objects.filter(OPEN, kind=kind, subject_id=OuterRef("pk"))))


class Rule:
    """A kind of problem: `new` finds problems without an open alert, `holding` those still true."""

    kind: str

    def new(self, now: datetime, limit: int) -> list[Found]:
        raise NotImplementedError

    def holding(self, alerts: list[Alert], now: datetime) -> set[int]:
        """The ids of `alerts` whose problem still holds."""
        raise NotImplementedError


class Unhealthy(Rule):
    """A live cluster or edge host whose Palette health has been unhealthy for longer than the grace
    period (health_since: the first sync that saw it; indexed (health, health_since) on live rows)."""

    def __init__(self, kind: str, model: type, unhealthy: str, noun: str) -> None:
        self.kind, self.model, self.unhealthy, self.noun = kind, model, unhealthy, noun

    def rows(self) -> QuerySet:
        return self.model.objects.filter(LIVE, health=self.unhealthy)

    def new(self, now: datetime, limit: int) -> list[Found]:
        rows = not_open(in_projects(self.rows().filter(health_since__lte=now - grace())), self.kind)
        if self.model is EdgeHost:  # a dark site says it once for all its hosts
            rows = rows.exclude(
                Exists(
                    dark_sites()
                    .filter(account=OuterRef("account"), project=OuterRef("project"))
                    .filter(site=OuterRef("site"))
                )
            )
        rows = rows.select_related("project").order_by("health_since", "pk")[:limit]
        return [
            Found(
                key=f"{self.kind}:{row.pk}",
                subject=f"{self.noun} {row.name}",
                message=f"{self.noun} {row.name} is {row.health}"
                + (f" ({row.health_message})" if getattr(row, "health_message", "") else "")
                + (f" in project {row.project.name}" if row.project else ""),
                since=row.health_since,
                subject_id=row.pk,
                account_id=row.account_id,
                project_id=row.project_id,
                notify_after=row.health_since + grace(),
            )
            for row in rows
        ]

    def holding(self, alerts: list[Alert], now: datetime) -> set[int]:
        still = set(self.rows().filter(pk__in=[a.subject_id for a in alerts]).values_list("pk", flat=True))
        return {a.pk for a in alerts if a.subject_id in still}


def dark_sites() -> QuerySet:
    """Edge sites (a site label, at least one host) all of whose hosts are unhealthy or unreadable."""
    return SiteSummary.objects.exclude(site="").filter(hosts__gt=0, trouble__gte=F("hosts"))


class SiteDark(Rule):
    """A whole edge site gone dark, from the per-site roll-up the sync keeps (SiteSummary: a row per
    site, rewritten on each recount, so alerts are keyed by (account, project, site), not by row)."""

    kind = Alert.Kind.SITE_DARK

    @staticmethod
    def key(account_id: int, project_id: int | None, site: str) -> str:
        return f"{Alert.Kind.SITE_DARK}:{account_id}:{project_id or 0}:{site}"

    def new(self, now: datetime, limit: int) -> list[Found]:
        opened = set(Alert.objects.filter(OPEN, kind=self.kind).values_list("key", flat=True))
        found = []
        for site in in_projects(dark_sites()).select_related("project").order_by("pk").iterator():
            key = self.key(site.account_id, site.project_id, site.site)
            if key in opened:
                continue
            where = f" in project {site.project.name}" if site.project else ""
            found.append(
                Found(
                    key=key,
                    subject=f"edge site {site.site}",
                    message=f"edge site {site.site}{where} is dark: all {site.hosts} hosts unhealthy or unreachable",
                    since=now,  # the roll-up has no history: the grace runs from the first evaluation that saw it
                    account_id=site.account_id,
                    project_id=site.project_id,
                )
            )
            if len(found) >= limit:
                break
        return found

    def holding(self, alerts: list[Alert], now: datetime) -> set[int]:
        dark = {
            self.key(account_id, project_id, site)
            for account_id, project_id, site in dark_sites()
            .filter(account_id__in={a.account_id for a in alerts})
            .values_list("account_id", "project_id", "site")
        }
        return {a.pk for a in alerts if a.key in dark}


class SourceStale(Rule):
    """A source whose data is stale past twice its schedule (DESIGN.md "Freshness"), or a scope that
    keeps failing: its last run failed or ended early and no complete listing came for the grace
    period. One row per scope (SyncScope), so this reads a few hundred rows at most."""

    kind = Alert.Kind.SOURCE_STALE

    def troubled(self, now: datetime) -> Q:
        failing = Q(last_status__in=[SyncRun.Status.FAILED, SyncRun.Status.PARTIAL])
        return Q(ok_started_at__lt=now - Freshness().stale_after) | (
            failing & (Q(ok_started_at__isnull=True) | Q(ok_started_at__lt=now - grace()))
        )

    def new(self, now: datetime, limit: int) -> list[Found]:
        scopes = not_open(in_projects(live_scopes(EVERYTHING).filter(self.troubled(now))), self.kind)
        found = []
        for scope in scopes.select_related("account", "project").order_by("pk")[:limit]:
            where = f"{scope.account.name} {scope.resource}"
            where += f" in project {scope.project.name}" if scope.project else ""
            why = (
                f"its last run {scope.last_status}: {scope.last_error or 'no reason given'}"
                if scope.last_status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)
                else "no complete listing"
            )
            last_ok = f", last complete listing {scope.ok_started_at:%Y-%m-%d %H:%M} UTC" if scope.ok_started_at else ""
            found.append(
                Found(
                    key=f"{self.kind}:{scope.pk}",
                    subject=f"sync of {where}",
                    message=f"the sync of {where} is stale or failing: {why}{last_ok}",
                    since=scope.ok_started_at or scope.last_finished_at or now,
                    subject_id=scope.pk,
                    account_id=scope.account_id,
                    project_id=scope.project_id,
                    notify_after=now,  # the condition has its own delay (twice the schedule, or the grace)
                )
            )
        return found

    def holding(self, alerts: list[Alert], now: datetime) -> set[int]:
        ids = {a.subject_id for a in alerts}
        still = set(live_scopes(EVERYTHING).filter(self.troubled(now), pk__in=ids).values_list("pk", flat=True))
        return {a.pk for a in alerts if a.subject_id in still}


class DisplaySilent(Rule):
    """A wall screen (not revoked) that has not polled for ALERT_DISPLAY_SILENT seconds. Screens that
    never polled are not set up yet, and say nothing."""

    kind = Alert.Kind.DISPLAY_SILENT

    @staticmethod
    def model() -> type | None:
        return apps.get_model("wall", "Display") if apps.is_installed("wall") else None

    def rows(self, now: datetime) -> QuerySet:
        cutoff = now - timedelta(seconds=settings.ALERT_DISPLAY_SILENT)
        return self.model().objects.filter(revoked_at__isnull=True, last_seen_at__lt=cutoff)

    def new(self, now: datetime, limit: int) -> list[Found]:
        if self.model() is None:
            return []
        rows = not_open(self.rows(now), self.kind).order_by("last_seen_at", "pk")[:limit]
        return [
            Found(
                key=f"{self.kind}:{row.pk}",
                subject=f"wall screen {row}",
                message=f"wall screen {row} has not polled since {row.last_seen_at:%Y-%m-%d %H:%M} UTC",
                since=row.last_seen_at,
                subject_id=row.pk,
                notify_after=now,
            )
            for row in rows
        ]

    def holding(self, alerts: list[Alert], now: datetime) -> set[int]:
        if self.model() is None:
            return set()  # the screens are gone with their app: nothing holds
        still = set(self.rows(now).filter(pk__in=[a.subject_id for a in alerts]).values_list("pk", flat=True))
        return {a.pk for a in alerts if a.subject_id in still}


RULES: tuple[Rule, ...] = (
    Unhealthy(Alert.Kind.CLUSTER_UNHEALTHY, Cluster, Cluster.UNHEALTHY, "cluster"),
    Unhealthy(Alert.Kind.EDGEHOST_UNHEALTHY, EdgeHost, EdgeHost.UNHEALTHY, "edge host"),
    SiteDark(),
    SourceStale(),
    DisplaySilent(),
)


def evaluate(now: datetime | None = None) -> dict[str, int]:
    """One pass: resolve the open alerts whose problem ended, open alerts for new problems."""
    now = now or timezone.now()
    figures = {"opened": 0, "resolved": 0}
    for rule in RULES:
        figures["resolved"] += resolve_ended(rule, now)
        figures["opened"] += open_new(rule.new(now, settings.ALERT_BATCH), rule.kind, now)
    return figures


def resolve_ended(rule: Rule, now: datetime, chunk: int = 1000) -> int:
    """Resolve the open alerts of `rule` whose problem no longer holds, a chunk at a time."""
    resolved, after = 0, 0
    while True:
        alerts = list(Alert.objects.filter(OPEN, kind=rule.kind, pk__gt=after).order_by("pk")[:chunk])
        if not alerts:
            return resolved
        ended = [a.pk for a in alerts if a.pk not in rule.holding(alerts, now)]
        resolved += resolve(ended, now)
        after = alerts[-1].pk


def resolve(ids: Iterable[int], now: datetime) -> int:
    """Resolve alerts: a told problem owes its resolved message; an untold one closes quietly.

    Two conditional updates, so a delivery that is sending the problem message right now still
    sees the change (`alerts.notify.mark_sent`).
    """
    ids = list(ids)
    told = Alert.objects.filter(pk__in=ids, state=Alert.State.NOTIFIED, resolved_at__isnull=True).update(
        resolved_at=now, state=Alert.State.RESOLVING, delivered=[], attempts=0, next_attempt_at=None, last_error=""
    )
    untold = Alert.objects.filter(pk__in=ids, state=Alert.State.PENDING, resolved_at__isnull=True).update(
        resolved_at=now, state=Alert.State.CLOSED
    )
    return told + untold


def open_new(found: list[Found], kind: str, now: datetime) -> int:
    """Open an alert per new problem; one already open under the same key is left alone."""
    if not found:
        return 0
    rows = [
        Alert(
            kind=kind,
            key=f.key,
            subject_id=f.subject_id,
            account_id=f.account_id,
            project_id=f.project_id,
            subject=f.subject[:500],
            message=f.message,
            since=f.since,
            opened_at=now,
            notify_after=f.notify_after or f.since + grace(),
        )
        for f in found
    ]
    # the partial unique index on open keys turns a concurrent evaluation's duplicate into a no-op
    Alert.objects.bulk_create(rows, ignore_conflicts=True)
    log.info("alerts: %d new %s problems", len(rows), kind)
    return len(rows)
