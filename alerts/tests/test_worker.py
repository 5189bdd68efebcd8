"""The beat task through a real Celery worker on a real Redis: a problem in the database reaches the receiver."""

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.tests.conftest import Receiver, cluster
from config.celery import app
from conftest import start_worker, stop
from dashboard.models import PaletteAccount


@pytest.mark.worker
def test_it_evaluates_and_notifies_through_a_worker(worker_env: dict, receiver: Receiver, tmp_path: Path) -> None:
    queue = f"test-alerts-{os.getpid()}-{time.monotonic_ns()}"
    env = {**worker_env, "CELERY_TASK_DEFAULT_QUEUE": queue, "ALERT_WEBHOOK_URLS": receiver.url, "ALERT_URLS": ""}
    env |= {"ALERT_QUIET_HOURS": "", "ALERT_PROJECTS": "", "ALERT_GRACE": "600"}
    account = PaletteAccount.objects.create(name="acme", api_url="https://palette.example.com")
    cluster(account, "pos-eu-1", health="UnHealthy", since=timezone.now() - timedelta(minutes=20))
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        with app.connection_for_write(env["REDIS_URL"]) as conn:
            app.send_task("alerts.evaluate_alerts", queue=queue, connection=conn)
        posts = receiver.wait_for(1)
        assert posts[0]["json"]["event"] == "problem" and posts[0]["json"]["subject"] == "cluster pos-eu-1"

        deadline = time.monotonic() + 30  # the worker records the delivery after the POST is answered
        while Alert.objects.get().state != Alert.State.NOTIFIED:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.1)
        with app.connection_for_write(env["REDIS_URL"]) as conn:  # a second evaluation: nothing new to say
            app.send_task("alerts.evaluate_alerts", queue=queue, connection=conn)
        deadline = time.monotonic() + 30
        while "evaluate_alerts" not in (log := (tmp_path / "worker.log").read_text()) or log.count("succeeded") < 2:
            assert time.monotonic() < deadline, log[-3000:]
            time.sleep(0.1)
        assert len(receiver.posts) == 1
    finally:
        stop(worker)
