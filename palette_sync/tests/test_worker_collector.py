"""A started worker freezes what it loaded out of the cyclic collector's sight and collects its
young generation less often (config/celery.py `spare_the_collector`), read from a real worker's log."""

import os
import re
import time
from pathlib import Path

from config.celery import GC_THRESHOLDS
from conftest import start_worker, stop


def test_a_started_worker_freezes_what_it_loaded(redis_url: str, tmp_path: Path) -> None:
    queue = f"collector-{os.getpid()}-{time.monotonic_ns()}"
    env = os.environ | {"REDIS_URL": redis_url, "CELERY_TASK_DEFAULT_QUEUE": queue, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "worker.log"
    proc = start_worker(env, log)
    try:
        deadline = time.monotonic() + 10
        while not (found := re.search(r"collector: (\d+) objects frozen, thresholds \(([\d, ]+)\)", log.read_text())):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        stop(proc)
    assert int(found[1]) > 50_000  # Django, Celery and the project's modules, not a handful
    assert tuple(int(n) for n in found[2].split(",")) == GC_THRESHOLDS
