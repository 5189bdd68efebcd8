"""Clusters and cluster profiles (REFERENCE.md 8, 9)."""

from palette_sim.fleet.records import Cluster, ProfileVersion
from palette_sim.palette.context import Context
from palette_sim.palette.errors import BadRequest, not_found
from palette_sim.palette.search import (
    CLUSTER_PROPERTIES,
    CLUSTER_SORT,
    PROFILE_SORT,
    as_dict,
    filter_string,
    profile_predicate,
    search_predicate,
    sort_records,
)
from palette_sim.palette.shapes import clusters as shapes_clusters
from palette_sim.palette.shapes import edgehosts as shapes_edgehosts
from palette_sim.palette.shapes import profiles as shapes_profiles


def searched_clusters(ctx: Context) -> list[Cluster]:
    body = ctx.body()

    def build() -> list[Cluster]:
        items = ctx.fleet.visible_clusters(ctx.scope, ctx.app.tenant_sees_all)
        predicate = search_predicate(body, CLUSTER_PROPERTIES)
        if predicate is not None:
            items = [c for c in items if predicate(c)]
        return sort_records(list(items), body.get("sort"), CLUSTER_SORT)

    return ctx.app.cached(ctx.listing_key(), build)


def clusters_search(ctx: Context) -> dict:
    """`POST /v1/dashboard/spectroclusters/search` -> `v1SpectroClustersSummary` (paged).

    Deleted clusters are listed unless the body filters `isDeleted` = false (REFERENCE.md 8).
    """
    return ctx.page(searched_clusters(ctx), lambda c: shapes_clusters.summary(ctx.fleet, c))


def clusters_metadata_search(ctx: Context) -> dict:
    """`POST /v1/dashboard/spectroclusters/metadata/search`: paged like the search, lighter items."""
    return ctx.page(searched_clusters(ctx), lambda c: shapes_clusters.meta_summary(ctx.fleet, c))


def clusters_meta(ctx: Context) -> list:
    """`GET /v1/dashboard/spectroclusters/meta`: a bare JSON array of every visible cluster."""
    with ctx.fleet.lock:
        items = list(ctx.fleet.visible_clusters(ctx.scope, ctx.app.tenant_sees_all))
    return [shapes_clusters.cluster_meta(ctx.fleet, c) for c in items]


def clusters_metadata(ctx: Context) -> dict:
    """`GET`/`POST /v1/dashboard/spectroclusters/metadata` -> `{items: [v1ObjectMeta]}` (unpaginated)."""
    with ctx.fleet.lock:
        items = [c for c in ctx.fleet.visible_clusters(ctx.scope, ctx.app.tenant_sees_all) if c.state != "Deleted"]
    quick = ctx.request.args.get("quickFilter")
    if quick not in (None, "", "hostclusters", "strictHostclusters", "hypershiftClusters"):
        raise BadRequest("quickFilter must be hostclusters, strictHostclusters or hypershiftClusters")
    if quick:
        items = []  # the simulated fleet has no host clusters and no HyperShift clusters
    if ctx.request.method == "POST":
        body = ctx.body()
        spec = as_dict(body.get("filter"), "filter")
        if spec.get("environment"):
            items = [c for c in items if c.cloud == spec["environment"]]
        if spec.get("state"):
            items = [c for c in items if c.state == spec["state"]]
        if "name" in spec:
            items = [c for c in items if filter_string(spec["name"], c.name, "filter.name")]
        order = body.get("sort")
        if order not in (None, "environment", "state", "name"):
            raise BadRequest("sort must be environment, state or name")
        if order:
            items.sort(key=lambda c: {"environment": c.cloud, "state": c.state, "name": c.name}[order])
    return {"items": [shapes_clusters.meta(ctx.fleet, c) for c in items]}


def cluster(ctx: Context, uid: str) -> Cluster:
    record = ctx.fleet.clusters.get(uid)
    if record is None or not ctx.visible(record.project):
        raise not_found("Cluster", uid)
    return record


def cluster_get(ctx: Context, uid: str) -> dict:
    """`GET /v1/spectroclusters/{uid}` -> `v1SpectroCluster`."""
    return shapes_clusters.full(ctx.fleet, cluster(ctx, uid))


def cluster_summary(ctx: Context, uid: str) -> dict:
    """`GET /v1/dashboard/spectroclusters/{uid}` and `/overview` -> `v1SpectroClusterUidSummary`."""
    return shapes_clusters.uid_summary(ctx.fleet, cluster(ctx, uid))


def cluster_status(ctx: Context, uid: str) -> dict:
    """`GET /v1/spectroclusters/{uid}/status` -> `v1SpectroClusterStatusEntity`."""
    return {"status": {"state": cluster(ctx, uid).state}}


