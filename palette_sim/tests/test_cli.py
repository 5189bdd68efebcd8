"""`python -m palette_sim` in its own process: flags, the Palette API and an edge host over sockets."""

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from palette_sim.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]
KEY, CONTROL = "cli-key", "cli-control"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the simulator exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the simulator did not start")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ca = tmp_path_factory.mktemp("cli") / "ca.pem"
    port, edge_port = free_port(), free_port()
    args = ["--port", str(port), "--api-key", KEY, "--control-key", CONTROL, "--quiet", "--seed", "4"]
    args += ["--projects", "2", "--clusters", "30", "--edge-hosts", "20", "--audits", "100"]
    args += ["--edge-port", str(edge_port), "--edge-ca-out", str(ca), "--latency-ms", "5"]
    proc = subprocess.Popen([sys.executable, "-m", "palette_sim", *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for(port, proc)
        yield {"url": f"http://127.0.0.1:{port}", "edge_port": edge_port, "ca": str(ca)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_it_documents_every_flag() -> None:
    actions = build_parser()._actions
    assert len(actions) > 30
    assert [a.option_strings for a in actions if not a.help] == []
    text = subprocess.run([sys.executable, "-m", "palette_sim", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert "--rate-scale" in text.stdout and "/__sim/faults" in text.stdout


def test_it_serves_palette_and_counts_what_it_served(cli: dict) -> None:
    with httpx.Client(base_url=cli["url"], headers={"ApiKey": KEY}, timeout=5) as c:
        projects = c.post("/v1/dashboard/projects", json={"filter": {}}).json()["items"]
        assert len(projects) == 2
        stats = c.get("/__sim/stats", headers={"X-Sim-Control-Key": CONTROL}).json()
    assert stats["requests"] == {"/v1/dashboard": 1}
    assert stats["endpoints"] == {"POST /v1/dashboard/projects": 1}


def test_it_answers_an_edge_host_at_its_address(cli: dict) -> None:
    with httpx.Client(base_url=cli["url"], headers={"ApiKey": KEY, "X-Sim-Control-Key": CONTROL}, timeout=5) as c:
        project = c.get("/__sim/fleet").json()["projects"][0]["uid"]
        hosts = c.post("/v1/dashboard/edgehosts/search", json={}, headers={"ProjectUid": project}).json()["items"]
        down = set(c.get("/__sim/edge").json()["down"]) | set(c.get("/__sim/edge").json()["slow"])
    host = next(h for h in hosts if h["spec"]["host"]["hostAddress"] not in down)
    address = host["spec"]["host"]["hostAddress"]
    verify = ssl.create_default_context(cafile=cli["ca"])
    with httpx.Client(base_url=f"https://{address}:{cli['edge_port']}", verify=verify, timeout=5) as edge:
        login = edge.post("/v1/users/default/login", json={"username": "kairos", "password": KEY})
        token = login.json()["Token"]["Authorization"]
        info = edge.get("/v1/edge-mgmt/edgehosts/current", headers={"Authorization": token}).json()
    assert info["metadata"]["name"] == host["metadata"]["name"]


def test_it_imports_nothing_of_django_or_our_apps() -> None:
    code = (
        "import sys, palette_sim, palette_sim.__main__, palette_sim.edge.server, palette_sim.fleet.churn;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'dashboard', 'palette_sync', 'config')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_takes_its_secrets_from_the_environment_and_prints_none(tmp_path: Path) -> None:
    """Nothing secret on the command line (any local user reads /proc/<pid>/cmdline) or in its output."""
    port, edge_port = free_port(), free_port()
    secrets = {
        "PALETTE_SIM_API_KEY": "env-api-key",
        "PALETTE_SIM_CONTROL_KEY": "env-control-key",
        "PALETTE_SIM_EDGE_PASSWORD": "env-edge-password",
    }
    args = ["--port", str(port), "--seed", "4", "--projects", "1", "--clusters", "5", "--edge-hosts", "5"]
    args += ["--audits", "10", "--edge-port", str(edge_port), "--edge-ca-out", str(tmp_path / "ca.pem"), "--quiet"]
    out = tmp_path / "out.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "palette_sim", *args],
            cwd=ROOT,
            env={**os.environ, **secrets},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(port, proc)
        wait_for(edge_port, proc)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=5) as c:
            assert c.post("/v1/dashboard/projects", json={}, headers={"ApiKey": "env-api-key"}).status_code == 200
            fleet = c.get("/__sim/fleet", headers={"X-Sim-Control-Key": "env-control-key"})
            assert fleet.status_code == 200
            project = fleet.json()["projects"][0]["uid"]
            hosts = c.post(
                "/v1/dashboard/edgehosts/search", json={}, headers={"ApiKey": "env-api-key", "ProjectUid": project}
            ).json()["items"]
            edge_state = c.get("/__sim/edge", headers={"X-Sim-Control-Key": "env-control-key"}).json()
        reachable = [
            h["spec"]["host"]["hostAddress"]
            for h in hosts
            if h["spec"]["host"]["hostAddress"] not in {*edge_state["down"], *edge_state["slow"]}
        ]
        verify = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with httpx.Client(base_url=f"https://{reachable[0]}:{edge_port}", verify=verify, timeout=5) as edge:
            login = edge.post("/v1/users/default/login", json={"username": "kairos", "password": "env-edge-password"})
        assert login.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    printed = out.read_text()
    assert "control endpoint on" in printed
    for value in secrets.values():
        assert value not in cmdline
        assert value not in printed


def test_it_has_no_control_endpoint_without_a_control_key(tmp_path: Path) -> None:
    port = free_port()
    args = ["--port", str(port), "--api-key", "k", "--projects", "1", "--clusters", "2", "--edge-hosts", "0"]
    args += ["--audits", "1", "--edge-port", "0", "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALETTE_SIM_")}
    out = tmp_path / "out.log"
    with out.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "palette_sim", *args], cwd=ROOT, env=env, stdout=log)
    try:
        wait_for(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/__sim/fleet", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "control endpoint off" in out.read_text()


def test_it_refuses_to_start_without_an_api_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PALETTE_SIM_")}
    result = subprocess.run(
        [sys.executable, "-m", "palette_sim", "--port", "0"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "PALETTE_SIM_API_KEY" in result.stderr
