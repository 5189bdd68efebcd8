"""Rate limits, faults and the /__sim/ control endpoint, checked from the client's side."""

import json

import httpx
import pytest

from palette_sim import Fleet, SimApp
from palette_sim.harness.ratelimit import RateLimiter, family_of
from palette_sim.tests.conftest import API_KEY, CONTROL_KEY, collect, make_client


def control(client: httpx.Client, method: str, path: str, body: dict | None = None) -> dict:
    r = client.request(method, path, json=body, headers={"X-Sim-Control-Key": CONTROL_KEY})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1/dashboard/spectroclusters/search", "/v1/dashboard"),
        ("/v1/clusterprofiles/abc/packs", "/v1/clusterprofiles/:uid/packs"),
        ("/v1/clusterprofiles/macros", "/v1/clusterprofiles"),
        ("/v1/spectroclusters/abc/profiles", "/v1/spectroclusters/:uid/profiles"),
        ("/v1/events/components/edgehost/abc", "/v1/events/components"),
        ("/v1/auth/refresh/token", "/v1/auth"),
        ("/v1/unlisted/thing", "/v1/unlisted"),
    ],
)
def test_it_puts_paths_in_the_longest_listed_family(path: str, family: str) -> None:
    assert family_of(path).prefix == family


def test_it_throttles_a_family_after_its_burst(fleet: Fleet) -> None:
    app = SimApp(fleet, API_KEY, control_key=CONTROL_KEY, rate_scale=0.1)  # /v1/dashboard: 1/s, capacity 5
    with make_client(app) as c:
        codes = [c.get("/v1/dashboard/projects/metadata").status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
        assert c.get("/v1/users/info").status_code == 200  # another family, another bucket
        throttled = c.get("/v1/dashboard/projects/metadata")
        assert throttled.json()["code"] == "TooManyRequests"
        stats = control(c, "GET", "/__sim/stats")
    assert stats["throttled"]["/v1/dashboard"] >= 3
    assert stats["requests"]["/v1/users"] == 1


def test_it_keeps_a_bucket_per_client_address(fleet: Fleet) -> None:
    app = SimApp(fleet, API_KEY, rate_scale=0.1)
    for address in ("127.0.0.1", "127.0.0.2"):
        transport = httpx.WSGITransport(app=app, remote_addr=address)
        with httpx.Client(transport=transport, base_url="http://sim", headers={"ApiKey": API_KEY}) as c:
            assert [c.get("/v1/users/info").status_code for _ in range(5)] == [200] * 5


def test_it_refuses_the_control_endpoint_without_its_key(client: httpx.Client) -> None:
    assert client.get("/__sim/stats").status_code == 401
    assert client.get("/__sim/stats", headers={"X-Sim-Control-Key": API_KEY}).status_code == 401


def test_it_hides_the_control_endpoint_when_no_key_is_set(fleet: Fleet) -> None:
    with make_client(SimApp(fleet, API_KEY)) as c:
        assert c.get("/__sim/stats", headers={"X-Sim-Control-Key": ""}).status_code == 404


def test_it_injects_server_errors_at_run_time(client: httpx.Client) -> None:
    control(client, "PUT", "/__sim/faults", {"error_rate": 1.0, "paths": ["/v1/users"]})
    r = client.get("/v1/users/info")
    assert r.status_code in (500, 502, 503, 504) and r.json()["code"]
    assert client.post("/v1/dashboard/projects", json={}).status_code == 200
    control(client, "DELETE", "/__sim/faults")
    assert client.get("/v1/users/info").status_code == 200


def test_it_storms_429s_for_a_while(client: httpx.Client) -> None:
    control(client, "PUT", "/__sim/faults", {"storm_seconds": 30})
    assert client.get("/v1/users/info").status_code == 429
    control(client, "PUT", "/__sim/faults", {"storm_seconds": 0})
    assert client.get("/v1/users/info").status_code == 200


def test_it_serves_malformed_and_truncated_bodies(client: httpx.Client) -> None:
    control(client, "PUT", "/__sim/faults", {"malformed_rate": 1.0})
    with pytest.raises(json.JSONDecodeError):
        client.get("/v1/users/info").json()
    control(client, "PUT", "/__sim/faults", {"malformed_rate": 0, "truncated_rate": 1.0})
    r = client.get("/v1/users/info")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_it_makes_pages_repeat_or_drop_items(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[0].uid
    expected = len(fleet.clusters_by_project[p])
    control(client, "PUT", "/__sim/faults", {"repeat_rate": 1.0})
    repeated = collect(client, "POST", "/v1/dashboard/spectroclusters/search", {}, ProjectUid=p)
    assert len(repeated) > expected and len({i["metadata"]["uid"] for i in repeated}) == expected
    control(client, "PUT", "/__sim/faults", {"repeat_rate": 0, "drop_rate": 1.0})
    dropped = collect(client, "POST", "/v1/dashboard/spectroclusters/search", {}, ProjectUid=p)
    assert len(dropped) < expected


def test_it_can_hand_back_the_same_continue_token(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[0].uid
    path = "/v1/dashboard/spectroclusters/search"
    token = client.post(path, json={}, headers={"ProjectUid": p}).json()["listmeta"]["continue"]
    control(client, "PUT", "/__sim/faults", {"loop_rate": 1.0})
    again = client.post(path, params={"continue": token}, json={}, headers={"ProjectUid": p}).json()
    assert again["listmeta"]["continue"] == token


def test_it_revokes_tokens(app: SimApp, client: httpx.Client) -> None:
    login = {"emailId": app.email, "password": API_KEY}
    token = client.post("/v1/auth/authenticate", json=login).json()["Authorization"]
    control(client, "POST", "/__sim/tokens/revoke")
    r = client.get("/v1/users/info", headers={"Authorization": token, "ApiKey": ""})
    assert r.status_code == 401


def test_it_expires_tokens_when_the_clock_jumps(app: SimApp, client: httpx.Client) -> None:
    token = client.post("/v1/auth/authenticate", json={"emailId": app.email, "password": API_KEY}).json()[
        "Authorization"
    ]
    before = control(client, "GET", "/__sim/clock")["now"]
    after = control(client, "POST", "/__sim/clock", {"jump": 901})["now"]
    assert after > before
    assert client.get(f"/v1/auth/refresh/{token}").status_code == 401


def test_it_reports_the_fleet(client: httpx.Client, fleet: Fleet) -> None:
    info = control(client, "GET", "/__sim/fleet")
    assert info["counts"]["clusters"] == len(fleet.clusters)
    assert [p["uid"] for p in info["projects"]] == [p.uid for p in fleet.projects]


def test_it_refills_buckets_at_the_published_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(scale=1.0, clock=lambda: now[0])
    dashboard, profiles = family_of("/v1/dashboard/projects"), family_of("/v1/clusterprofiles/x")
    # A full bucket holds rps x burst; after that, requests pass at rps.
    assert sum(limiter.allow("127.0.0.1", dashboard) for _ in range(60)) == dashboard.capacity
    assert sum(limiter.allow("127.0.0.1", profiles) for _ in range(300)) == profiles.capacity
    now[0] += 0.5
    assert sum(limiter.allow("127.0.0.1", dashboard) for _ in range(10)) == dashboard.rps * 0.5
    now[0] += 100
    assert sum(limiter.allow("127.0.0.1", dashboard) for _ in range(60)) == 50  # never above capacity
