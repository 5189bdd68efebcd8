"""The only writer of synced models: list what Palette has, upsert it, record the run.

A listing that ends early never removes anything: `removed_at` is set only after a
complete listing of the same scope no longer contained the row.
"""

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.models import Cluster, PaletteAccount, Project, SyncRun
from palette_sync import mappers
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteError

log = logging.getLogger(__name__)


def default_account() -> PaletteAccount:
    """The account configured by PALETTE_API_URL, created on first use."""
    account, _ = PaletteAccount.objects.get_or_create(
        name=settings.PALETTE_ACCOUNT_NAME, defaults={"api_url": settings.PALETTE_API_URL}
    )
    if account.api_url != settings.PALETTE_API_URL:
        account.api_url = settings.PALETTE_API_URL
        account.save(update_fields=["api_url"])
    return account


def client_for(account: PaletteAccount) -> PaletteClient:
    return PaletteClient(account.api_url, settings.PALETTE_API_KEY, timeout=settings.PALETTE_TIMEOUT)


def sync_account(account: PaletteAccount, client: PaletteClient | None = None) -> list[SyncRun]:
    """Sync projects, then each project's clusters. Returns the runs it recorded."""
    own_client = client is None
    client = client or client_for(account)
    try:
        runs = [sync_projects(account, client)]
        for project in Project.objects.filter(account=account, removed_at__isnull=True):
            runs.append(sync_clusters(account, client, project))
        return runs
    finally:
        if own_client:
            client.close()


def sync_projects(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """List the tenant's projects and upsert them."""
    return run_listing(account, "projects", None, client.projects(), Project, mappers.project_fields)


def sync_clusters(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """List one project's clusters (ProjectUid scope) and upsert them."""

    def fields(item: dict) -> dict:
        values = mappers.cluster_fields(item)
        values.pop("project_uid")
        return {**values, "project_id": project.pk}

    return run_listing(account, "clusters", project, client.clusters(project.uid), Cluster, fields)


def run_listing(
    account: PaletteAccount,
    resource: str,
    project: Project | None,
    items: Iterable[dict],
    model: type,
    to_fields: Callable[[dict], dict],
) -> SyncRun:
    """Consume a listing into `model`, and record it as a SyncRun."""
    run = SyncRun.objects.create(account=account, resource=resource, project=project)
    rows: list = []
    try:
        for item in items:
            rows.append(
                model(
                    account=account,
                    **to_fields(item),
                    first_seen_at=run.started_at,
                    last_seen_at=run.started_at,
                    removed_at=None,
                )
            )
    except PaletteError as exc:
        log.warning("sync %s %s ended early: %s", account, resource, exc)
        return finish(run, SyncRun.Status.FAILED, items=0, errors=[str(exc)])
    with transaction.atomic():
        upsert(model, rows)
        scope = {"project": project} if project is not None else {}
        model.objects.filter(account=account, removed_at__isnull=True, last_seen_at__lt=run.started_at, **scope).update(
            removed_at=run.started_at
        )
        return finish(run, SyncRun.Status.OK, items=len(rows))


def upsert(model: type, rows: list) -> None:
    """Bulk insert-or-update keyed by (account, uid); first_seen_at is kept from the first insert."""
    keep = {"id", "account", "uid", "first_seen_at"}
    fields = [f.name for f in model._meta.concrete_fields if f.name not in keep]
    model.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["account", "uid"], update_fields=fields
    )


def finish(run: SyncRun, status: str, *, items: int, errors: list | None = None) -> SyncRun:
    run.status = status
    run.items = items
    run.errors = errors or []
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "items", "errors", "finished_at"])
    return run
