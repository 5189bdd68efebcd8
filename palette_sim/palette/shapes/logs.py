"""Audit and event shapes, rendered from a ColumnLog position (REFERENCE.md 11, 12)."""

from palette_sim.fleet.catalog import AUDIT_ACTIONS, CLUSTER_REASONS, HOST_REASON_BASE, HOST_REASONS
from palette_sim.fleet.fleet import Fleet, iso

LABELS = {
    "spectrocluster": "Cluster",
    "edgehost": "EdgeHost",
    "clusterprofile": "ClusterProfile",
    "project": "Project",
    "user": "User",
}
VERBS = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "publish": "published",
    "deploy": "deployed",
    "activity": "logged in",
    "action": "action triggered",
}


def audit_subject(fleet: Fleet, pos: int) -> tuple[str, str, str]:
    """(kind, uid, name) of the resource an audit entry is about."""
    serial = fleet.audits.serial[pos]
    if serial < 0:
        person = fleet.people[max(fleet.audits.actor[pos], 0)]
        return "user", person.uid, person.email
    kind, uid, name, _project = fleet.registry[serial]
    return kind, uid, name


def audit(fleet: Fleet, pos: int) -> dict:
    """`v1Audit`."""
    log = fleet.audits
    action = AUDIT_ACTIONS[log.code[pos]]
    kind, uid, name = audit_subject(fleet, pos)
    project_index = log.project[pos]
    project = fleet.projects[project_index] if project_index >= 0 else None
    actor_index = log.actor[pos]
    if actor_index >= 0:
        person = fleet.people[actor_index]
        actor = {
            "actorType": "user",
            "user": {
                "uid": person.uid,
                "emailId": person.email,
                "firstName": person.first,
                "lastName": person.last,
                "org": fleet.org,
            },
            "project": {"uid": project.uid, "name": project.name} if project else {"uid": "", "name": ""},
            "serviceName": "",
        }
    else:
        actor = {
            "actorType": "system",
            "project": {"uid": project.uid, "name": project.name} if project else {"uid": "", "name": ""},
            "serviceName": "hubble",
        }
    stamp = iso(log.ts[pos])
    return {
        "metadata": {
            "uid": log.uid(pos),
            "name": "",
            "creationTimestamp": stamp,
            "lastModifiedTimestamp": stamp,
            "labels": {},
            "annotations": {},
        },
        "spec": {
            "actionType": action,
            "actionMsg": f"{LABELS[kind]} '{name}' {VERBS[action]}",
            "userMsg": "",
            "contentMsg": "",
            "actor": actor,
            "resource": {"kind": kind, "uid": uid, "name": name, "label": LABELS[kind]},
        },
    }


def audit_sysmsg(fleet: Fleet, pos: int) -> dict:
    """`v1AuditSysMsg`."""
    item = audit(fleet, pos)
    return {"actionMsg": item["spec"]["actionMsg"], "contentMsg": ""}


def event_reason(code: int) -> tuple[str, str, str, str]:
    if code >= HOST_REASON_BASE:
        return HOST_REASONS[code - HOST_REASON_BASE]
    return CLUSTER_REASONS[code]


MESSAGES = {
    "NodeNotReady": "Node {node} status is now: NodeNotReady",
    "NodeReady": "Node {node} status is now: NodeReady",
    "BackOff": "Back-off restarting failed container in pod {node}",
    "Scheduled": "Successfully assigned default/{node} to {name}",
    "PackDeployed": "All manifests of the packs of {name} are deployed",
    "HeartbeatMissed": "Cluster {name} missed its heartbeat",
    "UpgradeStarted": "Cluster {name} is being upgraded to a new profile version",
    "CertificateExpiring": "Certificates of {name} expire within 30 days",
    "EdgeHostHeartbeatMissed": "Edge host {name} missed its heartbeat",
    "EdgeHostRegistered": "Edge host {name} registered with Palette",
    "EdgeHostRebooted": "Edge host {name} rebooted",
    "DiskPressure": "Node {name} has disk pressure",
    "StateChanged": "{name} changed state",
}


def event(fleet: Fleet, pos: int) -> dict:
    """`v1Event`."""
    log = fleet.events
    kind, uid, name, _project = fleet.registry[log.serial[pos]]
    reason, severity, component, involved_kind = event_reason(log.code[pos])
    node = f"{name[:40]}-{'cp' if pos % 3 == 0 else 'worker'}-{pos % 4096:03x}"
    involved_name = name if involved_kind in ("SpectroCluster", "EdgeHost") else node
    event_uid = log.uid(pos)
    stamp = iso(log.ts[pos])
    return {
        "metadata": {
            "uid": event_uid,
            "name": f"{name[:40]}.{pos:x}",
            "creationTimestamp": stamp,
            "lastModifiedTimestamp": stamp,
            "labels": {},
            "annotations": {},
        },
        "involvedObject": {
            "kind": involved_kind,
            "name": involved_name,
            "uid": uid if involved_name == name else event_uid[::-1],
        },
        "relatedObject": {"kind": kind, "name": name, "uid": uid},
        "reason": reason,
        "message": MESSAGES.get(reason, "{name}").format(node=node, name=name),
        "severity": severity,
        "source": {"component": component, "host": node},
    }
