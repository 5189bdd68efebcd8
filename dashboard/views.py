"""Read-side pages: every page renders from our database, never from Palette."""

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.models import Cluster, SyncRun

PAGE_SIZE = 50


@require_GET
@vary_on_headers("HX-Request")
def cluster_list(request: HttpRequest) -> HttpResponse:
    """Clusters, searchable and paged server-side; htmx requests get only the table."""
    query = request.GET.get("q", "").strip()
    clusters = Cluster.objects.filter(removed_at__isnull=True).select_related("project")
    if query:
        clusters = clusters.filter(
            Q(name__icontains=query)
            | Q(project__name__icontains=query)
            | Q(cloud_type__icontains=query)
            | Q(state__icontains=query)
            | Q(health__icontains=query)
            | Q(kubernetes_version__icontains=query)
        )
    page = Paginator(clusters.order_by("name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "as_of": SyncRun.data_as_of("clusters")}
    template = "dashboard/cluster_list.html"
    if request.htmx:
        template += "#cluster-table"
    return render(request, template, context)
