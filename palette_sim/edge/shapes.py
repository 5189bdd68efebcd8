"""What an edge host says about itself on its Edge Host API (REFERENCE.md 13, Edge spec)."""

from palette_sim.fleet import catalog
from palette_sim.fleet.fleet import Fleet, iso
from palette_sim.fleet.records import Cluster, EdgeHost
from palette_sim.palette.shapes.clusters import k8s_version
from palette_sim.palette.shapes.edgehosts import nic

DAY = 86400.0


def local_meta(name: str, ident: str, created: float, modified: float, labels: dict | None = None) -> dict:
    """`v1MetaData` of the Edge spec (the key is `id`, not `uid`)."""
    return {
        "id": ident,
        "name": name,
        "labels": labels or {},
        "tags": {},
        "creationTimestamp": iso(created),
        "lastModifiedTimestamp": iso(modified),
    }


def hardware(h: EdgeHost) -> dict:
    family, version, kernel = catalog.OS_IMAGES[h.os]
    controller, vendor = catalog.DISK_VENDORS[h.disk]
    gpus = []
    if h.gpu >= 0:
        gvendor, model, memory = catalog.GPUS[h.gpu]
        gpus.append({"vendor": gvendor, "model": model, "gpuCount": 1, "memory": memory, "migCapable": False})
    return {
        "archType": h.arch,
        "cpu": {"cores": h.cores},
        "memory": {"sizeInMB": h.memory_mb},
        "os": {"family": family, "version": version, "kernel": "Linux", "kernelVersion": kernel},
        "disks": [{"controller": controller, "vendor": vendor, "size": h.disk_gb, "partitions": []}],
        "gpus": gpus,
    }


