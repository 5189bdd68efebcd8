"""Generate a fleet that looks real, deterministically for a seed (issue 3, item 5)."""

import gc
import random

from palette_sim.fleet import catalog
from palette_sim.fleet.catalog import CLUSTER_REASONS, HOST_REASON_BASE, HOST_REASONS
from palette_sim.fleet.fleet import EPOCH, Fleet
from palette_sim.fleet.logs import TENANT, ColumnLog
from palette_sim.fleet.records import Cluster, EdgeHost, Pack, Person, ProfileFamily, ProfileVersion, Project

DAY = 86400.0
ORGS = ("acme", "globex", "initech", "umbrella-retail", "contoso", "northwind", "wayne-logistics")
CLUSTER_STATES = (
    ("Running", 0.86),
    ("Provisioning", 0.03),
    ("Pending", 0.015),
    ("Error", 0.04),
    ("Deleting", 0.015),
    ("Importing", 0.015),
    ("Deleted", 0.025),
)


def weighted(rng: random.Random, pairs: tuple | list) -> object:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


class FleetRandom(random.Random):
    """The fleet's random source, which also mints uids.

    A uid is shaped like a Mongo ObjectId (4-byte creation time, 8 random bytes), as Palette's are;
    the time part is taken relative to the fixed EPOCH, so the same seed gives the same uids
    whatever the anchor.
    """

    def __init__(self, seed: object, anchor: float) -> None:
        super().__init__(seed)
        self.shift = anchor - EPOCH.timestamp()

    def uid(self, created: float) -> str:
        return f"{int(created - self.shift) & 0xFFFFFFFF:08x}{self.getrandbits(64):016x}"


def generate_fleet(
    seed: int = 1,
    projects: int = 3,
    clusters: int = 200,
    profiles: int = 24,
    edge_hosts: int = 300,
    audits: int = 5000,
    events_per_cluster: int = 4,
    anchor: float | None = None,
) -> Fleet:
    """A tenant with the given numbers of each resource, the same for the same arguments."""
    anchor = EPOCH.timestamp() if anchor is None else float(anchor)
    rng = FleetRandom(seed, anchor)
    fleet = Fleet(
        seed=seed,
        tenant_uid=rng.uid(anchor - 1000 * DAY),
        org=rng.choice(ORGS),
        anchor=anchor,
        audits=ColumnLog(salt=rng.getrandbits(32)),
        events=ColumnLog(salt=rng.getrandbits(32), index_objects=True),
    )
    make_people(rng, fleet)
    for i in range(max(projects, 1)):
        fleet.add_project(make_project(rng, fleet, i))
    for i in range(max(profiles, 1)):
        fleet.add_family(make_family(rng, fleet, i))
    weights = [1 / (j + 1) ** 0.6 for j in range(len(fleet.projects))]
    for i in range(clusters):
        project = rng.choices(fleet.projects, weights=weights)[0]
        fleet.add_cluster(make_cluster(rng, fleet, project, i))
    attach_hosts(rng, fleet, edge_hosts, weights)
    fill_audits(rng, fleet, audits)
    fill_events(rng, fleet, events_per_cluster)
    return fleet


def freeze() -> None:
    """Move everything alive out of the collector's sight (the CLI and the bench call it).

    A big fleet is millions of long-lived objects; without this every full collection pauses a
    request for tens of milliseconds. Tests that build many small fleets should not call it:
    frozen cycles are never freed.
    """
    gc.collect()
    gc.freeze()


def make_people(rng: FleetRandom, fleet: Fleet) -> None:
    for first, last in catalog.PEOPLE:
        email = f"{first}.{last}@{fleet.org}.example".lower()
        fleet.people.append(Person(rng.uid(fleet.anchor - 900 * DAY), first, last, email))


def make_project(rng: FleetRandom, fleet: Fleet, i: int) -> Project:
    words = catalog.PROJECT_WORDS
    name = words[i % len(words)] if i < len(words) else f"{words[i % len(words)]}-{i // len(words) + 1}"
    created = fleet.anchor - rng.uniform(300, 900) * DAY
    teams = [(rng.uid(created), t) for t in rng.sample(catalog.TEAMS, rng.randint(1, 2))]
    project = Project(
        uid=rng.uid(created),
        name=name,
        created=created,
        modified=created + rng.uniform(0, 200) * DAY,
        labels={"owner": teams[0][1], "costCenter": f"cc-{rng.randint(100, 999)}"},
        teams=teams,
        users=rng.sample(fleet.people, rng.randint(1, 4)),
    )
    fleet.register("project", project.uid, project.name, None)
    return project


