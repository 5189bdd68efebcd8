"""The cluster list and a cluster's page (issue: pages, /clusters/)."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import freshness
from dashboard.access import scope_of
from dashboard.filters import ClusterFilter
from dashboard.lists import FleetList
from dashboard.models import Cluster, EdgeHost, SavedView, TimelineEntry
from dashboard.tables import ClusterTable
from dashboard.views.common import get_synced_or_404

BEFORE = timedelta(hours=1)  # "what changed before": audits and events in the hour before a health change
TIMELINE_ROWS = 50


class ClusterList(FleetList):
    """Clusters: filter by account, project, cloud, state, health, version, profile, age; sort; page."""

    template_name = "dashboard/cluster_list.html"
    filterset_class = ClusterFilter
    table_class = ClusterTable
    saved_page = SavedView.Page.CLUSTERS
    resources = freshness.CLUSTERS
    title = "Clusters"
    counted_resource = "clusters"

    def get_queryset(self) -> QuerySet:
        # No column shows the JSON documents (the profiles come from ProfileUse, ClusterTable.attach):
        # a page need not read them.
        return super().get_queryset().defer("raw", "profiles")


cluster_list = ClusterList.as_view()


@require_GET
def cluster_detail(request: HttpRequest, uid: str) -> HttpResponse:
    """One cluster: summary, profiles against their latest, node pools, edge hosts, timeline, raw JSON."""
    rows = scope_of(request.user)
    cluster = get_synced_or_404(rows.filter(Cluster.objects.select_related("project", "account")), uid)
    uses = list(cluster.profile_uses.order_by("name"))
    hosts = list(
        rows.filter(
            EdgeHost.objects.filter(account=cluster.account, cluster_uid=cluster.uid, removed_at__isnull=True)
        ).order_by("name")[:200]
    )
    timeline = list(
        rows.filter(TimelineEntry.objects.filter(account=cluster.account, subject_uid=cluster.uid)).order_by(
            "-occurred_at", "-id"
        )[:TIMELINE_ROWS]
    )
    context = {
        "cluster": cluster,
        "uses": uses,
        "pools": node_pools(cluster.raw),
        "hosts": hosts,
        "timeline": timeline,
        "before": changes_before(cluster, timeline),
        "freshness": freshness.banner(freshness.CLUSTERS, rows=rows),
    }
    return render(request, "dashboard/cluster_detail.html", context)


def node_pools(raw: dict) -> list[dict]:
    """The machine pools as Palette reports them in the listing (`specSummary.cloudConfig.machinePools`)."""
    spec = raw.get("specSummary") if isinstance(raw, dict) else None
    config = spec.get("cloudConfig") if isinstance(spec, dict) else None
    pools = config.get("machinePools") if isinstance(config, dict) else None
    return [p for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []


def changes_before(cluster: Cluster, timeline: list[TimelineEntry]) -> list[dict]:
    """For each health change on the page: the audits and events about the cluster in the hour before it.

    One query for all of them: the union of the windows, split up in Python.
    """
    changes = [e for e in timeline if e.kind == TimelineEntry.Kind.TRANSITION and e.action == "health"][:5]
    if not changes:
        return []
    windows = Q()
    for change in changes:
        windows |= Q(occurred_at__gte=change.occurred_at - BEFORE, occurred_at__lte=change.occurred_at)
    nearby = list(
        TimelineEntry.objects.filter(
            windows,
            account=cluster.account,
            subject_uid=cluster.uid,
            kind__in=[TimelineEntry.Kind.AUDIT, TimelineEntry.Kind.EVENT],
        ).order_by("-occurred_at", "-id")[:200]
    )
    return [
        {
            "change": change,
            "entries": [e for e in nearby if change.occurred_at - BEFORE <= e.occurred_at <= change.occurred_at],
        }
        for change in changes
    ]
