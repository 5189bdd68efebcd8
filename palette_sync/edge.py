"""Each edge host's own Edge Host API ("Local Management APIs", REFERENCE.md 13), read-only.

The sync asks every edge host it knows from Palette for the facts only the host has (agent,
hardware, local cluster, registry and certificate health) and merges them into `EdgeHost`.
An unreachable host is a recorded state with its age, never a failed sync.

Trust is explicit: a CA bundle (the host's certificate must chain to it and name its address),
a pinned SHA-256 fingerprint of the host's certificate, or — only when set — no verification.

Nothing here touches the database: a worker at a site (README "Edge hosts' own API") runs it with
only the broker. Logged-in sessions are kept per host in this process (`SESSIONS`, bounded) and
reused until their token expires, then renewed with the refresh token; a password is sent again
only when the host no longer takes the session (REFERENCE.md 13: tokens live 2 h).
"""

import base64
import binascii
import hashlib
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from django.utils import timezone

from dashboard.edge_states import EdgeApiState

log = logging.getLogger(__name__)

EDGE_PORT = 5080  # Edge spec `servers`: https://<edge-host-ip>:5080
LOGIN = "/v1/users/default/login"
RENEWAL = "/v1/users/default/token/renewal"
TOKEN_LIFETIME = 2 * 3600.0  # REFERENCE.md 13: 2 h without extendedSession, when the token does not say
RENEW_BEFORE = 120.0  # seconds before expiry a token is renewed rather than used
# What the dashboard reads from each host; a 404 on the cluster endpoints means "no cluster yet".
READS = {
    "host": "/v1/edge-mgmt/edgehosts/current",
    "cluster": "/v1/edge-mgmt/cluster/details",
    "registry": "/v1/edge-mgmt/cluster/registry/health",
    "certificates": "/v1/edge-mgmt/cluster/certificates",
}


@dataclass(frozen=True)
class EdgeAccess:
    """How to log in to some edge hosts and which certificates to trust there."""

    username: str
    password: str = field(repr=False)
    ca_pem: str = field(default="", repr=False)  # PEM of the CA (or self-signed certs) to trust
    fingerprint: str = ""  # SHA-256 of the host's certificate, hex, colons allowed
    insecure: bool = False  # no verification at all: only when explicitly set
    scheme: str = "https"
    port: int = EDGE_PORT


@dataclass
class EdgeProbe:
    """The outcome of reading one host: a state, the facts read, and why not, if not."""

    state: str
    facts: dict = field(default_factory=dict)
    error: str = ""
    checked_at: datetime = field(default_factory=timezone.now)


class EdgeError(Exception):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state


class EdgeUnauthorized(EdgeError):
    """A read answered 401: the host no longer takes the session's token (restarted, logged out)."""

    def __init__(self, path: str) -> None:
        super().__init__(EdgeApiState.AUTH_FAILED, f"{path}: HTTP 401, the host refused the session's token")


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


# This process's sessions (worker threads share them) and the certificates it pinned, per host.
# Bounded: past the bound the least recently read hosts log in again. Set from PALETTE_EDGE_SESSIONS.
SESSIONS = Lru(50_000)
PINNED = Lru(50_000)
CONTEXTS = Lru(64)  # one SSL context per CA bundle (loading trust stores costs milliseconds)


def configure(sessions: int, readings: int) -> None:
    """Bound this process's session and pinned-certificate caches (PALETTE_EDGE_SESSIONS) and the
    hosts it reads at once (PALETTE_EDGE_PROCESS_CONCURRENCY)."""
    SESSIONS.size = PINNED.size = max(1, sessions)
    SLOTS.resize(readings)


def session_key(address: str, access: "EdgeAccess") -> bytes:
    """Sessions are per host and credential: a changed password or user starts a new session.
    A digest (16 bytes a host in memory), which keeps the password out of the key as well."""
    parts = (access.scheme, address, str(access.port), access.username, access.password)
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).digest()


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


def peer_fingerprint(address: str, port: int, timeout: float) -> tuple[str, bytes]:
    """The SHA-256 fingerprint and DER of the certificate a host presents (not yet trusted)."""
    context = shared_context("insecure", insecure_context)
    with socket.create_connection((address, port), timeout=timeout) as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest(), der


