"""A real Celery worker, on a real Redis, syncs the simulator into this test's database."""

import time

import pytest
import redis

from config.celery import app
from conftest import start_worker, stop
from dashboard.models import Cluster, SyncRun
from devtools.processes import private_redis
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


def test_it_works_on_a_private_redis_that_asks_for_a_password(worker_env, settings, tmp_path) -> None:
    """The tests' and the demo's own Redis (devtools.processes) asks for a password, since other local
    users reach loopback ports: Celery's broker, the locks and the rate budget all work through it."""
    with private_redis(tmp_path / "redis") as server:
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port).ping()
        settings.PALETTE_API_URL = worker_env["PALETTE_API_URL"]
        worker_env.update(REDIS_URL=server.url, CELERY_BROKER_URL=server.url, CELERY_TASK_DEFAULT_QUEUE="private")
        worker = start_worker(worker_env, tmp_path / "worker.log")
        try:
            account = sync.default_account()
            with app.connection_for_write(server.url) as conn:
                app.send_task("palette_sync.sync_account", args=[account.pk], queue="private", connection=conn)
            deadline = time.monotonic() + 60
            while SyncRun.objects.filter(resource="clusters", status="ok").count() < 3:
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(0.25)
        finally:
            stop(worker)
        budget = redis.Redis.from_url(server.url).keys(f"{settings.PALETTE_THROTTLE_PREFIX}:*")
        assert budget, "the worker's rate budget is not in the private Redis"
