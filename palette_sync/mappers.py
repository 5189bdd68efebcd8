"""API JSON -> model field values. Pure functions, one per synced model (REFERENCE.md 7, 8)."""

from datetime import datetime

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
    return value[:limit] if isinstance(value, str) else ""


def common_fields(item: dict) -> dict:
    meta = item["metadata"]
    return {
        "uid": str(meta["uid"]),
        "name": text(meta.get("name"), 255),
        "created_at": timestamp(meta.get("creationTimestamp")),
        "modified_at": timestamp(meta.get("lastModifiedTimestamp")),
        "raw": item,
    }


def project_fields(item: dict) -> dict:
    return common_fields(item)


def cluster_fields(item: dict) -> dict:
    """Fields of a `v1SpectroClusterSummary` search item (REFERENCE.md 8, field map)."""
    spec = item.get("specSummary") or {}
    status = item.get("status") or {}
    return {
        **common_fields(item),
        "project_uid": text((spec.get("projectMeta") or {}).get("uid"), 64),
        "cloud_type": text((spec.get("cloudConfig") or {}).get("cloudType"), 40),
        "state": text(status.get("state"), 40),
        "health": text((status.get("health") or {}).get("state"), 40),
        "kubernetes_version": kubernetes_version(spec),
    }


def kubernetes_version(spec_summary: dict) -> str:
    """The k8s layer's pack version: the search item has no kubernetesVersion field (REFERENCE.md 8)."""
    templates = [spec_summary.get("clusterProfileTemplate") or {}, *(spec_summary.get("clusterProfileTemplates") or [])]
    for template in templates:
        for pack in template.get("packs") or []:
            if isinstance(pack, dict) and pack.get("layer") == "k8s":
                return text(pack.get("tag") or pack.get("version"), 60)
    return ""
