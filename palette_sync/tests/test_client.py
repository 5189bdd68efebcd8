"""The client against the simulator: in-process through an httpx transport, and over a real socket.

The simulator's own counters (its /__sim/ stats) are the witness of what reached the server.
"""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import redis

from devtools.processes import start_simulator, stop
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sim.harness.faults import FaultConfig
from palette_sync.client import PaletteClient, RetryPolicy, retry_after_seconds
from palette_sync.errors import (
    PaletteAuthError,
    PaletteBadResponse,
    PaletteIncompleteListing,
    PaletteRateLimited,
    PaletteServerError,
    PaletteTimeout,
    PaletteWriteRefused,
)
from palette_sync.sync.timeline import rfc3339
from palette_sync.throttle import RedisThrottle, family_for

KEY = "test-api-key"
CONTROL = "test-control-key"
PASSWORD = "s3cret-pass"
# Retry waits turned down so the tests are fast; Retry-After is still honoured up to 2 s.
FAST = RetryPolicy(attempts=5, timeout=20, wait_initial=0.001, wait_max=0.01, wait_jitter=0.0, retry_after_cap=2.0)


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(seed=7, projects=3, clusters=120, edge_hosts=10, audits=50)


def make_app(fleet: Fleet, **options: object) -> SimApp:
    return SimApp(fleet, KEY, control_key=CONTROL, password=PASSWORD, **options)


def in_process(app: Callable, **options: object) -> PaletteClient:
    options.setdefault("retry", FAST)
    return PaletteClient("http://sim", options.pop("api_key", KEY), transport=httpx.WSGITransport(app=app), **options)


def list_everything(client: PaletteClient) -> tuple[list[dict], list[dict]]:
    projects = list(client.projects())
    return projects, [c for p in projects for c in client.clusters(p["metadata"]["uid"])]


def biggest_project(fleet: Fleet) -> str:
    """The uid of the project with the most clusters: its listing has several pages."""
    return max(fleet.projects, key=lambda p: len(fleet.visible_clusters(p.uid))).uid


def served(app: SimApp) -> dict:
    return app.stats.snapshot()


# --- listing, scope, auth ----------------------------------------------------------------------


def test_it_lists_every_project_and_cluster_and_counts_requests_per_family(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app) as client:
        projects, clusters = list_everything(client)
        listing = client.clusters(projects[0]["metadata"]["uid"])
        rows = list(listing)
    assert {p["metadata"]["uid"] for p in projects} == {p.uid for p in fleet.projects}
    assert len({c["metadata"]["uid"] for c in clusters}) == len(clusters) > 100
    assert listing.complete and listing.count == listing.rows == len(rows) and not listing.problems
    assert client.stats.requests == served(app)["requests"]
    assert client.stats.throttled == client.stats.retries == 0


def test_it_scopes_a_listing_to_its_project_with_the_project_uid_header(fleet: Fleet) -> None:
    with in_process(make_app(fleet)) as client:
        project_uid = next(iter(client.projects()))["metadata"]["uid"]
        clusters = list(client.clusters(project_uid))
    assert clusters
    assert {c["specSummary"]["projectMeta"]["uid"] for c in clusters} == {project_uid}


def test_it_pages_a_get_listing_with_query_parameters_on_every_page(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app) as client:
        listing = client.paginate("/v1/audits", method="GET", params={"actionType": "update"})
        audits = list(listing)
        everything = list(client.paginate("/v1/audits", method="GET"))
    assert listing.complete and listing.pages >= 1
    assert audits and {a["spec"]["actionType"] for a in audits} == {"update"}
    assert len(everything) == len(fleet.audits) > len(audits)


def test_it_logs_in_with_a_password_and_sends_the_raw_token(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app, api_key="", username=app.email, password=PASSWORD, org=fleet.org) as client:
        assert client.user_info()["tenantUid"] == fleet.tenant_uid
        list_everything(client)
    endpoints = served(app)["endpoints"]
    assert endpoints["POST /v1/auth/authenticate"] == 1
    assert "401" not in served(app)["statuses"]


