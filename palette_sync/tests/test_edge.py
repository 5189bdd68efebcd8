"""The Edge Host API client against the simulator's edge hosts, over real TLS on 127.x.y.z."""

import json
import ssl
import threading
import time
import tracemalloc

import httpx
import pytest

from conftest import EDGE_PASSWORD as PASSWORD
from conftest import EdgeSim
from palette_sync import edge
from palette_sync.edge import (
    EdgeAccess,
    EdgeApiState,
    Lru,
    Session,
    Tally,
    address_problem,
    peer_fingerprint,
    read_host,
    read_hosts,
    session_key,
)
from palette_sync.edge.access import LOGIN, READS
from palette_sync.edge.client import HostConnection


def address(host: dict) -> str:
    return host["spec"]["host"]["hostAddress"]


@pytest.fixture(scope="module")
def probes(edge_sim: EdgeSim) -> dict:
    """Every host read once, trusted by the simulator's CA, 16 at a time."""
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    targets = [(h["metadata"]["uid"], address(h), access) for h in edge_sim.hosts]
    targets.append(("no-access", address(edge_sim.hosts[0]), None))
    return read_hosts(targets, concurrency=16, timeout=3)


def test_it_reads_hosts_it_trusts_by_ca(edge_sim: EdgeSim, probes: dict) -> None:
    reachable = [h for h in edge_sim.hosts if probes[h["metadata"]["uid"]].state == EdgeApiState.REACHABLE]
    assert len(reachable) >= len(edge_sim.hosts) * 0.8
    for host in reachable:
        facts = probes[host["metadata"]["uid"]].facts  # cut to what the dashboard keeps
        assert facts["hostName"] == host["metadata"]["name"]  # the host's own edge-<hex> id
        assert facts["agentVersion"]


def reachable_address(edge_sim: EdgeSim, probes: dict) -> str:
    return next(address(h) for h in edge_sim.hosts if probes[h["metadata"]["uid"]].state == EdgeApiState.REACHABLE)


def test_it_refuses_a_host_it_does_not_trust(edge_sim: EdgeSim, probes: dict) -> None:
    target = reachable_address(edge_sim, probes)
    probe = read_host(target, EdgeAccess("kairos", PASSWORD, port=edge_sim.port), timeout=5)
    assert probe.state == EdgeApiState.TLS_FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in probe.error
    assert probe.facts == {}


def test_it_pins_a_fingerprint(edge_sim: EdgeSim, probes: dict) -> None:
    target = reachable_address(edge_sim, probes)
    insecure = read_host(target, EdgeAccess("kairos", PASSWORD, insecure=True, port=edge_sim.port))
    assert insecure.state == EdgeApiState.REACHABLE
    fingerprint, _ = peer_fingerprint(target, edge_sim.port, 5)
    pinned = read_host(target, EdgeAccess("kairos", PASSWORD, fingerprint=fingerprint, port=edge_sim.port))
    wrong = read_host(target, EdgeAccess("kairos", PASSWORD, fingerprint="00" * 32, port=edge_sim.port))
    assert pinned.state == EdgeApiState.REACHABLE
    assert wrong.state == EdgeApiState.TLS_FAILED
    assert "not the pinned one" in wrong.error
    access = EdgeAccess("kairos", PASSWORD, fingerprint=fingerprint, port=edge_sim.port)
    assert edge.tls_verify(access, target, 5) is edge.tls_verify(access, target, 5)  # one context per pin
    other = next(a for a in reachable_targets(edge_sim, probes, 5) if a != target)
    assert read_host(other, access).state == EdgeApiState.TLS_FAILED  # its own certificate is not the pinned one


