"""/healthz and /readyz: no login, JSON, each check's status and reason, 200 or 503."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from conftest import ROOT, stop
from dashboard.models import PaletteAccount, Project, SyncScope

CHECKS = {"database", "redis", "workers", "beat", "sync"}


def readyz(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.2)


def test_it_answers_healthz_without_login_or_the_database(
    client: Client, db: None, django_assert_num_queries: Callable
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def beat(worker_env: dict, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Celery beat, its edge tick every second, sending to a queue nobody reads."""
    env = {**worker_env, "PALETTE_EDGE_TICK": "1", "CELERY_TASK_DEFAULT_QUEUE": f"beat-{os.getpid()}"}
    with (tmp_path / "beat.log").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"]
            + ["--schedule", str(tmp_path / "beat-schedule"), "--pidfile", ""],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield proc
    stop(proc)


@pytest.mark.worker
def test_it_is_ready_while_everything_answers_and_says_what_stopped(
    celery_worker: subprocess.Popen, beat: subprocess.Popen, fresh_fleet: PaletteAccount, client: Client, settings
) -> None:
    settings.PALETTE_EDGE_TICK = 1  # beat sends a task a second: silent for 2 s, it is late
    wait_for(lambda: readyz(client)[0] == 200, "ready")
    status, body = readyz(client)
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    assert all(check["status"] == "ok" and check["reason"] for check in body["checks"].values())

    stop(beat)
    wait_for(lambda: readyz(client)[1]["checks"]["beat"]["status"] == "fail", "beat's silence noticed")
    status, body = readyz(client)
    assert status == 503 and body["status"] == "fail"
    assert "beat last sent a task" in body["checks"]["beat"]["reason"]
    assert body["checks"]["workers"]["status"] == "ok"

    stop(celery_worker)
    wait_for(lambda: readyz(client)[1]["checks"]["workers"]["status"] == "fail", "the worker's absence noticed")
    assert "no Celery worker answered" in readyz(client)[1]["checks"]["workers"]["reason"]


def test_it_is_not_ready_without_redis_and_does_not_try_what_needs_it(
    client: Client, fresh_fleet: PaletteAccount, settings
) -> None:
    from conftest import free_port

    settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    status, body = readyz(client)
    assert status == 503
    checks = body["checks"]
    assert checks["database"]["status"] == "ok" and checks["sync"]["status"] == "ok"
    assert checks["redis"] == {"status": "fail", "reason": "Redis unavailable (ConnectionError)"}
    assert checks["workers"] == {"status": "fail", "reason": "not checked: redis is unavailable"}
    assert checks["beat"]["reason"] == "not checked: redis is unavailable"


def test_it_names_stale_sources_but_no_account_project_or_error(
    client: Client, fresh_fleet: PaletteAccount, django_assert_max_num_queries: Callable
) -> None:
    PaletteAccount.objects.filter(pk=fresh_fleet.pk).update(name="acme-prod-tenant")
    project = Project.objects.filter(account=fresh_fleet).first()
    Project.objects.filter(pk=project.pk).update(name="secret-mergers-project")
    stale = timezone.now() - timedelta(days=1)
    SyncScope.objects.filter(account=fresh_fleet, resource="clusters", project=project).update(ok_started_at=stale)
    SyncScope.objects.filter(account=fresh_fleet, resource="events", project=project).update(
        last_status="failed", last_error="401 for key=sk-live-123"
    )
    with django_assert_max_num_queries(2):  # SELECT 1, then the freshness query
        status, body = readyz(client)
    assert status == 503
    assert body["checks"]["sync"] == {"status": "fail", "reason": "2 scope(s) stale or failing: clusters, events"}
    text = str(body)
    for private in ("acme-prod-tenant", "secret-mergers-project", "sk-live-123", "401"):
        assert private not in text


def test_it_is_not_ready_before_the_first_sync(client: Client, db: None) -> None:
    status, body = readyz(client)
    assert status == 503
    assert body["checks"]["sync"] == {"status": "fail", "reason": "no source has completed a sync yet"}
