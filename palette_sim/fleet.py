"""A generated fleet, deterministic for a seed, held as API-shaped dicts (REFERENCE.md 7, 8)."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

CLOUDS = [
    ("edge-native", 0.45),
    ("aws", 0.15),
    ("eks", 0.1),
    ("azure", 0.08),
    ("aks", 0.05),
    ("gcp", 0.05),
    ("vsphere", 0.07),
    ("maas", 0.05),
]
K8S_VERSIONS = ["1.28.15", "1.29.10", "1.30.6", "1.31.2", "1.32.1"]
STATES = [
    ("Running", 0.86),
    ("Provisioning", 0.04),
    ("Pending", 0.02),
    ("Error", 0.04),
    ("Deleting", 0.02),
    ("Importing", 0.02),
]
HEALTH = [("Healthy", 0.82), ("UnHealthy", 0.12), ("", 0.06)]
PROJECT_WORDS = [
    "retail-edge",
    "factory",
    "payments",
    "platform",
    "data",
    "ml-training",
    "logistics",
    "branch-office",
    "media",
    "telecom",
    "research",
    "security",
    "staging",
    "shared-services",
]
SITE_WORDS = ["store", "plant", "branch", "depot", "cell-site", "kiosk", "prod", "dev", "ops", "edge"]
LOCATIONS = [
    ("DE", "Germany", "BE", "Berlin", 52.52, 13.405),
    ("US", "United States", "CA", "California", 37.77, -122.42),
    ("US", "United States", "TX", "Texas", 30.27, -97.74),
    ("GB", "United Kingdom", "ENG", "England", 51.51, -0.13),
    ("JP", "Japan", "13", "Tokyo", 35.68, 139.69),
    ("IN", "India", "KA", "Karnataka", 12.97, 77.59),
    ("BR", "Brazil", "SP", "Sao Paulo", -23.55, -46.63),
    ("FR", "France", "IDF", "Ile-de-France", 48.86, 2.35),
]


def iso(t: datetime) -> str:
    """RFC 3339 with milliseconds and a Z, as Palette writes timestamps."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def pick(rng: random.Random, weighted: list[tuple]) -> tuple | str:
    values = [w[:-1] if len(w) > 2 else w[0] for w in weighted]
    return rng.choices(values, weights=[w[-1] for w in weighted])[0]


@dataclass
class Fleet:
    """Every object the simulator serves, generated from a seed."""

    seed: int
    tenant_uid: str
    projects: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)

    @classmethod
    def generate(cls, seed: int = 1, projects: int = 3, clusters: int = 200) -> "Fleet":
        rng = random.Random(seed)
        fleet = cls(seed=seed, tenant_uid=new_uid(rng))
        for i in range(projects):
            fleet.projects.append(make_project(rng, i, fleet.tenant_uid))
        for i in range(clusters):
            fleet.clusters.append(make_cluster(rng, i, fleet.projects[i % max(projects, 1)] if projects else None))
        return fleet

    def clusters_in(self, project_uid: str | None) -> list[dict]:
        if project_uid is None:
            return self.clusters
        return [c for c in self.clusters if c["specSummary"]["projectMeta"]["uid"] == project_uid]


def new_uid(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def make_project(rng: random.Random, i: int, tenant_uid: str) -> dict:
    word = PROJECT_WORDS[i % len(PROJECT_WORDS)]
    name = word if i < len(PROJECT_WORDS) else f"{word}-{i // len(PROJECT_WORDS) + 1}"
    created = EPOCH - timedelta(days=rng.randint(100, 900))
    return {
        "metadata": {
            "uid": new_uid(rng),
            "name": name,
            "labels": {},
            "annotations": {"scope": "tenant", "tenantUid": tenant_uid},
            "creationTimestamp": iso(created),
            "lastModifiedTimestamp": iso(created + timedelta(days=rng.randint(0, 90))),
        },
        "specSummary": {"logoUrl": "", "teams": [], "users": []},
        "status": {
            "clustersHealth": {"healthy": 0, "unhealthy": 0, "running": 0, "errored": 0},
            "status": {"isDisabled": False, "cleanUpStatus": {"state": "", "msg": "", "cleanedResources": []}},
            "usage": {"pureCpuCores": 0, "alloyCpuCores": 0, "clusters": []},
        },
    }


def make_cluster(rng: random.Random, i: int, project: dict | None) -> dict:
    cloud = pick(rng, CLOUDS)
    k8s = rng.choice(K8S_VERSIONS)
    state = pick(rng, STATES)
    health = pick(rng, HEALTH) if state == "Running" else rng.choice(["", "UnHealthy"])
    country, country_name, region, region_name, lat, lon = rng.choice(LOCATIONS)
    created = EPOCH - timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86400))
    modified = created + timedelta(days=rng.randint(0, 30), seconds=rng.randint(0, 86400))
    name = f"{rng.choice(SITE_WORDS)}-{i:04d}"
    project_meta = (
        {"uid": project["metadata"]["uid"], "name": project["metadata"]["name"]} if project else {"uid": "", "name": ""}
    )
    cp_size, worker_size = rng.choice([1, 1, 3]), rng.randint(0, 6)
    pools = [
        {
            "cloudType": cloud,
            "isControlPlane": True,
            "size": cp_size,
            "healthy": cp_size,
            "maintenanceMode": 0,
            "labels": ["control-plane"],
        },
    ]
    if worker_size:
        pools.append(
            {
                "cloudType": cloud,
                "isControlPlane": False,
                "size": worker_size,
                "healthy": worker_size if health == "Healthy" else rng.randint(0, worker_size),
                "maintenanceMode": 0,
                "labels": ["worker"],
            }
        )
    return {
        "metadata": {
            "uid": new_uid(rng),
            "name": name,
            "labels": {"site": name},
            "annotations": {"scope": "project", "projectUid": project_meta["uid"]},
            "creationTimestamp": iso(created),
            "lastModifiedTimestamp": iso(modified),
        },
        "specSummary": {
            "archTypes": [rng.choice(["amd64", "amd64", "amd64", "arm64"])],
            "cloudAccountMeta": {"uid": "", "name": ""},
            "cloudConfig": {"uid": new_uid(rng), "cloudType": cloud, "machinePools": pools},
            "clusterConfig": {"timezone": "UTC"},
            "clusterProfileTemplate": {
                "uid": "",
                "name": f"{cloud}-infra",
                "type": "infra",
                "scope": "project",
                "version": 1,
                "cloudType": cloud,
                "packs": [
                    {
                        "name": "kubernetes",
                        "layer": "k8s",
                        "tag": k8s,
                        "version": k8s,
                        "type": "spectro",
                        "registryUid": "",
                    }
                ],
            },
            "clusterProfileTemplates": [],
            "projectMeta": project_meta,
        },
        "status": {
            "state": state,
            "health": {
                "state": health,
                "agentVersion": "4.6.21",
                "lastHeartBeatTimestamp": iso(modified),
                "conditions": [],
            },
            "clusterImport": {"state": "", "isBrownfield": False, "importLink": ""},
            "cost": {"total": 0, "cloud": {"compute": 0, "storage": 0, "total": 0}},
            "hourlyRate": {"total": 0, "cloud": {"compute": 0, "storage": 0, "total": 0}},
            "fips": {"mode": "none"},
            "location": {
                "countryCode": country,
                "countryName": country_name,
                "regionCode": region,
                "regionName": region_name,
                "coordinates": [lat, lon],
            },
            "metrics": {},
            "notifications": {"isAvailable": False, "isTemplateVariableResolutionPending": False},
            "repave": {"state": "Approved"},
        },
    }
