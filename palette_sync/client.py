"""A read-only httpx client for the Palette REST API (REFERENCE.md 2-5).

Every request passes the read-only check, takes a token from the shared rate budget (throttle),
and is counted per rate-limit family, inside httpx itself, so no caller can skip any of it.
Transient failures (429, 5xx, timeouts, broken JSON) are retried with stamina; the transport
is injectable, so tests run the client against the simulator in-process.
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx
import stamina

from palette_sync.errors import (
    PaletteAuthError,
    PaletteBadResponse,
    PaletteNotFound,
    PaletteRateLimited,
    PaletteServerError,
    PaletteTimeout,
    PaletteWriteRefused,
    connection_error,
    error_for,
    redact,
    retry_after_seconds,
)
from palette_sync.paging import Listing, parse_page
from palette_sync.throttle import Throttle, family_for

log = logging.getLogger(__name__)

# The only POSTs the client may send: searches that read, and the login (REFERENCE.md 2, 6-10).
READ_ONLY_POSTS = re.compile(
    r"^/v1/(dashboard/(projects|spectroclusters/search|spectroclusters/metadata/search|clusterprofiles"
    r"|edgehosts/search|appliances/metadata)|auth/authenticate)$"
)
TOKEN_LIFETIME = 15 * 60  # a session token lives 15 minutes (REFERENCE.md 2)


def check_read_only(request: httpx.Request) -> None:
    """Refuse, before it leaves, any request that could write to Palette."""
    path = request.url.path
    # A percent-encoded path could read differently on the server than here: none of ours needs one.
    plain = request.url.raw_path.split(b"?", 1)[0] == path.encode()
    if plain and (request.method == "GET" or (request.method == "POST" and READ_ONLY_POSTS.match(path))):
        return
    raise PaletteWriteRefused(f"refused {request.method} {redact(path)}: the client is read-only")


class ReadOnlyTransport(httpx.BaseTransport):
    """The last check before the wire, under whatever transport the client was given."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_read_only(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class ReadOnlyHttpClient(httpx.Client):
    """httpx.Client whose every send is checked, even with its event hooks removed."""

    def send(self, request: httpx.Request, **kwargs: object) -> httpx.Response:
        check_read_only(request)
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client retries transient failures (429, 5xx, timeouts, broken JSON)."""

    attempts: int = 6  # tries in all, the first included
    timeout: float = 300.0  # stop retrying after this many seconds in all
    wait_initial: float = 1.0  # backoff: initial × 2^(n-1) + jitter, at most wait_max
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    retry_after_cap: float = 60.0  # a longer Retry-After is not waited for: PaletteRateLimited
    bad_response_attempts: int = 3  # tries in all for a 2xx whose body is not the promised JSON

    @classmethod
    def from_settings(cls) -> "RetryPolicy":
        """The policy configured by the PALETTE_RETRY_* settings."""
        from django.conf import settings

        default = cls()
        return cls(
            attempts=getattr(settings, "PALETTE_RETRY_ATTEMPTS", default.attempts),
            timeout=getattr(settings, "PALETTE_RETRY_TIMEOUT", default.timeout),
            wait_max=getattr(settings, "PALETTE_RETRY_WAIT_MAX", default.wait_max),
            retry_after_cap=getattr(settings, "PALETTE_RETRY_AFTER_CAP", default.retry_after_cap),
            bad_response_attempts=getattr(settings, "PALETTE_BAD_RESPONSE_ATTEMPTS", default.bad_response_attempts),
        )


@dataclass
class ClientStats:
    """What a client spent: requests per rate-limit family (retries and logins included), 429s, waits."""

    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0  # 429 answers received
    retries: int = 0
    waited: float = 0.0  # seconds spent waiting for the rate budget

    def since(self, earlier: "ClientStats") -> "ClientStats":
        """The spending between `earlier` (taken with `snapshot()`) and now."""
        requests = {f: n - earlier.requests.get(f, 0) for f, n in self.requests.items()}
        return ClientStats(
            requests={f: n for f, n in requests.items() if n},
            throttled=self.throttled - earlier.throttled,
            retries=self.retries - earlier.retries,
            waited=self.waited - earlier.waited,
        )

    def snapshot(self) -> "ClientStats":
        """A copy to subtract from later with `since()`."""
        return replace(self, requests=dict(self.requests))


def storable_json(response: httpx.Response) -> object:
    """The answer's JSON, with U+FFFD standing in for any NUL character: PostgreSQL keeps none in
    text or jsonb, so one NUL in a name would fail the whole batch it is stored with. (JSON carries
    a NUL only as the escape \\u0000, so an answer without one is returned as parsed.)"""
    body = response.json()
    return without_nul(body) if b"\\u0000" in response.content else body


def without_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


class PaletteClient:
    """Reads one Palette account. Use as a context manager, or call close().

    Authenticates with an API key, or with username/password for a 15-minute token that is
    refreshed before it expires (REFERENCE.md 2). Pass `throttle` to spend a shared rate budget.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        throttle: Throttle | None = None,
        retry: RetryPolicy | None = None,
        username: str = "",
        password: str = "",
        org: str = "",
        token_refresh_after: float = 10 * 60,
    ) -> None:
        if not api_key and not (username and password):
            raise ValueError("PaletteClient needs an api_key, or a username and password")
        self.throttle = throttle
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._lock = threading.Lock()  # guards stats
        self._auth_lock = threading.RLock()  # guards the session token
        self._login_body = {"emailId": username, "org": org, "password": password}
        self._use_token = not api_key
        self._token = ""
        self._token_at = 0.0
        self.token_refresh_after = min(token_refresh_after, TOKEN_LIFETIME - 60)
        self._http = ReadOnlyHttpClient(
            base_url=base_url.rstrip("/"),
            headers={"Accept": "application/json", **({"ApiKey": api_key} if api_key else {})},
            timeout=timeout,
            transport=ReadOnlyTransport(transport or httpx.HTTPTransport()),
            follow_redirects=False,
            event_hooks={"request": [check_read_only, self._before_send], "response": [self._after_receive]},
        )

    @classmethod
    def for_account(cls, base_url: str, account_key: str, **kwargs: object) -> "PaletteClient":
        """A client with the throttle, retry policy and timeout that the PALETTE_* settings configure."""
        from django.conf import settings

        from palette_sync.throttle import throttle_for

        kwargs.setdefault("timeout", getattr(settings, "PALETTE_TIMEOUT", 30.0))
        kwargs.setdefault("token_refresh_after", getattr(settings, "PALETTE_TOKEN_REFRESH_AFTER", 600.0))
        return cls(base_url, throttle=throttle_for(account_key), retry=RetryPolicy.from_settings(), **kwargs)

    def __enter__(self) -> "PaletteClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- every send: budget, counters, penalty -----------------------------------------------

    def _before_send(self, request: httpx.Request) -> None:
        family = family_for(request.url.path)
        waited = self.throttle.acquire(family) if self.throttle else 0.0
        with self._lock:
            self.stats.requests[family.name] = self.stats.requests.get(family.name, 0) + 1
            self.stats.waited += waited

    def _after_receive(self, response: httpx.Response) -> None:
        if response.status_code != 429:
            return
        with self._lock:
            self.stats.throttled += 1
        if self.throttle:
            # Everyone on this budget pauses, not just this request (REFERENCE.md 5).
            self.throttle.penalize(family_for(response.request.url.path), retry_after_seconds(response))

    # --- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        project_uid: str | None = None,
    ) -> object:
        """Send one request, retrying transient failures, and return its JSON or raise a PaletteError."""
        return self._retrying(method, path, json=json, params=params, project_uid=project_uid)

    def _retrying(
        self, method: str, path: str, parse: Callable[[object], object] | None = None, **kw: object
    ) -> object:
        policy = self.retry
        retries = stamina.retry_context(
            on=self._retry_decider(),
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        )
        for attempt in retries:
            with attempt:
                if attempt.num > 1:
                    with self._lock:
                        self.stats.retries += 1
                body = self._send_authed(method, path, **kw)
                return parse(body) if parse else body
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _retry_decider(self) -> Callable[[Exception], bool | float]:
        """Which errors are retried, and after how long (None: stamina's backoff with jitter)."""
        bad_responses = 0

        def decide(exc: Exception) -> bool | float:
            nonlocal bad_responses
            if isinstance(exc, PaletteBadResponse):
                bad_responses += 1
                return bad_responses < self.retry.bad_response_attempts
            if not isinstance(exc, PaletteRateLimited | PaletteServerError | PaletteTimeout):
                return False
            wait = getattr(exc, "retry_after", None)
            if wait is None:
                return True
            return wait if wait <= self.retry.retry_after_cap else False

        return decide

    def _send_authed(self, method: str, path: str, **kw: object) -> object:
        headers = self._auth_headers()
        try:
            return self._send(method, path, headers=headers, **kw)
        except PaletteAuthError as exc:
            if exc.status != 401 or not self._use_token:
                raise
            with self._auth_lock:
                if self._token == headers.get("Authorization"):  # not already replaced by another thread
                    log.info("Palette refused the session token; logging in again")
                    self._login()
            return self._send(method, path, headers=self._auth_headers(), **kw)

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict,
        json: dict | None = None,
        params: dict | None = None,
        project_uid: str | None = None,
    ) -> object:
        if project_uid:
            headers = {**headers, "ProjectUid": project_uid}  # project scope (REFERENCE.md 3)
        where = f"{method} {redact(path)}"
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise PaletteTimeout(f"{where}: timed out ({exc.__class__.__name__})") from exc
        except (httpx.RemoteProtocolError, httpx.DecodingError) as exc:
            raise PaletteBadResponse(f"{where}: broken response ({exc})") from exc
        except (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol) as exc:
            raise connection_error(where, str(self._http.base_url), exc) from exc
        except httpx.TransportError as exc:  # reset or closed mid-request: worth another try
            raise PaletteTimeout(f"{where}: connection lost ({exc})") from exc
        if response.status_code >= 400:
            raise error_for(response)
        try:
            return storable_json(response)
        except ValueError as exc:
            raise PaletteBadResponse(f"{where}: response is not JSON", status=response.status_code) from exc

    # --- session token (REFERENCE.md 2) ---------------------------------------------------------

    def _auth_headers(self) -> dict:
        if not self._use_token:
            return {}  # the ApiKey header is on every request already
        with self._auth_lock:
            if not self._token:
                self._login()
            elif time.monotonic() - self._token_at > self.token_refresh_after:
                self._refresh()
            return {"Authorization": self._token}  # raw JWT, no "Bearer " (REFERENCE.md 2)

    def _login(self) -> None:
        body = self._send("POST", "/v1/auth/authenticate", headers={}, json=self._login_body, params=NO_COOKIE)
        self._keep_token(body)

    def _refresh(self) -> None:
        try:
            body = self._send("GET", f"/v1/auth/refresh/{self._token}", headers={}, params=NO_COOKIE)
        except (PaletteAuthError, PaletteNotFound):
            self._login()  # the session is gone: start a new one
            return
        self._keep_token(body)

    def _keep_token(self, body: object) -> None:
        token = body.get("Authorization") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PaletteBadResponse("/v1/auth: no Authorization token in the answer")
        self._token, self._token_at = token, time.monotonic()

    # --- listings ------------------------------------------------------------------------------

    def paginate(
        self,
        path: str,
        *,
        method: str = "POST",
        body: dict | None = None,
        project_uid: str | None = None,
        params: dict | None = None,
        strict: bool = True,
    ) -> "Listing":
        """A lazy listing of every item of a paged endpoint, following `continue` tokens (REFERENCE.md 4).

        `params` are extra query parameters sent with every page (e.g. `startTime` of `/v1/audits`).
        Iterate it for the items; afterwards its attributes say whether it was complete.
        With `strict`, an incomplete listing raises PaletteIncompleteListing after its last item.
        """
        return Listing(self, path, method=method, body=body, project_uid=project_uid, strict=strict, params=params)

    def page(self, method: str, path: str, *, body: dict | None, params: dict, project_uid: str | None) -> dict:
        """One page, retried as a whole when its body is not page-shaped."""
        json = body if method == "POST" else None
        return self._retrying(
            method, path, json=json, params=params, project_uid=project_uid, parse=lambda p: parse_page(p, path)
        )

    def user_info(self) -> dict:
        """The tenant and user a credential belongs to (`GET /v1/users/info`, REFERENCE.md 2)."""
        return self.request("GET", "/v1/users/info")

    def projects(self, *, strict: bool = True) -> "Listing":
        """Every project of the tenant (`POST /v1/dashboard/projects`, tenant scope)."""
        return self.paginate("/v1/dashboard/projects", body={"filter": {}, "sort": []}, strict=strict)

    def clusters(self, project_uid: str, *, strict: bool = True) -> "Listing":
        """Every cluster of a project, deleted ones left out (`POST /v1/dashboard/spectroclusters/search`)."""
        return self.paginate(
            "/v1/dashboard/spectroclusters/search", body=CLUSTER_SEARCH, project_uid=project_uid, strict=strict
        )


NO_COOKIE = {"setCookie": "false"}  # the token travels in a header; no cookie jar (REFERENCE.md 2)


CLUSTER_SEARCH = {
    "filter": {
        "conjunction": "and",
        "filterGroups": [
            {
                "conjunction": "and",
                "filters": [{"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}],
            }
        ],
    },
    "sort": [],
}
