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


# PostgreSQL's B-tree index holds about 2,700 bytes a row, and some indexes pair two such columns:
# the columns the pages sort and filter on keep this many bytes (the raw JSON keeps every one).
INDEXED_BYTES = 1000
UID_LENGTH = 64  # Palette's uids are 24 hex digits; a longer one is refused, never cut into another's


def text(value: object) -> str:
    """A string field, whole; numbers are written out, anything else is ""."""
    if isinstance(value, str):  # nearly always: the other cases are rare
        return value
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def key(value: object) -> str:
    """A string field of a column the pages index: whole up to INDEXED_BYTES of UTF-8."""
    whole = text(value)
    if len(whole) * 4 <= INDEXED_BYTES or len(whole.encode()) <= INDEXED_BYTES:
        return whole
    return whole.encode()[: INDEXED_BYTES - 3].decode(errors="ignore") + "…"


def uid(value: object) -> str:
    """A uid, or "" when it is missing or longer than any uid (the item is then reported, not stored)."""
    whole = text(value)
    return whole if len(whole) <= UID_LENGTH else ""


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
        "uid": uid(meta.get("uid")),
        "name": key(meta.get("name")),
        "created_at": timestamp(meta.get("creationTimestamp")),
        "modified_at": timestamp(meta.get("lastModifiedTimestamp")),
        "raw": item,
    }


def project_fields(item: dict) -> dict:
    """Fields of a `v1ProjectSummary` (REFERENCE.md 7)."""
    return common_fields(item)


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
        "project_uid": uid(obj(spec.get("projectMeta")).get("uid")),
        "cloud_type": key(obj(spec.get("cloudConfig")).get("cloudType")),
        "state": key(status.get("state")),
        "health": key(health.get("state")),
        "kubernetes_version": kubernetes_version(spec),
        "profiles": cluster_profiles(spec),
        "node_count": sum(sizes) if pools and None not in sizes else None,
        "nodes_healthy": sum(healthy) if pools and None not in healthy else None,
        "heartbeat_at": timestamp(health.get("lastHeartBeatTimestamp")),
        "agent_version": text(health.get("agentVersion")),
        "location": location(obj(status.get("location"))),
    }


def kubernetes_version(spec_summary: dict) -> str:
    """The k8s layer's pack version: the search item has no kubernetesVersion field (REFERENCE.md 8)."""
    templates = [obj(spec_summary.get("clusterProfileTemplate")), *seq(spec_summary.get("clusterProfileTemplates"))]
    for template in templates:
        for pack in seq(template.get("packs")):
            if pack.get("layer") == "k8s":
                return key(pack.get("tag") or pack.get("version"))
    return ""


def detail_kubernetes_version(detail: object) -> str:
    """`status.kubeMeta.kubernetesVersion` of `GET /v1/dashboard/spectroclusters/{uid}` (REFERENCE.md 8)."""
    return key(obj(obj(obj(detail).get("status")).get("kubeMeta")).get("kubernetesVersion"))


def cluster_profiles(spec_summary: dict) -> list[dict]:
    """The profile versions a cluster runs, sorted by name: each version has its own uid (REFERENCE.md 9)."""
    profiles = {}
    for template in seq(spec_summary.get("clusterProfileTemplates")) or [
        obj(spec_summary.get("clusterProfileTemplate"))
    ]:
        template_uid = uid(template.get("uid"))
        if template_uid:
            version = template.get("profileVersion") or template.get("version")
            profiles[template_uid] = {
                "uid": template_uid,
                "name": key(template.get("name")),
                "type": text(template.get("type")),
                "version": text(version),
            }
    return sorted(profiles.values(), key=lambda p: (p["name"], p["uid"]))


def location(loc: dict) -> str:
    parts = [text(loc.get("regionName")), text(loc.get("countryName"))]
    return ", ".join(p for p in parts if p)


