"""Many hosts at once: which may be contacted, paced to their moments, within the process's bound."""

import ipaddress
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from dashboard.edge_states import EdgeApiState
from palette_sync.edge.access import EdgeAccess, EdgeProbe
from palette_sync.edge.client import read_host
from palette_sync.edge.facts import summary
from palette_sync.edge.sessions import SESSIONS, Tally
from palette_sync.edge.trust import PINNED

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


SLOTS = Slots(64)


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


def configure(sessions: int, readings: int) -> None:
    """Bound this process's copies of the sessions and its pinned-certificate cache
    (PALETTE_EDGE_SESSIONS) and the hosts it reads at once (PALETTE_EDGE_PROCESS_CONCURRENCY)."""
    SESSIONS.local.size = PINNED.size = max(1, sessions)
    SLOTS.resize(readings)
