"""Benchmark the Palette simulator at fleet scale; prints JSON figures.

    python bench/sim.py                      # 20 projects, 10k clusters, 50k edge hosts, 1M audits
    python bench/sim.py --clusters 2000 ...  # smaller

Figures: resident memory after generation, generation seconds, and per listing the p50 / p95 /
max time to serve one page (in-process through the WSGI app, JSON encoding included, rate
limits off), over every page of the listing (audits: the first --audit-pages pages and a
time-windowed chain). Wall-clock figures include whatever else the machine is doing; the cpu_*
figures are this thread's CPU time per page and show the simulator's own cost.
"""

import argparse
import json
import logging
import ssl
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
from werkzeug.test import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from palette_sim.edge.server import make_edge_server  # noqa: E402
from palette_sim.fleet.generate import freeze, generate_fleet  # noqa: E402
from palette_sim.palette.app import SimApp  # noqa: E402
from palette_sim.palette.server import make_palette_server  # noqa: E402
from palette_sync.client import CLUSTER_SEARCH as LIVE  # noqa: E402 (the body the sync sends)

KEY = "bench-key"


class Timer:
    def __init__(self, app: SimApp) -> None:
        self.client = Client(app)
        self.samples: dict[str, list[float]] = {}  # wall-clock ms per page
        self.cpu: dict[str, list[float]] = {}  # CPU ms of this thread per page (robust to a busy machine)

    def chain(
        self,
        name: str,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        project: str | None = None,
        query: dict | None = None,
        max_pages: int = 10**9,
    ) -> int:
        """Follow one listing to its end (or max_pages), timing every page; returns the item count."""
        headers = {"ApiKey": KEY, **({"ProjectUid": project} if project else {})}
        token, items, pages = "", 0, 0
        while pages < max_pages:
            params = {**(query or {}), **({"continue": token} if token else {})}
            start, cpu = time.perf_counter(), time.thread_time()
            response = self.client.open(path, method=method, json=body, headers=headers, query_string=params)
            data = response.get_data()
            elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
            assert response.status_code == 200, (path, response.status_code, data[:200])
            page = json.loads(data)
            self.samples.setdefault(name, []).append(elapsed * 1000)
            self.cpu.setdefault(name, []).append(cpu * 1000)
            items += len(page["items"])
            pages += 1
            token = page.get("listmeta", {}).get("continue", "")
            if not token:
                break
        return items

    def report(self) -> dict:
        out = {}
        for name, ms in self.samples.items():
            ordered, cpu = sorted(ms), sorted(self.cpu[name])
            out[name] = {
                "pages": len(ms),
                "p50_ms": round(statistics.median(ordered), 2),
                "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
                "max_ms": round(ordered[-1], 2),
                "cpu_p95_ms": round(cpu[max(0, int(len(cpu) * 0.95) - 1)], 2),
                "cpu_max_ms": round(cpu[-1], 2),
            }
        return out


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {
        "requests": len(ms),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
    }


