"""Keep listings in flight: read pages ahead of the writer, and cut long windows into concurrent chains.

A `continue` chain is sequential, and at Palette's 100-200 ms per page one chain alone cannot spend
its family's budget (DESIGN.md "The Palette API facts"). So a listing is read in its own thread
while the caller maps and writes what already arrived, and a long time window is listed as several
slices at once; the shared throttle, not a chain's latency, then sets the pace.
"""

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import islice

from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteError
from palette_sync.paging import PAGE_LIMIT, Listing

BUFFER = 1000  # items read ahead of the caller, at most (20 pages)
PAGES_PER_SLICE = 20  # a long window is cut into slices of about this many pages
IN_FLIGHT = 4  # slices of one window listed at once
SLICES_AHEAD = IN_FLIGHT + 2  # slices read (or being read) but not yet stored, at most

_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(*sources: Iterable[dict], buffer: int = BUFFER) -> Iterator[dict]:
    """Every item of `sources`, each read in its own thread while the caller works on earlier items.

    Items of one source keep their order. The first error of any source is raised here after the
    items that arrived before it, and the other sources stop. Leaving the loop early stops them at
    their next item; as a reading thread runs up to `buffer` items ahead, a listing that should end
    early on its own (newest first, down to a watermark) must end in its own iteration, not here.
    """
    items: queue.Queue = queue.Queue(maxsize=buffer)
    stop = threading.Event()

    def put(thing: object) -> bool:
        while not stop.is_set():
            try:
                items.put(thing, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce(source: Iterable[dict]) -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the caller's thread, which raises it
            put(_Failed(exc))
            return
        put(_END)

    threads = [threading.Thread(target=produce, args=(s,), name="palette-read-ahead", daemon=True) for s in sources]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = items.get()
            if item is _END:
                running -= 1
            elif isinstance(item, _Failed):
                raise item.exc
            else:
                yield item
    finally:
        stop.set()


def replay(items: list[dict], error: PaletteError | None) -> Iterator[dict]:
    """The items of a slice as they arrived, then the error that ended it early, if one did."""
    yield from items
    if error is not None:
        raise error


def time_slices(start: datetime, end: datetime, n: int, ramp: int = 1) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into `n` adjoining windows, oldest first (each boundary instant is in two).

    The first `ramp - 1` windows are shorter, 1/ramp, 2/ramp ... of the others: listed `ramp` at
    a time at an equal share of the budget each, the windows then end one after another, not in
    groups, so the caller can store each while the later ones are still being read.
    """
    weights = [min(1.0, (i + 1) / ramp) for i in range(n)]
    step = (end - start) / sum(weights)
    bounds = [start]
    for weight in weights[:-1]:
        bounds.append(bounds[-1] + step * weight)
    bounds.append(end)
    return list(zip(bounds, bounds[1:], strict=False))


def windowed(
    client: PaletteClient,
    path: str,
    start: datetime,
    end: datetime,
    *,
    stamp: Callable[[datetime], str],
    params: dict | None = None,
) -> Iterator[Iterable[dict]]:
    """The items of a GET listing with a `startTime`/`endTime` window (`/v1/audits`, REFERENCE.md 11),
    in complete pieces, oldest first: each piece holds every item between the window's start and
    its own end, so storing the pieces in order never leaves a gap behind the newest stored item.

    The first page of the whole window is read alone: when it is the only page, it is the only
    piece. Else its `listmeta.count` says how many pages the window holds; the window is cut into
    time slices of about PAGES_PER_SLICE pages, listed IN_FLIGHT at a time, one `continue` chain
    each (that first page is read again within its slice). A piece whose slice broke off yields
    what arrived, then raises the error. `stamp(moment)` renders a date-time for the API.
    """
    params = params or {}
    first = client.page(
        "GET",
        path,
        body=None,
        params={**params, "startTime": stamp(start), "endTime": stamp(end), "limit": PAGE_LIMIT},
        project_uid=None,
    )
    if not first["continue"]:
        yield first["items"]
        return
    pages = math.ceil(first["count"] / PAGE_LIMIT) if first["count"] is not None else IN_FLIGHT * PAGES_PER_SLICE
    slices = time_slices(start, end, max(2, math.ceil(pages / PAGES_PER_SLICE)), ramp=IN_FLIGHT)
    stop = threading.Event()

    def read(lo: datetime, hi: datetime) -> tuple[list[dict], PaletteError | None]:
        # In arrival order, not longest first: the slices are ramped to end one after another.
        window = {**params, "startTime": stamp(lo), "endTime": stamp(hi)}
        listing = Listing(
            client, path, method="GET", body=None, project_uid=None, strict=True, params=window, by_pages_left=False
        )
        items: list[dict] = []
        try:
            for item in listing:
                if stop.is_set():
                    break
                items.append(item)
        except PaletteError as exc:
            return items, exc
        return items, None

    # Read ahead by a bounded number of slices: memory holds at most SLICES_AHEAD slices that
    # are read but not yet stored, however long the window (a 90-day backfill included).
    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="palette-slice") as pool:
        waiting = iter(slices)
        futures: deque = deque(pool.submit(read, lo, hi) for lo, hi in islice(waiting, SLICES_AHEAD))
        try:
            while futures:
                piece = futures.popleft().result()
                following = next(waiting, None)
                if following is not None:
                    futures.append(pool.submit(read, *following))
                yield replay(*piece)
        finally:
            stop.set()
            pool.shutdown(cancel_futures=True)
