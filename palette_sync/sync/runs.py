"""The SyncRun of one pass over one (account, resource[, project]): counts, spending and errors."""

import logging
import time
from contextvars import ContextVar
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.models import PaletteAccount, Project, SyncRun, SyncScope
from ops.tallies import record_run
from palette_sync.client import PaletteClient
from palette_sync.locks import CURRENT
from palette_sync.sync import rollups

log = logging.getLogger(__name__)

MAX_ERRORS = 50  # a run that fails on every item keeps the first few, and says how many more
# Set by `sync_palette --once --allow-mass-removal`: an operator confirms that Palette removed them.
ALLOW_MASS_REMOVAL: ContextVar[bool] = ContextVar("palette_allow_mass_removal", default=False)
PROGRESS_EVERY = 2.0  # seconds between progress notes of a running listing (the sync page polls them)


class RunStopped(Exception):  # noqa: N818 (a stop, not an error of the run's own)
    """The run must stop writing: its scope's lock was lost, or it ran past its time limit."""


class Recorder:
    """Opens a SyncRun, counts what the pass did, and closes it with what the client spent.

    Used as a context manager: whatever ends the pass — an exception of any kind included — the
    run is closed with the truth (failed, with the error's type and message), never left running.
    """

    def __init__(self, account: PaletteAccount, resource: str, project: Project | None, client: PaletteClient) -> None:
        self.account, self.resource, self.project, self.client = account, resource, project, client
        self.baseline = not SyncRun.objects.filter(
            account=account, resource=resource, project=project, status=SyncRun.Status.OK
        ).exists()
        self.run = SyncRun.objects.create(account=account, resource=resource, project=project)
        self.now = self.run.started_at
        close_abandoned(account, resource, project, self.now)
        self.before = client.stats.snapshot()
        self.errors: list[str] = []
        self.dropped_errors = 0
        self.listing: object = None
        self.progress_at = time.monotonic()
        self.lock = CURRENT.get()
        self.allow_mass_removal = ALLOW_MASS_REMOVAL.get()
        self.deadline = time.monotonic() + settings.PALETTE_RUN_TIME_LIMIT
        # Every log line of the run, from any module, carries its id (README "Logs"); undone in __exit__.
        self.log_context = structlog.contextvars.bind_contextvars(run_id=self.run.pk)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> None:
        try:
            if exc is None or self.run.finished_at is not None:
                return
            self.error(f"{kind.__name__}: {exc}")
            try:
                self.finish(SyncRun.Status.FAILED)
            except Exception:  # the database itself is gone: the next run closes this one as abandoned
                log.exception("sync %s: could not record the failure", self)
        finally:
            structlog.contextvars.reset_contextvars(**self.log_context)

    def checkpoint(self) -> None:
        """Stop here, before writing more, if the scope's lock was lost or the run is past its time limit."""
        if self.lock is not None and self.lock.lost.is_set():
            raise RunStopped(f"the scope's lock {self.lock.name} was lost; another run may hold the scope now")
        if time.monotonic() > self.deadline:
            raise RunStopped(f"past its time limit of {settings.PALETTE_RUN_TIME_LIMIT} s")

    def __str__(self) -> str:
        where = f" {self.project.name}" if self.project else ""
        return f"{self.account} {self.resource}{where}"

    def error(self, message: str) -> None:
        """Note a problem that did not stop the pass (one odd item, one failed detail read)."""
        log.warning("sync %s: %s", self, message)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
        else:
            self.dropped_errors += 1

    def watch(self, listing: object) -> None:
        """The listing being read, whose `count` (listmeta.count) the progress notes quote."""
        self.listing = listing

    def count(self, **increments: int) -> None:
        for name, n in increments.items():
            setattr(self.run, name, getattr(self.run, name) + n)
        if time.monotonic() - self.progress_at >= PROGRESS_EVERY:
            self.progress_at = time.monotonic()
            rollups.record_progress(self.run, self.run.items, getattr(self.listing, "count", None))

    def finish(self, status: str) -> SyncRun:
        run = self.run
        spent = self.client.stats.since(self.before)
        run.status = status
        run.requests = spent.requests
        run.throttled = spent.throttled
        run.errors = self.errors + ([f"... and {self.dropped_errors} more"] if self.dropped_errors else [])
        run.finished_at = timezone.now()
        with transaction.atomic():  # closed and counted for /metrics together (ops.tallies)
            run.save()
            record_run(run)
        rollups.after_run(run)
        log.info("sync %s: %s, %d items, %s", self, status, run.items, spent.requests)
        return run


