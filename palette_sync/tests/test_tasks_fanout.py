"""Beat's task fans out through a real worker: every account, every project, every resource."""

import time

import pytest

from config.celery import app
from conftest import SIM_KEY
from dashboard.models import Cluster, ClusterProfile, EdgeHost, PaletteAccount, SyncRun, TimelineEntry
from palette_sync import sync

pytestmark = pytest.mark.worker
RUNS_PER_ACCOUNT = 1 + len(sync.TENANT_RESOURCES) + 3 * len(sync.PROJECT_RESOURCES)  # projects; tenant; 3 projects


def test_it_syncs_two_accounts_through_a_worker(celery_worker, worker_env: dict) -> None:
    accounts = []
    for name in ("alpha", "beta"):
        account = PaletteAccount(name=name, api_url=worker_env["PALETTE_API_URL"])
        account.set_secret(SIM_KEY)
        account.save()
        accounts.append(account)
    with app.connection_for_write(worker_env["REDIS_URL"]) as conn:
        app.send_task("palette_sync.sync_accounts", queue=celery_worker.queue, connection=conn)

    finished = SyncRun.objects.filter(account__in=accounts, finished_at__isnull=False)
    deadline = time.monotonic() + 120
    while finished.count() < 2 * RUNS_PER_ACCOUNT:
        assert time.monotonic() < deadline, celery_worker.log.read_text()[-3000:]
        time.sleep(0.25)

    assert set(finished.values_list("status", flat=True)) == {"ok"}
    for account in accounts:
        assert Cluster.objects.filter(account=account).count() > 100
        assert ClusterProfile.objects.filter(account=account).exists()
        assert EdgeHost.objects.filter(account=account).exists()
        assert TimelineEntry.objects.filter(account=account, kind="audit").exists()
    counts = [Cluster.objects.filter(account=a).count() for a in accounts]
    assert counts[0] == counts[1]
    # The worker also syncs the env-configured account (PALETTE_API_URL / PALETTE_API_KEY).
    assert PaletteAccount.objects.filter(name="default").exists()
    log = celery_worker.log.read_text()
    assert "palette_sync.sync_accounts" in log and "palette_sync.sync_resource" in log
