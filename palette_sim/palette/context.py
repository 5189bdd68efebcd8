"""One request as the handlers see it, and what they may reach of the app serving it.

The handlers import this module, never `palette_sim.palette.app`: the app sits above the routes
and the handlers, and hands each request a `Context`.
"""

import json
from collections.abc import Callable, Sequence
from typing import Protocol

from werkzeug.wrappers import Request

from palette_sim.fleet.clock import SimClock
from palette_sim.fleet.fleet import Fleet
from palette_sim.harness.faults import Faults
from palette_sim.palette import paging
from palette_sim.palette.errors import BadRequest, ResourceNotFound
from palette_sim.palette.tokens import TokenIssuer


class Served(Protocol):
    """What a request's handlers read of the app serving it (`palette_sim.palette.app.SimApp`)."""

    fleet: Fleet
    secret: bytes
    clock: SimClock
    faults: Faults
    tokens: TokenIssuer
    email: str
    password: str
    tenant_sees_all: bool

    def cached(self, key: tuple, build: Callable[[], list]) -> list: ...


class Context:
    """One request as the handlers see it: its scope, body and the paging helpers."""

    def __init__(self, app: Served, request: Request) -> None:
        self.app = app
        self.fleet = app.fleet
        self.request = request
        self.scope = self.resolve_scope()

    def resolve_scope(self) -> str | None:
        """The project a request is scoped to: the ProjectUid header, or its query forms (REFERENCE.md 3)."""
        r = self.request
        uid = r.headers.get("ProjectUid") or r.args.get("ProjectUid") or r.args.get("projectUid") or None
        if uid is not None and self.fleet.project(uid) is None:
            raise ResourceNotFound(f"Project '{uid}' not found")
        return uid

    def body(self) -> dict:
        raw = self.request.get_data()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("request body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body

    def visible(self, project: object) -> bool:
        return self.fleet.in_scope(project, self.scope, self.app.tenant_sees_all)

    def listing_key(self) -> tuple:
        """What makes two requests the same listing: path, scope, other query args and the body.

        The body counts by meaning (parsed, keys sorted), so re-serialising it does not break paging.
        """
        args = sorted(
            (k, v) for k, v in self.request.args.items(multi=True) if k not in ("continue", "limit", "offset")
        )
        raw = self.request.get_data()
        try:
            body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw.strip() else b""
        except ValueError:
            body = raw
        return (self.request.path, self.scope, body, tuple(args))

    def page(self, items: Sequence, render: Callable[[object], dict], *, reverse: bool = False) -> dict:
        """One page of `items` with `listmeta` (REFERENCE.md 4).

        `offset` without a token is ignored, as public clients observed. A `limit` over 50 is refused
        with 400, as a server validating the spec's `maximum: 50` would; 0 or none means 50.
        `reverse` serves the sequence from its end (newest first for the time-ordered logs).
        """
        r = self.request
        try:
            limit = int(r.args.get("limit") or paging.MAX_LIMIT)
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if limit > paging.MAX_LIMIT:
            raise BadRequest(f"limit in query should be less than or equal to {paging.MAX_LIMIT}")
        limit = paging.MAX_LIMIT if limit <= 0 else limit
        path, scope, body, args = self.listing_key()
        key = paging.listing_key(path, scope, body, repr(args))
        token = r.args.get("continue", "")
        offset = paging.read_token(self.app.secret, key, token) if token else 0
        count = len(items)
        stop = min(offset + limit, count)
        if reverse:
            chunk = [render(items[count - 1 - i]) for i in range(offset, stop)]
        else:
            chunk = [render(item) for item in items[offset:stop]]
        next_offset = self.page_faults(offset, stop, limit)
        meta = paging.listmeta(self.app.secret, key, next_offset, count, limit)
        if token and self.app.faults.applies(r.path) and self.app.faults.roll("loop_rate"):
            meta["continue"] = token  # the same token again: a client must not loop forever
        return {"items": chunk, "listmeta": meta}

    def page_faults(self, offset: int, stop: int, limit: int) -> int:
        faults = self.app.faults
        if not faults.applies(self.request.path) or stop <= offset:
            return stop
        if faults.roll("repeat_rate"):
            return max(offset + 1, stop - faults.choice(tuple(range(1, max(2, limit // 2)))))
        if faults.roll("drop_rate"):
            return stop + faults.choice((1, 2, 3, 5, 8))
        return stop
