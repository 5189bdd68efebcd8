"""Edge host shapes on the Palette side (REFERENCE.md 10)."""

from palette_sim.fleet import catalog
from palette_sim.fleet.fleet import Fleet
from palette_sim.fleet.records import EdgeHost
from palette_sim.palette.shapes.common import (
    object_meta,
    pack_ref_summary,
    project_meta,
    scope_annotations,
    template_full,
)


def meta(fleet: Fleet, h: EdgeHost) -> dict:
    labels = {"site": h.site, "city": catalog.PLACES[h.place][4]}
    return object_meta(h.uid, h.host_id, h.created, h.modified, labels, scope_annotations(h.project, fleet.tenant_uid))


def nic(h: EdgeHost) -> dict:
    """`v1Nic`: the host's default NIC carries its loopback address, where its Edge Host API answers."""
    return {
        "nicName": h.nic,
        "macAddr": h.mac,
        "ip": h.ip,
        "subnet": "255.0.0.0",
        "gateway": "127.0.0.1",
        "dns": ["127.0.0.53"],
        "isDefault": True,
    }


def device(h: EdgeHost) -> dict:
    """`v1DeviceSpec`."""
    family, version, kernel = catalog.OS_IMAGES[h.os]
    controller, vendor = catalog.DISK_VENDORS[h.disk]
    used = h.disk_gb // 5 + h.serial % 40
    gpus = []
    if h.gpu >= 0:
        gvendor, model, memory = catalog.GPUS[h.gpu]
        gpus.append(
            {
                "vendor": gvendor,
                "model": model,
                "gpuCount": 1,
                "memory": memory,
                "migCapable": False,
                "migStrategy": "",
                "addresses": {},
            }
        )
    return {
        "archType": h.arch,
        "hostState": "cluster" if h.cluster else "registration",
        "hostType": "appliance",
        "secureBoot": h.serial % 3 == 0,
        "cpu": {"cores": h.cores},
        "memory": {"sizeInMB": h.memory_mb},
        "os": {"family": family, "version": version, "kernel": "Linux", "kernelVersion": kernel},
        "disks": [
            {
                "controller": controller,
                "vendor": vendor,
                "size": h.disk_gb,
                "partitions": [
                    {
                        "mountPoint": "/usr/local",
                        "fileSystemType": "ext4",
                        "totalSpace": h.disk_gb - 40,
                        "usedSpace": used,
                        "freeSpace": h.disk_gb - 40 - used,
                    }
                ],
            }
        ],
        "nics": [nic(h)],
        "gpus": gpus,
    }


def health(h: EdgeHost) -> dict:
    """`v1EdgeHostHealth`; unknown health is an absent `state` (the enum has no empty value)."""
    out = {"agentVersion": h.agent, "message": "" if h.health != "unhealthy" else "heartbeat missed"}
    if h.health:
        out["state"] = h.health
    return out


def cluster_refs(h: EdgeHost) -> list[dict]:
    return [{"uid": h.cluster.uid, "name": h.cluster.name}] if h.cluster else []


def profile_versions(h: EdgeHost) -> list:
    return [h.cluster.infra, *h.cluster.addons] if h.cluster else []


def search_item(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1EdgeHostsMetadata`: one item of `POST /v1/dashboard/edgehosts/search`."""
    return {
        "metadata": meta(fleet, h),
        "spec": {
            "type": "edge-native",
            "projectMeta": project_meta(h.project),
            "host": {"hostAddress": h.ip, "macAddress": h.mac},
            "device": device(h),
            "clusterProfileTemplates": [
                {
                    "uid": v.uid,
                    "name": v.family.name,
                    "type": v.family.type,
                    "cloudType": v.family.cloud,
                    "version": v.version,
                    "packs": [pack_ref_summary(p) for p in v.packs],
                }
                for v in profile_versions(h)
            ],
        },
        "status": {
            "state": h.state,
            "health": health(h),
            "inUseClusters": cluster_refs(h),
            "inUseClustersRef": cluster_refs(h),
        },
    }


def device_full(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1EdgeHostDevice`: `GET /v1/edgehosts/{uid}` (secrets such as hostAuthToken left out)."""
    return {
        "aclmeta": {
            "ownerUid": fleet.people[h.serial % len(fleet.people)].uid,
            "projectUid": h.project.uid,
            "tenantUid": fleet.tenant_uid,
        },
        "metadata": meta(fleet, h),
        "spec": {
            "type": "edge-native",
            "version": h.agent,
            "host": {
                "hostUid": h.host_id,
                "hostAddress": h.ip,
                "macAddress": h.mac,
                "project": {"uid": h.project.uid, "name": h.project.name},
                "remoteSsh": "disabled",
            },
            "device": device(h),
            "clusterProfileTemplates": [template_full(v) for v in profile_versions(h)],
            "properties": {"networks": [], "storagePools": []},
            "service": {"name": "stylus", "version": h.agent},
            "tunnelConfig": {"remoteSsh": "disabled", "remoteSshTempUser": "disabled"},
        },
        "status": {
            "state": h.state,
            "health": health(h),
            "inUseClusters": cluster_refs(h),
            "inUseClustersRef": cluster_refs(h),
            "packs": [],
            "profileStatus": {"hasUserMacros": False},
            "tunnelStatus": {"ssh": {"state": "Deleted", "message": ""}},
        },
    }


def host_meta(h: EdgeHost) -> dict:
    """`v1EdgeHostMeta`: one element of `GET /v1/edgehosts/metadata`."""
    return {
        "uid": h.uid,
        "name": h.host_id,
        "state": h.state,
        "healthState": h.health,
        "archType": h.arch,
        "edgeHostType": "edge-native",
    }
