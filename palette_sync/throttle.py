"""The shared rate budget: one token bucket per (account, egress, family) (REFERENCE.md 5).

Palette limits requests per source IP and per resource-type prefix ("family"): a token bucket of
rps × burst tokens refilling at rps. Every worker behind one egress address spends the same budget,
so the bucket lives in Redis and a Lua script does the arithmetic on Redis's clock. The script is
GCRA ("virtual scheduling"): each acquire reserves the next free slot and is told how long to sleep
until it. Slots are handed out in arrival order, so processes share the budget fairly and no slot is
ever granted twice.

The pace is the full published rate. The safety margin is a cushion of a few tokens that our bucket
never grants (it holds capacity − cushion): Palette's bucket keeps them, so a request that arrives
a little early (network or scheduling jitter) spends one of them instead of drawing a 429. It costs
cushion / rate seconds once per burst, not a share of every second as a lower rate would.

A 429 that comes anyway means someone else spends the budget too (another client behind the same
egress IP). Then the family pauses for everyone and restarts with an empty bucket, as the server's
does, and its rate is cut for every worker (× cut, kept in the same Redis hash); after the pause it
creeps back additively, to the full rate within `recovery` seconds: the rate settles where the
other client leaves room, instead of a guessed fixed share (AIMD, as TCP shares a link).

Chains with more pages left go first. A `continue` chain is sequential: alone, it is paced by its
latency (about 9 pages/s at 100 ms), not by the budget, so a family whose chains share the budget
equally ends with its longest chain alone and below the rate. A listing says how many pages its
chain has left (`chain_pages_left`, from `listmeta.count`); the family's bucket keeps the chains
it has seen, and a chain leaves one token in the bucket for every page the longest chain has more
than it. While the bucket is full everyone goes at once; once it runs low the shorter chains wait
and the longest ones keep their latency's pace, so the chains even out and end together. Chains
of about the same length hold back about nothing, so no burst is left unspent at the end. This
changes who waits, never how much is granted: every slot still comes from the same GCRA clock and
is sent no earlier than the full burst allows.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
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


# The table published with the API introduction (REFERENCE.md 5), in its order, as (prefix, rps, burst).
# `:x` and `{x}` segments match any one path segment.
# fmt: off
PUBLISHED_LIMITS: list[tuple[str, int, int]] = [
    *((prefix, 10, 5) for prefix in (
        "/v1/auth", "/v1/nats", "/v1/users", "/v1/userprofiles", "/v1/permissions", "/v1/roles", "/v1/teams",
        "/v1/tenants", "/v1/projects", "/v1/plans", "/v1/payments", "/v1/audits", "/v1/apiKeys", "/v1/datasinks",
        "/v1/notifications", "/v1/events", "/v1/crypto", "/v1/async", "/v1/errlogs", "/v1/jobs", "/v1/health",
        "/v1/cache", "/v1/cloudaccounts", "/v1/packs", "/v1/workspaces", "/v1/installers", "/v1/git/webhook",
        "/v1/registries", "/v1/services", "/v1/overlords", "/v1/cluster", "/v1/cloudconfigs",
        "/v1/cloudconfigs/{cloudType}/{uid}/machinePools", "/v1/edgehosts", "/v1/metrics", "/v1/system", "/v1/mgmt",
        "/v1/oidc", "/v1/clouds", "/v1/events/components", "/v1/dashboard",
        "/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines",
        "/v1/cloudconfigs/{cloudType}/:uid/machinePools/{machinePoolName}/machines/:machineUid",
        "/v1/auth/authenticate", "/v1/auth/services/login", "/v1/auth/services/edge/login", "/v1/files",
        "/v1/edgehosts/registers", "/v1/edgehosts/:uid/health", "/v1/edgehosts/:uid/spc/download",
        "/v1/spectroclusters/features/logFetcher", "/v1/spectroclusters/:uid/assets", "/v1/spectroclusters/cost",
        "/v1/spectroclusters/usage", "/v1/spectroclusters/:uid/download", "/v1/spectroclusters/acquire",
    )),
    *((prefix, 2, 5) for prefix in (
        "/v1/auth/user/password/reset",
    )),
    *((prefix, 50, 5) for prefix in (
        "/v1/spectroclusters", "/v1/clusterprofiles", "/v1/clusterprofiles/:uid/packs",
        "/v1/clusterprofiles/:uid/packs/manifests", "/v1/clusterprofiles/:uid/packs/{packName}/manifests",
        "/v1/clusterprofiles/validate/packs", "/v1/clusterprofiles/:uid/validate/packs",
        "/v1/spectroclusters/:uid/profiles",
    )),
]
# fmt: on
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
    """What a reservation attempt returned: seconds to wait, whether a slot is held, and when it is.

    `at` is the slot's time on the bucket's clock (Redis's, or the local clock), in seconds.
    """

    wait: float
    reserved: bool
    at: float = 0.0


@dataclass(frozen=True)
class Pace:
    """How one family is paced: seconds between slots at the full rate, and slots grantable at once."""

    interval: float
    tolerance: float  # seconds a slot may be taken ahead of the even pace: (burst slots − 1) × interval


# A cut never takes the rate below this share of the published one: the sync must go on.
FLOOR = 0.1
# Seconds after its last request a chain no longer counts among its family's (it ended, or broke off).
CHAIN_STALE = 10.0


@dataclass(frozen=True)
class Chain:
    """One `continue` chain of a listing, and the pages it has left (the one about to be sent included)."""

    name: str
    pages_left: int


# The chain whose page the current thread is about to request (set by the listing, read by acquire).
CHAIN: ContextVar[Chain | None] = ContextVar("palette_chain", default=None)


def new_chain_name() -> str:
    return secrets.token_hex(8)


@contextmanager
def chain_pages_left(name: str, pages_left: int | None) -> Iterator[None]:
    """Requests sent in this block are a page of chain `name`, which has `pages_left` pages to go
    (None: not known yet, as before the first page; such a request goes at the full burst)."""
    token = CHAIN.set(Chain(name, pages_left) if pages_left is not None else None)
    try:
        yield
    finally:
        CHAIN.reset(token)


def chain_tolerance(pace: Pace, pages_left: int, most: int) -> float:
    """How far ahead of the even pace a chain may go: the burst, less one slot for every page the
    longest chain (`most` pages left) has more than this one."""
    return max(0.0, pace.tolerance - max(0, most - pages_left) * pace.interval)


class Throttle:
    """Wait-until-allowed acquire over a bucket store; subclasses keep the buckets.

    `cushion`: tokens of the published bucket never granted (absorb arrival jitter).
    `cut`: the rate is multiplied by this after a 429 (shared by every worker of the budget).
    `recovery`: seconds the rate takes to creep back from one cut to the full published rate.
    `penalty`: seconds everyone pauses after a 429 without Retry-After.
    """

    def __init__(
        self,
        account: str,
        *,
        egress: str = "default",
        cushion: float = 3.0,
        cut: float = 0.7,
        recovery: float = 60.0,
        max_wait: float = 300.0,
        penalty: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if cushion < 0:
            raise ValueError("cushion must be >= 0 tokens")
        if not 0 < cut <= 1:
            raise ValueError("cut must be in (0, 1]")
        if recovery <= 0:
            raise ValueError("recovery must be > 0 seconds")
        self.account, self.egress = account, egress
        self.cushion, self.cut, self.recovery = cushion, cut, recovery
        self.max_wait = max_wait
        self.penalty = penalty
        self.sleep = sleep

    @property
    def regain(self) -> float:
        """Share of the published rate won back per second after a cut (additive increase)."""
        return (1.0 - self.cut) / self.recovery if self.cut < 1 else 1.0

    @property
    def keep(self) -> float:
        """Seconds an idle bucket's state is kept: long enough to recover from the floor."""
        return (1.0 - FLOOR) / self.regain + 60.0

    def pace(self, family: Family) -> Pace:
        """The full published rate, and the burst less the cushion (at least one slot)."""
        interval = 1.0 / family.rate
        slots = max(1.0, family.capacity - self.cushion)
        return Pace(interval, (slots - 1.0) * interval)

    def acquire(self, family: Family) -> float:
        """Block until one request of `family` may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            slot = self.reserve(family)
            if slot.wait > self.max_wait:
                raise PaletteThrottleTimeout(f"{family.name}: next slot in {slot.wait:.1f}s > {self.max_wait}s")
            if slot.wait > 0:
                self.sleep(slot.wait)
                waited += slot.wait
            # A 429 elsewhere may have paused the family while we slept: the pause wins.
            if slot.reserved and (slot.wait == 0 or self.paused_for(family) <= 0):
                return waited

    def reserve(self, family: Family) -> Slot:
        raise NotImplementedError

    def end_chain(self, family: Family, name: str) -> None:
        """Chain `name` stopped before its last page (a listing left early, or broken off): it no
        longer holds anyone back (else it would, until CHAIN_STALE)."""
        raise NotImplementedError

    def paused_for(self, family: Family) -> float:
        """Seconds left in a pause of `family` (0 when not paused)."""
        return self.state(family)[0]

    def rate_factor(self, family: Family) -> float:
        """The share of the published rate `family` is paced at now (1.0 unless a 429 cut it)."""
        return self.state(family)[1]

    def state(self, family: Family) -> tuple[float, float]:
        """(seconds left in a pause, share of the published rate) of `family` now."""
        raise NotImplementedError

    def penalize(self, family: Family, seconds: float | None = None) -> None:
        """After a 429: pause `family` for everyone sharing this budget and cut its rate.

        `seconds` is the server's Retry-After when it sent one, else the configured penalty;
        never more than max_wait. The bucket restarts empty when the pause ends. A 429 that
        arrives while the family is already paused (an answer to a request sent before the
        pause) extends the pause but does not cut again.
        """
        pause = min(self.penalty if seconds is None else seconds, self.max_wait)
        factor, was_cut = self.pause(family, pause)
        if was_cut:
            log.info("rate budget %s: 429, paused %.2fs, rate cut to %.0f%%", family.name, pause, factor * 100)

    def pause(self, family: Family, seconds: float) -> tuple[float, bool]:
        """Pause for `seconds` and cut unless already paused; return (share of the rate, whether cut)."""
        raise NotImplementedError


# The bucket hash, in microseconds of Redis time: tat (the next free slot at the even pace),
# paused (the end of a pause), factor (share of the published rate) and since (when the factor
# was set; it regains `regain` per second from then, up to 1).
SHARE = """
local function share(h, now, regain)
  local factor = tonumber(h[3]) or 1
  local since = tonumber(h[4]) or 0
  if now > since then factor = factor + regain * (now - since) / 1000000 end
  if factor > 1 then return 1 end
  return factor
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'factor', 'since')
local paused = tonumber(h[2]) or 0
"""

# KEYS[2]: the family's chains, name -> "pages_left:last_request_us". ARGV: interval_us, tolerance_us,
# max_wait_us, regain (share/s), keep_ms, chain ('' for none), pages_left, stale_us.
# Returns {wait_us, reserved, at_us}.
RESERVE = (
    SHARE
    + """
