"""The shared rate budget: one token bucket per (account, egress, family) (REFERENCE.md 5).

Palette limits requests per source IP and per resource-type prefix ("family"). Every worker
behind one egress address spends the same budget, so the bucket lives in Redis and a Lua
script does the arithmetic on Redis's clock. The script is GCRA ("virtual scheduling"): each
acquire reserves the next free slot and is told how long to sleep until it. Slots are handed
out in arrival order, so processes share the budget fairly and no slot is ever granted twice.

After a 429 the bucket is paused: every acquirer of that (account, egress, family) waits
until the pause ends, and the bucket restarts empty, as the server's does.
"""

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis

from palette_sync.errors import PaletteThrottleError, PaletteThrottleTimeout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Family:
    """A published rate-limit family: `rate` requests/s, a bucket of rate × burst (REFERENCE.md 5)."""

    name: str
    rate: float
    burst: float

    @property
    def capacity(self) -> float:
        return self.rate * self.burst


# The table published with the API introduction (REFERENCE.md 5), as (prefix, rps, burst).
# `:x` and `{x}` segments match any one path segment.
PUBLISHED_LIMITS: list[tuple[str, int, int]] = [
    ("/v1/auth", 10, 5),
    ("/v1/nats", 10, 5),
    ("/v1/users", 10, 5),
    ("/v1/userprofiles", 10, 5),
    ("/v1/permissions", 10, 5),
    ("/v1/roles", 10, 5),
    ("/v1/teams", 10, 5),
    ("/v1/tenants", 10, 5),
    ("/v1/projects", 10, 5),
    ("/v1/plans", 10, 5),
    ("/v1/payments", 10, 5),
    ("/v1/audits", 10, 5),
    ("/v1/apiKeys", 10, 5),
    ("/v1/datasinks", 10, 5),
    ("/v1/notifications", 10, 5),
    ("/v1/events", 10, 5),
    ("/v1/crypto", 10, 5),
    ("/v1/async", 10, 5),
    ("/v1/errlogs", 10, 5),
    ("/v1/jobs", 10, 5),
    ("/v1/health", 10, 5),
    ("/v1/cache", 10, 5),
    ("/v1/cloudaccounts", 10, 5),
    ("/v1/packs", 10, 5),
    ("/v1/workspaces", 10, 5),
    ("/v1/installers", 10, 5),
    ("/v1/git/webhook", 10, 5),
    ("/v1/registries", 10, 5),
    ("/v1/services", 10, 5),
    ("/v1/overlords", 10, 5),
    ("/v1/cluster", 10, 5),
    ("/v1/cloudconfigs", 10, 5),
    ("/v1/cloudconfigs/{cloudType}/{uid}/machinePools", 10, 5),
    ("/v1/edgehosts", 10, 5),
    ("/v1/metrics", 10, 5),
    ("/v1/system", 10, 5),
    ("/v1/mgmt", 10, 5),
    ("/v1/oidc", 10, 5),
    ("/v1/clouds", 10, 5),
    ("/v1/events/components", 10, 5),
    ("/v1/dashboard", 10, 5),
    ("/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines", 10, 5),
    ("/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines/:machineUid", 10, 5),
    ("/v1/auth/authenticate", 10, 5),
    ("/v1/auth/services/login", 10, 5),
    ("/v1/auth/services/edge/login", 10, 5),
    ("/v1/files", 10, 5),
    ("/v1/edgehosts/registers", 10, 5),
    ("/v1/edgehosts/:uid/health", 10, 5),
    ("/v1/edgehosts/:uid/spc/download", 10, 5),
    ("/v1/spectroclusters/features/logFetcher", 10, 5),
    ("/v1/spectroclusters/:uid/assets", 10, 5),
    ("/v1/spectroclusters/cost", 10, 5),
    ("/v1/spectroclusters/usage", 10, 5),
    ("/v1/spectroclusters/:uid/download", 10, 5),
    ("/v1/spectroclusters/acquire", 10, 5),
    ("/v1/auth/user/password/reset", 2, 5),
    ("/v1/spectroclusters", 50, 5),
    ("/v1/clusterprofiles", 50, 5),
    ("/v1/clusterprofiles/:uid/packs", 50, 5),
    ("/v1/clusterprofiles/:uid/packs/manifests", 50, 5),
    ("/v1/clusterprofiles/:uid/packs/{packName}/manifests", 50, 5),
    ("/v1/clusterprofiles/validate/packs", 50, 5),
    ("/v1/clusterprofiles/:uid/validate/packs", 50, 5),
    ("/v1/spectroclusters/:uid/profiles", 50, 5),
]
# A path under no listed prefix: the 10/5/50 default, in one shared bucket (REFERENCE.md 5).
UNLISTED = Family("(unlisted)", 10, 5)


