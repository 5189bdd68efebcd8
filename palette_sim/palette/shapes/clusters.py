"""Cluster shapes: search items, metadata forms, the full object and the summaries (REFERENCE.md 8)."""

from palette_sim.fleet.fleet import Fleet, iso
from palette_sim.fleet.records import Cluster
from palette_sim.palette.shapes.common import (
    frozen,
    geo_location,
    location,
    object_meta,
    pack_ref,
    project_meta,
    scope_annotations,
    template_full,
    template_meta,
)

# Pieces every cluster shares, pruned once (see palette_sim.palette.omitempty).
NO_COST = frozen({"total": 0, "cloud": {"compute": 0, "storage": 0, "total": 0}})
CLUSTER_CONFIG = frozen({"timezone": "UTC"})
NOT_IMPORTED = frozen({"state": "", "isBrownfield": False, "importLink": ""})
NO_FIPS = frozen({"mode": "none"})
NO_NOTIFICATIONS = frozen({"isAvailable": False, "isTemplateVariableResolutionPending": False})
REPAVE_APPROVED = frozen({"state": "Approved"})


def meta(fleet: Fleet, c: Cluster) -> dict:
    return object_meta(
        c.uid, c.name, c.created, c.modified, c.labels, scope_annotations(c.project, fleet.tenant_uid), c.deleted
    )


def k8s_version(c: Cluster) -> str:
    """`status.kubeMeta.kubernetesVersion`, written the way the distribution reports it."""
    for pack in c.infra.packs:
        if pack.layer == "k8s":
            return f"v{pack.version}+k3s1" if pack.name == "edge-k3s" else f"v{pack.version}"
    return ""


def tags(c: Cluster) -> list[str]:
    return [f"{k}:{v}" for k, v in sorted(c.labels.items())]


def machine_pools(c: Cluster) -> list[dict]:
    pools = [
        {
            "cloudType": c.cloud,
            "isControlPlane": True,
            "size": c.cp_size,
            "healthy": c.cp_size if c.health != "UnHealthy" else max(c.cp_size - 1, 0),
            "maintenanceMode": 0,
            "labels": ["control-plane"],
        }
    ]
    if c.worker_size:
        pools.append(
            {
                "cloudType": c.cloud,
                "isControlPlane": False,
                "size": c.worker_size,
                "healthy": c.workers_healthy,
                "maintenanceMode": 0,
                "labels": ["worker"],
            }
        )
    return pools


def health(c: Cluster) -> dict:
    conditions = []
    if c.health == "UnHealthy":
        conditions.append(
            {
                "type": "NodeNotReady",
                "message": f"{c.cp_size + c.worker_size - c.workers_healthy - c.cp_size or 1} node(s) not ready",
                "relatedObject": {"kind": "spectrocluster", "name": c.name, "uid": c.uid},
            }
        )
    return {
        "state": c.health,
        "agentVersion": c.agent,
        "lastHeartBeatTimestamp": iso(c.heartbeat),
        "conditions": conditions,
    }


def metrics(c: Cluster) -> dict:
    if c.state != "Running":
        return {}
    used = 0.35 if c.health == "Healthy" else 0.8
    stamp = iso(c.heartbeat)
    cpu, mem = c.cpu_millicores, c.memory_mib
    return {
        "cpu": {
            "usage": int(cpu * used),
            "request": int(cpu * 0.45),
            "limit": int(cpu * 0.9),
            "total": cpu,
            "unit": "MilliCore",
            "lastUpdatedTime": stamp,
        },
        "memory": {
            "usage": int(mem * used),
            "request": int(mem * 0.4),
            "limit": int(mem * 0.7),
            "total": mem,
            "unit": "MiB",
            "lastUpdatedTime": stamp,
        },
    }


def cost(c: Cluster) -> dict:
    if c.cloud in ("edge-native", "vsphere", "maas"):
        return NO_COST
    compute = round(c.cpu_millicores / 1000 * 0.031 * 730, 2)
    storage = round((c.cp_size + c.worker_size) * 8.0, 2)
    return {
        "total": round(compute + storage, 2),
        "cloud": {"compute": compute, "storage": storage, "total": round(compute + storage, 2)},
    }


