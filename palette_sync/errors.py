"""Typed errors of the Palette client: each says what went wrong and whether a retry may help."""


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
    """No answer in time, or the connection failed."""

    retryable = True


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
