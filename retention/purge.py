"""Retention: old rows deleted in short transactions of RETENTION_BATCH rows (README "Retention").

Each batch picks the ids of the oldest rows past their horizon from an index, in key order
continuing after the previous batch (so a batch never rescans the dead rows its predecessors left
for VACUUM), and deletes them by id in a transaction of its own. Nothing is held between batches:
the sync's writes and the pages' reads wait for one batch at most (bench/retention.py measures it).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert
from dashboard.models import (
    Cluster,
    ClusterProfile,
    EdgeHost,
    HealthSample,
    Project,
    SyncRun,
    SyncScope,
    TimelineEntry,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """Rows of one model past a horizon: `old(cutoff)` selects them, `order` is an indexed key."""

    name: str
    days: Callable[[], int]
    old: Callable[[datetime], QuerySet]
    order: tuple[str, ...] = ("pk",)


def old_timeline(cutoff: datetime) -> QuerySet:
    return TimelineEntry.objects.filter(occurred_at__lt=cutoff)


def old_samples(cutoff: datetime) -> QuerySet:
    return HealthSample.objects.filter(hour__lt=cutoff)


def old_runs(cutoff: datetime) -> QuerySet:
    """Runs started before the cutoff, except each scope's last run (SyncScope.last_run, what the
    sync page shows) and runs still going."""
    last = SyncScope.objects.filter(last_run__isnull=False).values("last_run")
    return SyncRun.objects.filter(started_at__lt=cutoff).exclude(status=SyncRun.Status.RUNNING).exclude(pk__in=last)


def removed(model: type) -> Callable[[datetime], QuerySet]:
    def old(cutoff: datetime) -> QuerySet:
        return model.objects.filter(removed_at__lt=cutoff)

    return old


def removed_projects(cutoff: datetime) -> QuerySet:
    """Projects removed before the cutoff, once the timeline no longer names them: their entries keep
    their project until the timeline's own horizon takes them."""
    named = TimelineEntry.objects.filter(project=OuterRef("pk"))
    return Project.objects.filter(removed_at__lt=cutoff).exclude(Exists(named))


def closed_alerts(cutoff: datetime) -> QuerySet:
    return Alert.objects.filter(state=Alert.State.CLOSED, resolved_at__lt=cutoff)


RULES: tuple[Rule, ...] = (
    Rule("timeline", lambda: settings.RETENTION_TIMELINE_DAYS, old_timeline, ("occurred_at", "pk")),
    Rule("health samples", lambda: settings.RETENTION_TIMELINE_DAYS, old_samples),
    Rule("sync runs", lambda: settings.RETENTION_SYNC_RUN_DAYS, old_runs),
    Rule("removed clusters", lambda: settings.RETENTION_REMOVED_DAYS, removed(Cluster)),
    Rule("removed edge hosts", lambda: settings.RETENTION_REMOVED_DAYS, removed(EdgeHost)),
    Rule("removed profiles", lambda: settings.RETENTION_REMOVED_DAYS, removed(ClusterProfile)),
    Rule("removed projects", lambda: settings.RETENTION_REMOVED_DAYS, removed_projects),
    Rule("closed alerts", lambda: settings.RETENTION_ALERT_DAYS, closed_alerts),
)


def purge(now: datetime | None = None, max_seconds: float | None = None) -> dict[str, int]:
    """Delete what every rule says is past its horizon; rows deleted per rule.

    Stops after `max_seconds` (RETENTION_MAX_SECONDS) between two batches; the next pass goes on.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + (settings.RETENTION_MAX_SECONDS if max_seconds is None else max_seconds)
    deleted = {}
    for rule in RULES:
        if rule.days() <= 0:
            continue  # kept forever
        deleted[rule.name] = purge_rule(rule, now - timedelta(days=rule.days()), deadline)
        if deleted[rule.name]:
            log.info("retention: %d %s older than %d days deleted", deleted[rule.name], rule.name, rule.days())
    return deleted


def purge_rule(rule: Rule, cutoff: datetime, deadline: float) -> int:
    """Delete one rule's rows a batch at a time, in key order, until none is left or time is up."""
    batch, total, after = settings.RETENTION_BATCH, 0, None
    while time.monotonic() < deadline:
        rows = rule.old(cutoff)
        if after is not None:
            rows = rows.filter(beyond(rule.order, after))
        keys = list(rows.order_by(*rule.order).values_list(*rule.order)[:batch])
        if not keys:
            break
        ids = [key[-1] for key in keys]
        with transaction.atomic():
            # the selection again, so a row that changed since (a scope's new last run) is not taken
            _, per_model = rule.old(cutoff).filter(pk__in=ids).delete()
        total += per_model.get(rows.model._meta.label, 0)
        after = keys[-1]
        if len(keys) < batch:
            break
        if settings.RETENTION_PAUSE:
            time.sleep(settings.RETENTION_PAUSE)
    return total


def beyond(order: tuple[str, ...], after: tuple) -> Q:
    """Rows after `after` in `order` (a keyset condition: (a, b) > (x, y))."""
    condition = Q()
    for i in reversed(range(len(order))):
        step = Q(**{f"{order[i]}__gt": after[i]}, **{order[j]: after[j] for j in range(i)})
        condition = step if i == len(order) - 1 else step | condition
    return condition