def hourly(c: Cluster) -> dict:
    monthly = cost(c)
    scale = 1 / 730
    cloud = monthly["cloud"]
    return {
        "total": round(monthly["total"] * scale, 4),
        "cloud": {k: round(v * scale, 4) for k, v in cloud.items()},
    }


def summary(fleet: Fleet, c: Cluster) -> dict:
    """`v1SpectroClusterSummary`: one item of `POST /v1/dashboard/spectroclusters/search`."""
    return {
        "metadata": meta(fleet, c),
        "specSummary": {
            "archTypes": [c.arch],
            "cloudAccountMeta": {"uid": c.account_uid, "name": f"{c.cloud}-account" if c.account_uid else ""},
            "cloudConfig": {"uid": c.config_uid, "cloudType": c.cloud, "machinePools": machine_pools(c)},
            "clusterConfig": CLUSTER_CONFIG,
            "clusterProfileTemplate": template_meta(c.infra),
            # As in the reference example: packs only on the infra template, empty in the list.
            "clusterProfileTemplates": [template_meta(v, with_packs=False) for v in (c.infra, *c.addons)],
            "projectMeta": project_meta(c.project),
        },
        "status": {
            "state": c.state,
            "health": health(c),
            "clusterImport": NOT_IMPORTED,
            "cost": cost(c),
            "hourlyRate": hourly(c),
            "fips": NO_FIPS,
            "location": location(c.place),
            "metrics": metrics(c),
            "notifications": NO_NOTIFICATIONS,
            "repave": REPAVE_APPROVED,
        },
    }


def meta_summary(fleet: Fleet, c: Cluster) -> dict:
    """`v1SpectroClusterMetaSummary`: `POST /v1/dashboard/spectroclusters/metadata/search`."""
    return {
        "metadata": meta(fleet, c),
        "specSummary": {
            "cloudType": c.cloud,
            "cloudRegion": c.region,
            "cloudAccountUid": c.account_uid,
            "clusterType": "PureManage",
            "importMode": "",
            "archType": [c.arch],
            "tags": tags(c),
            "location": location(c.place),
            "projectMeta": project_meta(c.project),
        },
        "status": {
            "state": c.state,
            "health": {"state": c.health, "isHeartBeatFailed": c.health != "Healthy" and c.state == "Running"},
            "cost": {"total": cost(c)["total"]},
            "fips": NO_FIPS,
            "updates": {"isUpdatesPending": c.infra is not c.infra.family.latest},
        },
    }


def cluster_meta(fleet: Fleet, c: Cluster) -> dict:
    """`v1SpectroClusterMeta`: one element of the bare array `GET /v1/dashboard/spectroclusters/meta`."""
    return {
        "metadata": meta(fleet, c),
        "spec": {
            "cloudType": c.cloud,
            "cloudRegion": c.region,
            "cloudAccountUid": c.account_uid,
            "clusterType": "PureManage",
            "archType": [c.arch],
            "tags": tags(c),
            "location": location(c.place),
        },
        "status": {"state": c.state},
    }


def conditions(c: Cluster) -> list[dict]:
    ready = "True" if c.state == "Running" else "False"
    stamp = iso(c.modified)
    return [
        {"type": "ControlPlaneReady", "status": ready, "reason": "", "message": "", "lastTransitionTime": stamp},
        {
            "type": "NodesReady",
            "status": "True" if c.health == "Healthy" else "False",
            "reason": "",
            "message": "",
            "lastTransitionTime": stamp,
        },
    ]


def pack_status(c: Cluster) -> list[dict]:
    ok = c.state == "Running"
    out = []
    for version in [c.infra, *c.addons]:
        for pack in version.packs:
            out.append(
                {
                    "name": pack.name,
                    "type": pack.type,
                    "version": pack.version,
                    "profileUid": version.uid,
                    "condition": {"type": "Ready", "status": "True" if ok else "False", "reason": "", "message": ""},
                    "startTime": iso(c.created),
                    "endTime": iso(c.created + 600),
                }
            )
    return out


def api_endpoints(c: Cluster) -> list[dict]:
    host = c.hosts[0].ip if c.hosts else f"{c.name}.{c.region or 'edge'}.k8s.example"
    return [{"host": host, "port": 6443}]