def make_family(rng: FleetRandom, fleet: Fleet, i: int) -> ProfileFamily:
    """One profile name with 2-5 versions; infra versions move the k8s pack forward."""
    # The first quarter (at least one) are tenant-scope, so every project sees an infra profile.
    project = None if i % 4 == 0 else rng.choice(fleet.projects)
    kind = "add-on" if i % 3 == 2 else ("cluster" if i % 5 == 4 else "infra")
    if kind == "add-on":
        stem, addon_packs = catalog.ADDONS[(i // 3) % len(catalog.ADDONS)]
        cloud = "all"
        name = stem if i < 3 * len(catalog.ADDONS) else f"{stem}-{i}"
    else:
        cloud = "edge-native" if i < 2 else weighted(rng, [(c, w) for c, (w, _) in catalog.CLOUDS.items()])
        word = rng.choice(("base", "prod", "std", "secure", "gpu", "lite"))
        name = f"{cloud}-{word}-{i:03d}" if cloud != "edge-native" else f"edge-{rng.choice(catalog.SITE_WORDS)}-{i:03d}"
    family = ProfileFamily(serial=0, name=name, type=kind, cloud=cloud, project=project)
    family.serial = fleet.register("clusterprofile", "", name, project)
    created = fleet.anchor - rng.uniform(120, 600) * DAY
    count = rng.randint(2, 5)
    k8s_start = rng.randint(0, 2)
    minor = 0
    for v in range(count):
        created += rng.uniform(5, 60) * DAY if v else 0
        created = min(created, fleet.anchor - (count - v) * DAY)
        minor = minor + 1 if v else 0
        semver = f"1.{minor}.0"
        if kind == "add-on":
            packs = tuple(
                Pack(
                    n,
                    d,
                    "addon",
                    versions[min(v * len(versions) // count, len(versions) - 1)],
                    t,
                    rng.uid(created),
                )
                for n, d, t, versions in addon_packs
            )
        else:
            packs = infra_packs(rng, cloud, min(k8s_start + v, len(catalog.K8S_PACKS[cloud][1]) - 1), v, count, created)
            if kind == "cluster":
                stem, extra = catalog.ADDONS[i % len(catalog.ADDONS)]
                n, d, t, versions = extra[0]
                packs += (Pack(n, d, "addon", versions[-1], t, rng.uid(created)),)
        family.versions.append(
            ProfileVersion(rng.uid(created), family, semver, v + 1, packs, created, created + rng.uniform(0, 2) * DAY)
        )
    fleet.registry[family.serial] = ("clusterprofile", family.latest.uid, name, fleet.registry[family.serial][3])
    return family


def infra_packs(rng: FleetRandom, cloud: str, k8s_index: int, v: int, count: int, created: float) -> tuple[Pack, ...]:
    k8s_name, k8s_versions = catalog.K8S_PACKS[cloud]
    packs = []
    for layer, name, display, versions in catalog.BASE_PACKS[cloud]:
        version = versions[min(v * len(versions) // count, len(versions) - 1)]
        packs.append(Pack(name, display, layer, version, "spectro", rng.uid(created)))
    k8s = Pack(k8s_name, "Kubernetes", "k8s", k8s_versions[k8s_index], "spectro", rng.uid(created))
    packs.insert(1, k8s)
    return tuple(packs)


def pick_version(rng: FleetRandom, family: ProfileFamily) -> ProfileVersion:
    """Many clusters lag behind their profile's latest version."""
    if rng.random() < 0.4:
        return family.latest
    return rng.choice(family.versions)


def make_cluster(rng: FleetRandom, fleet: Fleet, project: Project, i: int) -> Cluster:
    visible = [f for f in fleet.families if f.project is None or f.project is project]
    infra = [f for f in visible if f.type != "add-on"] or [f for f in fleet.families if f.type != "add-on"]
    addons = [f for f in visible if f.type == "add-on"]
    family = rng.choice(infra)  # families were already drawn by cloud weight
    cloud = family.cloud
    place = rng.randrange(len(catalog.PLACES))
    city = catalog.PLACES[place][4]
    region = rng.choice(catalog.CLOUDS[cloud][1])
    if cloud == "edge-native":
        name = f"{rng.choice(catalog.SITE_WORDS)}-{city}-{i:05d}"
    else:
        name = f"{rng.choice(catalog.CLOUD_CLUSTER_WORDS)}-{region or city}-{i:05d}"
    created = fleet.anchor - rng.uniform(1, 500) * DAY
    state = weighted(rng, CLUSTER_STATES)
    if state == "Running":
        health = weighted(rng, (("Healthy", 0.84), ("UnHealthy", 0.1), ("", 0.06)))
    elif state == "Error":
        health = weighted(rng, (("UnHealthy", 0.7), ("", 0.3)))
    else:
        health = ""
    modified = min(fleet.anchor - 60, created + rng.uniform(0, 60) * DAY)
    cp = rng.choice((1, 1, 3))
    workers = rng.randint(0, 8) if cloud != "edge-native" else rng.randint(0, 3)
    heartbeat = fleet.anchor - (rng.uniform(5, 60) if health == "Healthy" else rng.uniform(60, 7 * DAY))
    cluster = Cluster(
        serial=0,
        uid=rng.uid(created),
        name=name,
        project=project,
        cloud=cloud,
        region=region,
        place=place,
        arch="arm64" if rng.random() < 0.15 else "amd64",
        created=created,
        modified=modified,
        heartbeat=heartbeat,
        state=state,
        health=health,
        infra=pick_version(rng, family),
        addons=[pick_version(rng, f) for f in rng.sample(addons, min(len(addons), rng.randint(0, 3)))],
        cp_size=cp,
        worker_size=workers,
        workers_healthy=workers if health == "Healthy" else rng.randint(0, workers),
        config_uid=rng.uid(created),
        account_uid=rng.uid(created) if cloud not in ("edge-native",) else "",
        labels={"env": rng.choice(("prod", "prod", "staging", "dev")), "site": city, "team": rng.choice(catalog.TEAMS)},
        agent=rng.choice(catalog.AGENT_VERSIONS),
        cpu_millicores=(cp + workers) * rng.choice((4000, 8000, 16000)),
        memory_mib=(cp + workers) * rng.choice((8192, 16384, 32768)),
    )
    if state == "Deleted":
        cluster.deleted = modified
    cluster.serial = fleet.register("spectrocluster", cluster.uid, name, project)
    return cluster


def new_host(rng: FleetRandom, fleet: Fleet, project: Project, created: float) -> EdgeHost:
    host_id = f"edge-{rng.getrandbits(128):032x}"
    place = rng.randrange(len(catalog.PLACES))
    host = EdgeHost(
        serial=0,
        uid=rng.uid(created),
        host_id=host_id,
        project=project,
        ip=fleet.allocate_ip(),
        mac="02:" + ":".join(f"{rng.getrandbits(8):02x}" for _ in range(5)),
        created=created,
        modified=min(fleet.anchor - 30, created + rng.uniform(0, 30) * DAY),
        state=weighted(rng, (("ready", 0.6), ("unpaired", 0.4))),
        health=weighted(rng, (("healthy", 0.6), ("unhealthy", 0.1), ("", 0.3))),
        arch="arm64" if rng.random() < 0.2 else "amd64",
        cores=rng.choice((4, 4, 8, 8, 16, 32)),
        memory_mb=rng.choice((7930, 15890, 31810, 63700)),
        os=rng.randrange(len(catalog.OS_IMAGES)),
        disk=rng.randrange(len(catalog.DISK_VENDORS)),
        disk_gb=rng.choice((128, 256, 300, 512, 1024)),
        gpu=rng.randrange(len(catalog.GPUS)) if rng.random() < 0.08 else -1,
        nic=rng.choice(catalog.NIC_NAMES),
        site=f"{rng.choice(catalog.SITE_WORDS)}-{catalog.PLACES[place][4]}-{rng.randint(1, 9999):04d}",
        place=place,
        agent=rng.choice(catalog.AGENT_VERSIONS),
        reach=weighted(rng, (("ok", 0.92), ("slow", 0.05), ("down", 0.03))),
    )
    host.serial = fleet.register("edgehost", host.uid, host_id, project)
    return host


def attach(host: EdgeHost, cluster: Cluster, rng: FleetRandom) -> None:
    host.cluster = cluster
    host.state = "in-use"
    host.health = weighted(rng, (("healthy", 0.86), ("unhealthy", 0.09), ("", 0.05)))
    host.role = "controlplane" if len(cluster.hosts) < cluster.cp_size else "worker"
    host.place = cluster.place
    host.site = cluster.name
    host.arch = cluster.arch
    cluster.hosts.append(host)


def attach_hosts(rng: FleetRandom, fleet: Fleet, count: int, weights: list[float]) -> None:
    """Edge hosts, most of them in use by their project's edge-native clusters."""
    edge_clusters = {
        p.uid: [c for c in fleet.clusters_by_project[p.uid] if c.cloud == "edge-native" and c.state != "Deleted"]
        for p in fleet.projects
    }
    turn = dict.fromkeys(edge_clusters, 0)
    for _ in range(count):
        project = rng.choices(fleet.projects, weights=weights)[0]
        host = new_host(rng, fleet, project, fleet.anchor - rng.uniform(2, 520) * DAY)
        targets = edge_clusters[project.uid]
        if targets and rng.random() < 0.85:
            attach(host, targets[turn[project.uid] % len(targets)], rng)
            turn[project.uid] += 1
        fleet.add_host(host)
    for cluster in fleet.clusters.values():
        if cluster.hosts:
            cluster.cp_size = min(cluster.cp_size, len(cluster.hosts))
            cluster.worker_size = len(cluster.hosts) - cluster.cp_size
            cluster.workers_healthy = sum(1 for h in cluster.hosts[cluster.cp_size :] if h.health == "healthy")


def fill_audits(rng: FleetRandom, fleet: Fleet, count: int, days: float = 90.0) -> None:
    """`count` audit entries spread over the `days` before the anchor, oldest first."""
    kinds: dict[str, list[int]] = {}
    for serial, (kind, *_rest) in enumerate(fleet.registry):
        kinds.setdefault(kind, []).append(serial)
    choices = [
        (k, w)
        for k, w in (("spectrocluster", 55), ("edgehost", 25), ("clusterprofile", 12), ("project", 3))
        if kinds.get(k)
    ]
    start = fleet.anchor - days * DAY
    people = len(fleet.people)
    log, registry = fleet.audits, fleet.registry
    action_for = {
        "spectrocluster": (0, 1, 1, 1, 4, 6, 2),
        "edgehost": (0, 1, 1, 5, 6),
        "clusterprofile": (0, 1, 3, 3),
        "project": (1, 1, 0),
    }
    for i in range(count):
        t = start + days * DAY * (i + rng.random()) / count
        if rng.random() < 0.05:
            log.append(t, TENANT, -1, 5, rng.randrange(people))  # a user login (activity)
            continue
        kind = weighted(rng, choices)
        serial = rng.choice(kinds[kind])
        project = registry[serial][3]
        actor = -1 if rng.random() < 0.3 else rng.randrange(people)
        log.append(t, project, serial, rng.choice(action_for[kind]), actor)


def fill_events(rng: FleetRandom, fleet: Fleet, per_cluster: int, days: float = 14.0) -> None:
    """Component events of clusters and edge hosts in the last `days`, oldest first."""
    rows: list[tuple[float, int, int, int]] = []
    for cluster in fleet.clusters.values():
        for _ in range(rng.randint(max(per_cluster - 2, 0), per_cluster + 2)):
            code = rng.randrange(len(CLUSTER_REASONS))
            rows.append(
                (
                    fleet.anchor - rng.uniform(0, days) * DAY,
                    fleet.project_index[cluster.project.uid],
                    cluster.serial,
                    code,
                )
            )
    for host in fleet.hosts.values():
        if rng.random() < 0.5:
            code = HOST_REASON_BASE + rng.randrange(len(HOST_REASONS))
            rows.append(
                (fleet.anchor - rng.uniform(0, days) * DAY, fleet.project_index[host.project.uid], host.serial, code)
            )
    rows.sort()
    for t, project, serial, code in rows:
        fleet.events.append(t, project, serial, code, -1)
