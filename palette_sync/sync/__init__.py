"""The only writer of synced models: list what Palette has, upsert it, record the run.

`sync_account(account, client)` runs every source of one account in this process; Celery
tasks run the same sources one (account, resource[, project]) at a time (palette_sync.tasks).
A listing that ends early never removes anything (DESIGN.md "Data model").
"""

from dashboard.models import PaletteAccount, Project, SyncRun
from palette_sync.client import PaletteClient
from palette_sync.locks import sync_lock
from palette_sync.sync.accounts import check_account, client_for, default_account, has_env_account
from palette_sync.sync.edge_api import has_edge_credentials, sync_edge_api
from palette_sync.sync.inventory import sync_clusters, sync_edgehosts, sync_profiles, sync_projects
from palette_sync.sync.runs import closed_run
from palette_sync.sync.timeline import sync_audits, sync_events

__all__ = [
    "PROJECT_RESOURCES",
    "TENANT_RESOURCES",
    "check_account",
    "client_for",
    "default_account",
    "has_env_account",
    "live_projects",
    "project_resources",
    "run_locked",
    "sync_account",
    "sync_projects",
    "sync_resource",
]

# Per project with its ProjectUid header, and once in tenant scope (REFERENCE.md 3, 14).
PROJECT_RESOURCES = ("clusters", "profiles", "edgehosts", "events")
TENANT_RESOURCES = ("profiles", "audits")
PER_PROJECT = {
    "clusters": sync_clusters,
    "profiles": sync_profiles,
    "edgehosts": sync_edgehosts,
    "events": sync_events,
}


def sync_resource(
    account: PaletteAccount, client: PaletteClient, resource: str, project: Project | None = None
) -> SyncRun:
    """One pass over one (account, resource[, project])."""
    if project is None and resource == "profiles":
        return sync_profiles(account, client, None)
    if project is None and resource == "audits":
        return sync_audits(account, client)
    if project is None and resource == "edge_api":  # every host of the account now (the schedule: tasks)
        return sync_edge_api(account, client)
    if project is not None and resource in PER_PROJECT:
        return PER_PROJECT[resource](account, client, project)
    raise ValueError(f"{resource} is not synced in {'project' if project else 'tenant'} scope")


def run_locked(
    account: PaletteAccount, client: PaletteClient, resource: str, project: Project | None = None
) -> SyncRun:
    """One pass under the scope's lock, as the workers run it; a skipped run when another holds the scope."""
    with sync_lock(account.pk, resource, project.pk if project else None) as held:
        if not held:
            reason = "skipped: another run of this scope is in progress"
            return closed_run(account, resource, project, SyncRun.Status.SKIPPED, reason)
        if resource == "projects":
            return sync_projects(account, client)
        return sync_resource(account, client, resource, project)


def project_resources(account: PaletteAccount) -> tuple[str, ...]:
    """What is synced per project. Edge hosts' own API is not: it has its own cadence
    (PALETTE_EDGE_INTERVAL, palette_sync.sync.edge_api), or one pass per account in `sync_account`."""
    return PROJECT_RESOURCES


def live_projects(account: PaletteAccount) -> list[Project]:
    return list(Project.objects.filter(account=account, removed_at__isnull=True))


def sync_account(account: PaletteAccount, client: PaletteClient | None = None) -> list[SyncRun]:
    """Sync every source of one account in this process: projects, tenant sources, then each project's.

    Each scope runs under the same lock as the workers', so this never runs a scope beside them.
    Returns the runs it recorded. A failed project listing stops the pass (the credential or the
    connection is broken); the projects already known stay as they are.
    """
    own_client = client is None
    client = client or client_for(account)
    try:
        runs = [run_locked(account, client, "projects")]
        if runs[0].status in (SyncRun.Status.FAILED, SyncRun.Status.SKIPPED):
            return runs
        runs += [run_locked(account, client, resource) for resource in TENANT_RESOURCES]
        for project in live_projects(account):
            runs += [run_locked(account, client, resource, project) for resource in project_resources(account)]
        if has_edge_credentials(account):
            runs.append(run_locked(account, client, "edge_api"))
        return runs
    finally:
        if own_client:
            client.close()