def test_it_refreshes_the_token_before_it_expires(fleet: Fleet) -> None:
    app = make_app(fleet, token_ttl=2.0)  # tokens die 1-2 s after issue (their exp is whole seconds)
    client = in_process(app, api_key="", username=app.email, password=PASSWORD, token_refresh_after=0.5)
    with client:
        for _ in range(10):
            client.user_info()
            time.sleep(0.25)
    stats = served(app)
    assert stats["endpoints"]["POST /v1/auth/authenticate"] == 1
    assert stats["endpoints"]["GET /v1/auth/refresh/<token>"] >= 3
    assert "401" not in stats["statuses"]


def test_it_logs_in_again_once_when_the_token_is_refused(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app, api_key="", username=app.email, password=PASSWORD) as client:
        client.user_info()
        app.tokens.revoke_all()
        assert client.user_info()["tenantUid"] == fleet.tenant_uid
    stats = served(app)
    assert stats["endpoints"]["POST /v1/auth/authenticate"] == 2
    assert stats["statuses"]["401"] == 1


def test_it_raises_a_typed_error_for_bad_credentials_without_retrying(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app, api_key="", username=app.email, password="wrong") as client:
        with pytest.raises(PaletteAuthError) as excinfo:
            client.user_info()
        assert excinfo.value.status == 401
    with in_process(app, api_key="wrong-key") as client, pytest.raises(PaletteAuthError):
        list(client.projects())
    assert served(app)["statuses"] == {"401": 2}


# --- retries -------------------------------------------------------------------------------------


def test_it_retries_server_errors_and_counts_every_attempt(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(error_rate=0.3))
    with in_process(app) as client:
        _, clusters = list_everything(client)
    assert len(clusters) > 100
    assert client.stats.retries > 0
    assert client.stats.requests == served(app)["requests"]  # each retry is a request, and counted


def test_it_raises_a_typed_error_when_retries_run_out(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(error_rate=1.0))
    with in_process(app) as client, pytest.raises(PaletteServerError) as excinfo:
        client.user_info()
    assert excinfo.value.status in (500, 502, 503, 504)
    assert served(app)["total"] == FAST.attempts


@pytest.mark.parametrize("fault", ["malformed_rate", "truncated_rate"])
def test_it_retries_broken_json_a_bounded_number_of_times(fleet: Fleet, fault: str) -> None:
    app = make_app(fleet, faults=FaultConfig(**{fault: 1.0}))
    with in_process(app) as client, pytest.raises(PaletteBadResponse):
        list(client.projects())
    assert served(app)["total"] == FAST.bad_response_attempts


def test_it_gets_through_occasional_broken_json(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(malformed_rate=0.1, truncated_rate=0.1))
    with in_process(app) as client:
        _, clusters = list_everything(client)
    assert len(clusters) > 100
    assert served(app)["total"] > sum(1 for _ in clusters) // 50


def with_retry_after(app: Callable, value: str) -> Callable:
    """The simulator, with a Retry-After header added to its 429s (real Palette documents none)."""

    def wrapped(environ: dict, start_response: Callable) -> object:
        def start(status: str, headers: list, *args: object) -> object:
            if status.startswith("429"):
                headers = [*headers, ("Retry-After", value)]
            return start_response(status, headers, *args)

        return app(environ, start)

    return wrapped