def is_wildcard(segment: str) -> bool:
    return segment.startswith(":") or (segment.startswith("{") and segment.endswith("}"))


def compile_table(table: list[tuple[str, int, int]]) -> list[tuple[tuple[str, ...], Family]]:
    """Patterns as segment tuples, most specific first: longest, then most literal segments."""
    rows = [(tuple(prefix.strip("/").split("/")), Family(prefix, rps, burst)) for prefix, rps, burst in table]
    return sorted(rows, key=lambda row: (len(row[0]), sum(not is_wildcard(s) for s in row[0])), reverse=True)


FAMILY_TABLE = compile_table(PUBLISHED_LIMITS)


@lru_cache(maxsize=4096)
def family_for(path: str) -> Family:
    """The family of the longest listed prefix matching `path` (REFERENCE.md 5)."""
    segments = tuple(s for s in path.split("?", 1)[0].strip("/").split("/"))
    for pattern, family in FAMILY_TABLE:
        if len(pattern) <= len(segments) and all(
            is_wildcard(p) or p == s for p, s in zip(pattern, segments, strict=False)
        ):
            return family
    return UNLISTED


@dataclass(frozen=True)
class Slot:
    """What a reservation attempt returned: seconds to wait, and whether a slot is held."""

    wait: float
    reserved: bool


class Throttle:
    """Wait-until-allowed acquire over a bucket store; subclasses keep the buckets."""

    def __init__(
        self,
        account: str,
        *,
        egress: str = "default",
        headroom: float = 0.9,
        max_wait: float = 300.0,
        penalty: float = 2.0,
    ) -> None:
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.account, self.egress = account, egress
        self.headroom = headroom
        self.max_wait = max_wait
        self.penalty = penalty

    def limits(self, family: Family) -> tuple[float, float]:
        """Our pace for a family: (seconds between slots, slots that may be taken early beyond the first)."""
        rate = family.rate * self.headroom
        capacity = max(1.0, family.capacity * self.headroom)
        return 1.0 / rate, capacity - 1.0

    def acquire(self, family: Family) -> float:
        """Block until one request of `family` may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            slot = self.reserve(family)
            if slot.wait > self.max_wait:
                raise PaletteThrottleTimeout(f"{family.name}: next slot in {slot.wait:.1f}s > {self.max_wait}s")
            if slot.wait > 0:
                time.sleep(slot.wait)
                waited += slot.wait
            # A 429 elsewhere may have paused the family while we slept: the pause wins.
            if slot.reserved and (slot.wait == 0 or self.paused_for(family) <= 0):
                return waited

    def reserve(self, family: Family) -> Slot:
        raise NotImplementedError

    def paused_for(self, family: Family) -> float:
        """Seconds left in a pause of `family` (0 when not paused)."""
        raise NotImplementedError

    def penalize(self, family: Family, seconds: float | None = None) -> None:
        """Pause `family` for everyone sharing this bucket, then restart it empty (after a 429).

        `seconds` is the server's Retry-After when it sent one, else the configured penalty;
        never more than max_wait.
        """
        pause = min(self.penalty if seconds is None else seconds, self.max_wait)
        interval, extra = self.limits(family)
        self.pause(family, pause, extra * interval)
        log.info("rate budget %s paused for %.2fs after a 429", family.name, pause)

    def pause(self, family: Family, seconds: float, refill: float) -> None:
        """Pause for `seconds`; the bucket holds one slot at the end and refills after that."""
        raise NotImplementedError


# KEYS[1]: the bucket hash {tat, paused} in microseconds of Redis time.
# ARGV: interval_us, tolerance_us, max_wait_us. Returns {wait_us, reserved (1/0)}.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused') or '0')
if paused > now then return {paused - now, 0} end
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {wait, 0} end
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat + interval))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat + interval - now) / 1000) + 60000)
return {wait, 1}
"""

