"""The inventory sources: projects, clusters, cluster profiles and edge hosts (REFERENCE.md 7-10, 14)."""

from concurrent.futures import ThreadPoolExecutor

from dashboard.models import Cluster, ClusterProfile, EdgeHost, PaletteAccount, Project, SyncRun
from palette_sync import mappers
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteError
from palette_sync.sync import rollups
from palette_sync.sync.listing import CASCADE_SOURCES, Source, consume
from palette_sync.sync.runs import Recorder

CLUSTERS = Source(
    "clusters",
    Cluster,
    "cluster",
    mappers.cluster_fields,
    watched=("state", "health", "profiles"),
    since={"state": "state_since", "health": "health_since"},
    carry=("kubernetes_version",),
    detail="/v1/spectroclusters/{uid}",  # the 50/s family, not the listings' 10/s (REFERENCE.md 5)
    after_write=lambda recorder, uids: rollups.write_profile_uses(recorder.account, uids),
)
PROFILES = Source(
    "profiles",
    ClusterProfile,
    "clusterprofile",
    mappers.profile_fields,
    detail="/v1/clusterprofiles/{uid}",
    after_write=lambda recorder, uids: rollups.refresh_profile_uses(recorder.account, uids),
)
EDGEHOSTS = Source(
    "edgehosts",
    EdgeHost,
    "edgehost",
    mappers.edgehost_fields,
    watched=("state", "health"),
    since={"state": "state_since", "health": "health_since"},
    keep=EdgeHost.EDGE_API_FIELDS,
    detail="/v1/edgehosts/{uid}",
)

PROJECTS = Source(
    "projects",
    Project,
    "project",
    mappers.project_fields,
    cascade=(Cluster, ClusterProfile, EdgeHost),
    detail="/v1/projects/{uid}",
)
CASCADE_SOURCES.update({Cluster: CLUSTERS, ClusterProfile: PROFILES, EdgeHost: EDGEHOSTS})

# `{"filter": {}}` lists all; `scope: project` with a ProjectUid header only the project's own
# profiles, so tenant profiles are listed once, in tenant scope (REFERENCE.md 3, 9).
PROFILES_OF_PROJECT = {"filter": {"scope": "project"}, "sort": []}
PROFILES_OF_TENANT = {"filter": {}, "sort": []}


def sync_projects(account: PaletteAccount, client: PaletteClient) -> SyncRun:
    """List the tenant's projects (tenant scope, `POST /v1/dashboard/projects`) and upsert them."""
    with Recorder(account, "projects", None, client) as recorder:
        return consume(recorder, PROJECTS, client.projects())


def sync_clusters(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """List one project's clusters (`POST /v1/dashboard/spectroclusters/search`, ProjectUid scope)."""
    with Recorder(account, "clusters", project, client) as recorder:
        return consume(
            recorder,
            CLUSTERS,
            client.clusters(project.uid),
            project_for=lambda v: project.pk,
            enrich=kubernetes_versions,
        )


# Clusters read in detail at once. Their reads spend the 50/s `/v1/spectroclusters` budget, which
# nothing else uses, and at 100-200 ms per answer one at a time would take minutes for a new fleet.
DETAIL_READS = 8


def kubernetes_versions(recorder: Recorder, batch: list[dict], stored: dict[str, dict]) -> None:
    """Fill the k8s version that the listing lacks (no k8s pack) from the cluster itself.

    The full object (`GET /v1/spectroclusters/{uid}`, REFERENCE.md 8) carries the k8s pack of its
    profile templates, as the listing does when it has one, and counts in the 50/s
    `/v1/spectroclusters` family: not the 10/s `/v1/dashboard` one that every listing shares
    (REFERENCE.md 5). Only a cluster without a k8s pack even there (an imported one) costs the
    summary read (`GET /v1/dashboard/spectroclusters/{uid}`, `status.kubeMeta`). Clusters are read
    only when new or when their lastModifiedTimestamp changed, several at once; otherwise the
    stored version stands.
    """
    wanted = []
    for values in batch:
        if values["kubernetes_version"]:
            continue
        old = stored.get(values["uid"])
        if old is not None and old["removed_at"] is None and old["modified_at"] == values["modified_at"]:
            values["kubernetes_version"] = old["kubernetes_version"]
            continue
        wanted.append((values, old))
    if not wanted:
        return
    client, project_uid = recorder.client, recorder.project.uid

    def read(uid: str) -> str:
        full = client.request("GET", f"/v1/spectroclusters/{uid}", project_uid=project_uid)
        version = mappers.kubernetes_version(mappers.obj(mappers.obj(full).get("spec")))
        if version:
            return version
        summary = client.request("GET", f"/v1/dashboard/spectroclusters/{uid}", project_uid=project_uid)
        return mappers.detail_kubernetes_version(summary)

    # The client is thread-safe (httpx, locked counters, the shared throttle); only the reads run
    # in the pool: the recorder and the database stay in this thread.
    with ThreadPoolExecutor(max_workers=min(DETAIL_READS, len(wanted)), thread_name_prefix="palette-detail") as pool:
        futures = [pool.submit(read, values["uid"]) for values, _old in wanted]
        for (values, old), future in zip(wanted, futures, strict=True):
            recorder.count(detail_reads=1)
            try:
                values["kubernetes_version"] = future.result()
            except PaletteError as exc:
                recorder.error(f"cluster {values['uid']} detail: {exc}")
                values["kubernetes_version"] = old["kubernetes_version"] if old else ""


def sync_profiles(account: PaletteAccount, client: PaletteClient, project: Project | None) -> SyncRun:
    """List cluster profiles (`POST /v1/dashboard/clusterprofiles`): a project's own, or the tenant's.

    Every version is its own item, with its packs and the clusters on it (REFERENCE.md 9).
    """
    with Recorder(account, "profiles", project, client) as recorder:
        if project is None:
            items = client.paginate("/v1/dashboard/clusterprofiles", body=PROFILES_OF_TENANT)
            return consume(recorder, PROFILES, items, accept=lambda v: v["scope"] != "project")
        items = client.paginate("/v1/dashboard/clusterprofiles", body=PROFILES_OF_PROJECT, project_uid=project.uid)
        return consume(
            recorder,
            PROFILES,
            items,
            project_for=lambda v: project.pk,
            accept=lambda v: v["scope"] == "project" and v["project_uid"] in ("", project.uid),
        )


def sync_edgehosts(account: PaletteAccount, client: PaletteClient, project: Project) -> SyncRun:
    """List one project's edge hosts, Palette's side (`POST /v1/dashboard/edgehosts/search`, REFERENCE.md 10)."""
    items = client.paginate("/v1/dashboard/edgehosts/search", body=EDGEHOST_SEARCH, project_uid=project.uid)
    with Recorder(account, "edgehosts", project, client) as recorder:
        return consume(recorder, EDGEHOSTS, items, project_for=lambda v: project.pk)


EDGEHOST_SEARCH = {"filter": {"conjunction": "and", "filterGroups": []}, "sort": []}
