"""A real Celery worker, on a real Redis, syncs the simulator into this test's database."""

import time

import pytest

from config.celery import app
from dashboard.models import Cluster, SyncRun
from palette_sim import generate_fleet
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

    # sim_server serves this fleet; a search leaves deleted clusters out (REFERENCE.md 8).
    fleet = generate_fleet(seed=7, projects=3, clusters=120)
    live = sum(1 for c in fleet.clusters.values() if c.state != "Deleted")
    deadline = time.monotonic() + 30
    while Cluster.objects.filter(account=account).count() < live:  # the last fan-out may still be writing
        assert time.monotonic() < deadline, celery_worker.log.read_text()[-3000:]
        time.sleep(0.25)
    assert Cluster.objects.filter(account=account).count() == live
    log = celery_worker.log.read_text()
    assert "palette_sync.sync_account" in log and "palette_sync.sync_resource" in log
