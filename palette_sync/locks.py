"""One run at a time per (account, resource[, project]), across every worker on every machine.

A redis-py Lock: SET NX with a random token and a short timeout, released only by its holder's
token. While the run lives, a keeper thread renews the timeout every third of it, so a long run
keeps its lock and a SIGKILLed worker's lock lapses within one timeout. A second run does not
wait: it is skipped and says so.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from redis.exceptions import LockError, RedisError

from palette_sync.throttle import redis_for

log = logging.getLogger(__name__)


def lock_name(account_id: int, resource: str, project_id: int | None = None) -> str:
    scope = f":{project_id}" if project_id is not None else ""
    return f"palette:sync-lock:{account_id}:{resource}{scope}"


@contextmanager
def sync_lock(account_id: int, resource: str, project_id: int | None = None) -> Iterator[bool]:
    """Yield True while holding the lock of the scope, or False at once when another run holds it."""
    lock = redis_for(settings.REDIS_URL).lock(
        lock_name(account_id, resource, project_id),
        timeout=settings.PALETTE_SYNC_LOCK_TIMEOUT,
        blocking=False,
        thread_local=False,  # the keeper thread renews it with the same token
    )
    if not lock.acquire():
        yield False
        return
    stop = threading.Event()
    keeper = threading.Thread(target=keep_alive, args=(lock, stop), name=f"keep {lock.name}", daemon=True)
    keeper.start()
    try:
        yield True
    finally:
        stop.set()
        keeper.join()
        try:
            lock.release()
        except LockError:  # it lapsed (the run outlived the timeout) and may be someone else's now
            log.warning("sync lock %s had expired before the run ended", lock.name)
        except RedisError as exc:  # Redis went away during the run: the lock lapses by itself
            log.warning("sync lock %s not released (%s); it lapses after its timeout", lock.name, exc)


def keep_alive(lock: object, stop: threading.Event) -> None:
    """Renew the lock's timeout every third of it until the run ends (or the lock is lost)."""
    while not stop.wait(lock.timeout / 3):
        try:
            lock.reacquire()
        except (LockError, RedisError) as exc:  # lost (Redis restarted, or it lapsed): stop renewing
            log.warning("sync lock %s could not be renewed (%s)", lock.name, exc)
            return