local interval, tolerance, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if paused > now then return {paused - now, 0, paused} end
if ARGV[6] ~= '' then
  local left, most = tonumber(ARGV[7]), tonumber(ARGV[7])
  local chains = redis.call('HGETALL', KEYS[2])
  for i = 1, #chains, 2 do
    local pages, seen = string.match(chains[i + 1], '^(%d+):(%d+)$')
    if now - tonumber(seen) > tonumber(ARGV[8]) then
      redis.call('HDEL', KEYS[2], chains[i])
    elseif chains[i] ~= ARGV[6] then
      most = math.max(most, tonumber(pages))
    end
  end
  if left > 1 then
    redis.call('HSET', KEYS[2], ARGV[6], string.format('%d:%d', left, now))
    redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[8]) / 1000))
  else
    redis.call('HDEL', KEYS[2], ARGV[6])  -- its last page: it no longer holds anyone back
  end
  tolerance = math.max(0, tolerance - (most - left) * interval)
end
local factor = share(h, now, tonumber(ARGV[4]))
local tat = math.max(tonumber(h[1]) or 0, now)
local wait = math.max(0, tat - tolerance - now)
if wait > max_wait then return {wait, 0, now + wait} end
tat = math.floor(tat + interval / factor)
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + tonumber(ARGV[5]))
return {wait, 1, now + wait}
"""
)

# ARGV: pause_us, tolerance_us, regain, cut, floor, keep_ms. Returns {pause_left_us, factor × 1e6, cut (1/0)}.
PENALIZE = (
    SHARE
    + """
