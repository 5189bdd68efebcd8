"""What the pages read precomputed: which cluster runs which profile version, counts per project,
the hourly health sample, and the latest word on each sync scope.

The sync keeps these as it writes, so no page aggregates over the whole fleet (issue: pages at
100,000 clusters). Each function rewrites one small scope and is safe to run again.
"""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum

from dashboard.models import (
    Cluster,
    ClusterProfile,
    EdgeHost,
    FleetCount,
    HealthSample,
    PaletteAccount,
    ProfileUse,
    Project,
    SiteSummary,
    SyncRun,
    SyncScope,
)
from palette_sync.sync import bulk

UNHEALTHY = {"clusters": Cluster.UNHEALTHY, "edgehosts": EdgeHost.UNHEALTHY}
COUNTED = {
    "clusters": (Cluster, ("state", "health", "cloud_type")),
    "edgehosts": (EdgeHost, ("state", "health", "edge_api_state")),
}
# A run of these resources changes what is counted for its project.
RECOUNTS = {"clusters": ("clusters",), "edgehosts": ("edgehosts",), "edge_api": ("edgehosts",)}


def profile_versions(account: PaletteAccount, profile_uids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """profile version uid -> (its version, the newest version of its name), for the profiles synced so far.

    The cluster listing names each profile by the uid of the version it runs, with an integer
    revision rather than the version string (REFERENCE.md 8), so the profile's own row says which
    version that is and whether it is the latest (REFERENCE.md 9).
    """
    rows = ClusterProfile.objects.filter(account=account, uid__in=list(profile_uids), removed_at__isnull=True)
    return {
        uid: (version, latest or version)
        for uid, version, latest in rows.values_list("uid", "version", "latest_version")
        if version or latest
    }


def write_profile_uses(account: PaletteAccount, uids: list[str]) -> None:
    """Rewrite the ProfileUse rows of the clusters `uids` from their stored `profiles` list."""
    clusters = list(Cluster.objects.filter(account=account, uid__in=uids).values_list("id", "profiles"))
    wanted = {p.get("uid", "") for _, profiles in clusters for p in profiles or []}
    known = profile_versions(account, wanted - {""})
    uses = []
    for cluster_id, profiles in clusters:
        for p in {p.get("uid"): p for p in profiles or [] if p.get("uid")}.values():
            version, latest = known.get(p["uid"], (p.get("version", ""), ""))
            uses.append(
                {
                    "account_id": account.pk,
                    "cluster_id": cluster_id,
                    "profile_uid": p["uid"],
                    "name": p.get("name", ""),
                    "version": version,
                    "latest_version": latest,
                    "behind": behind(version, latest),
                }
            )
    with transaction.atomic():
        ProfileUse.objects.filter(cluster_id__in=[c for c, _ in clusters]).delete()
        bulk.insert(ProfileUse, uses)


def behind(version: str, latest: str) -> bool | None:
    """Whether `version` is older than the name's latest; None when either is unknown."""
    if not latest or not version:
        return None
    return version != latest


def refresh_profile_uses(account: PaletteAccount, profile_uids: list[str]) -> None:
    """After profile versions changed: set each use's version, latest version and `behind` again.

    One query reads the uses of these profiles; only those that differ are written, one UPDATE per
    distinct (version, latest, behind), not one per profile (a full sync lists some 700 versions).
    """
    versions = profile_versions(account, profile_uids)
    uses = ProfileUse.objects.filter(account=account, profile_uid__in=list(versions))
    stale: dict[tuple[str, str, bool | None], list[int]] = {}
    for pk, uid, *was in uses.values_list("pk", "profile_uid", "version", "latest_version", "behind"):
        version, latest = versions[uid]
        wanted = (version, latest, behind(version, latest))
        if tuple(was) != wanted:
            stale.setdefault(wanted, []).append(pk)
    for (version, latest, lagging), ids in stale.items():
        ProfileUse.objects.filter(pk__in=ids).update(version=version, latest_version=latest, behind=lagging)


def refresh_counts(account: PaletteAccount, project: Project | None, resource: str, *, sites: bool = True) -> None:
    """Recount one project's live rows of `resource` by each counted field (and clusters behind);
    for edge hosts also its sites, unless `sites` is False (the caller recounts the sites that changed)."""
    model, dimensions = COUNTED[resource]
    live = model.objects.filter(account=account, project=project, removed_at__isnull=True)
    counts = [
        FleetCount(account=account, project=project, resource=resource, dimension=d, value=value or "", count=n)
        for d in dimensions
        for value, n in live.values_list(d).annotate(n=Count("id")).order_by()
    ]
    if resource == "clusters":
        lagging = ProfileUse.objects.filter(behind=True, cluster__in=live).values("cluster").distinct().count()
        counts.append(
            FleetCount(
                account=account, project=project, resource=resource, dimension="behind", value="yes", count=lagging
            )
        )
    with transaction.atomic():
        lock_project(project)  # two recounts of one project at once must not both insert
        FleetCount.objects.filter(account=account, project=project, resource=resource).delete()
        FleetCount.objects.bulk_create(counts, batch_size=500)
    if resource == "edgehosts" and sites:
        refresh_sites(account, project)


def refresh_sites(account: PaletteAccount, project: Project | None, only: Iterable[str] | None = None) -> None:
    """Recount one project's live hosts per site into SiteSummary (its rows for sites gone go too);
    `only` these sites when given (an edge tick's changes), not all of the project's."""
    unhealthy, unreadable = Q(health=EdgeHost.UNHEALTHY), Q(edge_api_state__in=EdgeHost.API_PROBLEMS)
    hosts = EdgeHost.objects.filter(account=account, project=project, removed_at__isnull=True)
    stored = SiteSummary.objects.filter(account=account, project=project)
    if only is not None:
        hosts, stored = hosts.filter(site__in=list(only)), stored.filter(site__in=list(only))
    rows = (
        hosts.values("site")
        .annotate(
            hosts=Count("id"),
            healthy=Count("id", filter=Q(health="healthy")),
            unhealthy=Count("id", filter=unhealthy),
            unknown=Count("id", filter=~Q(health__in=["healthy", EdgeHost.UNHEALTHY])),
            unreadable=Count("id", filter=unreadable),
            trouble=Count("id", filter=unhealthy | unreadable),
        )
        .order_by()
    )
    counted = [SiteSummary(account=account, project=project, **row) for row in rows]
    with transaction.atomic():
        lock_project(project)
        stored.delete()
        SiteSummary.objects.bulk_create(counted, batch_size=500)


def lock_project(project: Project | None) -> None:
    """Hold the project's row until the transaction ends: its recounts (a listing's, an edge tick's)
    take turns, so the counts are rewritten whole, never doubled or refused as duplicates."""
    if project is not None:
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True))


