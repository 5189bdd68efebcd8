"""A real Celery worker, on a real Redis, syncs the simulator into this test's database."""

import time

import pytest

from config.celery import app
from dashboard.models import Cluster, SyncRun
from palette_sync import sync

pytestmark = pytest.mark.worker


def test_it_syncs_the_fleet_through_a_worker(celery_worker, worker_env, settings) -> None:
    settings.PALETTE_API_URL = worker_env["PALETTE_API_URL"]
    account = sync.default_account()
    with app.connection_for_write(worker_env["REDIS_URL"]) as conn:
        app.send_task("palette_sync.sync_account", args=[account.pk], queue=celery_worker.queue, connection=conn)

    deadline = time.monotonic() + 60
    while SyncRun.objects.filter(resource="clusters", status="ok").count() < 3:
        assert time.monotonic() < deadline, celery_worker.log.read_text()[-3000:]
        time.sleep(0.25)

    assert Cluster.objects.filter(account=account).count() == 120
    assert "palette_sync.sync_account" in celery_worker.log.read_text()
