"""Logs: one JSON object a line (LOG_FORMAT=json), a run id on every sync line, the request id
carried into the tasks a request queues, names from Palette that cannot forge lines, no secrets."""

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from config.celery import app
from conftest import ROOT, SIM_KEY
from dashboard.models import PaletteAccount, SyncRun
from ops import logs
from palette_sim import SimApp, generate_fleet
from palette_sync import sync
from palette_sync.client import PaletteClient

FORGED = '{"level": "error", "event": "forged", "logger": "palette_sync.sync.runs"}'


def capture(log_format: str) -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter(log_format))
    return handler, stream


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, through the JSON formatter."""
    handler, stream = capture("json")
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def sync_hostile_fleet() -> PaletteAccount:
    """A sync of a fleet whose first project's name carries a line break and a forged JSON line."""
    fleet = generate_fleet(seed=5, projects=2, clusters=10, profiles=2, edge_hosts=0, audits=10, anchor=time.time())
    fleet.projects[0].name = f"evil\n{FORGED}\r\nend"
    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    with PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=SimApp(fleet, SIM_KEY))) as client:
        sync.sync_account(account, client)
    return account


def test_it_logs_one_json_object_a_line_with_the_run_id_and_no_forged_line(db: None, json_lines: io.StringIO) -> None:
    sync_hostile_fleet()
    lines = json_lines.getvalue().splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(e, dict) and e["event"] and e["level"] and e["timestamp"] for e in events)
    assert not any(e["event"] == "forged" for e in events)
    runs = [e for e in events if e["logger"] == "palette_sync.sync.runs"]
    assert len(runs) >= SyncRun.objects.count()
    assert {e["run_id"] for e in runs} == set(SyncRun.objects.values_list("pk", flat=True))
    hostile = [e for e in runs if "evil" in e["event"]]
    assert hostile and all(FORGED in e["event"] for e in hostile)  # the name whole, inside its own line
    for e in runs:  # each line is about the run it names
        run = SyncRun.objects.get(pk=e["run_id"])
        assert run.resource in e["event"]


def test_it_keeps_a_text_line_on_one_line(db: None) -> None:
    handler, stream = capture("text")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        sync_hostile_fleet()
    finally:
        root.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith("{") or line == "end" for line in lines)
    assert any("evil\\n{" in line and "run_id=" in line for line in lines)


def test_it_masks_a_wall_token_and_an_oauth_code_in_any_line(json_lines: io.StringIO) -> None:
    logging.getLogger("django.request").warning("Not Found: /wall/s3cr3t-t0ken/screen/")
    logging.getLogger("x").info("GET /accounts/oidc/callback/?code=c0de-123&state=st4te HTTP/1.1")
    text = json_lines.getvalue()
    for secret in ("s3cr3t-t0ken", "c0de-123", "st4te"):
        assert secret not in text
    assert "/wall/[secret]/screen/" in text and "code=[secret]&state=[secret]" in text


def test_it_logs_each_request_with_its_id_and_no_token_in_the_path(
    client: Client, db: None, json_lines: io.StringIO
) -> None:
    client.get("/wall/s3cr3t-t0ken/")
    events = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    finished = [e for e in events if e["event"] == "request_finished"]
    assert finished and finished[0]["request_id"] and finished[0]["request"] == "GET /wall/[secret]/"
    assert "s3cr3t-t0ken" not in json_lines.getvalue()


# A page that queues a sync, as a "sync now" button would: the worker's lines carry its request id.
@login_not_required
def queue_sync(request: HttpRequest, account_id: int) -> HttpResponse:
    with app.connection_for_write(request.GET["broker"]) as conn:
        app.send_task("palette_sync.sync_account", args=[account_id], queue=request.GET["queue"], connection=conn)
    return HttpResponse("queued")


urlpatterns = [path("queue-sync/<int:account_id>/", queue_sync)]


@pytest.fixture
def json_worker(worker_env: dict, tmp_path: object) -> Iterator[object]:
    """A real Celery worker logging JSON (LOG_FORMAT=json)."""
    from conftest import start_worker, stop

    worker_env.update(LOG_FORMAT="json", CELERY_TASK_DEFAULT_QUEUE=f"json-{time.monotonic_ns()}")
    proc = start_worker(worker_env, tmp_path / "worker.log")
    proc.queue, proc.log = worker_env["CELERY_TASK_DEFAULT_QUEUE"], tmp_path / "worker.log"
    yield proc
    stop(proc)


@pytest.mark.worker
def test_it_carries_the_request_id_into_the_tasks_it_queues(
    json_worker: object, worker_env: dict, client: Client, settings
) -> None:
    settings.ROOT_URLCONF = __name__
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    settings.PALETTE_API_URL = worker_env["PALETTE_API_URL"]
    account = sync.default_account()
    response = client.get(
        f"/queue-sync/{account.pk}/",
        {"broker": worker_env["REDIS_URL"], "queue": json_worker.queue},
        HTTP_X_REQUEST_ID="req-4f1c",
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 90
    while SyncRun.objects.filter(resource="clusters", finished_at__isnull=False).count() < 3:
        assert time.monotonic() < deadline, json_worker.log.read_text()[-3000:]
        time.sleep(0.25)
    lines = json_worker.log.read_text().splitlines()
    # Celery prints its banner as text as it starts (`celery --quiet` leaves it out); once the worker
    # is ready, every line is JSON.
    ready = next(i for i, line in enumerate(lines) if line.startswith("{") and "ready." in line)
    assert all(line.startswith("{") for line in lines[ready:] if line)
    events = [json.loads(line) for line in lines if line.startswith("{")]
    started = [e for e in events if e["event"] == "task_started"]
    assert started and all(e["request_id"] == "req-4f1c" for e in started)  # the fan-out's tasks too
    runs = [e for e in events if e["logger"] == "palette_sync.sync.runs"]
    assert runs and all(e["request_id"] == "req-4f1c" and e["run_id"] and e["task_id"] for e in runs)


def test_a_python_warning_is_a_json_line_too() -> None:
    """A warning (a worker started as root gets Celery's SecurityWarning) goes through the log
    formatter, not to stderr as raw text."""
    script = "import django, warnings; django.setup(); warnings.warn('running as root: not recommended')"
    env = os.environ | {"LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any("running as root" in e["event"] and e["logger"] == "py.warnings" for e in events), lines
