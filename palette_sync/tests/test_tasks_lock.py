"""The per-scope Redis lock (a second run of the same scope is skipped), and runs that end with the truth:
closed failed on any exception, stopped when their lock is lost or their time is up."""

import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection

from config.celery import app
from conftest import SIM_KEY, Sim, start_sim, stop
from dashboard.models import Cluster, PaletteAccount, Project, SyncRun, SyncScope
from palette_sync import sync, tasks
from palette_sync.locks import lock_name, sync_lock
from palette_sync.sync.runs import RunStopped
from palette_sync.throttle import redis_for


@pytest.fixture
def sim_server() -> Iterator[Sim]:
    """The simulator over a socket, 400 ms per answer: long enough for two runs to overlap."""
    sim = start_sim("--seed", "7", "--projects", "3", "--clusters", "120", "--latency-ms", "400")
    yield sim
    stop(sim.proc)


def sim_account(sim: Sim, name: str = "sim") -> PaletteAccount:
    account = PaletteAccount(name=name, api_url=sim.url)
    account.set_secret(SIM_KEY)
    account.save()
    return account


@pytest.mark.django_db
def test_it_skips_a_run_whose_scope_is_locked_and_runs_it_once_free(redis_url: str, sim_server: Sim, settings) -> None:
    settings.REDIS_URL = redis_url
    account = sim_account(sim_server)

    with sync_lock(account.pk, "projects") as held:
        assert held
        with sync_lock(account.pk, "projects") as second:
            assert not second
        outcome = tasks.run_scope(account, "projects", None)

    assert outcome["status"] == "skipped"
    skipped = SyncRun.objects.get(pk=outcome["run"])
    assert skipped.errors == ["skipped: another run of this scope is in progress"]
    assert not Project.objects.exists()

    assert tasks.run_scope(account, "projects", None)["status"] == "ok"
    assert Project.objects.count() == 3
    assert not redis_for(redis_url).exists(lock_name(account.pk, "projects"))  # released by its holder


@pytest.mark.worker
def test_it_runs_one_of_two_concurrent_runs_of_a_scope(celery_worker, worker_env: dict, settings) -> None:
    settings.REDIS_URL = worker_env["REDIS_URL"]
    account = sim_account(Sim(url=worker_env["PALETTE_API_URL"], api_key=SIM_KEY))
    assert tasks.run_scope(account, "projects", None)["status"] == "ok"
    project = Project.objects.order_by("name").first()

    with app.connection_for_write(worker_env["REDIS_URL"]) as conn:
        for _ in range(2):
            app.send_task(
                "palette_sync.sync_resource",
                args=[account.pk, "clusters", project.pk],
                queue=celery_worker.queue,
                connection=conn,
            )

    runs = SyncRun.objects.filter(account=account, resource="clusters", project=project)
    deadline = time.monotonic() + 60
    while runs.filter(finished_at__isnull=False).count() < 2:
        assert time.monotonic() < deadline, celery_worker.log.read_text()[-3000:]
        time.sleep(0.2)
    assert sorted(runs.values_list("status", flat=True)) == ["ok", "skipped"]


def test_it_keeps_the_lock_of_a_run_longer_than_the_timeout(redis_url: str, settings) -> None:
    settings.REDIS_URL = redis_url
    settings.PALETTE_SYNC_LOCK_TIMEOUT = 1
    with sync_lock(990001, "clusters", 7) as held:
        assert held
        time.sleep(2.5)  # two and a half timeouts: renewed, not lapsed
        with sync_lock(990001, "clusters", 7) as second:
            assert not second
        assert redis_for(redis_url).pttl(lock_name(990001, "clusters", 7)) > 0
    assert not redis_for(redis_url).exists(lock_name(990001, "clusters", 7))