local pause, tolerance, regain = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local factor = share(h, now, regain)
local cut = 0
if paused <= now then
  factor = math.max(tonumber(ARGV[5]), factor * tonumber(ARGV[4]))
  cut = 1
end
paused = math.max(paused, now + pause)
local tat = math.max(tonumber(h[1]) or 0, paused + tolerance)
redis.call('HSET', KEYS[1], 'paused', string.format('%d', paused), 'tat', string.format('%d', tat),
  'factor', string.format('%.9f', factor), 'since', string.format('%d', paused))
redis.call('PEXPIRE', KEYS[1], math.ceil((tat - now) / 1000) + tonumber(ARGV[6]))
return {paused - now, math.floor(factor * 1000000), cut}
"""
)

# ARGV: regain. Returns {pause_left_us, factor × 1e6}.
STATE = (
    SHARE
    + """
return {math.max(0, paused - now), math.floor(share(h, now, tonumber(ARGV[1])) * 1000000)}
"""
)

US = 1_000_000


class RedisThrottle(Throttle):
    """The budget of one (account, egress) shared through Redis by every process that uses it."""

    def __init__(self, client: redis.Redis, account: str, *, prefix: str = "palette:rate", **options: object):
        super().__init__(account, **options)
        self.redis = client
        self.base_key = f"{prefix}:{account}:{self.egress}"
        self._reserve = client.register_script(RESERVE)
        self._penalize = client.register_script(PENALIZE)
        self._state = client.register_script(STATE)

    def key(self, family: Family) -> str:
        return f"{self.base_key}:{family.name}"

    def reserve(self, family: Family) -> Slot:
        pace, chain = self.pace(family), CHAIN.get()
        args = [round(pace.interval * US), round(pace.tolerance * US), round(self.max_wait * US)]
        args += [repr(self.regain), self.keep_ms]
        args += [chain.name, chain.pages_left] if chain else ["", 0]
        keys = [self.key(family), f"{self.key(family)}:chains"]
        wait_us, reserved, at_us = self._call(self._reserve, keys, [*args, round(CHAIN_STALE * US)])
        return Slot(wait_us / US, bool(reserved), at_us / US)

    def end_chain(self, family: Family, name: str) -> None:
        try:
            self.redis.hdel(f"{self.key(family)}:chains", name)
        except redis.RedisError as exc:  # harmless: the chain goes stale by itself
            log.warning("rate budget %s: could not end chain %s (%s)", family.name, name, exc)

    def state(self, family: Family) -> tuple[float, float]:
        paused_us, factor = self._call(self._state, [self.key(family)], [repr(self.regain)])
        return paused_us / US, factor / US

    def pause(self, family: Family, seconds: float) -> tuple[float, bool]:
        tolerance = self.pace(family).tolerance
        args = [round(seconds * US), round(tolerance * US), repr(self.regain), repr(self.cut), repr(FLOOR)]
        _left, factor, cut = self._call(self._penalize, [self.key(family)], [*args, self.keep_ms])
        return factor / US, bool(cut)

    @property
    def keep_ms(self) -> int:
        return round(self.keep * 1000)

    def _call(self, script: object, keys: list[str], args: list) -> object:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise PaletteThrottleError(f"rate budget unavailable ({exc.__class__.__name__}: {exc})") from exc


@dataclass
class Bucket:
    """One family's state in LocalThrottle, as the Redis hash holds it (seconds of the local clock)."""

    tat: float = 0.0
    paused: float = 0.0
    factor: float = 1.0
    since: float = 0.0
    chains: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (pages left, last request)

    def share(self, now: float, regain: float) -> float:
        return min(1.0, self.factor + regain * max(0.0, now - self.since))

    def note_chain(self, chain: Chain, now: float) -> int:
        """Note `chain`'s pages left and forget stale chains; the longest chain's pages left."""
        for name, (_pages, seen) in list(self.chains.items()):
            if now - seen > CHAIN_STALE:
                del self.chains[name]
        self.chains.pop(chain.name, None)
        most = max([chain.pages_left, *(pages for pages, _seen in self.chains.values())])
        if chain.pages_left > 1:  # on its last page it no longer holds anyone back
            self.chains[chain.name] = (chain.pages_left, now)
        return most


