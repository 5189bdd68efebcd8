"""Paged listings (REFERENCE.md 4): `continue` tokens, de-duplication by uid, and the checks that
say whether a listing was complete. The client sends the pages; this module reads them."""

import logging
import math
from collections.abc import Iterator
from typing import Protocol

from palette_sync.errors import PaletteBadResponse, PaletteIncompleteListing
from palette_sync.throttle import Throttle, chain_pages_left, family_for, new_chain_name

log = logging.getLogger(__name__)

PAGE_LIMIT = 50  # "Default and maximum value of the limit is 50" (REFERENCE.md 4)


class PageSource(Protocol):
    """What a Listing needs of the client: one page at a time, and the rate budget it spends."""

    throttle: Throttle | None

    def page(self, method: str, path: str, *, body: dict | None, params: dict, project_uid: str | None) -> dict: ...


class Listing:
    """One pass over a paged listing; after it, `complete`, `count`, `rows` and `problems` say how it went.

    Items are de-duplicated by uid; a repeated `continue` token ends the listing; the rows are
    compared with `listmeta.count` (REFERENCE.md 4: public clients saw all three go wrong).

    The count "may drift while paging" (REFERENCE.md 4): an entry recorded while the pages are read
    (an audit Palette writes late into the window) raises it, and the newcomer may land on a page
    already read. The rows are therefore held to the smaller of the first and the last count: every
    row that existed when the listing began must arrive; a newcomer comes with the next listing
    (timeline: the overlap; inventories: the next poll).

    Each page tells the rate budget how many pages the chain has left (from `listmeta.count`), so
    that the longest chains of a family go first and all of them end together (palette_sync.throttle).
    `by_pages_left=False` leaves a chain in arrival order, for listings cut into pieces that are
    meant to end one after another (fetch.windowed).
    """

    def __init__(
        self,
        client: "PageSource",
        path: str,
        *,
        method: str,
        body: dict | None,
        project_uid: str | None,
        strict: bool,
        params: dict | None = None,
        by_pages_left: bool = True,
    ) -> None:
        self.client, self.path, self.method, self.body = client, path, method, body
        self.project_uid, self.strict, self.params = project_uid, strict, params or {}
        self.by_pages_left = by_pages_left
        self.rows = self.pages = self.duplicates = 0
        self.count: int | None = None  # the last listmeta.count seen
        self.first_count: int | None = None  # the first listmeta.count seen
        self.problems: list[str] = []
        self.finished = False
        self._started = False

    @property
    def promised(self) -> int | None:
        """The rows `listmeta.count` promised: the smaller of its first and last values (see the class)."""
        counts = [c for c in (self.first_count, self.count) if c is not None]
        return min(counts) if counts else None

    @property
    def shortfall(self) -> int:
        """Rows promised by `listmeta.count` that never arrived."""
        promised = self.promised
        return max(0, promised - self.rows) if promised is not None and self.finished else 0

    @property
    def pages_left(self) -> int | None:
        """Pages still to read, the next one included, as `listmeta.count` says; None before the first page."""
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / PAGE_LIMIT) - self.pages)

    @property
    def complete(self) -> bool:
        """True when the listing ran to its end with every promised row."""
        return self.finished and not self.problems

    def __iter__(self) -> Iterator[dict]:
        if self._started:
            raise RuntimeError("a Listing is iterated once; ask the client for a new one")
        self._started = True
        return self._items()

    def _items(self) -> Iterator[dict]:
        seen_uids: set[str] = set()
        seen_tokens: set[str] = set()
        token = ""
        chain, left = new_chain_name(), None
        try:
            while True:
                params: dict = {**self.params, "limit": PAGE_LIMIT, **({"continue": token} if token else {})}
                left = self.pages_left if self.by_pages_left else None
                with chain_pages_left(chain, left):
                    page = self.client.page(
                        self.method, self.path, body=self.body, params=params, project_uid=self.project_uid
                    )
                self.pages += 1
                yield from self._new_items(page["items"], seen_uids)
                token, self.count = page["continue"], page["count"] if page["count"] is not None else self.count
                if self.first_count is None:
                    self.first_count = page["count"]
                if not token:
                    break
                if token in seen_tokens:
                    self.problems.append(f"continue token repeated after {self.pages} pages")
                    break
                seen_tokens.add(token)
        finally:
            # The budget still counts the chain unless its last request was its last page: the
            # caller stopped reading, a page failed, or the listing ended before its count said.
            if left is not None and left > 1 and self.client.throttle is not None:
                self.client.throttle.end_chain(family_for(self.path), chain)
        self._finish()

    def _new_items(self, items: list[dict], seen: set[str]) -> Iterator[dict]:
        for item in items:
            # An item without a uid cannot be stored, but it is no reason to drop its page: the
            # sync reports it, and the rest of the page goes on.
            metadata = item.get("metadata") if isinstance(item, dict) else None
            uid = metadata.get("uid") if isinstance(metadata, dict) else None
            if isinstance(uid, str) and uid:
                if uid in seen:
                    self.duplicates += 1
                    continue
                seen.add(uid)
            self.rows += 1
            yield item

    def _finish(self) -> None:
        self.finished = True
        if self.shortfall:
            self.problems.append(f"{self.rows} rows where listmeta.count promised {self.promised}")
        if not self.problems:
            return
        message = f"{self.method} {self.path} incomplete: " + "; ".join(self.problems)
        log.warning(message)
        if self.strict:
            raise PaletteIncompleteListing(message, listing=self)


def parse_page(page: object, path: str) -> dict:
    """{items, continue, count} of one page, or PaletteBadResponse if it is not page-shaped (REFERENCE.md 4)."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise PaletteBadResponse(f"{path}: response has no items list")
    items = page["items"]
    listmeta = page.get("listmeta") if isinstance(page.get("listmeta"), dict) else {}
    count = listmeta.get("count")
    return {
        "items": items,
        "continue": str(listmeta.get("continue") or ""),
        "count": count if isinstance(count, int) else None,
    }
