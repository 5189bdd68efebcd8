"""A living fleet: health flaps, states move, objects come and go, profiles gain versions (issue 3, item 6).

Time is cut into one-second ticks of simulated elapsed time. Tick k makes
floor(rate * k) - floor(rate * (k - 1)) changes with a generator seeded by (fleet seed, k) and
stamps them with anchor + k seconds, so the fleet at elapsed time T is the same on every run with
the same seed and rate. Ticks are applied lazily, when a request arrives or the clock is advanced.
"""

import math
from collections.abc import Callable

from palette_sim.fleet import catalog, generate
from palette_sim.fleet.catalog import AUDIT_ACTIONS, CLUSTER_REASONS, HOST_REASON_BASE, HOST_REASONS
from palette_sim.fleet.clock import SimClock
from palette_sim.fleet.fleet import Fleet
from palette_sim.fleet.generate import FleetRandom, weighted
from palette_sim.fleet.records import Cluster, EdgeHost, Pack, ProfileVersion

TICK = 1.0
ACTIONS = {name: i for i, name in enumerate(AUDIT_ACTIONS)}
REASONS = {r[0]: i for i, r in enumerate(CLUSTER_REASONS)} | {
    r[0]: HOST_REASON_BASE + i for i, r in enumerate(HOST_REASONS)
}
# cluster state -> the states it may move to next
NEXT_STATE = {
    "Pending": ("Provisioning",),
    "Provisioning": ("Running", "Running", "Error"),
    "Importing": ("Running",),
    "Running": ("Error", "Running"),
    "Error": ("Running", "Provisioning"),
    "Deleting": ("Deleted",),
}


