"""The overview: problems first, then counts as tiles, then a week of unhealthy clusters and hosts.

Every number here is read from what the sync precomputed (FleetCount, HealthSample, SyncScope) or
from a bounded, indexed query: the page costs the same at 100 clusters and at 100,000.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard import charts, freshness, labels
from dashboard.access import EVERYTHING, Scope, scope_of
from dashboard.models import Cluster, EdgeHost, FleetCount, HealthSample, ProfileUse

CLUSTER_UNHEALTHY, HOST_UNHEALTHY, EDGE_API_PROBLEMS = Cluster.UNHEALTHY, EdgeHost.UNHEALTHY, EdgeHost.API_PROBLEMS

SHOWN = 8  # rows of each problem list; the list page has the rest
TILE_DIMENSIONS = {
    "clusters": ("health", "state", "cloud_type"),
    "edgehosts": ("health", "state", "edge_api_state"),
}
LIST_URLS = {"clusters": "dashboard:cluster_list", "edgehosts": "dashboard:edgehost_list"}


@dataclass
class Tile:
    label: str
    count: int
    url: str
    value: str = ""


@dataclass
class Counts:
    """Sums of the precomputed counts: per (resource, dimension, value), per project and per account."""

    by_value: dict[tuple[str, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    by_project: dict[str, list[tuple[int, str, int]]] = field(default_factory=lambda: defaultdict(list))
    by_account: dict[str, list[tuple[int, str, int]]] = field(default_factory=lambda: defaultdict(list))
    totals: dict[str, int] = field(default_factory=dict)


def fleet_counts(scope: Scope = EVERYTHING) -> Counts:
    """Two aggregates over FleetCount (a few rows per project, within `scope`): the sums per value,
    and the live rows per project (their health counts: every live row has exactly one), which also
    give the sums per account and the totals."""
    counted = scope.filter(FleetCount.objects.all()).filter(project__removed_at__isnull=True).order_by()
    values = (
        counted.filter(dimension__in=["state", "health", "cloud_type", "edge_api_state", "behind"])
        .values_list("resource", "dimension", "value")
        .annotate(n=Sum("count"))
    )
    per_project = (
        counted.filter(dimension="health")
        .values_list("resource", "project_id", "project__name", "account_id", "account__name")
        .annotate(n=Sum("count"))
    )
    counts = Counts()
    for resource, dimension, value, n in values:
        counts.by_value[(resource, dimension)][value] = n
    accounts: dict[tuple[str, int, str], int] = defaultdict(int)
    for resource, project_id, project, account_id, account, n in sorted(per_project, key=lambda r: (-r[5], r[2] or "")):
        counts.by_project[resource].append((project_id, project or "no project", n))
        accounts[(resource, account_id, account)] += n
        counts.totals[resource] = counts.totals.get(resource, 0) + n
    for (resource, pk, name), n in sorted(accounts.items(), key=lambda kv: (-kv[1], kv[0][2])):
        counts.by_account[resource].append((pk, name, n))
    return counts


def tiles(counts: Counts, resource: str, dimension: str) -> list[Tile]:
    """A tile per value of one field, linking to the list filtered on it; unknown last."""
    url = reverse(LIST_URLS[resource])
    values = counts.by_value.get((resource, dimension), {})
    ordered = sorted(values.items(), key=lambda kv: (kv[0] == "", -kv[1], kv[0].lower()))
    return [
        Tile(labels.readable(value), n, f"{url}?{urlencode({dimension: value or 'unknown'})}", value)
        for value, n in ordered
    ]


def group_tiles(counts: Counts, resource: str, key: str) -> list[Tile]:
    url = reverse(LIST_URLS[resource])
    groups = counts.by_project if key == "project" else counts.by_account
    return [Tile(name, n, f"{url}?{key}={pk}") for pk, name, n in groups.get(resource, []) if pk is not None][:24]


def chart(now: timezone.datetime) -> charts.LineChart:
    """Unhealthy clusters and edge hosts over the last 7 days, one sample an hour."""
    start = now - timedelta(days=7)
    samples = [
        (s.hour, {"clusters": s.clusters_unhealthy, "hosts": s.hosts_unhealthy})
        for s in HealthSample.objects.filter(hour__gte=start).order_by("hour")
    ]
    names = {"clusters": ("unhealthy clusters", "series-clusters"), "hosts": ("unhealthy edge hosts", "series-hosts")}
    return charts.line_chart(samples, names, start, now)


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Problems first (oldest first), then counts by state, health, cloud, project and account, then the chart."""
    rows = scope_of(request.user)
    # The problem lists show names, states and ages: not the JSON documents.
    live_clusters = (
        rows.filter(Cluster.objects.filter(removed_at__isnull=True))
        .select_related("project")
        .defer("raw", "profiles", "project__raw")
    )
    live_hosts = (
        rows.filter(EdgeHost.objects.filter(removed_at__isnull=True))
        .select_related("project")
        .defer("raw", "edge_facts", "project__raw")
    )
    counts = freshness.kept(("overview", rows), lambda: fleet_counts(rows))  # as the banner: seconds old at most
    cluster_health = counts.by_value.get(("clusters", "health"), {})
    host_health = counts.by_value.get(("edgehosts", "health"), {})
    api_states = counts.by_value.get(("edgehosts", "edge_api_state"), {})
    fresh = freshness.banner(freshness.EVERYTHING, rows=rows)
    context = {
        "now": timezone.now(),
        "unhealthy_clusters": list(
            live_clusters.filter(health=CLUSTER_UNHEALTHY).order_by("health_since", "pk")[:SHOWN]
        ),
        "unhealthy_clusters_count": cluster_health.get(CLUSTER_UNHEALTHY, 0),
        "unhealthy_hosts": list(live_hosts.filter(health=HOST_UNHEALTHY).order_by("health_since", "pk")[:SHOWN]),
        "unhealthy_hosts_count": host_health.get(HOST_UNHEALTHY, 0),
        "behind": list(
            rows.filter(
                ProfileUse.objects.filter(behind=True, cluster__removed_at__isnull=True), project="cluster__project"
            )
            .select_related("cluster", "cluster__project")
            .defer("cluster__raw", "cluster__profiles", "cluster__project__raw")
            .order_by("cluster__name", "name")[:SHOWN]
        ),
        "behind_count": counts.by_value.get(("clusters", "behind"), {}).get("yes", 0),
        "api_problems": list(
            live_hosts.filter(edge_api_state__in=EDGE_API_PROBLEMS).order_by("edge_api_since", "pk")[:SHOWN]
        ),
        "api_problems_count": sum(api_states.get(state, 0) for state in EDGE_API_PROBLEMS),
        "api_read": any(n for state, n in api_states.items() if state not in ("unknown", "no_access")),
        "sync_problems": fresh.problems,
        "overview_freshness": fresh,
        "totals": counts.totals,
        "cluster_tiles": {d: tiles(counts, "clusters", d) for d in TILE_DIMENSIONS["clusters"]},
        "host_tiles": {d: tiles(counts, "edgehosts", d) for d in TILE_DIMENSIONS["edgehosts"]},
        "project_tiles": group_tiles(counts, "clusters", "project"),
        "account_tiles": group_tiles(counts, "clusters", "account"),
        # The hourly samples are of the whole fleet: a user who sees part of it is not shown them.
        # One sample an hour: drawn again at most every few seconds, as the counts are read (`kept`).
        "chart": freshness.kept(("chart",), lambda: chart(timezone.now())) if rows.everything else None,
        "chart_hidden": not rows.everything,
    }
    return render(request, "dashboard/overview.html", context)