def host_info(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1EdgeHostInfo`: `GET /v1/edge-mgmt/edgehosts/current`."""
    return {
        "metadata": local_meta(h.host_id, h.host_id, h.created, h.modified, {"site": h.site}),
        "spec": {
            "connectionMode": "connected",
            "managementMode": "central",
            "nodeRole": h.role,
            "paletteEndpointURL": "api.spectrocloud.com",
            "hostInfo": {
                "hostState": "cluster" if h.cluster else "registration",
                "hostType": "appliance",
                "secureBoot": h.serial % 3 == 0,
            },
            "hardwareSpec": hardware(h),
            "networkInfo": [nic(h)],
        },
        "status": {
            "agentVersion": h.agent,
            "hostName": h.host_id,
            "configurationStatus": "configured" if h.cluster else "pending",
            "isClusterPhase": h.cluster is not None,
            "dns": {"nameservers": ["127.0.0.53"], "searchDomains": ["."], "options": []},
            "ntp": {"ntpServers": [], "fallbackNtpServers": ["time.example.net"]},
        },
    }


def health(ok: bool, reason: str = "") -> dict:
    return {"status": "Healthy" if ok else "Unhealthy", "reason": "" if ok else reason or "NotReady"}


def cluster_state(c: Cluster) -> str:
    return c.state if c.state in ("Provisioning", "Running", "Deleting", "Error") else "Provisioning"


def pool_name(c: Cluster, control_plane: bool) -> str:
    return "control-plane-pool" if control_plane else "worker-pool"


def cluster_details(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1Cluster`: `GET /v1/edge-mgmt/cluster/details`."""
    c = h.cluster
    pools = []
    node_pools = []
    for cp in (True, False):
        members = [m for m in c.hosts if (m.role in ("controlplane", "init")) == cp]
        if not members:
            continue
        pool = {"name": pool_name(c, cp), "isControlPlane": cp, "archType": c.arch}
        pools.append(
            {
                "pool": pool,
                "hosts": [{"hostID": m.host_id, "hostName": m.host_id, "hostAddress": m.ip} for m in members],
            }
        )
        node_pools.append(
            {
                "pool": pool,
                "nodes": [
                    {
                        "nodeName": m.host_id,
                        "ipv4": m.ip,
                        "architecture": m.arch,
                        "k8sVersion": k8s_version(c),
                        "age": f"{int((fleet.anchor - m.created) // DAY)}d",
                        "nodeState": cluster_state(c),
                        "health": health(m.health != "unhealthy"),
                    }
                    for m in members
                ],
            }
        )
    healthy = c.health == "Healthy"
    return {
        "metadata": local_meta(c.name, c.name, c.created, c.modified),
        "spec": {
            "hostIDs": [m.host_id for m in c.hosts],
            "vip": c.hosts[0].ip if c.hosts else "",
            "overlayCIDR": "",
            "ntpServers": [],
            "sshKeys": [],
            "nodePools": pools,
        },
        "status": {
            "clusterState": cluster_state(c),
            "clusterStateReason": "",
            "health": health(healthy, "NodesNotReady"),
            "k8sVersion": k8s_version(c),
            "agentVersion": c.agent,
            "isRebootPending": False,
            "ntpServersApplied": False,
            "sshKeysApplied": False,
            "clusterConditions": [
                {"type": "Ready", "status": "True" if healthy else "False", "reason": "", "message": ""}
            ],
            "nodePools": node_pools,
            "services": [],
        },
    }


def machine_pools(fleet: Fleet, h: EdgeHost) -> list[dict]:
    """`[v1EdgeNativeMachinePoolConfig]`."""
    c = h.cluster
    out = []
    for cp in (True, False):
        members = [m for m in c.hosts if (m.role in ("controlplane", "init")) == cp]
        if not members:
            continue
        out.append(
            {
                "name": pool_name(c, cp),
                "isControlPlane": cp,
                "size": len(members),
                "minSize": len(members),
                "maxSize": len(members),
                "labels": ["control-plane" if cp else "worker"],
                "machinePoolProperties": {"archType": c.arch},
                "useControlPlaneAsWorker": cp and len(c.hosts) == 1,
                "hosts": [
                    {
                        "hostUid": m.host_id,
                        "hostName": m.host_id,
                        "hostAddress": m.ip,
                        "nic": nic(m),
                        "IsCandidateCaption": False,
                    }
                    for m in members
                ],
            }
        )
    return out


def cluster_config(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1ClusterConfiguration`: `GET /v1/edge-mgmt/cluster`."""
    c = h.cluster
    return {
        "metadata": local_meta(c.name, c.name, c.created, c.modified),
        "spec": {
            "cloudConfig": {
                "metadata": {"name": f"{c.name}-config", "uid": c.config_uid},
                "spec": {
                    "clusterConfig": {
                        "controlPlaneEndpoint": {"host": c.hosts[0].ip, "type": "IP"},
                        "ntpServers": [],
                        "sshKeys": [],
                        "staticIp": False,
                    },
                    "machinePoolConfig": machine_pools(fleet, h),
                },
            },
            "profileVariables": [],
            "archiveUploadPath": "",
            "scheduleAt": "",
        },
    }


def applications(h: EdgeHost) -> dict:
    """`v1ClusterCurrentApplications`."""
    c = h.cluster
    templates = []
    for v in (c.infra, *c.addons):
        templates.append(
            {
                "uid": v.uid,
                "name": v.family.name,
                "type": v.family.type,
                "version": v.version,
                "description": "",
                "variables": [],
                "packs": [
                    {
                        "name": p.name,
                        "layer": p.layer,
                        "type": p.type,
                        "version": p.version,
                        "status": "Deployed" if c.state == "Running" else "Pending",
                        "startTime": iso(c.created),
                        "endTime": iso(c.created + 600),
                        "conditions": [],
                        "contents": [],
                    }
                    for p in v.packs
                ],
            }
        )
    return {"clusterProfileTemplates": templates}


def nodes(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1ClusterNodes`: `GET /v1/edge-mgmt/clusters/current/nodes`."""
    c = h.cluster
    family, version, kernel = catalog.OS_IMAGES[h.os]
    out = []
    for m in c.hosts:
        ready = m.health != "unhealthy"
        condition = {
            "conditionType": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "",
        }
        out.append(
            {
                "nodeName": m.host_id,
                "edgeHostID": m.host_id,
                "ipv4": m.ip,
                "architecture": m.arch,
                "kubeletVersion": k8s_version(c),
                "kernelVersion": kernel,
                "osImage": f"{family} {version}",
                "operatingSystem": "linux",
                "age": f"{int((fleet.anchor - m.created) // DAY)}d",
                "nodeStatus": condition,
                "nodeHealth": [condition],
            }
        )
    return {"nodes": out}