def tls_verify(access: EdgeAccess, address: str, timeout: float) -> ssl.SSLContext:
    """The `verify` httpx should use for this host, checked before any credential is sent."""
    if access.scheme != "https" or access.insecure:
        return shared_context("insecure", insecure_context)
    if access.fingerprint:
        return pinned_context(access, address, timeout)
    if not access.ca_pem:
        return shared_context("system", ssl.create_default_context)
    key = hashlib.sha256(access.ca_pem.encode()).hexdigest()
    return shared_context(key, lambda: ca_context(access.ca_pem))


CONTEXT_LOCK = threading.Lock()


def shared_context(key: str, make: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """One SSL context per trust setting, shared by every host and thread of the process.

    Made under a lock: a context with the system's trust store costs about a megabyte of native
    memory and tens of milliseconds, and a batch's threads all start at once, so without the lock
    each of them made its own on a cold cache (hundreds at the start of a worker, their native
    memory then kept by the allocator).
    """
    context = CONTEXTS.get(key)
    if context is None:
        with CONTEXT_LOCK:
            context = CONTEXTS.get(key)
            if context is None:
                context = make()
                CONTEXTS.put(key, context)
    return context


def ca_context(ca_pem: str) -> ssl.SSLContext:
    """Trust exactly the given CA bundle (not the system's store as well)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca_pem)
    return context


def insecure_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def pinned_context(access: EdgeAccess, address: str, timeout: float) -> ssl.SSLContext:
    """A context that trusts exactly the host's certificate once its fingerprint matched the pin.

    The certificate is fetched and checked once per host (then kept in PINNED): a host that later
    presents another certificate fails the handshake, and is checked afresh at the next probe.
    """
    pin = normalise_fingerprint(access.fingerprint)
    key = (address, access.port, pin)
    der = PINNED.get(key)
    if der is None:
        try:
            seen, der = peer_fingerprint(address, access.port, timeout)
        except ssl.SSLError as exc:
            raise EdgeError(EdgeApiState.TLS_FAILED, f"TLS handshake failed: {exc}") from exc
        if seen != pin:
            raise EdgeError(EdgeApiState.TLS_FAILED, f"certificate fingerprint {seen} is not the pinned one")
        PINNED.put(key, der)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=der)
    return context


def refuse_writes(request: httpx.Request) -> None:
    """The edge client reads: GETs, and the POSTs that log in and renew a token."""
    if request.method == "GET" or (request.method == "POST" and request.url.path in (LOGIN, RENEWAL)):
        return
    raise EdgeError(EdgeApiState.ERROR, f"refused {request.method} {request.url.path}: the edge client is read-only")


def read_host(
    address: str,
    access: EdgeAccess,
    *,
    timeout: float = 5.0,
    transport: httpx.BaseTransport | None = None,
    sessions: Lru | None = None,
    tally: Tally | None = None,
) -> EdgeProbe:
    """Read what the dashboard shows of one host, in this process's session on it (or a new one)."""
    sessions = SESSIONS if sessions is None else sessions
    tally = tally or Tally()
    try:
        verify = tls_verify(access, address, timeout) if transport is None else False
        host = f"[{address}]" if ":" in address else address  # an IPv6 literal in a URL
        base = f"{access.scheme}://{host}:{access.port}"
        with httpx.Client(
            base_url=base, verify=verify, timeout=timeout, transport=transport, event_hooks={"request": [refuse_writes]}
        ) as http:
            return EdgeProbe(
                EdgeApiState.REACHABLE,
                facts=read_in_session(http, access, sessions, session_key(address, access), tally),
            )
    except EdgeError as exc:
        return EdgeProbe(exc.state, error=str(exc))
    except httpx.ConnectError as exc:
        state = (
            EdgeApiState.TLS_FAILED
            if isinstance(exc.__cause__, ssl.SSLError) or "CERTIFICATE" in str(exc)
            else EdgeApiState.UNREACHABLE
        )
        if state == EdgeApiState.TLS_FAILED and access.fingerprint:
            PINNED.drop((address, access.port, normalise_fingerprint(access.fingerprint)))  # check afresh next time
        return EdgeProbe(state, error=f"{address}: {exc}")
    except (httpx.TransportError, OSError) as exc:
        return EdgeProbe(EdgeApiState.UNREACHABLE, error=f"{address}: {exc.__class__.__name__} {exc}".strip())


def read_in_session(http: httpx.Client, access: EdgeAccess, sessions: Lru, key: tuple, tally: Tally) -> dict:
    """Read the facts with the kept session: renewed when about to expire, a new login when there is
    none or the host refuses it (once: a second refusal is the answer)."""
    session = sessions.get(key)
    if session is not None and session.usable(time.time()):
        tally.add("reused")
    elif session is not None and session.refresh and (session := renew(http, session)) is not None:
        tally.add("renewals")
    else:
        session = login(http, access)
        tally.add("logins")
    sessions.put(key, session)
    try:
        return read_facts(http, session.token)
    except EdgeUnauthorized:
        sessions.drop(key)
        session = login(http, access)
        tally.add("logins")
        sessions.put(key, session)
        return read_facts(http, session.token)


def login(http: httpx.Client, access: EdgeAccess) -> Session:
    """`POST /v1/users/default/login` -> `v1LoginSuccess.Token` (capitalised keys): a new session."""
    response = http.post(
        LOGIN, params={"setCookie": "false"}, json={"username": access.username, "password": access.password}
    )
    if response.status_code in (400, 401, 403):
        raise EdgeError(EdgeApiState.AUTH_FAILED, f"login refused ({response.status_code})")
    body = json_of(response)
    return Session.from_tokens(body.get("Token") if isinstance(body, dict) else None)


def renew(http: httpx.Client, session: Session) -> Session | None:
    """`POST /v1/users/default/token/renewal` with the refresh token -> `v1UserToken`; None when the
    host no longer takes it (then the caller logs in)."""
    response = http.post(RENEWAL, json={"refreshToken": session.refresh})
    if response.status_code >= 400:
        return None
    return Session.from_tokens(json_of(response))


def read_facts(http: httpx.Client, token: str) -> dict:
    facts = {}
    for name, path in READS.items():
        response = http.get(path, headers={"Authorization": token})
        if response.status_code == 401:
            raise EdgeUnauthorized(path)
        if response.status_code == 404 and name != "host":
            facts[name] = None  # no cluster on this host (yet)
            continue
        facts[name] = json_of(response)
    if not isinstance(facts["host"], dict):
        raise EdgeError(EdgeApiState.ERROR, "edgehosts/current is not an object")
    return facts


def json_of(response: httpx.Response) -> object:
    if response.status_code >= 400:
        raise EdgeError(EdgeApiState.ERROR, f"{response.request.url.path}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise EdgeError(EdgeApiState.ERROR, f"{response.request.url.path}: response is not JSON") from exc


HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def address_problem(address: str) -> str:
    """Why Palette's address for a host cannot be used as is, or "" when it is a bare host name or
    IP address. The port, the scheme and the credential come from our own settings, never from
    Palette's data: an address with a port, a path or user info would point the dashboard, and the
    password it sends, somewhere else."""
    try:
        ipaddress.ip_address(address)
        return ""
    except ValueError:
        pass
    labels = address.rstrip(".").split(".")
    if len(address) <= 253 and all(HOST_LABEL.match(label) for label in labels):
        return ""
    return f"Palette's address {address[:80]!r} is not a host name or IP address: not contacted"


def unprobeable(address: str, access: object | None) -> EdgeProbe | None:
    """The outcome for a host that must not be contacted (no credential, no usable address), else None.

    `access` is whatever says how to log in (EdgeAccess, or the credential it will come from)."""
    if access is None:
        return EdgeProbe(EdgeApiState.NO_ACCESS, error="no edge credentials match this host")
    if not address:
        return EdgeProbe(EdgeApiState.UNREACHABLE, error="Palette lists no address for this host")
    problem = address_problem(address)
    return EdgeProbe(EdgeApiState.BAD_ADDRESS, error=problem) if problem else None


MAX_PACING = 120.0  # seconds a host's start may lie ahead (a clock far off must not park a thread for long)


class Slots:
    """At most `size` edge hosts read at once in this process, whatever the number of probe tasks
    running in it (PALETTE_EDGE_PROCESS_CONCURRENCY).

    A worker runs many probe tasks at once, each reading `PALETTE_EDGE_CONCURRENCY` hosts at a
    time: without a bound per process, 16 tasks read 256 hosts at once, their 5 s timeouts run out
    while the threads wait for the CPU, and hosts that answered are recorded unreachable. A reading
    waits for its slot before its client exists, so no timeout runs while it waits.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self.peak = 0  # the most readings at once so far (what the bound held)
        self.free = threading.Condition()

    def resize(self, size: int) -> None:
        with self.free:
            self.size = max(1, size)
            self.free.notify_all()

    def __enter__(self) -> "Slots":
        with self.free:
            self.free.wait_for(lambda: self.busy < self.size)
            self.busy += 1
            self.peak = max(self.peak, self.busy)
        return self

    def __exit__(self, *exc: object) -> None:
        with self.free:
            self.busy -= 1
            self.free.notify()


SLOTS = Slots(32)


def read_hosts(
    targets: Iterable[tuple[str, str, EdgeAccess | None]],
    *,
    concurrency: int = 16,
    timeout: float = 5.0,
    tally: Tally | None = None,
    start_at: dict | None = None,
) -> dict[str, EdgeProbe]:
    """Read many hosts, at most `concurrency` at a time (and `SLOTS` in the process): {key: probe}
    for (key, address, access), each probe's facts already cut to what the dashboard keeps.

    `start_at` ({key: epoch seconds}) paces the reads: a host is not contacted before its time, so
    a batch spreads its hosts over its stretch of the interval instead of reading them all at once.
    Give the targets in that order.

    Each reading is cut to its `summary` (about 1 KB) as soon as it is read: a host in a cluster
    answers its cluster's details, over 100 KB of JSON and several times that as Python objects,
    and a batch that kept them all until its last host was read held hundreds of megabytes, which
    the allocator then kept after they were freed.
    """
    start_at = start_at or {}

    def one(target: tuple[str, str, EdgeAccess | None]) -> tuple[str, EdgeProbe]:
        key, address, access = target
        wait = start_at.get(key, 0.0) - time.time()
        if wait > 0:
            time.sleep(min(wait, MAX_PACING))
        probe = unprobeable(address, access)
        if probe is None:
            with SLOTS:
                probe = read_host(address, access, timeout=timeout, tally=tally)
        if probe.facts:
            probe.facts = summary(probe.facts)
        return key, probe

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="edge") as pool:
        return dict(pool.map(one, targets))


def summary(facts: dict) -> dict:
    """What the dashboard keeps of a host's answers (Edge spec `v1EdgeHostInfo`, `v1Cluster`, ...)."""
    host = facts.get("host") or {}
    spec, status = dig(host, "spec"), dig(host, "status")
    hardware = dig(spec, "hardwareSpec")
    cluster = facts.get("cluster") or {}
    registry = facts.get("registry") or {}
    certificates = facts.get("certificates") or {}
    expiries = [c.get("expirationDate") for c in certificates.get("certificates") or [] if isinstance(c, dict)]
    return {
        "agentVersion": status.get("agentVersion", ""),
        "hostName": status.get("hostName", ""),
        "configurationStatus": status.get("configurationStatus", ""),
        "connectionMode": spec.get("connectionMode", ""),
        "managementMode": spec.get("managementMode", ""),
        "nodeRole": spec.get("nodeRole", ""),
        "arch": hardware.get("archType", ""),
        "cpuCores": dig(hardware, "cpu").get("cores"),
        "memoryMB": dig(hardware, "memory").get("sizeInMB"),
        "os": " ".join(filter(None, [dig(hardware, "os").get("family"), dig(hardware, "os").get("version")])),
        "nics": [
            {k: n.get(k) for k in ("nicName", "ip", "macAddr", "isDefault")}
            for n in spec.get("networkInfo") or []
            if isinstance(n, dict)
        ],
        "clusterState": dig(cluster, "status").get("clusterState", ""),
        "clusterHealth": dig(dig(cluster, "status"), "health").get("status", ""),
        "kubernetesVersion": dig(cluster, "status").get("k8sVersion", ""),
        "registryState": registry.get("State", ""),
        "registryUsagePercent": registry.get("UsagePercentage"),
        "certificatesNeedRenewal": certificates.get("needsRenewal"),
        "certificatesEarliestExpiry": min((e for e in expiries if isinstance(e, str)), default=""),
    }


def dig(value: object, key: str) -> dict:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}
