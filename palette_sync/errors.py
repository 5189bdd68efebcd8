"""Typed errors of the Palette client: each says what went wrong and whether a retry may help."""

import email.utils
import math
import ssl
from datetime import UTC, datetime

import httpx


class PaletteError(Exception):
    """Anything the Palette API did that the client could not turn into data."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PaletteAuthError(PaletteError):
    """401/403: the credential is missing, wrong, expired or lacks permission."""


class PaletteNotFound(PaletteError):
    """404: the path or object does not exist."""


class PaletteRateLimited(PaletteError):
    """429: the rate budget of a family is spent (REFERENCE.md 5)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, status: int = 429) -> None:
        super().__init__(message, status=status, code="TooManyRequests")
        self.retry_after = retry_after


class PaletteServerError(PaletteError):
    """5xx from Palette."""

    retryable = True

    def __init__(self, message: str, *, status: int, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class PaletteTimeout(PaletteError):
    """No answer in time, or the connection broke off mid-request."""

    retryable = True


class PaletteConnectionError(PaletteError):
    """The connection could not be made: refused, no such host, a proxy in the way, a wrong URL.
    A setting or the network is wrong; retrying at once would not help, the next sync tries again."""


class PaletteTLSError(PaletteConnectionError):
    """The server's certificate is not trusted: a self-hosted Palette with a private CA needs the
    account's CA bundle."""


class PaletteBadResponse(PaletteError):
    """A 2xx whose body is not the JSON the spec promises (malformed, truncated, wrong shape)."""

    retryable = True


class PaletteWriteRefused(PaletteError):
    """The client was asked to send a request that could change Palette: it never does."""


class PaletteIncompleteListing(PaletteError):
    """A listing ended without every row: a repeated `continue` token, or fewer rows than `listmeta.count`.

    Raised after the rows that did arrive were yielded; `listing` holds what is known (REFERENCE.md 4).
    """

    def __init__(self, message: str, *, listing: object) -> None:
        super().__init__(message)
        self.listing = listing


class PaletteThrottleError(PaletteError):
    """The shared rate budget (Redis) could not be consulted; nothing was sent."""


class PaletteThrottleTimeout(PaletteError):
    """The next free slot of a rate-limit family is further away than the throttle may wait."""


def redact(path: str) -> str:
    """A path fit for logs: a session token in a refresh path is not."""
    return "/v1/auth/refresh/<token>" if path.startswith("/v1/auth/refresh/") else path


def error_for(response: httpx.Response) -> PaletteError:
    """Map a non-2xx answer to a typed error; the body is `v1Error` JSON or raw text (REFERENCE.md 5)."""
    try:
        body = response.json()
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    where = f"{response.request.method} {redact(response.request.url.path)}"
    status = response.status_code
    text = f"{where}: {status} {code} {message}".strip()
    if status == 429:
        return PaletteRateLimited(text, retry_after=retry_after_seconds(response))
    if status in (401, 403):
        return PaletteAuthError(text, status=status, code=code)
    if status == 404:
        return PaletteNotFound(text, status=status, code=code)
    if status >= 500:
        return PaletteServerError(text, status=status, code=code, retry_after=retry_after_seconds(response))
    return PaletteError(text, status=status, code=code)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds from now: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def connection_error(where: str, base_url: str, exc: httpx.TransportError) -> PaletteConnectionError:
    """What a failed connection means, said plainly: an untrusted certificate, a proxy, a wrong URL,
    or a server that cannot be reached."""
    if is_tls_failure(exc):
        return PaletteTLSError(
            f"{where}: the TLS certificate of {base_url} is not trusted ({exc}); "
            "for a self-hosted Palette with a private CA, give the account its CA bundle"
        )
    if isinstance(exc, httpx.ProxyError):
        return PaletteConnectionError(f"{where}: the proxy refused or failed the connection ({exc})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return PaletteConnectionError(f"{where}: {base_url} is not an http(s) URL ({exc})")
    return PaletteConnectionError(f"{where}: cannot connect to {base_url} ({exc})")


def is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
