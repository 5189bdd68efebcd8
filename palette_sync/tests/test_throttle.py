"""The shared rate budget against a real Redis (REDIS_URL), and its in-process fallback."""

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from palette_sync.errors import PaletteThrottleError, PaletteThrottleTimeout
from palette_sync.throttle import UNLISTED, Family, LocalThrottle, RedisThrottle, family_for, throttle_for

REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test:throttle:{uuid.uuid4().hex}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}:*"):
        redis_client.delete(key)


def timed(fn: object, *args: object) -> float:
    start = time.monotonic()
    fn(*args)
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("path", "family", "rate"),
    [
        ("/v1/dashboard/spectroclusters/search", "/v1/dashboard", 10),
        ("/v1/dashboard/projects", "/v1/dashboard", 10),
        ("/v1/spectroclusters/6659d2c7a1b2c3d4e5f60718", "/v1/spectroclusters", 50),
        ("/v1/spectroclusters/6659d2c7a1b2c3d4e5f60718/profiles", "/v1/spectroclusters/:uid/profiles", 50),
        ("/v1/spectroclusters/6659d2c7a1b2c3d4e5f60718/assets", "/v1/spectroclusters/:uid/assets", 10),
        ("/v1/spectroclusters/cost", "/v1/spectroclusters/cost", 10),
        ("/v1/clusterprofiles/macros", "/v1/clusterprofiles", 50),
        ("/v1/clusterprofiles/validate/packs", "/v1/clusterprofiles/validate/packs", 50),
        ("/v1/clusterprofiles/a/packs/k8s/manifests", "/v1/clusterprofiles/:uid/packs/{packName}/manifests", 50),
        ("/v1/auth/authenticate", "/v1/auth/authenticate", 10),
        ("/v1/auth/refresh/eyJhbGciOi.x.y", "/v1/auth", 10),
        ("/v1/auth/user/password/reset", "/v1/auth/user/password/reset", 2),
        ("/v1/events/components/spectrocluster/abc", "/v1/events/components", 10),
        ("/v1/edgehosts/abc/health", "/v1/edgehosts/:uid/health", 10),
        (
            "/v1/cloudconfigs/aws/abc/machinePools/pool/machines",
            "/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines",
            10,
        ),
        ("/v1/users/info", "/v1/users", 10),
    ],
)
def test_it_puts_a_path_in_the_family_of_its_longest_published_prefix(path: str, family: str, rate: int) -> None:
    assert family_for(path) == Family(family, rate, 5)


def test_it_gives_unlisted_paths_one_default_bucket() -> None:
    assert family_for("/v1/somethingnew/abc") is UNLISTED
    assert family_for("/v1/spectroclustersx") is UNLISTED  # a prefix matches whole segments only
    assert (UNLISTED.rate, UNLISTED.capacity) == (10, 50)


def test_it_grants_the_burst_then_paces_at_the_rate(redis_client: redis.Redis, prefix: str) -> None:
    throttle = RedisThrottle(redis_client, "acct", prefix=prefix, headroom=1.0)
    family = Family("f", 20, 1)  # 20/s, a bucket of 20
    assert timed(lambda: [throttle.acquire(family) for _ in range(20)]) < 0.2
    assert 0.45 < timed(lambda: [throttle.acquire(family) for _ in range(10)]) < 0.7


def test_it_keeps_headroom_below_the_published_rate_and_burst(redis_client: redis.Redis, prefix: str) -> None:
    throttle = RedisThrottle(redis_client, "acct", prefix=prefix, headroom=0.5)
    family = Family("f", 20, 2)  # published: 20/s, 40; with headroom: 10/s, 20
    assert timed(lambda: [throttle.acquire(family) for _ in range(20)]) < 0.2
    assert 0.45 < timed(lambda: [throttle.acquire(family) for _ in range(5)]) < 0.7


def test_it_keeps_accounts_egresses_and_families_apart(redis_client: redis.Redis, prefix: str) -> None:
    family = Family("f", 5, 1)
    spent = RedisThrottle(redis_client, "acct", prefix=prefix, headroom=1.0)
    for _ in range(5):
        spent.acquire(family)
    others = [
        (RedisThrottle(redis_client, "other", prefix=prefix, headroom=1.0), family),
        (RedisThrottle(redis_client, "acct", egress="nat-2", prefix=prefix, headroom=1.0), family),
        (spent, Family("g", 5, 1)),
    ]
    for throttle, fam in others:
        assert timed(lambda t=throttle, f=fam: [t.acquire(f) for _ in range(5)]) < 0.1
    assert timed(spent.acquire, family) > 0.15


def test_it_pauses_every_worker_after_a_429(redis_client: redis.Redis, prefix: str) -> None:
    family = Family("f", 50, 5)
    worker_a = RedisThrottle(redis_client, "acct", prefix=prefix)
    worker_b = RedisThrottle(redis.Redis.from_url(REDIS_URL), "acct", prefix=prefix)
    worker_a.penalize(family, 0.5)
    assert 0.45 < timed(worker_b.acquire, family) < 0.7
    # After the pause the bucket restarts empty: the next request waits its turn.
    assert timed(worker_b.acquire, family) > 0.015


