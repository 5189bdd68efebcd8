"""The Edge Host API client against the simulator's edge hosts, over real TLS on 127.x.y.z."""

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from conftest import ROOT, free_port, stop, wait_for_port
from palette_sync.client import PaletteClient
from palette_sync.edge import EdgeAccess, EdgeState, peer_fingerprint, read_host, read_hosts

KEY = "edge-test-key"
PASSWORD = "os-password"


@dataclass
class EdgeSim:
    url: str
    port: int
    ca_pem: str
    hosts: list[dict]


@pytest.fixture(scope="module")
def edge_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeSim]:
    tmp = tmp_path_factory.mktemp("edge")
    port, edge_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "palette_sim",
            "--port",
            str(port),
            "--api-key",
            KEY,
            "--quiet",
            "--seed",
            "3",
            "--projects",
            "2",
            "--clusters",
            "10",
            "--edge-hosts",
            "60",
            "--edge-port",
            str(edge_port),
            "--edge-password",
            PASSWORD,
            "--edge-ca-out",
            str(tmp / "ca.pem"),
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    wait_for_port(edge_port, proc)
    url = f"http://127.0.0.1:{port}"
    with PaletteClient(url, KEY) as client:
        hosts = [
            h
            for p in client.projects()
            for h in client.paginate(
                "/v1/dashboard/edgehosts/search", body={"filter": {}, "sort": []}, project_uid=p["metadata"]["uid"]
            )
        ]
    yield EdgeSim(url=url, port=edge_port, ca_pem=(tmp / "ca.pem").read_text(), hosts=hosts)
    stop(proc)


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
    reachable = [h for h in edge_sim.hosts if probes[h["metadata"]["uid"]].state == EdgeState.REACHABLE]
    assert len(reachable) >= len(edge_sim.hosts) * 0.8
    for host in reachable:
        facts = probes[host["metadata"]["uid"]].facts
        assert facts["host"]["metadata"]["id"] == host["metadata"]["name"]  # the host's own edge-<hex> id
        assert facts["host"]["status"]["agentVersion"]


def reachable_address(edge_sim: EdgeSim, probes: dict) -> str:
    return next(address(h) for h in edge_sim.hosts if probes[h["metadata"]["uid"]].state == EdgeState.REACHABLE)


def test_it_refuses_a_host_it_does_not_trust(edge_sim: EdgeSim, probes: dict) -> None:
    target = reachable_address(edge_sim, probes)
    probe = read_host(target, EdgeAccess("kairos", PASSWORD, port=edge_sim.port), timeout=5)
    assert probe.state == EdgeState.TLS_FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in probe.error
    assert probe.facts == {}


def test_it_pins_a_fingerprint(edge_sim: EdgeSim, probes: dict) -> None:
    target = reachable_address(edge_sim, probes)
    insecure = read_host(target, EdgeAccess("kairos", PASSWORD, insecure=True, port=edge_sim.port))
    assert insecure.state == EdgeState.REACHABLE
    fingerprint, _ = peer_fingerprint(target, edge_sim.port, 5)
    pinned = read_host(target, EdgeAccess("kairos", PASSWORD, fingerprint=fingerprint, port=edge_sim.port))
    wrong = read_host(target, EdgeAccess("kairos", PASSWORD, fingerprint="00" * 32, port=edge_sim.port))
    assert pinned.state == EdgeState.REACHABLE
    assert wrong.state == EdgeState.TLS_FAILED
    assert "not the pinned one" in wrong.error


def test_it_records_refused_credentials(edge_sim: EdgeSim) -> None:
    access = EdgeAccess("kairos", "wrong", ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    probes = read_hosts([(h["metadata"]["uid"], address(h), access) for h in edge_sim.hosts[:10]], timeout=5)
    states = {p.state for p in probes.values()}
    assert EdgeState.AUTH_FAILED in states
    assert states <= {EdgeState.AUTH_FAILED, EdgeState.UNREACHABLE}


def test_it_marks_down_hosts_unreachable_not_failed(probes: dict) -> None:
    assert probes["no-access"].state == EdgeState.NO_ACCESS
    states = {p.state for key, p in probes.items() if key != "no-access"}
    assert states <= {EdgeState.REACHABLE, EdgeState.UNREACHABLE}
    for key, probe in probes.items():
        if probe.state == EdgeState.UNREACHABLE:
            assert probe.error, key
            assert probe.facts == {}
