"""Pieces shared by the API shapes: object metadata, pack references, locations.

Pack and profile-version pieces never change once made, so they are rendered once and shared
(callers only serialise them, never mutate them).
"""

import functools

from palette_sim.fleet import catalog
from palette_sim.fleet.fleet import iso
from palette_sim.fleet.records import Pack, ProfileVersion, Project
from palette_sim.palette.omitempty import PALETTE_KEEP, Pruned, prune

REGISTRY_UID = "5eecc89d0b150045ae661cef"  # the public Palette pack registry, as in REFERENCE.md examples


def object_meta(
    uid: str,
    name: str,
    created: float,
    modified: float,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    deleted: float = 0.0,
) -> dict:
    """`v1ObjectMeta`."""
    meta = {
        "uid": uid,
        "name": name,
        "labels": labels or {},
        "annotations": annotations or {},
        "creationTimestamp": iso(created),
        "lastModifiedTimestamp": iso(modified),
    }
    if deleted:
        meta["deletionTimestamp"] = iso(deleted)
    return meta


@functools.lru_cache(maxsize=4096)
def scope_annotations(project: Project | None, tenant_uid: str) -> dict[str, str]:
    """The annotation keys clients read to learn an object's scope (REFERENCE.md 1)."""
    if project is None:
        return frozen({"scope": "tenant", "tenantUid": tenant_uid})
    return frozen({"scope": "project", "projectUid": project.uid, "tenantUid": tenant_uid})


@functools.lru_cache(maxsize=4096)
def project_meta(project: Project | None) -> dict:
    return frozen({"uid": project.uid, "name": project.name} if project else {"uid": "", "name": ""})


def frozen(body: dict) -> Pruned:
    """A shared rendering: pruned once, then passed through by every response's prune."""
    return Pruned(prune(body, PALETTE_KEEP))


@functools.lru_cache(maxsize=1 << 16)
def pack_ref(pack: Pack) -> dict:
    """`v1PackRef` (required: name, layer)."""
    return frozen(
        {
            "name": pack.name,
            "layer": pack.layer,
            "tag": pack.version,
            "version": pack.version,
            "type": pack.type,
            "registryUid": REGISTRY_UID,
            "packUid": pack.uid,
        }
    )


@functools.lru_cache(maxsize=1 << 16)
def pack_ref_summary(pack: Pack) -> dict:
    """`v1PackRefSummary`."""
    return frozen(
        {
            "name": pack.name,
            "displayName": pack.display,
            "layer": pack.layer,
            "tag": pack.version,
            "version": pack.version,
            "type": pack.type,
            "packUid": pack.uid,
            "addonType": pack.layer if pack.layer != "addon" else "app",
            "logoUrl": "",
            "annotations": {},
        }
    )


@functools.lru_cache(maxsize=1 << 16)
def template_meta(version: ProfileVersion, with_packs: bool = True) -> dict:
    """`v1ClusterProfileTemplateMeta`: the profile a cluster runs, as in search items."""
    family = version.family
    return frozen(
        {
            "uid": version.uid,
            "name": family.name,
            "type": family.type,
            "scope": "tenant" if family.project is None else "project",
            "version": version.number,
            "cloudType": family.cloud,
            "packs": [pack_ref(p) for p in version.packs] if with_packs else [],
        }
    )


@functools.lru_cache(maxsize=1 << 16)
def template_full(version: ProfileVersion) -> dict:
    """`v1ClusterProfileTemplate`: the full object's form, with the string profileVersion."""
    family = version.family
    return frozen(
        {
            "uid": version.uid,
            "name": family.name,
            "type": family.type,
            "cloudType": family.cloud,
            "version": version.number,
            "profileVersion": version.version,
            "packs": [pack_ref(p) for p in version.packs],
            "relatedObject": {"kind": "clusterprofile", "name": family.name, "uid": version.uid},
        }
    )


@functools.lru_cache(maxsize=256)
def location(place: int) -> dict:
    """`v1ClusterMetaSpecLocation`."""
    code, country, region_code, region, _city, lat, lon = catalog.PLACES[place]
    return frozen(
        {
            "countryCode": code,
            "countryName": country,
            "regionCode": region_code,
            "regionName": region,
            "coordinates": [lat, lon],
        }
    )


@functools.lru_cache(maxsize=256)
def geo_location(place: int) -> dict:
    """`v1ClusterLocation` (the full cluster object's form, with geoLoc)."""
    code, country, region_code, region, _city, lat, lon = catalog.PLACES[place]
    return frozen(
        {
            "countryCode": code,
            "countryName": country,
            "regionCode": region_code,
            "regionName": region,
            "geoLoc": {"latitude": lat, "longitude": lon},
        }
    )
