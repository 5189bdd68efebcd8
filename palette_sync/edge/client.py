"""Reading one host: log in (or reuse the session), read what the dashboard shows, say why not."""

import ssl
import time
from urllib.request import getproxies

import httpx

from dashboard.edge_states import EdgeApiState
from palette_sync.client import storable_json
from palette_sync.edge.access import LOGIN, READS, RENEWAL, EdgeAccess, EdgeError, EdgeProbe, EdgeUnauthorized
from palette_sync.edge.sessions import SESSIONS, Lru, Session, SharedSessions, Tally, session_key
from palette_sync.edge.trust import PINNED, normalise_fingerprint, tls_verify


def refuse_writes(request: httpx.Request) -> None:
    """The edge client reads: GETs, and the POSTs that log in and renew a token."""
    if request.method == "GET" or (request.method == "POST" and request.url.path in (LOGIN, RENEWAL)):
        return
    raise EdgeError(EdgeApiState.ERROR, f"refused {request.method} {request.url.path}: the edge client is read-only")


# What httpx.Client sends with every request; the edge client sends the same.
HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
HEADERS["User-Agent"] = f"python-httpx/{httpx.__version__}"


class HostConnection:
    """One reading's requests to one host, over one keep-alive connection (the login and the reads
    share it, closed when the reading ends): read-only (`refuse_writes`), no redirects followed, no
    cookies kept (the login asks for none: `setCookie=false`).

    Requests go to the transport itself, not through an httpx.Client: with a client, merging the
    base URL, default headers and cookies into each request, parsing its URL twice and extracting
    cookies from each answer made a quarter of a reading's Python calls, and its CPU went from 9.4
    to 7.2 ms without them (bench/README.md, `bench/edge_cpu.py`). When the environment names a
    proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), an httpx.Client sends the same requests, so that
    proxies and NO_PROXY apply as httpx applies them.
    """

    def __init__(
        self, base: str, verify: ssl.SSLContext | bool, timeout: float, transport: httpx.BaseTransport | None
    ) -> None:
        self.base = base
        self.extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self.client = httpx.Client(verify=verify, timeout=timeout) if transport is None and proxied() else None
        self.transport = transport or (None if self.client else httpx.HTTPTransport(verify=verify))

    def get(self, path: str, headers: dict) -> httpx.Response:
        return self.send("GET", path, headers=headers)

    def post(self, path: str, *, json: object, params: dict | None = None) -> httpx.Response:
        return self.send("POST", path, json=json, params=params)

    def send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = HEADERS | kwargs.pop("headers", {})
        request = httpx.Request(method, self.base + path, headers=headers, extensions=self.extensions, **kwargs)
        refuse_writes(request)
        if self.client is not None:
            return self.client.send(request)
        response = self.transport.handle_request(request)
        response.request = request
        try:
            response.read()
        finally:
            response.close()
        return response

    def __enter__(self) -> "HostConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        (self.client or self.transport).close()


def proxied() -> bool:
    """Whether the environment names a proxy httpx would use (urllib's reading of it, as httpx's)."""
    found = getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


def read_host(
    address: str,
    access: EdgeAccess,
    *,
    timeout: float = 5.0,
    transport: httpx.BaseTransport | None = None,
    sessions: Lru | SharedSessions | None = None,
    tally: Tally | None = None,
) -> EdgeProbe:
    """Read what the dashboard shows of one host, in the workers' session on it (or a new one)."""
    sessions = SESSIONS if sessions is None else sessions
    tally = tally or Tally()
    try:
        verify = tls_verify(access, address, timeout) if transport is None else False
        host = f"[{address}]" if ":" in address else address  # an IPv6 literal in a URL
        base = f"{access.scheme}://{host}:{access.port}"
        with HostConnection(base, verify, timeout, transport) as http:
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


def read_in_session(
    http: HostConnection, access: EdgeAccess, sessions: "Lru | SharedSessions", key: bytes, tally: Tally
) -> dict:
    """Read the facts with the kept session (this process's, or one another process logged in):
    renewed when about to expire, a new login when there is none or the host refuses it (once: a
    second refusal is the answer). Only a new session is stored: a reused one is there already."""
    session = sessions.get(key)
    if session is not None and session.usable(time.time()):
        tally.add("reused")
    elif session is not None and session.refresh and (session := renew(http, session)) is not None:
        tally.add("renewals")
        sessions.put(key, session)
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


def login(http: HostConnection, access: EdgeAccess) -> Session:
    """`POST /v1/users/default/login` -> `v1LoginSuccess.Token` (capitalised keys): a new session."""
    response = http.post(
        LOGIN, params={"setCookie": "false"}, json={"username": access.username, "password": access.password}
    )
    if response.status_code in (400, 401, 403):
        raise EdgeError(EdgeApiState.AUTH_FAILED, f"login refused ({response.status_code})")
    body = json_of(response)
    return Session.from_tokens(body.get("Token") if isinstance(body, dict) else None)


def renew(http: HostConnection, session: Session) -> Session | None:
    """`POST /v1/users/default/token/renewal` with the refresh token -> `v1UserToken`; None when the
    host no longer takes it (then the caller logs in)."""
    response = http.post(RENEWAL, json={"refreshToken": session.refresh})
    if response.status_code >= 400:
        return None
    return Session.from_tokens(json_of(response))


def read_facts(http: HostConnection, token: str) -> dict:
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
        return storable_json(response)
    except ValueError as exc:
        raise EdgeError(EdgeApiState.ERROR, f"{response.request.url.path}: response is not JSON") from exc