class Churn:
    def __init__(self, fleet: Fleet, rate: float, clock: SimClock) -> None:
        self.fleet = fleet
        self.rate = rate
        self.clock = clock
        self.ticks = 0
        self.counts: dict[str, int] = {}
        self.ops: list[tuple[Callable[[FleetRandom, float], bool], float]] = [
            (self.cluster_health, 30),
            (self.cluster_state, 12),
            (self.cluster_create, 6),
            (self.cluster_delete, 5),
            (self.cluster_purge, 3),
            (self.cluster_upgrade, 8),
            (self.host_health, 20),
            (self.host_create, 5),
            (self.host_delete, 4),
            (self.host_pairing, 4),
            (self.profile_version, 3),
        ]

    def set_rate(self, rate: float) -> None:
        self.catch_up()
        self.rate = rate

    def catch_up(self) -> int:
        """Apply every tick up to the clock's elapsed time; returns how many changes were made."""
        target = int(self.clock.elapsed() // TICK)
        if target <= self.ticks:
            return 0
        made = 0
        with self.fleet.lock:
            while self.ticks < target:
                self.ticks += 1
                k = self.ticks
                n = math.floor(self.rate * k) - math.floor(self.rate * (k - 1)) if self.rate > 0 else 0
                if n:
                    made += self.tick(k, n)
        return made

    def tick(self, k: int, n: int) -> int:
        fleet = self.fleet
        rng = FleetRandom(fleet.seed * 1_000_003 + k, fleet.anchor)
        t = fleet.anchor + k * TICK
        made = 0
        for _ in range(n):
            op = weighted(rng, self.ops)
            if op(rng, t):
                made += 1
                self.counts[op.__name__] = self.counts.get(op.__name__, 0) + 1
        if made:
            fleet.version += 1
        return made

    # --- helpers ------------------------------------------------------------------------------

    def audit(self, t: float, project_uid: str | None, serial: int, action: str, rng: FleetRandom) -> None:
        fleet = self.fleet
        project = fleet.project_index[project_uid] if project_uid else -1
        actor = -1 if action in ("update",) and rng.random() < 0.6 else rng.randrange(len(fleet.people))
        fleet.audits.append(t, project, serial, ACTIONS[action], actor)

    def event(self, t: float, project_uid: str, serial: int, reason: str) -> None:
        self.fleet.events.append(t, self.fleet.project_index[project_uid], serial, REASONS[reason], -1)

    def pick_cluster(self, rng: FleetRandom, test: Callable[[Cluster], bool]) -> Cluster | None:
        candidates = [c for c in self.fleet.clusters.values() if test(c)]
        return rng.choice(candidates) if candidates else None

    def pick_host(self, rng: FleetRandom, test: Callable[[EdgeHost], bool]) -> EdgeHost | None:
        candidates = [h for h in self.fleet.hosts.values() if test(h)]
        return rng.choice(candidates) if candidates else None

    # --- changes ------------------------------------------------------------------------------

    def cluster_health(self, rng: FleetRandom, t: float) -> bool:
        c = self.pick_cluster(rng, lambda c: c.state == "Running")
        if c is None:
            return False
        c.health = {"Healthy": "UnHealthy", "UnHealthy": "Healthy", "": "Healthy"}[c.health]
        c.workers_healthy = c.worker_size if c.health == "Healthy" else rng.randint(0, c.worker_size)
        c.heartbeat = c.modified = t
        self.event(t, c.project.uid, c.serial, "NodeReady" if c.health == "Healthy" else "NodeNotReady")
        return True

    def cluster_state(self, rng: FleetRandom, t: float) -> bool:
        c = self.pick_cluster(rng, lambda c: c.state in NEXT_STATE)
        if c is None:
            return False
        c.state = rng.choice(NEXT_STATE[c.state])
        c.health = {"Running": "Healthy", "Error": "UnHealthy"}.get(c.state, "")
        if c.state == "Deleted":
            c.deleted = t
        c.modified = c.heartbeat = t
        self.audit(t, c.project.uid, c.serial, "update", rng)
        self.event(t, c.project.uid, c.serial, "HeartbeatMissed" if c.state == "Error" else "PackDeployed")
        return True

    def cluster_create(self, rng: FleetRandom, t: float) -> bool:
        fleet = self.fleet
        project = rng.choice(fleet.projects)
        c = generate.make_cluster(rng, fleet, project, len(fleet.registry))
        c.created = c.modified = c.heartbeat = t
        c.state, c.health, c.deleted = rng.choice(("Pending", "Provisioning")), "", 0.0
        if c.cloud == "edge-native":
            free = [h for h in fleet.hosts_by_project[project.uid] if h.cluster is None and h.state == "ready"]
            for host in free[: rng.randint(1, 3)]:
                generate.attach(host, c, rng)
                host.modified = t
            if c.hosts:
                c.cp_size, c.worker_size = 1, len(c.hosts) - 1
                c.workers_healthy = c.worker_size
        fleet.add_cluster(c)
        self.audit(t, project.uid, c.serial, "create", rng)
        return True

    def cluster_delete(self, rng: FleetRandom, t: float) -> bool:
        c = self.pick_cluster(rng, lambda c: c.state in ("Running", "Error"))
        if c is None:
            return False
        c.state, c.health, c.modified = "Deleting", "", t
        self.audit(t, c.project.uid, c.serial, "delete", rng)
        return True

    def cluster_purge(self, rng: FleetRandom, t: float) -> bool:
        """A deleted cluster disappears from every listing."""
        c = self.pick_cluster(rng, lambda c: c.state == "Deleted")
        if c is None:
            return False
        for host in c.hosts:
            host.state, host.role, host.modified = "ready", "unknown", t
        self.fleet.remove_cluster(c)
        return True

    def cluster_upgrade(self, rng: FleetRandom, t: float) -> bool:
        c = self.pick_cluster(rng, lambda c: c.state == "Running" and c.infra is not c.infra.family.latest)
        if c is None:
            return False
        versions = c.infra.family.versions
        c.infra = versions[versions.index(c.infra) + 1]
        c.modified = t
        self.audit(t, c.project.uid, c.serial, "update", rng)
        self.event(t, c.project.uid, c.serial, "UpgradeStarted")
        return True

    def host_health(self, rng: FleetRandom, t: float) -> bool:
        h = self.pick_host(rng, lambda h: True)
        if h is None:
            return False
        h.health = {"healthy": "unhealthy", "unhealthy": "healthy", "": "healthy"}[h.health]
        h.modified = t
        self.event(
            t, h.project.uid, h.serial, "EdgeHostHeartbeatMissed" if h.health == "unhealthy" else "EdgeHostRebooted"
        )
        return True

    def host_create(self, rng: FleetRandom, t: float) -> bool:
        fleet = self.fleet
        h = generate.new_host(rng, fleet, rng.choice(fleet.projects), t)
        h.state, h.modified, h.reach = "unpaired", t, "ok"
        fleet.add_host(h)
        self.audit(t, h.project.uid, h.serial, "create", rng)
        self.event(t, h.project.uid, h.serial, "EdgeHostRegistered")
        return True

    def host_delete(self, rng: FleetRandom, t: float) -> bool:
        h = self.pick_host(rng, lambda h: h.cluster is None)
        if h is None:
            return False
        self.fleet.remove_host(h)
        self.audit(t, h.project.uid, h.serial, "delete", rng)
        return True

    def host_pairing(self, rng: FleetRandom, t: float) -> bool:
        h = self.pick_host(rng, lambda h: h.cluster is None)
        if h is None:
            return False
        h.state, h.modified = ("ready" if h.state == "unpaired" else "unpaired"), t
        self.audit(t, h.project.uid, h.serial, "update", rng)
        return True

    def profile_version(self, rng: FleetRandom, t: float) -> bool:
        fleet = self.fleet
        family = rng.choice(fleet.families)
        latest = family.latest
        major, minor, _patch = (int(x) for x in latest.version.split("."))
        packs = latest.packs
        if family.type != "add-on":
            k8s_name, k8s_versions = catalog.K8S_PACKS[family.cloud]
            packs = tuple(
                Pack(
                    p.name,
                    p.display,
                    p.layer,
                    k8s_versions[min(k8s_versions.index(p.version) + 1, len(k8s_versions) - 1)]
                    if p.layer == "k8s" and p.version in k8s_versions
                    else p.version,
                    p.type,
                    rng.uid(t),
                )
                for p in packs
            )
        version = ProfileVersion(rng.uid(t), family, f"{major}.{minor + 1}.0", latest.number + 1, packs, t, t)
        family.versions.append(version)
        fleet.versions[version.uid] = version
        fleet.registry[family.serial] = ("clusterprofile", version.uid, family.name, fleet.registry[family.serial][3])
        self.audit(t, family.project.uid if family.project else None, family.serial, "publish", rng)
        return True
