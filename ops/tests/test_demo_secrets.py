"""The whole demo (simulator, worker, beat, web) with LOG_FORMAT=json: no secret in any line it logs."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from conftest import ROOT, free_port
from tests.test_demo import collect_output, reachable_edge_hosts, read_until

pytestmark = pytest.mark.worker

SECRET_KEY = "demo-django-secret-key-" + "k" * 40
METRICS_TOKEN = "demo-metrics-token-0123456789"


def test_it_logs_no_secret_during_a_whole_demo_run(tmp_path: Path) -> None:
    fernet_key = Fernet.generate_key().decode()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        VAR_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
        LOG_FORMAT="json",
        SECRET_KEY=SECRET_KEY,
        PALETTE_SECRET_KEY=fernet_key,
        METRICS_TOKEN=METRICS_TOKEN,
    )
    port, sim_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port), "--sim-port", str(sim_port)]
        + ["--clusters", "40", "--edge-hosts", "20", "--interval", "20"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = collect_output(proc)
    try:
        password = read_until(proc, r"Log in as\s+demo\s+/\s+(\S+)", 90, seen).group(1)
        read_until(proc, r"first sync done", 120, seen)
        deadline = time.monotonic() + 60
        while reachable_edge_hosts(tmp_path / "db.sqlite3") == 0:  # the edge password was used
            assert time.monotonic() < deadline, "no edge host read through its own API"
            time.sleep(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=30) as web:
            web.get("/login/")
            web.post(
                "/login/",
                data={"username": "demo", "password": password, "csrfmiddlewaretoken": web.cookies["csrftoken"]},
            )
            assert web.get("/clusters/").status_code == 200
            assert web.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
            assert web.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
            web.get("/readyz")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)

    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        sealed_key = db.execute("SELECT secret_sealed FROM dashboard_paletteaccount").fetchone()[0]
        sealed_password = db.execute("SELECT password_sealed FROM dashboard_edgecredential").fetchone()[0]
    box = Fernet(fernet_key)
    secrets = {
        "the Palette API key": box.decrypt(sealed_key.encode()).decode(),
        "the edge hosts' password": box.decrypt(sealed_password.encode()).decode(),
        "SECRET_KEY": SECRET_KEY,
        "the Fernet key": fernet_key,
        "METRICS_TOKEN": METRICS_TOKEN,
        "the demo login's password": password,
    }
    logs = {path.name: path.read_text() for path in (tmp_path / "log").glob("*.log")}
    assert {"worker.log", "beat.log", "web.log", "simulator.log"} <= set(logs)
    for name, text in logs.items():
        for what, secret in secrets.items():
            assert secret not in text, f"{what} is in {name}"
    console = "".join(seen)  # the demo's own console shows the login it made, and nothing else secret
    for what, secret in secrets.items():
        assert what == "the demo login's password" or secret not in console, f"{what} is on the console"

    # The worker's log lines are JSON objects, one a line, and the sync's lines name their run.
    lines = logs["worker.log"].splitlines()
    ready = next(i for i, line in enumerate(lines) if line.startswith("{") and "ready." in line)
    # Celery's own console notices (its banner before the worker is ready, "worker: Warm shutdown")
    # are printed, not logged; every other line is JSON.
    events = [json.loads(line) for line in lines[ready:] if line and not line.startswith("worker: ")]
    runs = [e for e in events if e.get("logger") == "palette_sync.sync.runs"]
    assert runs and all(isinstance(e.get("run_id"), int) for e in runs)
    web = [json.loads(line) for line in logs["web.log"].splitlines() if line.startswith("{")]
    assert any(e["event"] == "request_finished" and re.fullmatch(r"[0-9a-f-]{36}", e["request_id"]) for e in web)