def over_sockets(app: SimApp, project: str) -> dict:
    """The same app behind the threaded Werkzeug server, and the edge hosts over TLS on their 127.x addresses.

    End to end: the httpx client runs in this process too, so it shares the GIL with the server
    threads and its own parsing and JSON decoding are in the figures.
    """
    server = make_palette_server("127.0.0.1", 0, app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    edge, _message = make_edge_server(app, port=0, mode="auto", tls=True)
    threading.Thread(target=edge.serve_forever, daemon=True).start()
    out: dict = {}
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with httpx.Client(base_url=base, headers={"ApiKey": KEY, "ProjectUid": project}, timeout=30) as c:
            for name, path in (
                ("clusters", "/v1/dashboard/spectroclusters/search"),
                ("edge hosts", "/v1/dashboard/edgehosts/search"),
            ):
                ms, token = [], ""
                while True:
                    start = time.perf_counter()
                    page = c.post(path, json={}, params={"continue": token} if token else {}).json()
                    ms.append((time.perf_counter() - start) * 1000)
                    token = page["listmeta"]["continue"]
                    if not token:
                        break
                out[f"{name} pages over HTTP"] = summary(ms)
        hosts = [h for h in app.fleet.hosts.values() if h.reach == "ok"][:200]
        verify = ssl.create_default_context(cafile=edge.tls.ca_path)
        ms = []
        for host in hosts:
            start = time.perf_counter()
            with httpx.Client(base_url=f"https://{host.ip}:{edge.server_address[1]}", verify=verify, timeout=10) as c:
                token = c.post("/v1/users/default/login", json={"username": "kairos", "password": KEY}).json()
                c.get("/v1/edge-mgmt/edgehosts/current", headers={"Authorization": token["Token"]["Authorization"]})
            ms.append((time.perf_counter() - start) * 1000)
        out["edge host: new TLS connection, login, host info"] = summary(ms)
        out["edge bind mode"] = edge.mode
    finally:
        server.shutdown()
        edge.server_close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--projects", type=int, default=20)
    p.add_argument("--clusters", type=int, default=10_000)
    p.add_argument("--profiles", type=int, default=60)
    p.add_argument("--edge-hosts", type=int, default=50_000)
    p.add_argument("--audits", type=int, default=1_000_000)
    p.add_argument("--audit-pages", type=int, default=400)
    args = p.parse_args()

    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    fleet = generate_fleet(
        seed=args.seed,
        projects=args.projects,
        clusters=args.clusters,
        profiles=args.profiles,
        edge_hosts=args.edge_hosts,
        audits=args.audits,
    )
    freeze()
    generation = time.perf_counter() - started
    rss_fleet = process.memory_info().rss
    app = SimApp(fleet, KEY, rate_scale=0)
    t = Timer(app)

    t.chain("projects", "POST", "/v1/dashboard/projects", {"filter": {}})
    biggest = max(fleet.projects, key=lambda pr: len(fleet.clusters_by_project[pr.uid]))
    for project in fleet.projects:
        t.chain("clusters (isDeleted=false)", "POST", "/v1/dashboard/spectroclusters/search", LIVE, project=project.uid)
        t.chain("profiles", "POST", "/v1/dashboard/clusterprofiles", {"filter": {}}, project=project.uid)
        t.chain("edge hosts", "POST", "/v1/dashboard/edgehosts/search", {"filter": {}, "sort": []}, project=project.uid)
    sort = {"filter": {}, "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}]}
    t.chain(
        "clusters sorted by lastModified", "POST", "/v1/dashboard/spectroclusters/search", sort, project=biggest.uid
    )
    t.chain(
        "clusters metadata/search", "POST", "/v1/dashboard/spectroclusters/metadata/search", {}, project=biggest.uid
    )
    t.chain("audits (tenant, newest first)", "GET", "/v1/audits", max_pages=args.audit_pages)
    t.chain("audits (project)", "GET", "/v1/audits", project=biggest.uid, max_pages=args.audit_pages)
    window = {"startTime": "2025-12-30T00:00:00Z"}
    t.chain("audits (project, startTime)", "GET", "/v1/audits", project=biggest.uid, query=window)
    t.chain(
        "audits (actionType=delete)", "GET", "/v1/audits", query={"actionType": "delete"}, max_pages=args.audit_pages
    )
    t.chain("events (project)", "GET", "/v1/events/components", project=biggest.uid)
    for cluster in fleet.clusters_by_project[biggest.uid][:200]:
        t.chain(
            "events of one cluster", "GET", f"/v1/events/components/spectrocluster/{cluster.uid}", project=biggest.uid
        )

    socket_figures = over_sockets(app, biggest.uid)

    figures = {
        "fleet": {
            "seed": args.seed,
            "projects": len(fleet.projects),
            "clusters": len(fleet.clusters),
            "profileVersions": len(fleet.versions),
            "edgeHosts": len(fleet.hosts),
            "audits": len(fleet.audits),
            "events": len(fleet.events),
        },
        "generation_seconds": round(generation, 2),
        "rss_mb_after_generation": round(rss_fleet / 2**20, 1),
        "rss_mb_fleet_only": round((rss_fleet - rss_before) / 2**20, 1),
        "rss_mb_after_bench": round(process.memory_info().rss / 2**20, 1),
        "page_latency": t.report(),
        "over_sockets": socket_figures,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