def test_it_lets_a_dead_holders_lock_lapse_within_one_timeout(redis_url: str, settings) -> None:
    settings.REDIS_URL = redis_url
    settings.PALETTE_SYNC_LOCK_TIMEOUT = 1
    # A holder that died without releasing: the lock is there, and nobody renews it.
    redis_for(redis_url).set(lock_name(990002, "clusters"), "dead-worker-token", px=1000)
    with sync_lock(990002, "clusters") as held:
        assert not held
    deadline = time.monotonic() + 5
    while redis_for(redis_url).exists(lock_name(990002, "clusters")):  # nobody renews it: it lapses
        assert time.monotonic() < deadline, "a dead holder's lock did not lapse"
        time.sleep(0.05)
    with sync_lock(990002, "clusters") as held:
        assert held


# --- every run ends with the truth ---------------------------------------------------------------


@pytest.fixture
def live_account(db: None) -> PaletteAccount:
    return PaletteAccount.objects.create(name="sim", api_url="http://sim")


def failing_inserts_into(table: str) -> object:
    """A database that refuses INSERTs into one table, as a full disk or a lost connection would."""

    def wrapper(execute: object, sql: str, params: object, many: bool, context: object) -> object:
        if sql.startswith(f'INSERT INTO "{table}"'):
            raise OperationalError(f"could not extend file for {table}: No space left on device")
        return execute(sql, params, many, context)

    return wrapper


def test_a_run_that_raises_is_closed_failed_with_the_error(live_account, sim_fleet, sim_client) -> None:
    sync.sync_projects(live_account, sim_client(sim_fleet))
    project = Project.objects.first()
    with connection.execute_wrapper(failing_inserts_into("dashboard_cluster")), pytest.raises(OperationalError):
        sync.sync_resource(live_account, sim_client(sim_fleet), "clusters", project)
    run = SyncRun.objects.get(resource="clusters")
    assert run.status == "failed" and run.finished_at is not None
    assert run.errors[-1].startswith("OperationalError: could not extend file for dashboard_cluster")
    scope = SyncScope.objects.get(resource="clusters", project=project)
    assert scope.last_status == "failed" and "No space left on device" in scope.last_error


def test_a_run_stops_writing_once_its_lock_is_lost(live_account, sim_fleet, sim_client, redis_url, settings) -> None:
    settings.PALETTE_SYNC_LOCK_TIMEOUT = 1
    sync.sync_projects(live_account, sim_client(sim_fleet))
    project = Project.objects.first()
    name = lock_name(live_account.pk, "clusters", project.pk)
    with sync_lock(live_account.pk, "clusters", project.pk) as held:
        redis_for(redis_url).set(name, "another-workers-token", px=3000)  # it lapsed and someone else took it
        assert held.lost.wait(5), "the keeper did not notice the lost lock"
        with pytest.raises(RunStopped):
            sync.sync_resource(live_account, sim_client(sim_fleet), "clusters", project)
    redis_for(redis_url).delete(name)
    run = SyncRun.objects.get(resource="clusters")
    assert run.status == "failed" and "lock" in run.errors[-1] and "was lost" in run.errors[-1]
    assert not Cluster.objects.exists()  # nothing was written after the loss


def test_a_run_past_its_time_limit_stops(live_account, sim_fleet, sim_client, settings) -> None:
    settings.PALETTE_RUN_TIME_LIMIT = 0
    with pytest.raises(RunStopped):
        sync.sync_projects(live_account, sim_client(sim_fleet))
    run = SyncRun.objects.get(resource="projects")
    assert run.status == "failed" and "time limit" in run.errors[-1]


def test_sync_once_takes_the_workers_locks(live_account, sim_fleet, sim_client) -> None:
    with sync_lock(live_account.pk, "projects") as held:
        assert held
        runs = sync.sync_account(live_account, sim_client(sim_fleet))
    assert [(r.resource, r.status) for r in runs] == [("projects", "skipped")]
    assert not Project.objects.exists()
    assert {r.status for r in sync.sync_account(live_account, sim_client(sim_fleet))} == {"ok"}