# KEYS[1]: the bucket hash. ARGV: pause_us, tolerance_us. Returns the pause left in microseconds.
PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local paused = math.max(tonumber(redis.call('HGET', KEYS[1], 'paused') or '0'), now + pause)
local tat = math.max(tonumber(redis.call('HGET', KEYS[1], 'tat') or '0'), paused + tolerance)
redis.call('HSET', KEYS[1], 'paused', string.format('%d', paused), 'tat', string.format('%d', tat))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + 60000)
return paused - now
"""

PAUSED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused') or '0')
if paused > now then return paused - now end
return 0
"""

US = 1_000_000


class RedisThrottle(Throttle):
    """The budget of one (account, egress) shared through Redis by every process that uses it."""

    def __init__(self, client: redis.Redis, account: str, *, prefix: str = "palette:rate", **options: float | str):
        super().__init__(account, **options)
        self.redis = client
        self.base_key = f"{prefix}:{account}:{self.egress}"
        self._reserve = client.register_script(RESERVE)
        self._penalize = client.register_script(PENALIZE)
        self._paused_for = client.register_script(PAUSED_FOR)

    def key(self, family: Family) -> str:
        return f"{self.base_key}:{family.name}"

    def reserve(self, family: Family) -> Slot:
        interval, extra = self.limits(family)
        args = [round(interval * US), round(extra * interval * US), round(self.max_wait * US)]
        wait_us, reserved = self._call(self._reserve, family, args)
        return Slot(wait_us / US, bool(reserved))

    def paused_for(self, family: Family) -> float:
        return self._call(self._paused_for, family, []) / US

    def pause(self, family: Family, seconds: float, refill: float) -> None:
        self._call(self._penalize, family, [round(seconds * US), round(refill * US)])

    def _call(self, script: object, family: Family, args: list) -> object:
        try:
            return script(keys=[self.key(family)], args=args)
        except redis.RedisError as exc:
            raise PaletteThrottleError(f"rate budget unavailable ({exc.__class__.__name__}: {exc})") from exc


class LocalThrottle(Throttle):
    """The same arithmetic in this process only: the fallback when no Redis is configured."""

    _buckets: dict[str, dict[str, float]] = {}
    _lock = threading.Lock()

    def bucket(self, family: Family) -> dict[str, float]:
        return self._buckets.setdefault(f"{self.account}:{self.egress}:{family.name}", {"tat": 0.0, "paused": 0.0})

    def reserve(self, family: Family) -> Slot:
        interval, extra = self.limits(family)
        with self._lock:
            now, bucket = time.monotonic(), self.bucket(family)
            if bucket["paused"] > now:
                return Slot(bucket["paused"] - now, False)
            tat = max(bucket["tat"], now)
            wait = max(0.0, tat - extra * interval - now)
            if wait <= self.max_wait:
                bucket["tat"] = tat + interval
            return Slot(wait, wait <= self.max_wait)

    def paused_for(self, family: Family) -> float:
        with self._lock:
            return max(0.0, self.bucket(family)["paused"] - time.monotonic())

    def pause(self, family: Family, seconds: float, refill: float) -> None:
        with self._lock:
            bucket = self.bucket(family)
            bucket["paused"] = max(bucket["paused"], time.monotonic() + seconds)
            bucket["tat"] = max(bucket["tat"], bucket["paused"] + refill)


@lru_cache(maxsize=16)
def redis_for(url: str) -> redis.Redis:
    """One connection pool per Redis URL per process."""
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def throttle_for(account_key: str) -> Throttle:
    """The throttle of one Palette account, as configured by the PALETTE_* settings."""
    from django.conf import settings

    options = {
        "egress": getattr(settings, "PALETTE_EGRESS", "default"),
        "headroom": getattr(settings, "PALETTE_RATE_HEADROOM", 0.9),
        "max_wait": getattr(settings, "PALETTE_THROTTLE_MAX_WAIT", 300.0),
        "penalty": getattr(settings, "PALETTE_RATE_PENALTY", 2.0),
    }
    url = getattr(settings, "REDIS_URL", "")
    if not url or getattr(settings, "PALETTE_THROTTLE", "redis") == "local":
        return LocalThrottle(account_key, **options)
    prefix = getattr(settings, "PALETTE_THROTTLE_PREFIX", "palette:rate")
    return RedisThrottle(redis_for(url), account_key, prefix=prefix, **options)