class LocalThrottle(Throttle):
    """The same arithmetic in this process only: the fallback when no Redis is configured.

    `clock` is injectable (with `sleep`), so tests can drive it without waiting.
    """

    _buckets: dict[str, Bucket] = {}
    _lock = threading.Lock()

    def __init__(self, account: str, *, clock: Callable[[], float] = time.monotonic, **options: object) -> None:
        super().__init__(account, **options)
        self.clock = clock

    def bucket(self, family: Family) -> Bucket:
        return self._buckets.setdefault(f"{self.account}:{self.egress}:{family.name}", Bucket())

    def reserve(self, family: Family) -> Slot:
        pace, chain = self.pace(family), CHAIN.get()
        with self._lock:
            now, bucket = self.clock(), self.bucket(family)
            if bucket.paused > now:
                return Slot(bucket.paused - now, False, bucket.paused)
            tolerance = pace.tolerance
            if chain is not None:
                tolerance = chain_tolerance(pace, chain.pages_left, bucket.note_chain(chain, now))
            tat = max(bucket.tat, now)
            wait = round(max(0.0, tat - tolerance - now), 6)  # to the µs, as in Redis: no float crumbs
            if wait > self.max_wait:
                return Slot(wait, False, now + wait)
            bucket.tat = tat + pace.interval / bucket.share(now, self.regain)
            return Slot(wait, True, now + wait)

    def end_chain(self, family: Family, name: str) -> None:
        with self._lock:
            self.bucket(family).chains.pop(name, None)

    def state(self, family: Family) -> tuple[float, float]:
        with self._lock:
            now, bucket = self.clock(), self.bucket(family)
            return max(0.0, bucket.paused - now), bucket.share(now, self.regain)

    def pause(self, family: Family, seconds: float) -> tuple[float, bool]:
        tolerance = self.pace(family).tolerance
        with self._lock:
            now, bucket = self.clock(), self.bucket(family)
            factor, cut = bucket.share(now, self.regain), bucket.paused <= now
            if cut:
                factor = max(FLOOR, factor * self.cut)
            bucket.paused = max(bucket.paused, now + seconds)
            bucket.tat = max(bucket.tat, bucket.paused + tolerance)
            bucket.factor, bucket.since = factor, bucket.paused
            return factor, cut


@lru_cache(maxsize=16)
def redis_for(url: str) -> redis.Redis:
    """One connection pool per Redis URL per process."""
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def throttle_for(account_key: str) -> Throttle:
    """The throttle of one Palette account, as configured by the PALETTE_* settings."""
    from django.conf import settings

    options = {
        "egress": getattr(settings, "PALETTE_EGRESS", "default"),
        "cushion": getattr(settings, "PALETTE_RATE_CUSHION", 3.0),
        "cut": getattr(settings, "PALETTE_RATE_CUT", 0.7),
        "recovery": getattr(settings, "PALETTE_RATE_RECOVERY", 60.0),
        "max_wait": getattr(settings, "PALETTE_THROTTLE_MAX_WAIT", 300.0),
        "penalty": getattr(settings, "PALETTE_RATE_PENALTY", 1.0),
    }
    url = getattr(settings, "REDIS_URL", "")
    if not url or getattr(settings, "PALETTE_THROTTLE", "redis") == "local":
        return LocalThrottle(account_key, **options)
    prefix = getattr(settings, "PALETTE_THROTTLE_PREFIX", "palette:rate")
    return RedisThrottle(redis_for(url), account_key, prefix=prefix, **options)
