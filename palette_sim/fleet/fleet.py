"""The fleet: every record the simulator serves, with the indexes that keep each page cheap.

`generate_fleet(seed, ...)` builds one deterministically (`palette_sim.fleet.generate`). Listings
read the per-project lists kept here instead of filtering the whole fleet on every request.
"""

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from palette_sim.fleet.logs import ColumnLog
from palette_sim.fleet.records import Cluster, EdgeHost, Person, ProfileFamily, ProfileVersion, Project

# Fixed default anchor ("now" of a generated fleet) so that generate_fleet(seed) is byte-identical
# across runs; the CLI anchors at the start time instead (see __main__).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def iso(t: float) -> str:
    """RFC 3339 UTC with milliseconds and a Z, as Palette writes timestamps."""
    whole = math.floor(t)
    ms = int((t - whole) * 1000 + 0.5)
    if ms >= 1000:
        whole, ms = whole + 1, ms - 1000
    y, mo, d, h, mi, sec = time.gmtime(whole)[:6]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}.{ms:03d}Z"


def parse_time(value: str) -> float:
    """An RFC 3339 date-time as epoch seconds; ValueError when it is not one."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(eq=False)
class Fleet:
    """One tenant: people, projects, profiles, clusters, edge hosts, audits and events."""

    seed: int
    tenant_uid: str
    org: str
    anchor: float
    people: list[Person] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    families: list[ProfileFamily] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    hosts: dict[str, EdgeHost] = field(default_factory=dict)
    audits: ColumnLog = field(default_factory=ColumnLog)
    events: ColumnLog = field(default_factory=ColumnLog)
    # serial -> (kind, uid, name, project index or -1): audits and events name objects by serial,
    # and objects stay nameable after they are deleted.
    registry: list[tuple[str, str, str, int]] = field(default_factory=list)
    versions: dict[str, ProfileVersion] = field(default_factory=dict)
    project_index: dict[str, int] = field(default_factory=dict)
    clusters_by_project: dict[str, list[Cluster]] = field(default_factory=dict)
    hosts_by_project: dict[str, list[EdgeHost]] = field(default_factory=dict)
    hosts_by_ip: dict[str, EdgeHost] = field(default_factory=dict)
    next_ip: int = 0
    version: int = 0  # bumped on every change, so listing caches know when to recompute
    lock: threading.RLock = field(default_factory=threading.RLock)
    users_cache: tuple[int, dict] | None = None

    # --- registration (used by generation and churn) ------------------------------------------

    def register(self, kind: str, uid: str, name: str, project: Project | None) -> int:
        self.registry.append((kind, uid, name, self.project_index[project.uid] if project else -1))
        return len(self.registry) - 1

    def add_project(self, project: Project) -> None:
        self.project_index[project.uid] = len(self.projects)
        self.projects.append(project)
        self.clusters_by_project[project.uid] = []
        self.hosts_by_project[project.uid] = []

    def add_family(self, family: ProfileFamily) -> None:
        self.families.append(family)
        for version in family.versions:
            self.versions[version.uid] = version

    def add_cluster(self, cluster: Cluster) -> None:
        self.clusters[cluster.uid] = cluster
        self.clusters_by_project[cluster.project.uid].append(cluster)

    def remove_cluster(self, cluster: Cluster) -> None:
        self.clusters.pop(cluster.uid, None)
        self.clusters_by_project[cluster.project.uid].remove(cluster)
        for host in cluster.hosts:
            host.cluster = None

    def add_host(self, host: EdgeHost) -> None:
        self.hosts[host.uid] = host
        self.hosts_by_project[host.project.uid].append(host)
        self.hosts_by_ip[host.ip] = host

    def remove_host(self, host: EdgeHost) -> None:
        self.hosts.pop(host.uid, None)
        self.hosts_by_project[host.project.uid].remove(host)
        self.hosts_by_ip.pop(host.ip, None)
        if host.cluster is not None and host in host.cluster.hosts:
            host.cluster.hosts.remove(host)

    def allocate_ip(self) -> str:
        """The next unused 127.x.y.z for an edge host (127.0.0.0/16 is left to the API server)."""
        i = self.next_ip
        self.next_ip += 1
        return f"127.{1 + i // (254 * 256)}.{(i // 254) % 256}.{1 + i % 254}"

    # --- lookups --------------------------------------------------------------------------------

    def project(self, uid: str | None) -> Project | None:
        index = self.project_index.get(uid or "")
        return self.projects[index] if index is not None else None

    def visible_families(self, scope: str | None, tenant_sees_all: bool = False) -> list[ProfileFamily]:
        """Tenant scope: tenant profiles; project scope: the project's plus the tenant's (REFERENCE.md 3)."""
        if scope is None:
            return list(self.families) if tenant_sees_all else [f for f in self.families if f.project is None]
        return [f for f in self.families if f.project is None or f.project.uid == scope]

    def visible_clusters(self, scope: str | None, tenant_sees_all: bool = False) -> list[Cluster]:
        if scope is None:
            return list(self.clusters.values()) if tenant_sees_all else []
        return self.clusters_by_project.get(scope, [])

    def visible_hosts(self, scope: str | None, tenant_sees_all: bool = False) -> list[EdgeHost]:
        if scope is None:
            return list(self.hosts.values()) if tenant_sees_all else []
        return self.hosts_by_project.get(scope, [])

    def in_scope(self, project: Project | None, scope: str | None, tenant_sees_all: bool = False) -> bool:
        """Whether an object owned by `project` (None = tenant) is visible in a request's scope."""
        if project is None:
            return True
        if scope is None:
            return tenant_sees_all
        return project.uid == scope

    def version_users(self, project_uid: str | None = None) -> dict[str, list[Cluster]]:
        """profile version uid -> live clusters using it (of one project, or all), once per fleet version."""
        cache = self.users_cache
        if not cache or cache[0] != self.version:
            every: dict[str, list[Cluster]] = {}
            per_project: dict[str, dict[str, list[Cluster]]] = {}
            with self.lock:
                for cluster in self.clusters.values():
                    if cluster.state == "Deleted":
                        continue
                    mine = per_project.setdefault(cluster.project.uid, {})
                    for version in (cluster.infra, *cluster.addons):
                        every.setdefault(version.uid, []).append(cluster)
                        mine.setdefault(version.uid, []).append(cluster)
                cache = self.users_cache = (self.version, {None: every, **per_project})
        return cache[1].get(project_uid, {})
