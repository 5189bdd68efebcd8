"""An edge host's registry, certificates, logs and statuses on its Edge Host API (REFERENCE.md 13)."""

import random

from palette_sim.fleet.fleet import Fleet, iso
from palette_sim.fleet.records import EdgeHost

DAY = 86400.0


def registry_content(h: EdgeHost) -> dict:
    """`v1HarborContentsDetails`: images and charts held on the host."""
    c = h.cluster
    items = []
    for v in (c.infra, *c.addons) if c else ():
        for p in v.packs:
            kind = "chart" if p.type == "helm" else "pack"
            items.append(
                {
                    "name": p.name,
                    "version": p.version,
                    "contentType": kind,
                    "size": f"{(len(p.name) * 7) % 90 + 10}MB",
                    "dateAdded": iso(v.created),
                }
            )
    return {"status": items}


def registry_sync(h: EdgeHost) -> dict:
    return {"statusMessage": "all content synced", "errors": {}, "pendingItems": []}


def registry_health(h: EdgeHost) -> dict:
    """`v1HarborHealthDetails` (capitalised keys, as in the spec)."""
    if h.cluster is None:
        return {
            "State": "NotInstalled",
            "Message": "",
            "DiskCapacity": "",
            "DiskUsed": "",
            "DiskAvailable": "",
            "UsagePercentage": "",
        }
    used = h.disk_gb // 4 + h.serial % 20
    return {
        "State": "Healthy" if h.health != "unhealthy" else "Unhealthy",
        "Message": "",
        "DiskCapacity": f"{h.disk_gb}G",
        "DiskUsed": f"{used}G",
        "DiskAvailable": f"{h.disk_gb - used}G",
        "UsagePercentage": f"{100 * used // h.disk_gb}%",
    }


def certificates(fleet: Fleet, h: EdgeHost) -> dict:
    """`v1CertificateDetails`: the cluster CA certificates, some close to expiry."""
    issued = h.cluster.created
    expires = issued + 365 * DAY
    child = {"name": "apiserver", "nodeName": h.host_id, "issueDate": iso(issued), "expirationDate": iso(expires)}
    return {
        "certificates": [
            {"name": "ca", "issueDate": iso(issued), "expirationDate": iso(issued + 3650 * DAY), "childCerts": [child]}
        ],
        "needsRenewal": expires - fleet.anchor < 30 * DAY,
        "earliestAutoRenewalTime": iso(expires - 30 * DAY),
    }


def local_event(fleet: Fleet, h: EdgeHost, i: int, rng: random.Random) -> dict:
    reason = rng.choice(("Pulled", "Started", "NodeReady", "BackOff"))
    t = fleet.anchor - rng.uniform(0, 3 * DAY)
    return {
        "metadata": {
            "uid": f"{h.uid[:16]}{i:08x}",
            "name": f"{h.host_id[:20]}.{i:x}",
            "namespace": "kube-system",
            "creationTimestamp": iso(t),
        },
        "involvedObject": {"kind": "Pod", "name": f"coredns-{i:04x}", "namespace": "kube-system"},
        "reason": reason,
        "message": f"{reason} on {h.host_id}",
        "severity": "Warning" if reason == "BackOff" else "Normal",
        "source": {"component": "kubelet", "host": h.host_id},
    }


def events(fleet: Fleet, h: EdgeHost, count: int = 10) -> dict:
    """`v1Events` of the Edge spec: items only, no listmeta."""
    rng = random.Random(h.serial * 7919 + fleet.seed)
    return {"items": [local_event(fleet, h, i, rng) for i in range(count)]}


def audits(fleet: Fleet, h: EdgeHost, count: int = 30) -> list[dict]:
    """The host's own audit trail (`v1AuditsList` items, Edge spec), newest first."""
    rng = random.Random(h.serial * 104729 + fleet.seed)
    out = []
    t = fleet.anchor
    for _ in range(count):
        t -= rng.uniform(0.5, 3) * DAY
        action = rng.choice(("create", "update", "delete", "action", "activity"))
        out.append(
            {
                "metadata": {"createTimestamp": iso(t), "edgeHostId": h.host_id},
                "spec": {
                    "actionType": action,
                    "actor": {"actorType": "user" if action == "activity" else "system", "uid": "kairos"},
                    "message": f"{action} on {h.host_id}",
                    "resource": {"kind": "edgehost", "name": h.host_id, "uid": h.host_id},
                },
            }
        )
    return out


def lifecycle(fleet: Fleet, h: EdgeHost) -> dict:
    stamp = iso(h.created)
    done = [{"type": "Registered", "status": "True", "reason": "", "message": "", "lastTransitionTime": stamp}]
    if h.cluster:
        done.append(
            {
                "type": "ClusterReady",
                "status": "True" if h.cluster.state == "Running" else "False",
                "reason": "",
                "message": "",
            }
        )
    order = [
        {
            "category": "edgeHost",
            "order": 1,
            "conditionsOrder": [
                {"type": "Registered", "typeLabel": "Registered", "order": 1, "reason": "", "reasonLabel": ""}
            ],
        }
    ]
    return {"clusterEvents": done[1:], "edgeHostEvents": done[:1], "expectedOrder": order}


def configuration_status(h: EdgeHost) -> dict:
    return {"state": "Configured" if h.cluster else "Not Configured", "errorMessage": ""}


def link_status(h: EdgeHost) -> dict:
    return {"status": "Completed" if h.cluster else "Pending", "peers": [], "errorMessage": ""}


def pair_details(fleet: Fleet, h: EdgeHost) -> dict:
    status = {"in-use": "Paired", "ready": "Paired", "unpaired": "Pairing"}[h.state]
    return {
        "status": status,
        "paletteEndpoint": "api.spectrocloud.com",
        "pairingUid": h.uid,
        "insecure": False,
        "message": "",
    }


def settings(h: EdgeHost) -> dict:
    return {"installationMode": "connected", "managementMode": "central", "featureFlags": {}}


def interfaces(h: EdgeHost) -> dict:
    return {
        "interfaces": [
            {
                "name": h.nic,
                "mac": h.mac,
                "ip": h.ip,
                "subnet": "255.0.0.0",
                "gateway": "127.0.0.1",
                "mtu": 1500,
                "status": "up",
                "type": "dhcp",
                "isClusterNIC": h.cluster is not None,
                "configStatus": "applied",
                "nameservers": ["127.0.0.53"],
            }
        ]
    }
