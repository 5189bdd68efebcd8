"""`manage.py demo` (what `make demo` runs): everything starts, data arrives, SIGTERM stops it all."""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from conftest import ROOT, free_port

pytestmark = pytest.mark.worker


def collect_output(proc: subprocess.Popen) -> list[str]:
    """Lines the process prints, gathered by a thread as they come."""
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True).start()
    return seen


def read_until(proc: subprocess.Popen, pattern: str, timeout: float, seen: list[str]) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if match := re.search(pattern, "".join(seen)):
            return match
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {pattern!r} within {timeout}s; output:\n{''.join(seen)}")


def test_it_runs_everything_and_stops_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    port, sim_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--port",
            str(port),
            "--sim-port",
            str(sim_port),
            "--clusters",
            "80",
            "--edge-hosts",
            "40",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = collect_output(proc)
    try:
        login = read_until(proc, r"Log in as\s+demo\s+/\s+(\S+)", 90, seen)
        synced = int(read_until(proc, r"first sync done: (\d+) clusters", 90, seen).group(1))
        assert 70 <= synced <= 80  # the fleet's 80 clusters less those Palette lists as deleted
        pids = [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", "".join(seen))]
        redis_port = int(re.search(r"embedded Redis on 127.0.0.1:(\d+)", "".join(seen)).group(1))
        assert len(pids) == 4
        with pytest.raises(redis.exceptions.AuthenticationError):  # other local users reach loopback too
            redis.Redis(host="127.0.0.1", port=redis_port).ping()

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as web:
            page = web.get("/")
            assert "Sign in" in page.text
            token = web.cookies["csrftoken"]
            page = web.post(
                "/login/",
                data={
                    "username": "demo",
                    "password": login.group(1),
                    "csrfmiddlewaretoken": token,
                    "next": "/clusters/",
                },
            )
            assert f"{synced} clusters" in page.text
            overview = web.get("/")
            assert "Fleet overview" in overview.text
            assert web.get("/static/css/app.css").status_code == 200
        # The simulated edge hosts' own API is read too, with the credential the demo configured.
        deadline = time.monotonic() + 60
        while reachable_edge_hosts(tmp_path / "db.sqlite3") == 0:
            assert time.monotonic() < deadline, "no edge host read through its own API"
            time.sleep(1)
        groups = {os.getpgid(pid) for pid in pids}
        assert_secrets_stay_private(proc, login.group(1), tmp_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)

    assert proc.returncode == 0, "".join(seen)
    left = [
        p
        for p in psutil.process_iter(["pid", "status"])
        if safe_pgid(p.pid) in groups and p.info["status"] != psutil.STATUS_ZOMBIE
    ]
    assert left == [], f"processes left behind: {left}"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_port), timeout=1)


def assert_secrets_stay_private(demo: subprocess.Popen, password: str, var: Path) -> None:
    """Secrets reach the demo's children by environment, never on a command line (any local user
    reads /proc/<pid>/cmdline) or in a log; var/ is the demo's alone (files 0600, directories 0700)."""
    tree = [psutil.Process(demo.pid), *psutil.Process(demo.pid).children(recursive=True)]
    secrets, cmdlines = {password}, []
    for child in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            env = child.environ()
            names = ("PALETTE_API_KEY", "PALETTE_SIM_API_KEY", "PALETTE_SIM_EDGE_PASSWORD")
            secrets |= {env[name] for name in names if env.get(name)}
            cmdlines.append(" ".join(child.cmdline()))
    assert len(secrets) >= 3  # the login, the API key, the edge hosts' password
    assert not [c for c in cmdlines if any(s in c for s in secrets)]
    logs = "".join(log.read_text(errors="replace") for log in (var / "log").glob("*.log"))
    assert not [s for s in secrets if s in logs] and "control key" not in logs
    loose = []
    for path in var.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # a journal SQLite has just removed
            if path.stat().st_mode & 0o077:
                loose.append(str(path))
    assert loose == []


def reachable_edge_hosts(db: Path) -> int:
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM dashboard_edgehost WHERE edge_api_state = 'reachable'").fetchone()[0]


def safe_pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
