"""API JSON -> model field values. Pure functions, one per source (REFERENCE.md 7-12).

Every mapper tolerates missing or mistyped fields (a wrong type reads as absent); only an item
without `metadata.uid` is unusable, and the client never yields one.
"""

from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime


def timestamp(value: object) -> datetime | None:
    """An RFC 3339 string as an aware datetime; None for missing, malformed or Go's zero time."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def text(value: object, limit: int) -> str:
    """A string field cut to its column; numbers are written out, anything else is ""."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        value = str(value)
    return value[:limit] if isinstance(value, str) else ""


def obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def seq(value: object) -> list[dict]:
    """The dict elements of a list; anything else is empty."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def common_fields(item: dict) -> dict:
    meta = obj(item.get("metadata"))
    return {
        "uid": text(meta.get("uid"), 64),
        "name": text(meta.get("name"), 255),
        "created_at": timestamp(meta.get("creationTimestamp")),
        "modified_at": timestamp(meta.get("lastModifiedTimestamp")),
        "raw": item,
    }


def project_fields(item: dict) -> dict:
    """Fields of a `v1ProjectSummary` (REFERENCE.md 7)."""
    status = obj(obj(item.get("status")).get("status"))
    return {**common_fields(item), "is_disabled": status.get("isDisabled") is True}


def cluster_fields(item: dict) -> dict:
    """Fields of a `v1SpectroClusterSummary` search item (REFERENCE.md 8, field map)."""
    spec = obj(item.get("specSummary"))
    status = obj(item.get("status"))
    health = obj(status.get("health"))
    pools = seq(obj(spec.get("cloudConfig")).get("machinePools"))
    sizes = [count(p.get("size")) for p in pools]
    healthy = [count(p.get("healthy")) for p in pools]
    return {
        **common_fields(item),
        "project_uid": text(obj(spec.get("projectMeta")).get("uid"), 64),
        "cloud_type": text(obj(spec.get("cloudConfig")).get("cloudType"), 40),
        "state": text(status.get("state"), 40),
        "health": text(health.get("state"), 40),
        "kubernetes_version": kubernetes_version(spec),
        "profiles": cluster_profiles(spec),
        "node_count": sum(sizes) if pools and None not in sizes else None,
        "nodes_healthy": sum(healthy) if pools and None not in healthy else None,
        "heartbeat_at": timestamp(health.get("lastHeartBeatTimestamp")),
        "agent_version": text(health.get("agentVersion"), 40),
        "location": location(obj(status.get("location"))),
    }


def kubernetes_version(spec_summary: dict) -> str:
    """The k8s layer's pack version: the search item has no kubernetesVersion field (REFERENCE.md 8)."""
    templates = [obj(spec_summary.get("clusterProfileTemplate")), *seq(spec_summary.get("clusterProfileTemplates"))]
    for template in templates:
        for pack in seq(template.get("packs")):
            if pack.get("layer") == "k8s":
                return text(pack.get("tag") or pack.get("version"), 60)
    return ""


def detail_kubernetes_version(detail: object) -> str:
    """`status.kubeMeta.kubernetesVersion` of `GET /v1/dashboard/spectroclusters/{uid}` (REFERENCE.md 8)."""
    return text(obj(obj(obj(detail).get("status")).get("kubeMeta")).get("kubernetesVersion"), 60)


def cluster_profiles(spec_summary: dict) -> list[dict]:
    """The profile versions a cluster runs, sorted by name: each version has its own uid (REFERENCE.md 9)."""
    profiles = {}
    for template in seq(spec_summary.get("clusterProfileTemplates")) or [
        obj(spec_summary.get("clusterProfileTemplate"))
    ]:
        uid = text(template.get("uid"), 64)
        if uid:
            version = template.get("profileVersion") or template.get("version")
            profiles[uid] = {
                "uid": uid,
                "name": text(template.get("name"), 255),
                "type": text(template.get("type"), 20),
                "version": text(version, 60),
            }
    return sorted(profiles.values(), key=lambda p: (p["name"], p["uid"]))


def location(loc: dict) -> str:
    parts = [text(loc.get("regionName"), 60), text(loc.get("countryName"), 60)]
    return ", ".join(p for p in parts if p)


def pack_list(packs: object) -> list[dict]:
    return [
        {
            "name": text(p.get("name"), 120),
            "layer": text(p.get("layer"), 20),
            "version": text(p.get("tag") or p.get("version"), 60),
        }
        for p in seq(packs)
    ]


