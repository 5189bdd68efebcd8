"""Beat sends `retention.purge_old_rows` every RETENTION_INTERVAL; `retention.purge` does the work."""

import contextlib

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import LockError

from palette_sync.throttle import redis_for
from retention import purge


@shared_task(name="retention.purge_old_rows", autoretry_for=(OperationalError, InterfaceError), max_retries=3)
def purge_old_rows() -> dict[str, int] | str:
    """One retention pass, one at a time across workers (a pass that outlives its interval is not doubled)."""
    lock = redis_for(settings.REDIS_URL).lock("palette:retention", timeout=settings.RETENTION_MAX_SECONDS + 300)
    if not lock.acquire(blocking=False):
        return "skipped: another pass is running"
    try:
        return purge.purge()
    finally:
        with contextlib.suppress(LockError):  # it lapsed: the pass outlived its timeout
            lock.release()
