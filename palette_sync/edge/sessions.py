"""Logged-in sessions kept per host, reused until their token expires (REFERENCE.md 13: tokens live
2 h) by every worker process: sealed in Redis, with this process's own copy in front; and the small
thread-safe containers they live in."""

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import InvalidToken
from django.conf import settings
from redis.exceptions import RedisError

from dashboard.edge_states import EdgeApiState
from dashboard.sealing import fernet_key, seal, sealing_keys, unseal
from palette_sync.edge.access import EdgeAccess, EdgeError
from palette_sync.throttle import redis_for

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 2 * 3600.0  # REFERENCE.md 13: 2 h without extendedSession, when the token does not say
RENEW_BEFORE = 120.0  # seconds before expiry a token is renewed rather than used


@dataclass(slots=True)  # one per host in a worker's memory: no __dict__ each
class Session:
    """One logged-in session on one host: its token, until when it works, and how to renew it."""

    token: str = field(repr=False)
    refresh: str = field(default="", repr=False)
    expires: float = 0.0  # epoch seconds

    @classmethod
    def from_tokens(cls, tokens: dict) -> "Session":
        token = tokens.get("Authorization") if isinstance(tokens, dict) else None
        if not isinstance(token, str) or not token:
            raise EdgeError(EdgeApiState.ERROR, "login answer has no Token.Authorization")
        refresh = tokens.get("RefreshToken")
        return cls(token, refresh if isinstance(refresh, str) else "", token_expiry(token))

    def usable(self, now: float) -> bool:
        return now < self.expires - RENEW_BEFORE


def token_expiry(token: str, now: float | None = None) -> float:
    """When a token stops working: its JWT `exp` claim, read but not verified (only the host can),
    else the documented lifetime from now."""
    now = time.time() if now is None else now
    try:
        payload = token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("exp")
    except (IndexError, ValueError, binascii.Error, AttributeError):
        exp = None
    return float(exp) if isinstance(exp, int | float) and exp > now else now + TOKEN_LIFETIME


class Lru:
    """A bounded, thread-safe map that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> object | None:
        with self.lock:
            if key not in self.items:
                return None
            self.items.move_to_end(key)
            return self.items[key]

    def put(self, key: object, value: object) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def drop(self, key: object) -> None:
        with self.lock:
            self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)


class Tally:
    """What a batch of probes spent on authentication: logins, renewals, sessions reused (thread-safe)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    def add(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1


SHARED_PREFIX = "palette:edge-session:"
SHARED_MARGIN = 30.0  # seconds before the token's expiry its shared copy goes (a clock a little off)


class SharedSessions:
    """Sessions every worker process reuses: kept in Redis, sealed (PALETTE_SECRET_KEY), each until
    just before its token expires; this process's bounded `Lru` in front.

    A host's batches land on whichever worker takes them: with sessions per process, every worker
    logged in to every host once more (1 - 1/workers logins a reading with several workers). A
    token is a bearer credential to the host, so it is stored the way passwords are, never plain,
    under a name that is a keyed digest of the host and credential (no password to guess from it).
    Without Redis (none configured, or down) the local copy alone serves.
    """

    def __init__(self, local: Lru) -> None:
        self.local = local

    def get(self, key: bytes) -> Session | None:
        """A usable session from here, else from Redis; else the newest one seen (for its renewal)."""
        session = self.local.get(key)
        if session is not None and session.usable(time.time()):
            return session
        shared = self.fetch(key)
        if shared is not None and (session is None or shared.expires > session.expires):
            self.local.put(key, shared)
            return shared
        return session

    def put(self, key: bytes, session: Session) -> None:
        """Keep a new session (a login's, a renewal's) here and for every other process."""
        self.local.put(key, session)
        ttl = int(session.expires - time.time() - SHARED_MARGIN)
        client = shared_redis()
        if client is None or ttl <= 0:
            return
        value = {"token": session.token, "refresh": session.refresh, "expires": session.expires}
        name = shared_name(key)
        try:
            client.set(name, seal(json.dumps(value), name), ex=ttl)
        except RedisError as exc:
            log.warning("edge session not shared (%s): kept in this process only", exc)

    def drop(self, key: bytes) -> None:
        """Forget a session the host refused, here and for every process."""
        self.local.drop(key)
        client = shared_redis()
        if client is not None:
            try:
                client.delete(shared_name(key))
            except RedisError as exc:
                log.warning("edge session not dropped from Redis (%s): it lapses with its token", exc)

    def fetch(self, key: bytes) -> Session | None:
        client = shared_redis()
        if client is None:
            return None
        name = shared_name(key)
        try:
            sealed = client.get(name)
            if sealed is None:
                return None
            opened = unseal(sealed.decode(), name)
            value = json.loads(opened) if opened else None
            return Session(str(value["token"]), str(value.get("refresh", "")), float(value["expires"]))
        except (RedisError, InvalidToken, ValueError, TypeError, KeyError) as exc:
            # another key (rotated), another shape, Redis away: a login does instead
            log.debug("edge session not read from Redis: %s", exc.__class__.__name__)
            return None

    def __len__(self) -> int:
        return len(self.local)


def shared_redis() -> object | None:
    """The Redis that keeps the shared sessions, or None when the install has none."""
    url = getattr(settings, "REDIS_URL", "")
    return redis_for(url) if url else None


def shared_name(key: bytes) -> str:
    """The Redis name of a session: a digest of the session key keyed with this install's secret,
    so the name tells nothing of the host's credential and other installs' names never meet it."""
    return SHARED_PREFIX + hashlib.blake2b(key, key=name_key(sealing_keys()[0]), digest_size=16).hexdigest()


@lru_cache(maxsize=4)
def name_key(secret: str) -> bytes:
    return hashlib.sha256(b"palette-fleet-dashboard/edge-session\x00" + fernet_key(secret)).digest()


# The sessions of every process, with this process's copy (worker threads share it) in front, per
# host. The local copy is bounded: past the bound the least recently read hosts are fetched from
# Redis again. Set from PALETTE_EDGE_SESSIONS.
SESSIONS = SharedSessions(Lru(50_000))


def session_key(address: str, access: "EdgeAccess") -> bytes:
    """Sessions are per host and credential: a changed password or user starts a new session.
    A digest (16 bytes a host in memory), which keeps the password out of the key as well."""
    parts = (access.scheme, address, str(access.port), access.username, access.password)
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()