def profile_fields(item: dict) -> dict:
    """Fields of a `v1ClusterProfileSummary`; every version is its own item (REFERENCE.md 9)."""
    meta = obj(item.get("metadata"))
    annotations = obj(meta.get("annotations"))
    spec = obj(item.get("specSummary"))
    published = obj(spec.get("published")) or obj(spec.get("draft"))
    status = obj(item.get("status"))
    uid = text(meta.get("uid"), 64)
    versions = [
        {"uid": text(v.get("uid"), 64), "version": text(v.get("version"), 60)} for v in seq(spec.get("versions"))
    ]
    own = next((v["version"] for v in versions if v["uid"] == uid), "")
    packs = pack_list(published.get("packs"))
    clusters = [
        {"uid": text(c.get("uid"), 64), "name": text(c.get("name"), 255)} for c in seq(status.get("inUseClusters"))
    ]
    if not clusters and isinstance(status.get("inUseClusterUids"), list):
        clusters = [{"uid": text(u, 64), "name": ""} for u in status["inUseClusterUids"] if isinstance(u, str)]
    return {
        **common_fields(item),
        "project_uid": text(annotations.get("projectUid"), 64),
        "scope": text(annotations.get("scope"), 20),
        "profile_type": text(published.get("type"), 20),
        "cloud_type": text(published.get("cloudType"), 40),
        "version": own or (text(spec.get("version"), 60) if len(versions) <= 1 else ""),
        "latest_version": text(spec.get("version"), 60),
        "versions": versions,
        "packs": packs,
        "kubernetes_version": next((p["version"] for p in packs if p["layer"] == "k8s"), ""),
        "in_use_clusters": clusters,
        "cluster_count": len(clusters),
        "is_published": status.get("isPublished") is not False,
    }


def edgehost_fields(item: dict) -> dict:
    """Fields of a `v1EdgeHostsMetadata` search item (REFERENCE.md 10)."""
    spec = obj(item.get("spec"))
    status = obj(item.get("status"))
    health = obj(status.get("health"))
    device = obj(spec.get("device"))
    host = obj(spec.get("host"))
    os_info = obj(device.get("os"))
    clusters = seq(status.get("inUseClustersRef")) or seq(status.get("inUseClusters"))
    cluster = clusters[0] if clusters else {}
    return {
        **common_fields(item),
        "project_uid": text(obj(spec.get("projectMeta")).get("uid"), 64),
        "state": text(status.get("state"), 20),
        "health": text(health.get("state"), 20),
        "health_message": text(health.get("message"), 500),
        "host_address": text(host.get("hostAddress"), 255),
        "mac_address": text(host.get("macAddress"), 40),
        "arch": text(device.get("archType"), 20),
        "host_state": text(device.get("hostState"), 20),
        "host_type": text(device.get("hostType"), 20),
        "os": " ".join(p for p in (text(os_info.get("family"), 80), text(os_info.get("version"), 39)) if p),
        "agent_version": text(health.get("agentVersion"), 40),
        "cluster_uid": text(cluster.get("uid"), 64),
        "cluster_name": text(cluster.get("name"), 255),
        "site": text(obj(obj(item.get("metadata")).get("labels")).get(settings.PALETTE_SITE_LABEL), 255),
    }


def actor_name(actor: dict) -> str:
    user = obj(actor.get("user"))
    if user.get("emailId"):
        return text(user["emailId"], 255)
    full = " ".join(p for p in (text(user.get("firstName"), 100), text(user.get("lastName"), 100)) if p)
    return full or text(actor.get("serviceName"), 255) or text(actor.get("actorType"), 255)


def audit_entry(item: dict) -> dict:
    """TimelineEntry fields of a `v1Audit` (REFERENCE.md 11); its time is `metadata.creationTimestamp`."""
    meta = obj(item.get("metadata"))
    spec = obj(item.get("spec"))
    actor = obj(spec.get("actor"))
    resource = obj(spec.get("resource"))
    return {
        "source_id": text(meta.get("uid"), 255),
        "occurred_at": timestamp(meta.get("creationTimestamp")),
        "project_uid": text(obj(actor.get("project")).get("uid"), 64),
        "subject_kind": text(resource.get("kind"), 40),
        "subject_uid": text(resource.get("uid"), 64),
        "subject_name": text(resource.get("name"), 255),
        "actor": actor_name(actor),
        "action": text(spec.get("actionType"), 60),
        "severity": "",
        "message": text(spec.get("actionMsg"), 2000) or text(spec.get("userMsg"), 2000),
        "details": {"actorType": text(actor.get("actorType"), 20), "label": text(resource.get("label"), 60)},
    }


def event_entry(item: dict) -> dict:
    """TimelineEntry fields of a `v1Event` (REFERENCE.md 12): the subject is its relatedObject."""
    meta = obj(item.get("metadata"))
    related = obj(item.get("relatedObject"))
    involved = obj(item.get("involvedObject"))
    source = obj(item.get("source"))
    return {
        "source_id": text(meta.get("uid"), 255),
        "occurred_at": timestamp(meta.get("creationTimestamp")),
        "subject_kind": text(related.get("kind") or involved.get("kind"), 40),
        "subject_uid": text(related.get("uid") or involved.get("uid"), 64),
        "subject_name": text(related.get("name") or involved.get("name"), 255),
        "actor": text(source.get("component"), 255),
        "action": text(item.get("reason"), 60),
        "severity": text(item.get("severity"), 20),
        "message": text(item.get("message"), 2000),
        "details": {
            "involvedObject": {k: text(involved.get(k), 255) for k in ("kind", "name", "uid")},
            "host": text(source.get("host"), 255),
        },
    }