def test_it_voids_a_slot_reserved_before_a_pause(redis_client: redis.Redis, prefix: str) -> None:
    family = Family("f", 5, 1)
    worker_a = RedisThrottle(redis_client, "acct", prefix=prefix, headroom=1.0)
    worker_b = RedisThrottle(redis.Redis.from_url(REDIS_URL), "acct", prefix=prefix, headroom=1.0)
    for _ in range(5):
        worker_a.acquire(family)
    elapsed: list[float] = []
    waiter = threading.Thread(target=lambda: elapsed.append(timed(worker_b.acquire, family)))
    waiter.start()  # worker B holds the slot 0.2 s from now...
    time.sleep(0.05)
    worker_a.penalize(family, 0.6)  # ...and a 429 pauses everyone for 0.6 s
    waiter.join()
    assert elapsed[0] > 0.6


def test_it_uses_the_default_penalty_and_caps_it_at_max_wait(redis_client: redis.Redis, prefix: str) -> None:
    family = Family("f", 50, 5)
    throttle = RedisThrottle(redis_client, "acct", prefix=prefix, penalty=0.3, max_wait=0.5)
    throttle.penalize(family)
    assert 0.25 < throttle.paused_for(family) <= 0.3
    throttle.penalize(family, 3600)
    assert throttle.paused_for(family) <= 0.5


def test_it_refuses_to_wait_past_max_wait(redis_client: redis.Redis, prefix: str) -> None:
    family = Family("f", 1, 1)
    throttle = RedisThrottle(redis_client, "acct", prefix=prefix, headroom=1.0, max_wait=0.2)
    throttle.acquire(family)
    started = time.monotonic()
    with pytest.raises(PaletteThrottleTimeout):
        throttle.acquire(family)  # the next slot is 1 s away
    assert time.monotonic() - started < 0.1


def test_it_raises_a_typed_error_when_redis_is_unreachable() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(PaletteThrottleError):
        RedisThrottle(dead, "acct").acquire(Family("f", 10, 5))


def test_it_falls_back_to_an_in_process_bucket_without_redis(settings: object) -> None:
    settings.REDIS_URL = ""
    settings.PALETTE_RATE_HEADROOM = 1.0
    throttle = throttle_for(f"local-{uuid.uuid4().hex}")
    assert isinstance(throttle, LocalThrottle)
    family = Family("f", 20, 1)
    assert timed(lambda: [throttle.acquire(family) for _ in range(20)]) < 0.1
    assert 0.2 < timed(lambda: [throttle.acquire(family) for _ in range(5)]) < 0.4
    # A second client in the same process shares the bucket.
    assert timed(throttle_for(throttle.account).acquire, family) > 0.03


def test_it_uses_redis_unless_told_local(settings: object) -> None:
    settings.REDIS_URL = REDIS_URL
    settings.PALETTE_THROTTLE = "redis"
    assert isinstance(throttle_for("acct"), RedisThrottle)
    settings.PALETTE_THROTTLE = "local"
    assert isinstance(throttle_for("acct"), LocalThrottle)


# --- several processes on one budget ---------------------------------------------------------

RATE, BURST = 20, 0.5  # a small scaled limit: 20/s, a bucket of 10


def hammer(prefix: str, ready: object, seconds: float, results: multiprocessing.Queue) -> None:
    """A worker process: take slots as fast as the throttle allows; report when each was granted."""
    throttle = RedisThrottle(redis.Redis.from_url(REDIS_URL), "acct", prefix=prefix, headroom=1.0)
    family = Family("hammered", RATE, BURST)
    ready.wait(timeout=30)  # every process has started: go together
    until = time.time() + seconds
    granted = []
    while time.time() < until:
        throttle.acquire(family)
        granted.append(time.time())
    results.put(granted)


def test_it_never_over_grants_and_shares_fairly_between_processes(prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    results, ready = context.Queue(), context.Barrier(3)
    procs = [context.Process(target=hammer, args=(prefix, ready, 3.0, results)) for _ in range(3)]
    for proc in procs:
        proc.start()
    grants = [results.get(timeout=40) for _ in procs]
    for proc in procs:
        proc.join(timeout=10)

    times = sorted(t for g in grants for t in g)
    capacity, elapsed = RATE * BURST, times[-1] - times[0]
    assert len(times) <= capacity + RATE * elapsed + 1
    assert len(times) >= capacity + RATE * elapsed * 0.9  # and the budget was used, not wasted
    # No window of any length saw more than a full bucket plus what it refilled meanwhile.
    for i, t_i in enumerate(times):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= capacity + RATE * (times[j] - t_i) + 1
    # Once the opening burst is spent, slots go round in arrival order: equal shares.
    steady_from = max(g[0] for g in grants) + 1.0
    steady = [[t for t in g if t > steady_from] for g in grants]
    mean = sum(map(len, steady)) / len(steady)
    assert mean > 10
    assert all(abs(len(g) - mean) <= 0.1 * mean + 1 for g in steady), [len(g) for g in steady]
