"""A read-only httpx client for the Palette REST API (REFERENCE.md 2-5).

The transport is injectable, so tests run the client against the simulator in-process.
"""

import logging
import re
from collections.abc import Iterator

import httpx

from palette_sync.errors import (
    PaletteAuthError,
    PaletteBadResponse,
    PaletteError,
    PaletteNotFound,
    PaletteRateLimited,
    PaletteServerError,
    PaletteTimeout,
    PaletteWriteRefused,
)

log = logging.getLogger(__name__)

# The only POSTs the client may send: searches that read (REFERENCE.md 6-10).
READ_ONLY_POSTS = re.compile(
    r"^/v1/(dashboard/(projects|spectroclusters/search|spectroclusters/metadata/search|clusterprofiles"
    r"|edgehosts/search|appliances/metadata)|auth/authenticate)$"
)
PAGE_LIMIT = 50  # "Default and maximum value of the limit is 50" (REFERENCE.md 4)


def check_read_only(request: httpx.Request) -> None:
    """Refuse, before it leaves, any request that could write to Palette."""
    if request.method == "GET":
        return
    if request.method == "POST" and READ_ONLY_POSTS.match(request.url.path):
        return
    raise PaletteWriteRefused(f"refused {request.method} {request.url.path}: the client is read-only")


class PaletteClient:
    """Reads one Palette account. Use as a context manager, or call close()."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"ApiKey": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            event_hooks={"request": [check_read_only]},
        )

    def __enter__(self) -> "PaletteClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        project_uid: str | None = None,
    ) -> object:
        """Send one request and return its decoded JSON, or raise a typed PaletteError."""
        headers = {"ProjectUid": project_uid} if project_uid else {}
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise PaletteTimeout(f"{method} {path}: timed out ({exc.__class__.__name__})") from exc
        except httpx.TransportError as exc:
            raise PaletteTimeout(f"{method} {path}: connection failed ({exc})") from exc
        if response.status_code >= 400:
            raise error_for(response)
        try:
            return response.json()
        except ValueError as exc:
            raise PaletteBadResponse(f"{method} {path}: response is not JSON", status=response.status_code) from exc

    def paginate(
        self, path: str, *, method: str = "POST", body: dict | None = None, project_uid: str | None = None
    ) -> Iterator[dict]:
        """Yield every item of a paged listing, following `continue` tokens (REFERENCE.md 4).

        POST searches repeat the same body with the token in the query string. Items are
        de-duplicated by uid, and a repeated token ends the listing with an error rather than a loop.
        """
        seen_tokens: set[str] = set()
        seen_uids: set[str] = set()
        token = ""
        while True:
            params: dict = {"limit": PAGE_LIMIT}
            if token:
                params["continue"] = token
            page = self.request(
                method, path, json=body if method == "POST" else None, params=params, project_uid=project_uid
            )
            items, token = parse_page(page, path)
            for item in items:
                uid = item.get("metadata", {}).get("uid")
                if uid in seen_uids:
                    continue
                seen_uids.add(uid)
                yield item
            if not token:
                return
            if token in seen_tokens:
                raise PaletteBadResponse(f"{path}: continue token repeated; listing abandoned")
            seen_tokens.add(token)

    def user_info(self) -> dict:
        """The tenant and user a credential belongs to (`GET /v1/users/info`)."""
        return self.request("GET", "/v1/users/info")

    def projects(self) -> Iterator[dict]:
        """Every project of the tenant (`POST /v1/dashboard/projects`, tenant scope)."""
        return self.paginate("/v1/dashboard/projects", body={"filter": {}, "sort": []})

    def clusters(self, project_uid: str) -> Iterator[dict]:
        """Every cluster of a project, deleted ones left out (`POST /v1/dashboard/spectroclusters/search`)."""
        return self.paginate("/v1/dashboard/spectroclusters/search", body=CLUSTER_SEARCH, project_uid=project_uid)


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


def parse_page(page: object, path: str) -> tuple[list[dict], str]:
    """The items and next token of one page, or PaletteBadResponse if it is not page-shaped."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise PaletteBadResponse(f"{path}: response has no items list")
    items = [i for i in page["items"] if isinstance(i, dict) and isinstance(i.get("metadata"), dict)]
    if len(items) != len(page["items"]):
        raise PaletteBadResponse(f"{path}: page has items without metadata")
    listmeta = page.get("listmeta") or {}
    token = listmeta.get("continue") or "" if isinstance(listmeta, dict) else ""
    return items, str(token)


def error_for(response: httpx.Response) -> PaletteError:
    """Map a non-2xx answer to a typed error; the body is `v1Error` JSON or raw text (REFERENCE.md 5)."""
    try:
        body = response.json()
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    where = f"{response.request.method} {response.request.url.path}"
    text = f"{where}: {response.status_code} {code} {message}".strip()
    status = response.status_code
    if status == 429:
        return PaletteRateLimited(text, retry_after=retry_after_seconds(response))
    if status in (401, 403):
        return PaletteAuthError(text, status=status, code=code)
    if status == 404:
        return PaletteNotFound(text, status=status, code=code)
    if status >= 500:
        return PaletteServerError(text, status=status, code=code)
    return PaletteError(text, status=status, code=code)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
