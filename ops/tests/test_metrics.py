"""/metrics: a bearer token, Prometheus text format, figures that equal the database's."""

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, database_url, free_port, stop, wait_for_port
from dashboard.models import Cluster, EdgeHost, FleetCount, PaletteAccount, SyncRun
from ops import tallies
from ops.models import SyncTally
from palette_sync.throttle import RedisThrottle, family_for, redis_for

TOKEN = "metrics-token-for-tests"


@pytest.fixture(autouse=True)
def _token(settings: object) -> None:
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[str, dict[tuple, float]]:
    """name -> {sorted label items: value}, parsed by prometheus_client's own parser."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def parse(text: str) -> dict[str, dict[tuple, float]]:
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_it_refuses_a_missing_or_wrong_token(client: Client, db: None) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert b"palette_" not in response.content


def test_it_is_off_while_metrics_token_is_unset(client: Client, db: None, settings: object) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_it_needs_no_login_but_a_signed_in_user_still_needs_the_token(client: Client, db: None) -> None:
    client.force_login(User.objects.create_user("alice", password="pw-for-tests-only"))
    assert client.get("/metrics").status_code == 401


def test_it_exports_fleet_counts_that_equal_the_database(
    client: Client, fresh_fleet: PaletteAccount, django_assert_max_num_queries: Callable
) -> None:
    with django_assert_max_num_queries(8):
        samples = scrape(client)
    by_state = Counter(
        (p or "", s) for p, s in Cluster.objects.filter(removed_at__isnull=True).values_list("project__name", "state")
    )
    exported = {
        (dict(labels)["project"], dict(labels)["state"]): value
        for labels, value in samples["palette_clusters"].items()
        if value
    }
    assert exported == dict(by_state) and sum(exported.values()) > 0
    for labels in samples["palette_clusters"]:
        assert dict(labels)["account"] == "sim"
    hosts = Counter(EdgeHost.objects.filter(removed_at__isnull=True).values_list("health", flat=True))
    health = Counter()
    for labels, value in samples["palette_edge_hosts_by_health"].items():
        health[dict(labels)["health"]] += value
    assert +health == +hosts
    assert set(samples) >= {"palette_edge_hosts", "palette_edge_hosts_by_edge_api_state", "palette_clusters_by_health"}


def test_it_exports_sync_counters_that_equal_the_runs(client: Client, fresh_fleet: PaletteAccount) -> None:
    samples = scrape(client)
    runs = Counter(SyncRun.objects.values_list("resource", "status"))
    exported = {
        (dict(labels)["source"], dict(labels)["status"]): value
        for labels, value in samples["palette_sync_runs_total"].items()
    }
    assert exported == dict(runs)
    requests = Counter()
    for run in SyncRun.objects.all():
        requests.update(run.requests)
    assert {dict(labels)["family"]: v for labels, v in samples["palette_sync_requests_total"].items()} == requests
    finished = SyncRun.objects.exclude(status="skipped")
    counts = {dict(labels)["source"]: v for labels, v in samples["palette_sync_run_duration_seconds_count"].items()}
    assert counts == dict(Counter(finished.values_list("resource", flat=True)))
    infinite = {
        dict(labels)["source"]: v
        for labels, v in samples["palette_sync_run_duration_seconds_bucket"].items()
        if dict(labels)["le"] == "+Inf"
    }
    assert infinite == counts
    ages = samples["palette_sync_data_age_seconds"]
    assert {dict(labels)["source"] for labels in ages} == set(finished.values_list("resource", flat=True))
    assert all(0 <= age < 600 for age in ages.values())


def test_its_counters_survive_the_runs_being_deleted(client: Client, fresh_fleet: PaletteAccount) -> None:
    before = scrape(client)["palette_sync_runs_total"]
    SyncRun.objects.all().delete()  # retention
    assert scrape(client)["palette_sync_runs_total"] == before


def test_it_puts_each_run_in_its_duration_bucket(client: Client, fresh_fleet: PaletteAccount) -> None:
    SyncTally.objects.all().delete()
    now = timezone.now()
    for seconds in (0.5, 3, 3, 200, 7200):
        run = SyncRun(account=fresh_fleet, resource="clusters", status="ok", started_at=now, throttled=1)
        run.finished_at = now + timedelta(seconds=seconds)
        tallies.record_run(run)
    buckets = {
        dict(labels)["le"]: v
        for labels, v in scrape(client)["palette_sync_run_duration_seconds_bucket"].items()
        if dict(labels)["source"] == "clusters"
    }
    assert (buckets["1.0"], buckets["5.0"], buckets["120.0"], buckets["300.0"], buckets["3600.0"]) == (1, 3, 3, 4, 4)
    assert buckets["+Inf"] == 5
    samples = scrape(client)
    assert samples["palette_sync_run_duration_seconds_sum"][(("account", "sim"), ("source", "clusters"))] == 7406.5
    assert samples["palette_sync_throttled_total"][(("account", "sim"), ("source", "clusters"))] == 5


def test_it_shows_how_much_of_the_rate_budget_is_spoken_for(
    client: Client, fresh_fleet: PaletteAccount, redis_url: str, settings
) -> None:
    settings.PALETTE_THROTTLE = "redis"
    family = family_for("/v1/dashboard")
    throttle = RedisThrottle(redis_for(redis_url), fresh_fleet.rate_key(), max_wait=60)
    redis_for(redis_url).delete(throttle.key(family))
    labels = (("account", "sim"), ("family", family.name))
    assert scrape(client)["palette_rate_budget_burst_used_ratio"][labels] == 0
    for _ in range(int(family.capacity)):  # the whole burst, reserved at once
        throttle.reserve(family)
    samples = scrape(client)
    assert samples["palette_rate_budget_burst_used_ratio"][labels] > 0.9
    assert samples["palette_rate_budget_rate_ratio"][labels] == 1
    assert samples["palette_rate_limit_requests_per_second"][(("family", family.name),)] == family.rate


def test_it_exports_when_each_wall_screen_last_polled(client: Client, fresh_fleet: PaletteAccount) -> None:
    from wall.models import Display

    owner = User.objects.create_user("op", password="pw-for-tests-only")
    seen = timezone.now().replace(microsecond=0)
    shown = Display(name="Ops room", created_by=owner, last_seen_at=seen)
    shown.new_token()
    shown.save()
    revoked = Display(name="Old TV", created_by=owner, last_seen_at=seen, revoked_at=seen)
    revoked.new_token()
    revoked.save()
    never = Display(name="New TV", created_by=owner)
    never.new_token()
    never.save()
    exported = scrape(client)["palette_wall_screen_last_seen_timestamp_seconds"]
    assert exported == {(("id", str(shown.pk)), ("screen", "Ops room")): seen.timestamp()}


def test_it_counts_runs_closed_at_once_by_many_workers(transactional_db: None, fresh_fleet: PaletteAccount) -> None:
    """Concurrent closes (threads with their own connections; PostgreSQL runs them truly at once) all count."""
    SyncTally.objects.all().delete()
    now = timezone.now()

    def close_runs() -> None:
        try:
            for _ in range(25):
                run = SyncRun(account=fresh_fleet, resource="events", status="ok", started_at=now, finished_at=now)
                run.requests = {"/v1/events": 2}
                tallies.record_run(run)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=close_runs) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert SyncTally.objects.get(resource="events").runs == 200
    assert fresh_fleet.requesttally_set.get(family="/v1/events").requests == 400


def test_it_answers_the_same_from_every_gunicorn_worker(
    transactional_db: None, fresh_fleet: PaletteAccount, tmp_path: Path, redis_url: str
) -> None:
    """Several gunicorn workers in multiprocess mode: every scrape, whichever worker serves it, equals the database."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "VAR_DIR": str(ROOT / "var"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "3", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("wb"),
        start_new_session=True,
    )
    try:
        wait_for_port(port, proc)
        states = FleetCount.objects.filter(resource="clusters", dimension="state")
        expected = sum(states.values_list("count", flat=True))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=60) as web:
            for _ in range(12):
                samples = parse(web.get("/metrics").raise_for_status().text)
                assert sum(samples["palette_clusters"].values()) == expected
                assert sum(samples["palette_sync_runs_total"].values()) == SyncRun.objects.count()
    finally:
        stop(proc)
