"""Cluster profile and project shapes (REFERENCE.md 7, 9)."""

from palette_sim.fleet.fleet import Fleet, iso
from palette_sim.fleet.records import Cluster, ProfileVersion, Project
from palette_sim.palette.shapes.clusters import pack_entity
from palette_sim.palette.shapes.common import object_meta, pack_ref_summary, scope_annotations, template_full


def profile_meta(fleet: Fleet, v: ProfileVersion) -> dict:
    family = v.family
    return object_meta(
        v.uid, family.name, v.created, v.modified, {}, scope_annotations(family.project, fleet.tenant_uid)
    )


def versions_list(v: ProfileVersion) -> list[dict]:
    return [{"uid": other.uid, "version": other.version} for other in v.family.versions]


def profile_summary(fleet: Fleet, v: ProfileVersion, users: list[Cluster]) -> dict:
    """`v1ClusterProfileSummary`: one item of `POST /v1/dashboard/clusterprofiles`.

    Each version is its own item; `specSummary.version` is the latest version of the name.
    """
    family = v.family
    return {
        "metadata": profile_meta(fleet, v),
        "specSummary": {
            "version": family.latest.version,
            "versions": versions_list(v),
            "published": {
                "type": family.type,
                "cloudType": family.cloud,
                "packs": [pack_ref_summary(p) for p in v.packs],
            },
        },
        "status": {
            "isPublished": True,
            "inUseClusters": [{"uid": c.uid, "name": c.name} for c in users],
            "inUseClusterUids": [c.uid for c in users],
            "inUseClusterTemplates": [],
            "fips": {"mode": "none"},
            "pack": {"deprecated": 0, "deleted": 0, "disabled": 0},
        },
    }


def profile_metadata(v: ProfileVersion) -> dict:
    """`v1ClusterProfileMetadata`."""
    return {
        "metadata": {"uid": v.uid, "name": v.family.name},
        "spec": {"cloudType": v.family.cloud, "version": v.version},
    }


def profile_full(fleet: Fleet, v: ProfileVersion, users: list[Cluster]) -> dict:
    """`v1ClusterProfile`: `GET /v1/clusterprofiles/{uid}`."""
    return {
        "apiVersion": "v1",
        "kind": "ClusterProfile",
        "metadata": profile_meta(fleet, v),
        "spec": {"version": v.version, "versions": versions_list(v), "published": template_full(v)},
        "status": {
            "isPublished": True,
            "hasUserMacros": False,
            "inUseClusters": [
                {
                    "uid": c.uid,
                    "name": c.name,
                    "kind": "spectrocluster",
                    "projectUid": c.project.uid,
                    "tenantUid": fleet.tenant_uid,
                }
                for c in users
            ],
            "inUseClusterUids": [c.uid for c in users],
            "inUseClusterTemplates": [],
        },
    }


def profile_packs(fleet: Fleet, v: ProfileVersion) -> dict:
    """`v1ClusterProfilePacksEntities`: `GET /v1/clusterprofiles/{uid}/packs`."""
    return {"items": [pack_entity(fleet, v, p) for p in v.packs]}


def project_status(fleet: Fleet, p: Project) -> dict:
    """`v1ProjectStatusSummary`, in one pass over the project's clusters."""
    healthy = unhealthy = running = errored = millicores = 0
    live = []
    for c in fleet.clusters_by_project.get(p.uid, []):
        if c.state == "Deleted":
            continue
        live.append(c)
        healthy += c.health == "Healthy"
        unhealthy += c.health == "UnHealthy"
        running += c.state == "Running"
        errored += c.state == "Error"
        millicores += c.cpu_millicores
    return {
        "clustersHealth": {"healthy": healthy, "unhealthy": unhealthy, "running": running, "errored": errored},
        "status": {"isDisabled": False, "cleanUpStatus": {"state": "", "msg": "", "cleanedResources": []}},
        "usage": {
            "pureCpuCores": millicores / 1000,
            "alloyCpuCores": 0,
            "clusters": [
                {"uid": c.uid, "name": c.name, "cpuCores": c.cpu_millicores / 1000, "isAlloy": False} for c in live[:25]
            ],
        },
    }


def project_summary(fleet: Fleet, p: Project) -> dict:
    """`v1ProjectSummary`: one item of `POST /v1/dashboard/projects`."""
    return {
        "metadata": object_meta(
            p.uid, p.name, p.created, p.modified, p.labels, {"scope": "tenant", "tenantUid": fleet.tenant_uid}
        ),
        "specSummary": {
            "logoUrl": "",
            "teams": [{"uid": uid, "name": name} for uid, name in p.teams],
            "users": [{"uid": u.uid, "name": f"{u.first} {u.last}"} for u in p.users],
        },
        "status": project_status(fleet, p),
    }


def project_full(fleet: Fleet, p: Project) -> dict:
    """`v1Project`: `GET /v1/projects/{uid}` and the items of the deprecated `GET /v1/projects`."""
    return {
        "metadata": object_meta(
            p.uid, p.name, p.created, p.modified, p.labels, {"scope": "tenant", "tenantUid": fleet.tenant_uid}
        ),
        "spec": {
            "logoUrl": "",
            "teams": [{"teamId": uid, "roles": [f"{uid[:16]}0000a001"]} for uid, _ in p.teams],
            "users": [{"userId": u.uid, "roles": [f"{u.uid[:16]}0000a002"]} for u in p.users],
            "alerts": [],
        },
        "status": {"isDisabled": False, "cleanUpStatus": {"state": "", "msg": "", "cleanedResources": []}},
    }


def user_item(fleet: Fleet, index: int) -> dict:
    """`v1User`: one item of `GET /v1/users`."""
    person = fleet.people[index]
    created = fleet.anchor - 800 * 86400 + index * 86400
    return {
        "metadata": object_meta(
            person.uid,
            f"{person.first} {person.last}",
            created,
            created,
            {},
            {"scope": "tenant", "tenantUid": fleet.tenant_uid},
        ),
        "spec": {"emailId": person.email, "firstName": person.first, "lastName": person.last, "roles": []},
        "status": {"isActive": True, "isPasswordResetting": False, "lastSignIn": iso(fleet.anchor - index * 3600)},
    }