def full(fleet: Fleet, c: Cluster) -> dict:
    """`v1SpectroCluster`: `GET /v1/spectroclusters/{uid}` (no health block, REFERENCE.md 8)."""
    return {
        "apiVersion": "v1",
        "kind": "SpectroCluster",
        "metadata": meta(fleet, c),
        "spec": {
            "cloudType": c.cloud,
            "cloudConfigRef": {"kind": c.cloud, "name": f"{c.name}-config", "uid": c.config_uid},
            "clusterType": "PureManage",
            "clusterConfig": {"timezone": "UTC", "lifecycleConfig": {"pause": False}},
            "clusterProfileTemplates": [template_full(v) for v in (c.infra, *c.addons)],
        },
        "status": {
            "state": c.state,
            "conditions": conditions(c),
            "apiEndpoints": api_endpoints(c),
            "clusterImport": NOT_IMPORTED,
            "location": geo_location(c.place),
            "fips": NO_FIPS,
            "packs": pack_status(c),
            "upgrades": [{"reason": ["profile update"], "timestamp": iso(c.infra.created)}],
            "repave": REPAVE_APPROVED,
            "spcApply": {"canBeApplied": True, "actionType": "DownloadAndInstall"},
            "profileStatus": {"hasUserMacros": False},
        },
    }


def uid_summary(fleet: Fleet, c: Cluster) -> dict:
    """`v1SpectroClusterUidSummary`: `GET /v1/dashboard/spectroclusters/{uid}` and `/overview`."""
    return {
        "metadata": meta(fleet, c),
        "spec": {
            "archTypes": [c.arch],
            "cloudConfig": {"uid": c.config_uid, "cloudType": c.cloud, "machinePools": machine_pools(c)},
            "cloudaccount": {"uid": c.account_uid, "name": f"{c.cloud}-account" if c.account_uid else ""},
            "clusterProfileTemplate": template_meta(c.infra),
            "clusterProfileTemplates": [template_meta(v) for v in (c.infra, *c.addons)],
        },
        "status": {
            "state": c.state,
            "health": health(c),
            "kubeMeta": {
                "kubernetesVersion": k8s_version(c),
                "hasKubeConfig": c.state == "Running",
                "hasKubeConfigClient": False,
                "hasManifest": False,
            },
            "metrics": metrics(c),
            "cost": cost(c),
            "hourlyRate": hourly(c),
            "location": location(c.place),
            "conditions": conditions(c),
            "apiEndpoints": api_endpoints(c),
            "packs": pack_status(c),
            "services": [],
            "addOnServices": [],
            "clusterImport": NOT_IMPORTED,
            "fips": NO_FIPS,
            "notifications": NO_NOTIFICATIONS,
            "spcApply": {"canBeApplied": True, "actionType": "DownloadAndInstall"},
            "upgrades": [{"reason": ["profile update"], "timestamp": iso(c.infra.created)}],
            "workspaces": [],
        },
    }


def profile_list(fleet: Fleet, versions: list) -> dict:
    """`v1SpectroClusterProfileList`: `GET /v1/spectroclusters/{uid}/profiles`, `/v1/edgehosts/{uid}/profiles`."""
    profiles = []
    for version in versions:
        family = version.family
        profiles.append(
            {
                "metadata": object_meta(
                    version.uid,
                    family.name,
                    version.created,
                    version.modified,
                    {},
                    scope_annotations(family.project, fleet.tenant_uid),
                ),
                "spec": {
                    "cloudType": family.cloud,
                    "type": family.type,
                    "version": version.number,
                    "relatedObject": {"kind": "clusterprofile", "name": family.name, "uid": version.uid},
                    "packs": [pack_entity(fleet, version, p) for p in version.packs],
                },
            }
        )
    return {"profiles": profiles}


def pack_entity(fleet: Fleet, version, pack) -> dict:
    """`v1ClusterProfilePacksEntity`."""
    ref = pack_ref(pack)
    return {
        "metadata": object_meta(pack.uid, pack.name, version.created, version.modified),
        "spec": {
            "name": pack.name,
            "displayName": pack.display,
            "layer": pack.layer,
            "version": pack.version,
            "type": pack.type,
            "registryUid": ref["registryUid"],
            "cloudTypes": [version.family.cloud],
            "addonType": "" if pack.layer != "addon" else "app",
            "values": f"# {pack.name} {pack.version}\n",
        },
        "status": {},
    }
