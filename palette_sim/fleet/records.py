"""Compact records of the simulated fleet. The API shapes are rendered from them on demand.

Records hold plain Python values (times are float seconds since the Unix epoch); the modules
`shapes_*` turn them into the JSON Palette would send. Keeping records small and rendering
lazily is what lets 10,000 clusters and 50,000 edge hosts fit comfortably in memory.
"""

from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class Person:
    uid: str
    first: str
    last: str
    email: str


@dataclass(slots=True, eq=False)
class Project:
    uid: str
    name: str
    created: float
    modified: float
    labels: dict[str, str]
    teams: list[tuple[str, str]]  # (uid, name)
    users: list[Person]


@dataclass(slots=True, eq=False)
class Pack:
    """One pack of a profile version (`v1PackRef` / `v1PackRefSummary`)."""

    name: str
    display: str
    layer: str
    version: str
    type: str
    uid: str


@dataclass(slots=True, eq=False)
class ProfileVersion:
    """One version of a cluster profile: Palette gives every version its own uid (REFERENCE.md 9)."""

    uid: str
    family: "ProfileFamily"
    version: str  # semantic, e.g. "1.3.0"
    number: int  # the deprecated integer `version`
    packs: tuple[Pack, ...]
    created: float
    modified: float

    @property
    def name(self) -> str:
        return self.family.name


@dataclass(slots=True, eq=False)
class ProfileFamily:
    """All versions of one profile name; `versions` is oldest first."""

    serial: int
    name: str
    type: str  # cluster | infra | add-on
    cloud: str  # a cloud type or "all"
    project: Project | None  # None = tenant scope
    versions: list[ProfileVersion] = field(default_factory=list)

    @property
    def latest(self) -> ProfileVersion:
        return self.versions[-1]


@dataclass(slots=True, eq=False)
class Cluster:
    serial: int
    uid: str
    name: str
    project: Project
    cloud: str
    region: str
    place: int  # index into catalog.PLACES
    arch: str
    created: float
    modified: float
    heartbeat: float
    state: str
    health: str  # Healthy | UnHealthy | "" (unknown)
    infra: ProfileVersion
    addons: list[ProfileVersion]
    cp_size: int
    worker_size: int
    workers_healthy: int
    config_uid: str
    account_uid: str
    labels: dict[str, str]
    agent: str
    cpu_millicores: int
    memory_mib: int
    deleted: float = 0.0  # deletionTimestamp when state is Deleted
    hosts: list["EdgeHost"] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class EdgeHost:
    serial: int
    uid: str
    host_id: str  # edge-<hex>, the host's own id (spec.host.hostUid)
    project: Project
    ip: str  # 127.x.y.z: where its Edge Host API answers
    mac: str
    created: float
    modified: float
    state: str  # ready | unpaired | in-use
    health: str  # healthy | unhealthy | "" (unknown)
    arch: str
    cores: int
    memory_mb: int
    os: int  # index into catalog.OS_IMAGES
    disk: int  # index into catalog.DISK_VENDORS
    disk_gb: int
    gpu: int  # -1 = none, else index into catalog.GPUS
    nic: str
    site: str
    place: int
    agent: str
    reach: str  # ok | slow | down: how its Edge Host API behaves
    cluster: Cluster | None = None
    role: str = "unknown"  # init | controlplane | worker | unknown
