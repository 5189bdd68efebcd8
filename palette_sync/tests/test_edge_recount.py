"""One edge recount of an account at a time, on every worker: two at once (a slow tick and the next,
or an account read whole beside a tick) must not double counts or refuse sites as duplicates.
Real threads, each with its own database connection (PostgreSQL in CI)."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.models import EdgeHost, FleetCount, PaletteAccount, Project, SiteSummary
from palette_sync.locks import lock_name, sync_lock
from palette_sync.sync import rollups
from palette_sync.sync.edge_api import write
from palette_sync.throttle import redis_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account() -> PaletteAccount:
    account = PaletteAccount.objects.create(name="recount", api_url="http://sim")
    project = Project.objects.create(
        account=account, uid="p1", name="p1", first_seen_at=timezone.now(), last_seen_at=timezone.now()
    )
    now = timezone.now()
    for n in range(6):
        EdgeHost.objects.create(
            account=account,
            project=None if n % 2 else project,  # hosts outside any project have no project row to take turns on
            uid=f"h{n}",
            name=f"h{n}",
            site="s1",
            health="healthy",
            edge_api_state="reachable",
            first_seen_at=now,
            last_seen_at=now,
        )
    redis_for_test().delete(write.RECOUNT_KEY.format(account=account.pk), lock_name(account.pk, write.RECOUNT_LOCK))
    return account


def redis_for_test() -> object:
    from django.conf import settings

    return redis_for(settings.REDIS_URL)


def mark_all(account: PaletteAccount) -> None:
    project = Project.objects.get(account=account)
    write.mark_recount(account.pk, {(None, "s1"), (project.pk, "s1")})


def duplicates(account: PaletteAccount) -> dict:
    counts = Counter(
        FleetCount.objects.filter(account=account).values_list("project", "resource", "dimension", "value")
    )
    sites = Counter(SiteSummary.objects.filter(account=account).values_list("project", "site"))
    return {key: n for key, n in (counts + sites).items() if n > 1}


def in_thread(target: object, *args: object) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target(*args))
        except Exception as exc:  # noqa: BLE001 (the test reports what a recount raised)
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_two_recounts_of_one_account_at_once_do_not_double_the_counts(account: PaletteAccount, monkeypatch) -> None:
    """The first recount is held inside its transaction while a second one starts: without the
    account's lock both rewrite the counts of the hosts outside any project, and they are doubled."""
    inside, gate = threading.Semaphore(0), threading.Event()
    original = rollups.lock_project

    def held_open(project: Project | None) -> None:
        inside.release()
        gate.wait(timeout=10)
        original(project)

    monkeypatch.setattr(rollups, "lock_project", held_open)
    mark_all(account)
    first, first_outcome = in_thread(write.recount, account)
    assert inside.acquire(timeout=10)  # the first is inside its transaction now
    mark_all(account)  # results written meanwhile: the second has work too

    second, second_outcome = in_thread(write.recount, account)
    second_inside = inside.acquire(timeout=2)  # without the lock it gets as far as the first
    gate.set()
    for thread in (first, second):
        thread.join(timeout=30)

    assert not second_inside
    assert second_outcome == [0]  # skipped at once: another recount holds the account
    assert first_outcome == [2]
    assert duplicates(account) == {}
    assert redis_for_test().scard(write.RECOUNT_KEY.format(account=account.pk)) == 2  # left for the next tick
    monkeypatch.setattr(rollups, "lock_project", original)
    assert write.recount(account) == 2
    assert duplicates(account) == {}
    assert (
        sum(FleetCount.objects.filter(account=account, dimension="edge_api_state").values_list("count", flat=True)) == 6
    )


def test_recounts_of_one_account_in_many_threads_leave_each_count_once(account: PaletteAccount) -> None:
    threads = []
    for _ in range(8):
        mark_all(account)
        threads.append(in_thread(write.recount, account))
    for thread, _ in threads:
        thread.join(timeout=30)

    assert [o for _, outcome in threads for o in outcome if isinstance(o, Exception)] == []
    write.recount(account)
    assert duplicates(account) == {}
    assert SiteSummary.objects.get(account=account, project=None).hosts == 3


def test_a_recount_asked_to_wait_runs_after_the_one_holding_the_account(account: PaletteAccount) -> None:
    mark_all(account)
    with sync_lock(account.pk, write.RECOUNT_LOCK) as held:
        assert held
        assert write.recount(account) == 0  # the tick's: skipped, its marks kept
        waiting, outcome = in_thread(lambda: write.recount(account, wait=10))
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # an account read whole waits for it
    waiting.join(timeout=10)
    assert outcome == [2]
    assert duplicates(account) == {}
