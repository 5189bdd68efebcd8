"""Edge sessions shared by every worker process: sealed in Redis, reused by a process that did not log
in, dropped when the host refuses them. Against the simulator's edge hosts over real TLS on 127.x.y.z,
counting what the hosts served."""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import EDGE_PASSWORD as PASSWORD
from devtools.processes import free_port, start_simulator, stop, wait_for_port
from palette_sync.client import PaletteClient
from palette_sync.edge import (
    EdgeAccess,
    EdgeApiState,
    Lru,
    Session,
    SharedSessions,
    Tally,
    read_host,
    session_key,
    sessions,
)
from palette_sync.edge.access import READS
from palette_sync.throttle import redis_for

KEY, CONTROL = "edge-sessions-key", "edge-sessions-control"


class Hosts:
    """A simulator with a dozen edge hosts and its control endpoint (what the hosts served)."""

    def __init__(self, url: str, port: int, ca_pem: str, addresses: list[str]) -> None:
        self.url, self.port, self.ca_pem, self.addresses = url, port, ca_pem, addresses

    def access(self, password: str = PASSWORD) -> EdgeAccess:
        return EdgeAccess("kairos", password, ca_pem=self.ca_pem, port=self.port)

    def served(self) -> int:
        """Edge Host API requests the hosts have answered so far, logins included."""
        response = httpx.get(f"{self.url}/__sim/stats", headers={"X-Sim-Control-Key": CONTROL})
        return response.raise_for_status().json()["edgeRequests"]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    tmp: Path = tmp_path_factory.mktemp("edge-sessions")
    edge_port = free_port()
    sizes = ("--seed", "5", "--projects", "1", "--clusters", "4", "--edge-hosts", "12")
    edge = ("--edge-port", str(edge_port), "--edge-ca-out", str(tmp / "ca.pem"))
    env = {**os.environ, "PALETTE_SIM_EDGE_PASSWORD": PASSWORD, "PALETTE_SIM_CONTROL_KEY": CONTROL}
    sim = start_simulator(KEY, "--quiet", *sizes, *edge, env=env)
    try:
        wait_for_port(edge_port, sim.proc)
        with PaletteClient(sim.url, KEY) as client:
            listed = [
                h["spec"]["host"]["hostAddress"]
                for p in client.projects()
                for h in client.paginate(
                    "/v1/dashboard/edgehosts/search", body={"filter": {}, "sort": []}, project_uid=p["metadata"]["uid"]
                )
            ]
        found = Hosts(sim.url, edge_port, (tmp / "ca.pem").read_text(), listed)
        scout = Lru(100)  # the hosts that answer (the simulator makes a few down)
        found.addresses = [a for a in listed if read_host(a, found.access(), sessions=scout).state == "reachable"]
        assert len(found.addresses) >= 6
        yield found
    finally:
        stop(sim.proc)


@pytest.fixture(autouse=True)
def own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's shared sessions under names of its own in the test Redis."""
    monkeypatch.setattr(sessions, "SHARED_PREFIX", f"test-edge-session:{os.getpid()}:{time.monotonic_ns()}:")


def shared_keys(redis_url: str) -> list[bytes]:
    return list(redis_for(redis_url).scan_iter(match=sessions.SHARED_PREFIX + "*"))


def test_a_second_process_reuses_the_first_ones_login(hosts: Hosts) -> None:
    first, second = SharedSessions(Lru(100)), SharedSessions(Lru(100))  # two workers' own copies
    first_tally, second_tally = Tally(), Tally()
    for address in hosts.addresses:
        assert read_host(address, hosts.access(), sessions=first, tally=first_tally).state == EdgeApiState.REACHABLE
    before = hosts.served()

    for address in hosts.addresses:
        assert read_host(address, hosts.access(), sessions=second, tally=second_tally).state == EdgeApiState.REACHABLE

    assert first_tally.counts == {"logins": len(hosts.addresses)}
    assert second_tally.counts == {"reused": len(hosts.addresses)}
    assert hosts.served() - before == len(READS) * len(hosts.addresses)  # the reads alone: no login reached a host


