"""A started worker keeps at most two glibc malloc arenas without anyone setting MALLOC_ARENA_MAX
(config/celery.py `cap_malloc_arenas`): counted in the running process's memory map after its
pool threads ran tasks, against a worker whose environment asks for glibc's eight."""

import os
import platform
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from config.celery import cap_malloc_arenas
from conftest import start_worker, stop

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's arenas, read from /proc"
)

HEAP = 64 << 20  # a glibc arena other than the main one is a 64 MiB-aligned mapping of 64 MiB (HEAP_MAX_SIZE)


def arenas_besides_main(pid: int) -> int:
    """The malloc heaps of arenas other than the main one in a process's memory map: anonymous,
    64 MiB-aligned, the part in use read-write and the rest reserved (---p), 64 MiB in all."""
    rows = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split()
        low, high = (int(x, 16) for x in parts[0].split("-"))
        rows.append((low, high, parts[1], len(parts) > 5))
    found = 0
    for n, (low, high, perms, named) in enumerate(rows):
        if named or low % HEAP or not perms.startswith("rw"):
            continue
        size = high - low
        following = rows[n + 1] if n + 1 < len(rows) else None
        if following and following[0] == high and not following[3] and following[2].startswith("---"):
            size += following[1] - following[0]
        found += size == HEAP
    return found


def busy_worker(redis_url: str, tmp_path: Path, name: str, **env: str) -> tuple[int, int]:
    """Start a threaded worker, have 64 tasks nap on its pool, 16 at a time, and count its threads
    and arenas. The tasks wait rather than return at once: the pool starts a thread only when no
    started one is idle, so instant tasks on a loaded machine could all run on one thread."""
    queue = f"arenas-{name}-{os.getpid()}-{time.monotonic_ns()}"
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    environ |= {"REDIS_URL": redis_url, "CELERY_TASK_DEFAULT_QUEUE": queue, "PYTHONUNBUFFERED": "1", **env}
    log = tmp_path / f"{name}.log"
    proc = start_worker(environ, log, concurrency=16, include="palette_sync.tests.napping")
    try:
        sender = Celery(broker=redis_url)
        results = [sender.send_task("palette_sync.tests.napping.nap", args=[0.2], queue=queue) for _ in range(64)]
        deadline = time.monotonic() + 60
        while log.read_text().count(" succeeded in ") < len(results) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.read_text().count(" succeeded in ") >= len(results)
        return len(os.listdir(f"/proc/{proc.pid}/task")), arenas_besides_main(proc.pid)
    finally:
        stop(proc)


def test_a_started_worker_keeps_at_most_two_arenas(redis_url: str, tmp_path: Path) -> None:
    threads, arenas = busy_worker(redis_url, tmp_path, "capped")
    assert threads >= 17  # a main thread and 16 pool threads that ran tasks: each would have had its own arena
    assert arenas <= 1  # the main arena and one other

    threads, arenas = busy_worker(redis_url, tmp_path, "default", MALLOC_ARENA_MAX="8")
    assert arenas >= 2  # the count sees arenas when the cap is not there


def test_the_environment_wins_over_the_workers_own_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() == 4  # glibc read it at start; the worker leaves it