def test_it_records_refused_credentials(edge_sim: EdgeSim) -> None:
    access = EdgeAccess("kairos", "wrong", ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    probes = read_hosts([(h["metadata"]["uid"], address(h), access) for h in edge_sim.hosts[:10]], timeout=5)
    states = {p.state for p in probes.values()}
    assert EdgeApiState.AUTH_FAILED in states
    assert states <= {EdgeApiState.AUTH_FAILED, EdgeApiState.UNREACHABLE}


def test_it_marks_down_hosts_unreachable_not_failed(probes: dict) -> None:
    assert probes["no-access"].state == EdgeApiState.NO_ACCESS
    states = {p.state for key, p in probes.items() if key != "no-access"}
    assert states == {EdgeApiState.REACHABLE, EdgeApiState.UNREACHABLE}  # the simulator keeps some hosts down
    for key, probe in probes.items():
        if probe.state == EdgeApiState.UNREACHABLE:
            assert probe.error, key
            assert probe.facts == {}


@pytest.mark.parametrize(
    ("address", "usable"),
    [
        ("127.1.0.5", True),
        ("10.20.30.40", True),
        ("fd00::12", True),
        ("store-0042.site.example", True),
        ("edge-host-1", True),
        ("127.1.0.5:22", False),  # a port of Palette's choosing
        ("evil.example/steal", False),
        ("kairos@127.1.0.5", False),  # user info
        ("https://127.1.0.5", False),
        ("[fd00::12]:5080", False),
        ("host name", False),
        ("-leading.example", False),
        ("a" * 64 + ".example", False),
    ],
)
def test_it_accepts_only_a_bare_host_name_or_ip_address(address: str, usable: bool) -> None:
    assert (address_problem(address) == "") is usable


def test_a_host_with_a_refused_address_is_not_contacted() -> None:
    access = EdgeAccess(username="kairos", password="pw", insecure=True)
    probes = read_hosts([("h1", "127.0.0.1:9@evil.example", access)], timeout=1)
    assert probes["h1"].state == EdgeApiState.BAD_ADDRESS
    assert "not a host name or IP address" in probes["h1"].error


# --- sessions: logged in once, reused until they expire (REFERENCE.md 13) ---------------------------


def reachable_targets(edge_sim: EdgeSim, probes: dict, n: int) -> list[str]:
    return [address(h) for h in edge_sim.hosts if probes[h["metadata"]["uid"]].state == EdgeApiState.REACHABLE][:n]


def test_it_reuses_a_hosts_session_instead_of_logging_in_again(edge_sim: EdgeSim, probes: dict) -> None:
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    sessions, tally = Lru(100), Tally()
    targets = reachable_targets(edge_sim, probes, 5)
    for _ in range(3):
        for target in targets:
            assert read_host(target, access, sessions=sessions, tally=tally).state == EdgeApiState.REACHABLE
    assert tally.counts == {"logins": 5, "reused": 10}
    assert len(sessions) == 5


def test_a_session_about_to_expire_is_renewed_not_logged_in_again(edge_sim: EdgeSim, probes: dict) -> None:
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    sessions, tally = Lru(100), Tally()
    target = reachable_targets(edge_sim, probes, 1)[0]
    read_host(target, access, sessions=sessions, tally=tally)
    session = sessions.get(session_key(target, access))
    assert session.expires - time.time() > 3600  # the token's own exp: 2 h
    session.expires = time.time() + 30  # as if it had lived most of its 2 h

    assert read_host(target, access, sessions=sessions, tally=tally).state == EdgeApiState.REACHABLE
    assert tally.counts == {"logins": 1, "renewals": 1}
    renewed = sessions.get(session_key(target, access))
    assert renewed.token != session.token
    assert renewed.expires - time.time() > 3600


def test_a_session_the_host_refuses_logs_in_again_once(edge_sim: EdgeSim, probes: dict) -> None:
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    sessions, tally = Lru(100), Tally()
    target = reachable_targets(edge_sim, probes, 1)[0]
    sessions.put(session_key(target, access), Session("forged-or-revoked", expires=time.time() + 3600))

    assert read_host(target, access, sessions=sessions, tally=tally).state == EdgeApiState.REACHABLE
    assert tally.counts == {"reused": 1, "logins": 1}
    assert sessions.get(session_key(target, access)).token != "forged-or-revoked"


def test_a_changed_password_does_not_ride_on_the_old_session(edge_sim: EdgeSim, probes: dict) -> None:
    sessions = Lru(100)
    target = reachable_targets(edge_sim, probes, 1)[0]
    right = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    wrong = EdgeAccess("kairos", "rotated", ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    assert read_host(target, right, sessions=sessions).state == EdgeApiState.REACHABLE
    assert read_host(target, wrong, sessions=sessions).state == EdgeApiState.AUTH_FAILED


def test_the_session_cache_is_bounded() -> None:
    sessions = Lru(3)
    for n in range(5):
        sessions.put(n, Session(f"t{n}"))
    sessions.get(2)
    sessions.put(5, Session("t5"))
    assert len(sessions) == 3
    assert sessions.get(0) is None and sessions.get(3) is None
    assert sessions.get(2) is not None


def test_the_session_repr_shows_no_token() -> None:
    assert "secret-token" not in repr(Session("secret-token", "secret-refresh", 1.0))
    assert "secret-refresh" not in repr(Session("secret-token", "secret-refresh", 1.0))
    assert "pw" not in repr(EdgeAccess("kairos", "pw"))


def test_it_does_not_contact_a_host_before_its_time() -> None:
    began = time.monotonic()
    probes = read_hosts([("h1", "", None), ("h2", "", None)], start_at={"h2": time.time() + 0.5})
    assert time.monotonic() - began >= 0.45
    assert probes["h2"].state == EdgeApiState.NO_ACCESS


# --- what a worker process spends: memory, TLS contexts, readings at once ----------------------------


def clustered_targets(edge_sim: EdgeSim, probes: dict, access: EdgeAccess) -> list[tuple[str, str, EdgeAccess]]:
    """The reachable hosts in a cluster: each answers its cluster's details, the largest answer."""
    return [
        (h["metadata"]["uid"], address(h), access)
        for h in edge_sim.hosts
        if probes[h["metadata"]["uid"]].state == EdgeApiState.REACHABLE
        and probes[h["metadata"]["uid"]].facts["clusterState"]
    ]


def test_a_batch_holds_each_reading_only_as_its_summary(edge_sim: EdgeSim, probes: dict) -> None:
    """The memory a batch needs grows with the readings at once, not with its hosts (read_hosts
    cuts each reading to its summary when it is read, not when the batch ends)."""
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    targets = clustered_targets(edge_sim, probes, access)
    assert len(targets) >= 20
    read_hosts(targets[:2], concurrency=1, timeout=5)  # sessions and TLS context made before measuring
    tracemalloc.start()
    try:
        read_hosts(targets[:8], concurrency=1, timeout=5)
        _, one = tracemalloc.get_traced_memory()  # the largest of 8 readings, one at a time
        tracemalloc.reset_peak()
        batch = read_hosts(targets, concurrency=2, timeout=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(len(json.dumps(p.facts)) < 4096 for p in batch.values())
    assert peak < 6 * one, f"{len(targets)} hosts two at a time peaked at {peak} bytes, one host at {one}"


def test_one_tls_context_per_trust_setting_however_many_threads_start_at_once(edge_sim: EdgeSim) -> None:
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem + "\n", port=edge_sim.port)  # a cold cache
    start, seen = threading.Barrier(16), []

    def verify() -> None:
        start.wait()
        seen.append(edge.tls_verify(access, "127.1.0.1", 5))

    threads = [threading.Thread(target=verify) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(context) for context in seen}) == 1
    assert seen[0].cert_store_stats()["x509_ca"] == 1  # the credential's CA only, not the system store too
    insecure = EdgeAccess("kairos", PASSWORD, insecure=True)
    assert edge.tls_verify(insecure, "a", 5) is edge.tls_verify(insecure, "b", 5)
    assert edge.tls_verify(insecure, "a", 5).verify_mode == ssl.CERT_NONE


def test_the_process_reads_at_most_its_share_of_hosts_at_once(edge_sim: EdgeSim, probes: dict) -> None:
    """Three batches at once, 8 readings each allowed, in a process allowed 3: never more than 3 at
    once, and none of the waiting ones timed out (no timeout runs while a reading waits)."""
    access = EdgeAccess("kairos", PASSWORD, ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    targets = reachable_targets(edge_sim, probes, 24)
    batches = [[(f"{n}:{a}", a, access) for a in targets[n::3]] for n in range(3)]
    results: list[dict] = []
    edge.SLOTS.resize(3)
    edge.SLOTS.peak = 0
    try:
        threads = [
            threading.Thread(target=lambda b=b: results.append(read_hosts(b, concurrency=8, timeout=2)))
            for b in batches
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        edge.SLOTS.resize(64)
    assert edge.SLOTS.peak == 3
    states = [p.state for r in results for p in r.values()]
    assert len(states) == len(targets) and set(states) == {EdgeApiState.REACHABLE}


# --- the connection: what a reading sends ----------------------------------------------------------


def recording_host(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A host that takes any password and has no cluster, recording each request it answers."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == LOGIN:
            return httpx.Response(200, json={"Token": {"Authorization": "a.b.c", "RefreshToken": "r"}})
        if request.url.path == READS["host"]:
            return httpx.Response(200, json={"status": {"hostName": "edge-1"}})
        return httpx.Response(404, json={})

    return httpx.MockTransport(answer)


def test_a_reading_sends_what_an_httpx_client_sends() -> None:
    seen: list[httpx.Request] = []
    access = EdgeAccess("kairos", "pw", insecure=True)
    probe = read_host("127.1.0.9", access, timeout=3, transport=recording_host(seen), sessions=Lru(4))
    assert probe.state == EdgeApiState.REACHABLE and probe.facts["host"]["status"]["hostName"] == "edge-1"
    assert [(r.method, str(r.url)) for r in seen] == [
        ("POST", f"https://127.1.0.9:{edge.EDGE_PORT}{LOGIN}?setCookie=false"),
        *(("GET", f"https://127.1.0.9:{edge.EDGE_PORT}{path}") for path in READS.values()),
    ]
    with httpx.Client() as client:
        defaults = dict(client.headers)
    for request in seen:
        assert {k: request.headers[k] for k in defaults} == defaults
        assert request.extensions["timeout"] == httpx.Timeout(3).as_dict()
    assert json.loads(seen[0].content) == {"username": "kairos", "password": "pw"}
    assert all(r.headers["Authorization"] == "a.b.c" for r in seen[1:])


@pytest.mark.parametrize(("method", "path"), [("DELETE", READS["host"]), ("PUT", LOGIN), ("POST", READS["cluster"])])
def test_the_edge_client_sends_no_write(method: str, path: str) -> None:
    seen: list[httpx.Request] = []
    http = HostConnection("https://127.1.0.9:5080", False, 3, recording_host(seen))
    with http, pytest.raises(edge.EdgeError, match="read-only"):
        http.send(method, path)
    assert seen == []


def test_a_proxy_named_in_the_environment_carries_the_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with HostConnection("https://127.1.0.9:5080", False, 3, None) as http:
        assert http.client is None  # no proxy: straight to the host
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    with HostConnection("https://127.1.0.9:5080", False, 3, None) as http:
        assert http.client is not None  # httpx applies the proxy (and NO_PROXY), as it always did