def close_abandoned(account: PaletteAccount, resource: str, project: Project | None, now: datetime) -> int:
    """Close the scope's runs still open after the lock timeout: their worker died (SIGKILL, lost host).

    A live run holds the scope's lock, which lapses after PALETTE_SYNC_LOCK_TIMEOUT; a run still
    open past that can no longer be trusted to finish, so the next run of the scope says so.
    """
    cutoff = now - timedelta(seconds=settings.PALETTE_SYNC_LOCK_TIMEOUT)
    abandoned = SyncRun.objects.filter(
        account=account, resource=resource, project=project, finished_at__isnull=True, started_at__lt=cutoff
    )
    with transaction.atomic():
        ids = list(abandoned.select_for_update().values_list("pk", flat=True))
        closed = SyncRun.objects.filter(pk__in=ids).update(
            status=SyncRun.Status.FAILED,
            finished_at=now,
            errors=["abandoned: its worker stopped before the run ended (the scope's lock lapsed)"],
        )
        for run in SyncRun.objects.filter(pk__in=ids):
            record_run(run)
    SyncScope.objects.filter(account=account, resource=resource, project=project, running_since__lt=cutoff).update(
        running_since=None
    )
    if closed:
        log.warning("sync %s %s: closed %d abandoned run(s)", account, resource, closed)
    return closed


# What usually takes longest on a first sync: the audit and event backfills, then the large inventories.
FIRST_RUN_WEIGHT = {"audits": 5, "events": 4, "edgehosts": 3, "clusters": 2}

Scope = tuple[str, int | None]  # (resource, project id or None for tenant scope)


def longest_first(account: PaletteAccount, scopes: list[Scope]) -> list[Scope]:
    """`scopes` ordered by how long their last finished run took, longest first.

    Fanned out in this order, the long listings start first and the short ones fill in around
    them, so no long chain starts last (LPT scheduling). A scope without a finished run yet goes
    first, ranked by FIRST_RUN_WEIGHT; ties keep the given order.
    """
    recent = (
        SyncRun.objects.filter(account=account, finished_at__isnull=False)
        .exclude(status=SyncRun.Status.SKIPPED)
        .order_by("-started_at")
        .values_list("resource", "project_id", "started_at", "finished_at")[: 4 * len(scopes)]
    )
    took: dict[Scope, float] = {}
    for resource, project_id, started, finished in recent:
        took.setdefault((resource, project_id), (finished - started).total_seconds())

    def rank(scope: Scope) -> tuple[int, float]:
        if scope not in took:
            return (0, -FIRST_RUN_WEIGHT.get(scope[0], 0))
        return (1, -took[scope])

    return sorted(scopes, key=rank)


def closed_run(account: PaletteAccount, resource: str, project: Project | None, status: str, reason: str) -> SyncRun:
    """Record a pass that did not run: skipped (another run holds the lock) or failed before it began."""
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.create(
            account=account,
            resource=resource,
            project=project,
            status=status,
            started_at=now,
            finished_at=now,
            errors=[reason],
        )
        record_run(run)
    level = logging.WARNING if status == SyncRun.Status.FAILED else logging.INFO
    with structlog.contextvars.bound_contextvars(run_id=run.pk):
        log.log(level, "sync %s %s%s %s", account, resource, f" {project.name}" if project else "", reason)
    rollups.record_scope(run)
    return run