def refresh_all_counts(account: PaletteAccount) -> None:
    """Recount every project of an account (after profiles moved, or projects were removed)."""
    projects = list(Project.objects.filter(account=account, removed_at__isnull=True))
    FleetCount.objects.filter(account=account).exclude(project__in=projects).delete()
    for project in projects:
        for resource in COUNTED:
            refresh_counts(account, project, resource)


def record_sample(now: datetime) -> None:
    """This hour's sample of unhealthy clusters and hosts over the fleet, from the counts."""
    health = (
        FleetCount.objects.filter(dimension="health", project__removed_at__isnull=True)
        .values("resource")
        .annotate(
            total=Sum("count"),
            unhealthy=Sum(
                "count",
                filter=Q(resource="clusters", value=UNHEALTHY["clusters"])
                | Q(resource="edgehosts", value=UNHEALTHY["edgehosts"]),
            ),
        )
    )
    by_resource = {row["resource"]: row for row in health}
    clusters, hosts = by_resource.get("clusters", {}), by_resource.get("edgehosts", {})
    HealthSample.objects.update_or_create(
        hour=now.replace(minute=0, second=0, microsecond=0),
        defaults={
            "clusters_unhealthy": clusters.get("unhealthy") or 0,
            "clusters_total": clusters.get("total") or 0,
            "hosts_unhealthy": hosts.get("unhealthy") or 0,
            "hosts_total": hosts.get("total") or 0,
        },
    )


