"""The Edge Host API: every host at its own 127.x.y.z on one port, over real sockets and TLS."""

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest

from palette_sim import Fleet, SimApp, generate_fleet
from palette_sim.edge.app import EdgeApp
from palette_sim.edge.server import EdgeServer, can_bind_device, make_edge_server
from palette_sim.fleet.records import EdgeHost
from palette_sim.tests.conftest import API_KEY


@pytest.fixture(scope="module")
def small_fleet() -> Fleet:
    return generate_fleet(seed=11, projects=2, clusters=40, edge_hosts=60, audits=200)


def serve(sim: SimApp, mode: str, tls: bool) -> Iterator[EdgeServer]:
    server, _message = make_edge_server(sim, port=0, mode=mode, tls=tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server_close()
    thread.join(timeout=2)


@pytest.fixture(scope="module", params=["device", "per-address"])
def edge(request: pytest.FixtureRequest, small_fleet: Fleet) -> Iterator[EdgeServer]:
    if request.param == "device" and not can_bind_device():
        pytest.skip("SO_BINDTODEVICE is not allowed here")
    yield from serve(SimApp(small_fleet, API_KEY), request.param, tls=True)


def reachable(fleet: Fleet, clustered: bool = True) -> list[EdgeHost]:
    return [h for h in fleet.hosts.values() if h.reach == "ok" and (h.cluster is not None) == clustered]


def client_for(server: EdgeServer, host: EdgeHost) -> httpx.Client:
    verify = ssl.create_default_context(cafile=server.tls.ca_path)
    return httpx.Client(verify=verify, base_url=f"https://{host.ip}:{server.server_address[1]}", timeout=5)


def login(c: httpx.Client, **params: str) -> dict:
    r = c.post("/v1/users/default/login", params=params, json={"username": "kairos", "password": API_KEY})
    assert r.status_code == 200, r.text
    return r.json()


def test_it_answers_each_host_at_its_own_address(edge: EdgeServer, small_fleet: Fleet) -> None:
    for host in reachable(small_fleet)[:3]:
        with client_for(edge, host) as c:
            token = login(c)["Token"]["Authorization"]
            info = c.get("/v1/edge-mgmt/edgehosts/current", headers={"Authorization": token}).json()
            assert info["metadata"]["id"] == host.host_id
            assert info["spec"]["networkInfo"][0]["ip"] == host.ip
            details = c.get("/v1/edge-mgmt/cluster/details", headers={"Authorization": token}).json()
            assert host.host_id in details["spec"]["hostIDs"]


def test_it_presents_a_certificate_for_the_host_address(edge: EdgeServer, small_fleet: Fleet) -> None:
    host = reachable(small_fleet)[0]
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as default_trust:
        default_trust.get(f"https://{host.ip}:{edge.server_address[1]}/v1/ping")
    with client_for(edge, host) as c:
        assert c.get("/v1/ping").status_code == 401  # verified TLS; the ping still needs a token


def test_it_binds_tokens_to_their_host(edge: EdgeServer, small_fleet: Fleet) -> None:
    first, second = reachable(small_fleet)[:2]
    with client_for(edge, first) as c:
        token = login(c)["Token"]["Authorization"]
    with client_for(edge, second) as c:
        assert c.get("/v1/ping", headers={"Authorization": token}).status_code == 401


def test_it_renews_with_the_refresh_token_or_its_cookie(edge: EdgeServer, small_fleet: Fleet) -> None:
    host = reachable(small_fleet)[0]
    with client_for(edge, host) as c:
        tokens = login(c, extendedSession="true")["Token"]
        assert c.cookies.get("RefreshToken") == tokens["RefreshToken"]
        renewed = c.post("/v1/users/default/token/renewal", json={"refreshToken": tokens["RefreshToken"]})
        assert renewed.status_code == 200 and renewed.json()["Authorization"]
        by_cookie = c.post("/v1/users/default/token/renewal")
        assert by_cookie.status_code == 200
        c.cookies.clear()
        assert c.post("/v1/users/default/token/renewal", json={"refreshToken": "nope"}).status_code == 401


def test_it_refuses_a_wrong_password(edge: EdgeServer, small_fleet: Fleet) -> None:
    with client_for(edge, reachable(small_fleet)[0]) as c:
        r = c.post("/v1/users/default/login", json={"username": "kairos", "password": "wrong"})
    assert r.status_code == 401


def test_it_says_404_for_cluster_reads_of_a_host_without_cluster(edge: EdgeServer, small_fleet: Fleet) -> None:
    host = reachable(small_fleet, clustered=False)[0]
    with client_for(edge, host) as c:
        token = login(c)["Token"]["Authorization"]
        assert c.get("/v1/edge-mgmt/cluster/details", headers={"Authorization": token}).status_code == 404


def test_it_keeps_a_connection_alive_across_a_readings_requests(edge: EdgeServer, small_fleet: Fleet) -> None:
    """Login, a body the app never reads (a POST it refuses) and reads, on one TLS connection."""
    host = reachable(small_fleet)[0]
    context = ssl.create_default_context(cafile=edge.tls.ca_path)
    conn = http.client.HTTPSConnection(host.ip, edge.server_address[1], timeout=5, context=context)
    try:
        body = json.dumps({"username": "kairos", "password": API_KEY})
        conn.request("POST", "/v1/users/default/login?setCookie=false", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        token = json.loads(answer.read())["Token"]["Authorization"]
        first = conn.sock
        assert not answer.will_close and answer.getheader("Connection") is None
        conn.request("POST", "/v1/edge-mgmt/edgehosts/current", body="x" * 5000)  # 405, its body left unread
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 405
        for path in ("/v1/edge-mgmt/edgehosts/current", "/v1/edge-mgmt/cluster/details"):
            conn.request("GET", path, headers={"Authorization": token})
            answer = conn.getresponse()
            assert answer.status == 200 and json.loads(answer.read())
            assert conn.sock is first  # the same socket: no second TLS handshake
    finally:
        conn.close()


def test_it_closes_a_connection_the_client_asks_to_close(edge: EdgeServer, small_fleet: Fleet) -> None:
    host = reachable(small_fleet)[0]
    context = ssl.create_default_context(cafile=edge.tls.ca_path)
    conn = http.client.HTTPSConnection(host.ip, edge.server_address[1], timeout=5, context=context)
    try:
        conn.request("GET", "/v1/ping", headers={"Connection": "close"})
        answer = conn.getresponse()
        answer.read()
        assert answer.will_close and answer.getheader("Connection") == "close"
    finally:
        conn.close()


def first_byte(address: str, port: int) -> bytes:
    """The first byte of the answer to a request, or b"" when the server closes the connection."""
    try:
        with socket.create_connection((address, port), timeout=2) as s:
            s.sendall(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            return s.recv(1)
    except OSError:
        return b""


def test_it_drops_connections_to_addresses_without_a_host(edge: EdgeServer) -> None:
    address = "127.254.254.254" if edge.mode == "device" else "127.0.0.1"
    assert first_byte(address, edge.server_address[1]) == b""


def test_it_makes_unreachable_hosts_unreachable(small_fleet: Fleet) -> None:
    sim = SimApp(small_fleet, API_KEY)
    down = next(h for h in small_fleet.hosts.values() if h.reach == "ok")
    down.reach = "down"
    try:
        for server in serve(sim, "per-address", tls=False):
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://{down.ip}:{server.server_address[1]}/v1/ping", timeout=2)
    finally:
        down.reach = "ok"


def test_it_serves_plain_http_and_in_process(small_fleet: Fleet) -> None:
    sim = SimApp(small_fleet, API_KEY)
    host = reachable(small_fleet)[0]
    with httpx.Client(transport=httpx.WSGITransport(app=EdgeApp(sim)), base_url=f"http://{host.ip}:5080") as c:
        token = login(c)["Token"]["Authorization"]
        audits = c.get("/v1/edge-mgmt/edgehosts/current/audits", params={"limit": 10}, headers={"Authorization": token})
        assert len(audits.json()["items"]) == 10 and audits.json()["listmeta"]["continue"]
    for server in serve(sim, "per-address", tls=False):
        r = httpx.get(f"http://{host.ip}:{server.server_address[1]}/v1/ping", timeout=2)
        assert r.status_code == 401


def test_it_can_give_each_host_a_self_signed_certificate(small_fleet: Fleet) -> None:
    sim = SimApp(small_fleet, API_KEY)
    host = reachable(small_fleet)[0]
    server, _message = make_edge_server(sim, port=0, mode="per-address", tls=True, self_signed=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with (
            pytest.raises(httpx.ConnectError),
            httpx.Client(verify=ssl.create_default_context(cafile=server.tls.ca_path)) as c,
        ):
            c.get(f"https://{host.ip}:{port}/v1/ping")
        pem = ssl.get_server_certificate((host.ip, port))
        pinned = ssl.create_default_context(cadata=pem)
        with httpx.Client(verify=pinned, timeout=5) as c:
            assert c.get(f"https://{host.ip}:{port}/v1/ping").status_code == 401
    finally:
        server.server_close()
        thread.join(timeout=2)


def test_it_ends_a_session_on_logout_and_on_revocation(small_fleet: Fleet) -> None:
    sim = SimApp(small_fleet, API_KEY, control_key="ck")
    edge = EdgeApp(sim)
    sim.edge_apps.append(edge)
    host = reachable(small_fleet)[0]
    with httpx.Client(transport=httpx.WSGITransport(app=edge), base_url=f"http://{host.ip}:5080") as c:
        tokens = login(c)["Token"]
        auth = {"Authorization": tokens["Authorization"]}
        assert c.get("/v1/ping", headers=auth).status_code == 200
        c.post("/v1/users/default/logout", headers=auth)
        assert c.get("/v1/ping", headers=auth).status_code == 401
        renewal = c.post("/v1/users/default/token/renewal", json={"refreshToken": tokens["RefreshToken"]})
        assert renewal.status_code == 401
        auth = {"Authorization": login(c)["Token"]["Authorization"]}
        with httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="http://sim") as palette:
            palette.post("/__sim/tokens/revoke", headers={"X-Sim-Control-Key": "ck"})
        assert c.get("/v1/ping", headers=auth).status_code == 401
