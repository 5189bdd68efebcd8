"""A living fleet: deterministic for the seed and the elapsed time."""

import httpx

from palette_sim import SimApp, generate_fleet
from palette_sim.tests.conftest import API_KEY, CONTROL_KEY, collect, make_client

SIZES = {"projects": 2, "clusters": 60, "edge_hosts": 80, "audits": 300}


def advanced(seconds: float, rate: float = 2.0, seed: int = 5) -> tuple[SimApp, httpx.Client]:
    app = SimApp(generate_fleet(seed=seed, **SIZES), API_KEY, control_key=CONTROL_KEY, rate_scale=0, churn=rate)
    client = make_client(app)
    r = client.post("/__sim/clock", json={"advance": seconds}, headers={"X-Sim-Control-Key": CONTROL_KEY})
    assert r.status_code == 200
    return app, client


def snapshot(app: SimApp, client: httpx.Client) -> dict:
    out = {}
    for p in app.fleet.projects:
        for path in ("/v1/dashboard/spectroclusters/search", "/v1/dashboard/edgehosts/search"):
            out[(p.uid, path)] = [
                (i["metadata"]["uid"], i["metadata"]["lastModifiedTimestamp"], i["status"]["state"])
                for i in collect(client, "POST", path, {}, ProjectUid=p.uid)
            ]
    out["audits"] = [i["metadata"]["uid"] for i in client.get("/v1/audits").json()["items"]]
    return out


def test_it_changes_the_fleet_as_time_passes() -> None:
    still, still_client = advanced(0)
    moved, moved_client = advanced(600)
    assert moved.churn.ticks >= 600 and sum(moved.churn.counts.values()) >= 1000
    assert snapshot(still, still_client) != snapshot(moved, moved_client)
    newest = moved_client.get("/v1/audits").json()["items"][0]["metadata"]["creationTimestamp"]
    assert newest > still_client.get("/v1/audits").json()["items"][0]["metadata"]["creationTimestamp"]
    counts = moved.churn.counts
    for change in ("cluster_health", "cluster_create", "host_create", "host_delete", "profile_version"):
        assert counts.get(change), change


def test_it_is_deterministic_for_seed_and_elapsed_time() -> None:
    a, ca = advanced(300)
    b, cb = advanced(300)
    assert snapshot(a, ca) == snapshot(b, cb)
    c, cc = advanced(300, seed=6)
    assert snapshot(c, cc) != snapshot(a, ca)


def test_it_keeps_new_edge_hosts_on_fresh_loopback_addresses() -> None:
    app, _client = advanced(900)
    addresses = [h.ip for h in app.fleet.hosts.values()]
    assert len(addresses) == len(set(addresses))
    assert all(a.startswith("127.") and a != "127.0.0.1" for a in addresses)
