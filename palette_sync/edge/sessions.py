"""Logged-in sessions kept per host in this process, reused until their token expires (REFERENCE.md
13: tokens live 2 h), and the small thread-safe containers they live in."""

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from dashboard.edge_states import EdgeApiState
from palette_sync.edge.access import EdgeAccess, EdgeError

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


# This process's sessions (worker threads share them), per host. Bounded: past the bound the least
# recently read hosts log in again. Set from PALETTE_EDGE_SESSIONS.
SESSIONS = Lru(50_000)


def session_key(address: str, access: "EdgeAccess") -> bytes:
    """Sessions are per host and credential: a changed password or user starts a new session.
    A digest (16 bytes a host in memory), which keeps the password out of the key as well."""
    parts = (access.scheme, address, str(access.port), access.username, access.password)
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()