def test_it_waits_as_long_as_retry_after_says(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(with_retry_after(app, "1")) as client:
        # Every request is 429 for 0.3 s from now: started with the timing, so that a slow start of
        # the client on a loaded machine cannot use the storm up before the first request.
        app.faults.update({"storm_seconds": 0.3})
        started = time.monotonic()
        client.user_info()
    assert 1.0 <= time.monotonic() - started < 1.5
    assert client.stats.throttled == served(app)["throttledTotal"] == 1


def test_it_raises_rate_limited_when_retry_after_is_above_the_cap(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(storm_seconds=60))
    with in_process(with_retry_after(app, "120")) as client, pytest.raises(PaletteRateLimited) as excinfo:
        client.user_info()
    assert excinfo.value.retry_after == 120
    assert served(app)["total"] == 1


def test_it_backs_off_on_429_without_retry_after(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(throttle_rate=0.3))
    with in_process(app) as client:
        list_everything(client)
    assert client.stats.throttled == served(app)["throttledTotal"] > 0


def test_it_reads_retry_after_as_seconds_or_an_http_date() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    in_30s = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(answer("7")) == 7.0
    assert 28 <= retry_after_seconds(answer(in_30s)) <= 30
    assert retry_after_seconds(answer("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0
    assert retry_after_seconds(answer("soon")) is None
    assert retry_after_seconds(httpx.Response(429)) is None


# --- pages that go wrong (REFERENCE.md 4) -----------------------------------------------------------


def test_it_stops_on_a_repeated_continue_token_and_says_so(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(loop_rate=1.0, paths=("/v1/dashboard/spectroclusters",)))
    with in_process(app) as client:
        project_uid = biggest_project(fleet)
        strict = client.clusters(project_uid)
        rows = []
        with pytest.raises(PaletteIncompleteListing) as excinfo:
            rows.extend(strict)
        lenient = client.clusters(project_uid, strict=False)
        assert list(lenient)
    assert rows and excinfo.value.listing is strict
    assert not lenient.complete and "repeated" in lenient.problems[0]
    assert lenient.pages <= 3


def test_it_reports_rows_missing_against_listmeta_count(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(drop_rate=1.0, paths=("/v1/dashboard/spectroclusters",)))
    with in_process(app) as client:
        project_uid = biggest_project(fleet)
        listing = client.clusters(project_uid, strict=False)
        rows = list(listing)
    assert listing.shortfall > 0 and listing.rows == len(rows) == listing.count - listing.shortfall
    assert not listing.complete and "listmeta.count" in listing.problems[0]


def test_an_entry_recorded_while_paging_is_left_to_the_next_listing_not_called_a_loss() -> None:
    # Newest first, an audit recorded into the window after the first page pushes every row down
    # by one: the second page starts with a row already read, and listmeta.count grows by one.
    busy = generate_fleet(seed=11, projects=2, clusters=10, edge_hosts=2, audits=200)
    log = busy.audits
    newest = log.ts[-1]
    window = {"startTime": rfc3339(datetime.fromtimestamp(log.ts[0] - 1, UTC))}
    window["endTime"] = rfc3339(datetime.fromtimestamp(newest + 60, UTC))
    with in_process(make_app(busy)) as client:
        listing = client.paginate("/v1/audits", method="GET", params=window)
        rows = iter(listing)
        read = [next(rows)]
        before = len(log)
        late = log.append(newest, log.project[-1], log.serial[-1], log.code[-1], log.actor[-1])
        read.extend(rows)
    uids = {r["metadata"]["uid"] for r in read}
    assert listing.first_count == before and listing.count == before + 1
    assert listing.duplicates == 1 and len(uids) == len(read) == before
    assert log.uid(late) not in uids
    assert listing.complete and listing.shortfall == 0


def test_it_drops_rows_seen_twice(fleet: Fleet) -> None:
    app = make_app(fleet, faults=FaultConfig(repeat_rate=1.0, paths=("/v1/dashboard/spectroclusters",)))
    with in_process(app) as client:
        project_uid = biggest_project(fleet)
        listing = client.clusters(project_uid)
        rows = list(listing)
    assert listing.duplicates > 0
    assert len({r["metadata"]["uid"] for r in rows}) == len(rows) == listing.count
    assert listing.complete


# --- read-only by construction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/spectroclusters/abc"),
        ("PUT", "/v1/projects/abc"),
        ("PATCH", "/v1/edgehosts/abc"),
        ("POST", "/v1/spectroclusters/abc/upgrade"),
        ("POST", "/v1/dashboard/projects/extra"),
        ("HEAD", "/v1/users/info"),
        ("post", "/v1/auth/user/password/reset"),
        ("POST", "/v1/dashboard/%70rojects"),  # percent-encoded: could mean something else upstream
    ],
)
def test_it_refuses_to_send_a_write(fleet: Fleet, method: str, path: str) -> None:
    app = make_app(fleet)
    with in_process(app) as client, pytest.raises(PaletteWriteRefused):
        client.request(method, path)
    assert served(app)["total"] == 0


def test_it_refuses_writes_even_past_its_own_methods(fleet: Fleet) -> None:
    app = make_app(fleet)
    with in_process(app) as client:
        http = client._http
        with pytest.raises(PaletteWriteRefused):
            http.delete("/v1/spectroclusters/abc")
        http.event_hooks = {"request": [], "response": []}
        with pytest.raises(PaletteWriteRefused):
            http.send(httpx.Request("PUT", "http://sim/v1/projects/abc", json={}))
        with pytest.raises(PaletteWriteRefused):
            httpx.Client.send(http, httpx.Request("DELETE", "http://sim/v1/edgehosts/abc"))
    assert served(app)["total"] == 0


# --- the throttle is in the send path ----------------------------------------------------------------


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own in the test Redis (conftest's `redis_url`); deleted afterwards."""
    prefix = f"test:client:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_it_takes_a_token_for_every_request_retries_included(fleet: Fleet, redis_url: str, redis_prefix: str) -> None:
    r = redis.Redis.from_url(redis_url)
    throttle = RedisThrottle(r, "acct", prefix=redis_prefix, cushion=0)
    app = make_app(fleet, faults=FaultConfig(error_rate=0.3, paths=("/v1/dashboard",)))
    started = r.time()
    with in_process(app, throttle=throttle) as client:
        list_everything(client)
    # Each slot pushes the bucket's theoretical arrival time 0.1 s (10/s) past the first request.
    family = family_for("/v1/dashboard/projects")
    tat = int(r.hget(throttle.key(family), "tat")) / 1e6
    slots = round((tat - (started[0] + started[1] / 1e6)) / 0.1)
    assert slots == client.stats.requests[family.name] == served(app)["requests"][family.name]
    assert client.stats.retries > 0


def test_it_pauses_and_cuts_the_shared_budget_after_a_429(fleet: Fleet, redis_url: str, redis_prefix: str) -> None:
    throttle = RedisThrottle(redis.Redis.from_url(redis_url), "acct", prefix=redis_prefix, penalty=30.0)
    worker = RedisThrottle(redis.Redis.from_url(redis_url), "acct", prefix=redis_prefix)  # another process
    app = make_app(fleet, faults=FaultConfig(storm_seconds=60))
    retry = RetryPolicy(attempts=1)
    with in_process(app, throttle=throttle, retry=retry) as client, pytest.raises(PaletteRateLimited):
        client.user_info()
    family = family_for("/v1/users/info")
    assert 25 < worker.paused_for(family) <= 30
    assert worker.rate_factor(family) == pytest.approx(0.7)
    other = family_for("/v1/dashboard")
    assert (worker.paused_for(other), worker.rate_factor(other)) == (0, 1.0)  # other families carry on


def test_it_builds_an_account_client_from_settings(
    settings: object, fleet: Fleet, redis_url: str, redis_prefix: str
) -> None:
    settings.REDIS_URL, settings.PALETTE_THROTTLE, settings.PALETTE_THROTTLE_PREFIX = redis_url, "redis", redis_prefix
    settings.PALETTE_RATE_CUSHION, settings.PALETTE_EGRESS = 5, "nat-b"
    settings.PALETTE_RATE_CUT, settings.PALETTE_RATE_RECOVERY = 0.5, 60
    settings.PALETTE_RETRY_ATTEMPTS, settings.PALETTE_RETRY_AFTER_CAP = 3, 7.0
    transport = httpx.WSGITransport(app=make_app(fleet))
    with PaletteClient.for_account("http://sim", "acct-1", api_key=KEY, transport=transport) as client:
        assert client.user_info()["tenantUid"] == fleet.tenant_uid
    assert isinstance(client.throttle, RedisThrottle)
    assert (client.throttle.account, client.throttle.egress, client.throttle.cushion) == ("acct-1", "nat-b", 5)
    assert (client.throttle.cut, client.throttle.recovery) == (0.5, 60)
    assert (client.retry.attempts, client.retry.retry_after_cap) == (3, 7.0)


# --- over a real socket ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    """`python -m palette_sim` in its own process, with Palette's published rate limits."""
    sizes = ("--seed", "7", "--clusters", "120", "--edge-hosts", "10", "--audits", "50")
    sim = start_simulator(KEY, "--quiet", *sizes, env={**os.environ, "PALETTE_SIM_CONTROL_KEY": CONTROL})
    yield sim.url
    stop(sim.proc)


def control(url: str, method: str, path: str, body: dict | None = None) -> dict:
    answer = httpx.request(method, f"{url}/__sim/{path}", json=body, headers={"X-Sim-Control-Key": CONTROL})
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def sim(sim_url: str) -> str:
    """The socket simulator with no faults, full buckets and fresh counters."""
    control(sim_url, "DELETE", "faults")
    control(sim_url, "POST", "ratelimit", {"scale": 1.0})
    control(sim_url, "POST", "stats/reset")
    return sim_url


def test_it_lists_over_a_real_socket(sim: str) -> None:
    with PaletteClient(sim, KEY, retry=FAST) as client:
        projects, clusters = list_everything(client)
    assert len(projects) == 3 and len(clusters) > 100
    assert client.stats.requests == control(sim, "GET", "stats")["requests"]


def test_it_times_out_with_a_typed_error(sim: str) -> None:
    control(sim, "PUT", "faults", {"hang_rate": 1.0, "hang_seconds": 1.0})
    retry = RetryPolicy(attempts=2, wait_initial=0.001, wait_jitter=0.0)
    with PaletteClient(sim, KEY, timeout=0.2, retry=retry) as client, pytest.raises(PaletteTimeout):
        client.user_info()
    assert control(sim, "GET", "stats")["total"] == 2


def hammer(url: str, throttle: RedisThrottle | None, until: float, errors: list) -> None:
    """One worker: list projects and their clusters, again and again, until `until`."""
    with PaletteClient(url, KEY, throttle=throttle, retry=RetryPolicy(attempts=1)) as client:
        while time.monotonic() < until:
            try:
                list_everything(client)
            except PaletteRateLimited as exc:
                errors.append(exc)
                return


def run_workers(url: str, throttles: list, seconds: float) -> list:
    errors: list = []
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=hammer, args=(url, t, until, errors)) for t in throttles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_it_stays_inside_palettes_limits_with_several_workers_on_one_budget(
    sim: str, redis_url: str, redis_prefix: str
) -> None:
    throttles = [RedisThrottle(redis.Redis.from_url(redis_url), "acct", prefix=redis_prefix) for _ in range(4)]
    assert run_workers(sim, throttles, 3.0) == []
    stats = control(sim, "GET", "stats")
    assert stats["throttledTotal"] == 0
    # The bottleneck family was kept busy: the bucket less its cushion of 3, then most of 10/s.
    assert stats["requests"]["/v1/dashboard"] >= 47 + 9 * 2.5


def test_it_would_be_throttled_without_the_budget(sim: str) -> None:
    """The control experiment for the test above: the same workers, unthrottled, get 429s (each
    stops at its first; the deadline only bounds a machine too loaded to empty the bucket soon)."""
    assert run_workers(sim, [None] * 4, 20.0)
    assert control(sim, "GET", "stats")["throttledTotal"] > 0