def after_run(run: SyncRun) -> None:
    """Keep the scope's latest word, and the counts that this run's resource feeds."""
    record_scope(run)
    if run.status == SyncRun.Status.SKIPPED:
        return
    if run.resource == "profiles":
        refresh_behind_counts(run.account)
    for resource in RECOUNTS.get(run.resource, ()):
        if run.project is not None:
            refresh_counts(run.account, run.project, resource)
    if run.resource in RECOUNTS or run.resource == "projects":
        if run.resource == "projects" and run.removed:  # a removed project took its contents along
            FleetCount.objects.filter(account=run.account, project__removed_at__isnull=False).delete()
            SiteSummary.objects.filter(account=run.account, project__removed_at__isnull=False).delete()
        record_sample(run.finished_at or run.started_at)


def refresh_behind_counts(account: PaletteAccount) -> None:
    """Recount clusters behind their profile's latest in every project (a profile run moves them)."""
    live = Cluster.objects.filter(account=account, removed_at__isnull=True)
    lagging = dict(
        ProfileUse.objects.filter(behind=True, cluster__in=live)
        .values_list("cluster__project")
        .annotate(n=Count("cluster", distinct=True))
        .order_by()
    )
    with transaction.atomic():
        # every project's row, in one order: a project's own recount (refresh_counts) waits, not interleaves
        list(Project.objects.select_for_update().filter(account=account).order_by("pk").values_list("pk", flat=True))
        FleetCount.objects.filter(account=account, resource="clusters", dimension="behind").delete()
        FleetCount.objects.bulk_create(
            FleetCount(
                account=account, project_id=project_id, resource="clusters", dimension="behind", value="yes", count=n
            )
            for project_id, n in lagging.items()
        )


def record_scope(run: SyncRun) -> None:
    """The scope's row says what its newest finished run said (a skipped run changes nothing)."""
    if run.status == SyncRun.Status.SKIPPED:
        return
    values = {
        "last_run": run,
        "last_status": run.status,
        "last_finished_at": run.finished_at,
        "last_error": "; ".join(str(e) for e in run.errors[:3]) if run.status != SyncRun.Status.OK else "",
        "running_since": None,
        "progress_items": run.items,
        "progress_total": None,
    }
    if run.status == SyncRun.Status.OK:
        values["ok_started_at"] = run.started_at
    scope = SyncScope.objects.filter(account=run.account, resource=run.resource, project=run.project)
    newer = Q(last_finished_at__isnull=True) | Q(last_finished_at__lte=run.finished_at)
    if not scope.filter(newer).update(**values) and not scope.exists():
        SyncScope.objects.get_or_create(
            account=run.account, resource=run.resource, project=run.project, defaults=values
        )


def record_progress(run: SyncRun, items: int, total: int | None) -> None:
    """A running listing's progress, for the sync page (items so far of `listmeta.count`)."""
    updated = SyncScope.objects.filter(account=run.account, resource=run.resource, project=run.project).update(
        running_since=run.started_at, progress_items=items, progress_total=total
    )
    if not updated:
        SyncScope.objects.get_or_create(
            account=run.account,
            resource=run.resource,
            project=run.project,
            defaults={"running_since": run.started_at, "progress_items": items, "progress_total": total},
        )


def stale_after() -> int:
    """Seconds after which a source's data is stale: twice its schedule (DESIGN.md "Freshness")."""
    return 2 * settings.PALETTE_SYNC_INTERVAL
