"""A site's own worker probes that site's edge hosts with only the broker, and the central worker
writes what it read: two real Celery workers on one machine, two queues, a real Redis, the edge
simulator's hosts over TLS (README "Edge hosts' own API")."""

import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app
from conftest import EDGE_KEY, EDGE_PASSWORD, ROOT, EdgeSim, database_url, start_worker, stop
from dashboard.models import EdgeCredential, EdgeHost, PaletteAccount, Project, TimelineEntry
from palette_sync import sync
from palette_sync.client import PaletteClient

pytestmark = pytest.mark.worker

NO_DATABASE = "postgres://nobody@127.0.0.1:9/there-is-no-database-here"


def start_site_worker(env: dict, log: Path, queue: str) -> subprocess.Popen:
    """A Celery worker that consumes only `queue` (its default queue is where its results go)."""
    return start_worker(env, log, queues=queue, hostname=f"site-{os.getpid()}@%h")


def probed(log: Path) -> int:
    """Hosts a worker read, from its "edge probes: N hosts, ..." lines."""
    return sum(int(n) for n in re.findall(r"edge probes: (\d+) hosts", log.read_text()))


@pytest.fixture
def fleet(transactional_db: None, edge_sim: EdgeSim, settings) -> PaletteAccount:
    """The simulator's projects and edge hosts (Palette's side) synced, and one edge credential for all."""
    settings.PALETTE_SECRET_KEY = "topology-" + secrets.token_urlsafe(16)
    account = PaletteAccount.objects.create(name="edge", api_url=edge_sim.url)
    with PaletteClient(edge_sim.url, EDGE_KEY) as client:
        sync.sync_projects(account, client)
        for project in Project.objects.filter(account=account):
            sync.sync_resource(account, client, "edgehosts", project)
    credential = EdgeCredential(account=account, selector="*", ca_pem=edge_sim.ca_pem, port=edge_sim.port)
    credential.set_password(EDGE_PASSWORD)
    credential.save()
    return account


def test_a_sites_worker_probes_its_hosts_and_the_central_worker_writes(
    fleet: PaletteAccount, redis_url: str, tmp_path: Path, settings
) -> None:
    hosts = EdgeHost.objects.filter(account=fleet)
    site, at_site = Counter(hosts.values_list("site", flat=True)).most_common(1)[0]
    assert site and 0 < at_site < hosts.count()
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    central_queue, prefix = f"test-edge-{tag}", f"edge-{tag}."
    common = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": redis_url,
        "PALETTE_SECRET_KEY": settings.PALETTE_SECRET_KEY,  # what the site worker needs to unseal the password
        "PALETTE_EDGE_TIMEOUT": "1",  # the simulator's slow hosts (2 s an answer) count as unreachable
        "PALETTE_EDGE_TICK": "2",  # first readings are spread over one tick
        "PALETTE_EDGE_SITE_QUEUES": site,
        "PALETTE_EDGE_QUEUE_PREFIX": prefix,
        "CELERY_TASK_DEFAULT_QUEUE": central_queue,  # the central workers' queue: results go there
        "PYTHONUNBUFFERED": "1",
    }
    site_env = {**common, "PALETTE_WORKER_ROLE": "edge-site", "DATABASE_URL": NO_DATABASE}
    no_db = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.db import connection as c; c.cursor()"],
        env=site_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert no_db.returncode != 0 and "ImproperlyConfigured" in no_db.stderr  # a site worker has no database

    central = start_worker({**common, "DATABASE_URL": database_url(connection.settings_dict)}, tmp_path / "c.log")
    try:
        site_worker = start_site_worker(site_env, tmp_path / "site.log", f"{prefix}{site}")
        try:
            with app.connection_for_write(redis_url) as conn:
                app.send_task("palette_sync.schedule_edge_probes", queue=central_queue, connection=conn)
            deadline = time.monotonic() + 90
            while hosts.filter(edge_api_checked_at__isnull=True).exists():
                logs = (tmp_path / "c.log").read_text()[-2000:] + (tmp_path / "site.log").read_text()[-2000:]
                assert time.monotonic() < deadline, logs
                time.sleep(0.25)
        finally:
            stop(site_worker)
    finally:
        stop(central)

    site_log, central_log = (tmp_path / "site.log").read_text(), (tmp_path / "c.log").read_text()
    assert probed(tmp_path / "site.log") == at_site  # the site's hosts, read at the site
    assert probed(tmp_path / "c.log") == hosts.count() - at_site  # the others, centrally
    written = r"Task palette_sync.write_edge_probes\[[-0-9a-f]+\] succeeded"
    assert re.search(written, central_log)  # the site's results came back through the broker, written centrally
    assert "palette_sync.write_edge_probes[" not in site_log
    assert re.search(r"Task palette_sync.probe_edge_hosts\[[-0-9a-f]+\] succeeded", site_log)
    assert "Traceback" not in site_log and "ImproperlyConfigured" not in site_log
    assert EDGE_PASSWORD not in site_log + central_log
    for group in (hosts.filter(site=site), hosts.exclude(site=site)):
        states = Counter(group.values_list("edge_api_state", flat=True))
        assert set(states) <= {"reachable", "unreachable"}
        assert states["reachable"] >= 0.7 * group.count()
    at_site_host = hosts.filter(site=site, edge_api_state="reachable").first()
    assert at_site_host.edge_facts["agentVersion"]
    assert at_site_host.edge_api_due_at > at_site_host.edge_api_checked_at  # its next reading is scheduled
    assert not TimelineEntry.objects.filter(kind="edge").exists()  # first readings are where history starts
