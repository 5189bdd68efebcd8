"""Edge hosts on the Palette side (REFERENCE.md 10)."""

from palette_sim.fleet.records import EdgeHost
from palette_sim.palette.context import Context
from palette_sim.palette.errors import BadRequest, not_found
from palette_sim.palette.handlers.clusters import search_schema
from palette_sim.palette.search import (
    HOST_PROPERTIES,
    HOST_SORT,
    as_dict,
    as_list,
    filter_string,
    search_predicate,
    sort_records,
)
from palette_sim.palette.shapes import clusters as shapes_clusters
from palette_sim.palette.shapes import edgehosts as shapes_edgehosts

HOST_SORT_FIELDS = {
    "name": lambda h: h.host_id,
    "state": lambda h: h.state,
    "creationTimestamp": lambda h: h.created,
    "lastModifiedTimestamp": lambda h: h.modified,
}


def hosts_search(ctx: Context) -> dict:
    """`POST /v1/dashboard/edgehosts/search` -> `v1EdgeHostsSearchSummary` (paged)."""
    body = ctx.body()

    def build() -> list[EdgeHost]:
        items = ctx.fleet.visible_hosts(ctx.scope, ctx.app.tenant_sees_all)
        predicate = search_predicate(body, HOST_PROPERTIES)
        if predicate is not None:
            items = [h for h in items if predicate(h)]
        return sort_records(list(items), body.get("sort"), HOST_SORT)

    items = ctx.app.cached(ctx.listing_key(), build)
    return ctx.page(items, lambda h: shapes_edgehosts.search_item(ctx.fleet, h))


def hosts_search_schema(ctx: Context) -> dict:
    """`GET /v1/dashboard/edgehosts/search/schema`."""
    names = {"name": "string", "state": "string", "healthState": "string", "architecture": "string", "tags": "string"}
    return search_schema(ctx, names)


def hosts_metadata(ctx: Context) -> dict:
    """`GET /v1/edgehosts/metadata` -> `v1EdgeHostsMeta` (unpaginated); `quickFilter=unusedEdgeHosts`."""
    args = ctx.request.args
    kind, quick = args.get("type"), args.get("quickFilter")
    if kind not in (None, "", "edge-native", "vsphere"):
        raise BadRequest("type must be edge-native or vsphere")
    if quick not in (None, "", "unusedEdgeHosts"):
        raise BadRequest("quickFilter must be unusedEdgeHosts")
    with ctx.fleet.lock:
        hosts = list(ctx.fleet.visible_hosts(ctx.scope, ctx.app.tenant_sees_all))
    if kind == "vsphere":
        hosts = []
    if quick:
        hosts = [h for h in hosts if h.cluster is None]
    return {"edgeHosts": [shapes_edgehosts.host_meta(h) for h in hosts]}


def appliances_metadata(ctx: Context) -> dict:
    """`POST /v1/dashboard/appliances/metadata` -> `v1EdgeHostsMetadataSummary` (unpaginated)."""
    body = ctx.body()
    spec = as_dict(body.get("filter"), "filter")
    states = as_list(spec.get("states"), "filter.states")
    with ctx.fleet.lock:
        hosts = list(ctx.fleet.visible_hosts(ctx.scope, ctx.app.tenant_sees_all))
    if states:
        hosts = [h for h in hosts if h.state in states]
    if "name" in spec:
        hosts = [h for h in hosts if filter_string(spec["name"], h.host_id, "filter.name")]
    hosts = sort_records(hosts, body.get("sort"), HOST_SORT_FIELDS)
    return {"items": [shapes_edgehosts.search_item(ctx.fleet, h) for h in hosts]}


def host(ctx: Context, uid: str) -> EdgeHost:
    record = ctx.fleet.hosts.get(uid)
    if record is None or not ctx.visible(record.project):
        raise not_found("EdgeHost", uid)
    return record


def host_get(ctx: Context, uid: str) -> dict:
    """`GET /v1/edgehosts/{uid}` -> `v1EdgeHostDevice`."""
    return shapes_edgehosts.device_full(ctx.fleet, host(ctx, uid))


def host_profiles(ctx: Context, uid: str) -> dict:
    """`GET /v1/edgehosts/{uid}/profiles` -> `v1SpectroClusterProfileList`."""
    return shapes_clusters.profile_list(ctx.fleet, shapes_edgehosts.profile_versions(host(ctx, uid)))


def hosts_list(ctx: Context) -> dict:
    """Deprecated `GET /v1/edgehosts` -> `v1EdgeHostDevices`: everything at once and, as observed, no listmeta."""
    kind = ctx.request.args.get("type")
    with ctx.fleet.lock:
        hosts = [] if kind == "vsphere" else list(ctx.fleet.visible_hosts(ctx.scope, ctx.app.tenant_sees_all))
    return {"items": [shapes_edgehosts.device_full(ctx.fleet, h) for h in hosts]}
