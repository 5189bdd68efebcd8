"""Audits and events: incremental by watermark, with an overlap that never duplicates a row."""

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from dashboard.models import PaletteAccount, Project, SyncScope, TimelineEntry
from palette_sim import Fleet
from palette_sim.fleet.logs import TENANT
from palette_sync import sync
from palette_sync.sync.timeline import sync_audits, sync_events

pytestmark = pytest.mark.django_db
DAY = 86400


def audit_times(fleet: Fleet, since: float) -> list[float]:
    return [t for t in fleet.audits.ts if t >= since]


def test_it_backfills_audits_once_then_reads_from_the_watermark(
    account: PaletteAccount, live_fleet: Fleet, sim_client: Callable, settings
) -> None:
    settings.PALETTE_TIMELINE_BACKFILL = 7 * DAY
    settings.PALETTE_TIMELINE_OVERLAP = 300
    sync.sync_projects(account, sim_client(live_fleet))
    first = sync_audits(account, sim_client(live_fleet))

    window = audit_times(live_fleet, time.time() - 7 * DAY)
    assert first.status == "ok" and first.added == len(window) > 0
    assert TimelineEntry.objects.filter(kind="audit").count() == len(window)
    newest = TimelineEntry.watermark(account, "audit")

    # Two new audits, one of them dated inside the overlap (Palette recorded it late).
    log = live_fleet.audits
    cluster = next(iter(live_fleet.clusters.values()))
    late = newest.timestamp() - 120
    log.append(time.time(), live_fleet.project_index[cluster.project.uid], cluster.serial, 1, 0)
    log.ts[-1], pos = late, len(log) - 1
    log.append(time.time(), TENANT, -1, 5, 0)
    second = sync_audits(account, sim_client(live_fleet))

    assert second.status == "ok"
    assert second.added == 2
    overlap = [t for t in audit_times(live_fleet, newest.timestamp() - 300)]
    assert second.items == len(overlap) < first.items
    assert TimelineEntry.objects.filter(kind="audit").count() == len(window) + 2
    entry = TimelineEntry.objects.get(kind="audit", source_id=log.uid(pos))
    assert (entry.subject_uid, entry.action, entry.project.uid) == (cluster.uid, "update", cluster.project.uid)

    third = sync_audits(account, sim_client(live_fleet))
    assert third.added == 0
    assert TimelineEntry.objects.filter(kind="audit").count() == len(window) + 2


def test_it_reads_events_newest_first_down_to_the_watermark(
    account: PaletteAccount, live_fleet: Fleet, sim_client: Callable, settings
) -> None:
    settings.PALETTE_TIMELINE_BACKFILL = 30 * DAY
    sync.sync_projects(account, sim_client(live_fleet))
    project = Project.objects.get(uid=live_fleet.projects[0].uid)
    first = sync_events(account, sim_client(live_fleet), project)
    index = live_fleet.project_index[project.uid]
    expected = sum(1 for p in live_fleet.events.project if p == index)
    assert first.status == "ok" and first.added == expected > 50
    assert first.requests["/v1/events/components"] >= 2

    cluster = next(c for c in live_fleet.clusters.values() if c.project.uid == project.uid)
    pos = live_fleet.events.append(time.time(), index, cluster.serial, 0, -1)
    second = sync_events(account, sim_client(live_fleet), project)

    assert second.added == 1
    assert second.requests == {"/v1/events/components": 1}
    entry = TimelineEntry.objects.get(kind="event", source_id=live_fleet.events.uid(pos))
    assert (entry.subject_uid, entry.action, entry.severity) == (cluster.uid, "NodeNotReady", "Warning")
    assert entry.project == project
    assert TimelineEntry.objects.filter(kind="event").count() == expected + 1


def test_it_reads_an_incomplete_window_again_from_the_last_complete_listing(
    account: PaletteAccount, live_fleet: Fleet, sim_client: Callable, settings
) -> None:
    from palette_sim.harness.faults import FaultConfig

    settings.PALETTE_TIMELINE_BACKFILL = 90 * DAY
    sync.sync_projects(account, sim_client(live_fleet))
    project = Project.objects.get(uid=live_fleet.projects[0].uid)
    index = live_fleet.project_index[project.uid]
    expected = sum(1 for p in live_fleet.events.project if p == index)

    # Newest first, broken off after some pages: what was read is stored, batch by batch, and the
    # next run does not take it as the new watermark but reads the whole window again.
    broken = FaultConfig(error_rate=0.5, paths=("/v1/events/components",))
    run = sync_events(account, sim_client(live_fleet, faults=broken), project)
    assert run.status in ("partial", "failed")
    assert SyncScope.objects.get(resource="events", project=project).ok_started_at is None

    run = sync_events(account, sim_client(live_fleet), project)
    assert run.status == "ok"
    assert TimelineEntry.objects.filter(kind="event", project=project).count() == expected


def test_it_starts_the_first_window_at_the_backfill(
    account: PaletteAccount, live_fleet: Fleet, sim_client: Callable, settings
) -> None:
    settings.PALETTE_TIMELINE_BACKFILL = 2 * DAY
    run = sync_audits(account, sim_client(live_fleet))

    oldest = TimelineEntry.objects.filter(kind="audit").order_by("occurred_at").first().occurred_at
    assert oldest >= run.started_at - timedelta(days=2)
    assert run.added == len(audit_times(live_fleet, run.started_at.timestamp() - 2 * DAY))