def cluster_profiles(ctx: Context, uid: str) -> dict:
    """`GET /v1/spectroclusters/{uid}/profiles` -> `v1SpectroClusterProfileList`."""
    c = cluster(ctx, uid)
    return shapes_clusters.profile_list(ctx.fleet, [c.infra, *c.addons])


def cluster_edge_hosts(ctx: Context, uid: str) -> dict:
    """`GET /v1/spectroclusters/{uid}/edge-native/edgeHosts` -> `v1EdgeHostDevices`."""
    c = cluster(ctx, uid)
    return {"items": [shapes_edgehosts.device_full(ctx.fleet, h) for h in c.hosts]}


SCHEMA_PROPERTIES = {
    "clusterName": "string",
    "clusterState": "string",
    "environment": "string",
    "healthState": "string",
    "isDeleted": "bool",
    "tags": "keyValue",
    "architecture": "string",
    "creationTimestamp": "date",
    "lastModifiedTimestamp": "date",
}


def search_schema(ctx: Context, names: dict[str, str] | None = None) -> dict:
    """`GET .../search/schema` -> `v1SearchFilterSchemaSpec`: the properties the simulator filters on."""
    props = []
    for name, kind in (names or SCHEMA_PROPERTIES).items():
        props.append({"name": name, "displayName": name, "type": kind, "hideDisplay": False, "isDeprecated": False})
    return {"schema": {"properties": props}}


def search_input(ctx: Context) -> dict:
    """`GET /v1/dashboard/spectroclusters/search/input` -> `v1ClusterSearchInputSpec`."""
    with ctx.fleet.lock:
        clusters = list(ctx.fleet.visible_clusters(ctx.scope, ctx.app.tenant_sees_all))
    values = {
        "clusterState": sorted({c.state for c in clusters}),
        "environment": sorted({c.cloud for c in clusters}),
        "healthState": sorted({c.health for c in clusters if c.health}),
    }
    return {"inputs": {k: {"values": [{"name": v, "uid": v} for v in vs]} for k, vs in values.items()}}


# --- cluster profiles -------------------------------------------------------------------------------


def visible_versions(ctx: Context) -> list[ProfileVersion]:
    families = ctx.fleet.visible_families(ctx.scope, ctx.app.tenant_sees_all)
    return [v for f in families for v in f.versions]


def profiles_search(ctx: Context) -> dict:
    """`POST /v1/dashboard/clusterprofiles` -> `v1ClusterProfilesSummary`: one item per version.

    With a ProjectUid the listing holds the project's profiles and the tenant's, so a client that
    adds up per-project listings sees tenant profiles once per project (REFERENCE.md 3).
    """
    body = ctx.body()

    def build() -> list[ProfileVersion]:
        predicate = profile_predicate(body)
        items = [v for v in visible_versions(ctx) if predicate(v)]
        return sort_records(items, body.get("sort"), PROFILE_SORT)

    items = ctx.app.cached(ctx.listing_key(), build)
    return ctx.page(items, lambda v: shapes_profiles.profile_summary(ctx.fleet, v, users_in_scope(ctx, v)))


def users_in_scope(ctx: Context, v: ProfileVersion) -> list[Cluster]:
    """The clusters using a version that the request's scope can see (all of them in tenant scope)."""
    return ctx.fleet.version_users(ctx.scope).get(v.uid, [])


def profiles_metadata(ctx: Context) -> dict:
    """`GET /v1/dashboard/clusterprofiles/metadata` -> `v1ClusterProfilesMetadata` (unpaginated)."""
    with ctx.fleet.lock:
        return {"items": [shapes_profiles.profile_metadata(v) for v in visible_versions(ctx)]}


def version(ctx: Context, uid: str) -> ProfileVersion:
    record = ctx.fleet.versions.get(uid)
    if record is None or not ctx.visible(record.family.project) and record.family.project is not None:
        raise not_found("Cluster profile", uid)
    return record


def profile_summary(ctx: Context, uid: str) -> dict:
    """`GET /v1/dashboard/clusterprofiles/{uid}` -> `v1ClusterProfileSummary`."""
    v = version(ctx, uid)
    return shapes_profiles.profile_summary(ctx.fleet, v, users_in_scope(ctx, v))


def profile_get(ctx: Context, uid: str) -> dict:
    """`GET /v1/clusterprofiles/{uid}` -> `v1ClusterProfile` with the clusters that use this version."""
    v = version(ctx, uid)
    return shapes_profiles.profile_full(ctx.fleet, v, users_in_scope(ctx, v))


def profile_packs(ctx: Context, uid: str) -> dict:
    """`GET /v1/clusterprofiles/{uid}/packs` -> `v1ClusterProfilePacksEntities`."""
    return shapes_profiles.profile_packs(ctx.fleet, version(ctx, uid))