def test_the_shared_copy_is_sealed_and_goes_before_the_token_expires(hosts: Hosts, redis_url: str) -> None:
    store = SharedSessions(Lru(100))
    address = hosts.addresses[0]
    read_host(address, hosts.access(), sessions=store)
    session = store.local.get(session_key(address, hosts.access()))

    [name] = shared_keys(redis_url)
    stored = redis_for(redis_url).get(name)
    assert session.token.encode() not in stored and session.refresh.encode() not in stored
    assert b"kairos" not in stored and PASSWORD.encode() not in stored
    assert address.encode() not in name
    ttl = redis_for(redis_url).pttl(name) / 1000  # TTL would round to whole seconds, past the bound below
    lifetime = session.expires - time.time()
    assert lifetime - sessions.SHARED_MARGIN - 5 <= ttl <= lifetime - sessions.SHARED_MARGIN


def test_a_shared_session_the_host_refuses_is_replaced_for_everyone(hosts: Hosts) -> None:
    first, second, third = SharedSessions(Lru(100)), SharedSessions(Lru(100)), SharedSessions(Lru(100))
    address = hosts.addresses[1]
    key = session_key(address, hosts.access())
    first.put(key, Session("revoked-token", expires=time.time() + 3600))
    tally = Tally()

    assert read_host(address, hosts.access(), sessions=second, tally=tally).state == EdgeApiState.REACHABLE

    assert tally.counts == {"reused": 1, "logins": 1}  # refused once, logged in again
    assert third.get(key).token not in ("revoked-token", "")
    assert third.get(key).token == second.get(key).token


def test_another_password_finds_no_shared_session(hosts: Hosts) -> None:
    first, second = SharedSessions(Lru(100)), SharedSessions(Lru(100))
    address = hosts.addresses[2]
    assert read_host(address, hosts.access(), sessions=first).state == EdgeApiState.REACHABLE
    assert read_host(address, hosts.access("rotated"), sessions=second).state == EdgeApiState.AUTH_FAILED


def test_a_session_sealed_under_another_key_is_not_used(hosts: Hosts, settings: object) -> None:
    address = hosts.addresses[3]
    settings.PALETTE_SECRET_KEY = "an-older-install-key-" + "x" * 32
    read_host(address, hosts.access(), sessions=SharedSessions(Lru(100)))
    name = sessions.shared_name(session_key(address, hosts.access()))
    settings.PALETTE_SECRET_KEY = "the-current-install-key-" + "y" * 32
    redis_for(settings.REDIS_URL).rename(name, sessions.shared_name(session_key(address, hosts.access())))
    tally = Tally()

    assert read_host(address, hosts.access(), sessions=SharedSessions(Lru(100)), tally=tally).state == "reachable"
    assert tally.counts == {"logins": 1}


@pytest.mark.parametrize("url", ["", "redis://127.0.0.1:{port}/0"])
def test_without_redis_sessions_stay_in_the_process(hosts: Hosts, settings: object, url: str) -> None:
    settings.REDIS_URL = url.format(port=free_port())  # none configured, or nothing listening
    store, tally = SharedSessions(Lru(100)), Tally()
    for _ in range(2):
        assert read_host(hosts.addresses[4], hosts.access(), sessions=store, tally=tally).state == "reachable"
    assert tally.counts == {"logins": 1, "reused": 1}


def test_the_login_answer_is_what_is_shared(hosts: Hosts, redis_url: str, settings: object) -> None:
    """What another process opens is the session itself: token, refresh token and expiry."""
    store = SharedSessions(Lru(100))
    address = hosts.addresses[5]
    read_host(address, hosts.access(), sessions=store)
    [name] = shared_keys(redis_url)
    opened = json.loads(sessions.unseal(redis_for(redis_url).get(name).decode(), name.decode()))
    kept = store.local.get(session_key(address, hosts.access()))
    assert opened == {"token": kept.token, "refresh": kept.refresh, "expires": kept.expires}