def pack_list(packs: object) -> list[dict]:
    return [
        {
            "name": text(p.get("name")),
            "layer": text(p.get("layer")),
            "version": text(p.get("tag") or p.get("version")),
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
    own_uid = uid(meta.get("uid"))
    versions = [{"uid": uid(v.get("uid")), "version": text(v.get("version"))} for v in seq(spec.get("versions"))]
    own = next((v["version"] for v in versions if v["uid"] == own_uid), "")
    packs = pack_list(published.get("packs"))
    clusters = [{"uid": uid(c.get("uid")), "name": text(c.get("name"))} for c in seq(status.get("inUseClusters"))]
    if not clusters and isinstance(status.get("inUseClusterUids"), list):
        clusters = [{"uid": uid(u), "name": ""} for u in status["inUseClusterUids"] if isinstance(u, str)]
    return {
        **common_fields(item),
        "project_uid": uid(annotations.get("projectUid")),
        "scope": text(annotations.get("scope")),
        "profile_type": text(published.get("type")),
        "cloud_type": text(published.get("cloudType")),
        "version": own or (text(spec.get("version")) if len(versions) <= 1 else ""),
        "latest_version": text(spec.get("version")),
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
        "project_uid": uid(obj(spec.get("projectMeta")).get("uid")),
        "state": key(status.get("state")),
        "health": key(health.get("state")),
        "health_message": text(health.get("message")),
        "host_address": key(host.get("hostAddress")),
        "mac_address": text(host.get("macAddress")),
        "arch": text(device.get("archType")),
        "host_state": text(device.get("hostState")),
        "host_type": text(device.get("hostType")),
        "os": " ".join(p for p in (text(os_info.get("family")), text(os_info.get("version"))) if p),
        "agent_version": text(health.get("agentVersion")),
        "cluster_uid": uid(cluster.get("uid")),
        "cluster_name": text(cluster.get("name")),
        "site": key(obj(obj(item.get("metadata")).get("labels")).get(settings.PALETTE_SITE_LABEL)),
    }


def actor_name(actor: dict) -> str:
    """Who did it, for the timeline's indexed actor column: the user's e-mail or name, or the service."""
    user = obj(actor.get("user"))
    if user.get("emailId"):
        return key(user["emailId"])
    full = " ".join(p for p in (text(user.get("firstName")), text(user.get("lastName"))) if p)
    return key(full or text(actor.get("serviceName")) or text(actor.get("actorType")))


def audit_entry(item: dict) -> dict:
    """TimelineEntry fields of a `v1Audit` (REFERENCE.md 11); its time is `metadata.creationTimestamp`."""
    meta = obj(item.get("metadata"))
    spec = obj(item.get("spec"))
    actor = obj(spec.get("actor"))
    resource = obj(spec.get("resource"))
    return {
        "source_id": uid(meta.get("uid")),
        "occurred_at": timestamp(meta.get("creationTimestamp")),
        "project_uid": uid(obj(actor.get("project")).get("uid")),
        "subject_kind": key(resource.get("kind")),
        "subject_uid": uid(resource.get("uid")),
        "subject_name": text(resource.get("name")),
        "actor": actor_name(actor),
        "action": text(spec.get("actionType")),
        "severity": "",
        "message": text(spec.get("actionMsg")) or text(spec.get("userMsg")),
        "details": {"actorType": text(actor.get("actorType")), "label": text(resource.get("label"))},
    }


def event_entry(item: dict) -> dict:
    """TimelineEntry fields of a `v1Event` (REFERENCE.md 12): the subject is its relatedObject."""
    meta = obj(item.get("metadata"))
    related = obj(item.get("relatedObject"))
    involved = obj(item.get("involvedObject"))
    source = obj(item.get("source"))
    return {
        "source_id": uid(meta.get("uid")),
        "occurred_at": timestamp(meta.get("creationTimestamp")),
        "subject_kind": key(related.get("kind") or involved.get("kind")),
        "subject_uid": uid(related.get("uid") or involved.get("uid")),
        "subject_name": text(related.get("name") or involved.get("name")),
        "actor": key(source.get("component")),
        "action": text(item.get("reason")),
        "severity": key(item.get("severity")),
        "message": text(item.get("message")),
        "details": {
            "involvedObject": {k: text(involved.get(k)) for k in ("kind", "name", "uid")},
            "host": text(source.get("host")),
        },
    }
