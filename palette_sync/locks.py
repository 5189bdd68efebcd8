"""One run at a time per (account, resource[, project]), across every worker on every machine.

A redis-py Lock: SET NX with a random token and a short timeout, released only by its holder's
token. While the run lives, a keeper thread renews the timeout every third of it, so a long run
keeps its lock and a SIGKILLed worker's lock lapses within one timeout. A second run does not
wait, unless asked to (`wait` seconds at most): it is skipped and says so.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from redis.exceptions import LockError, RedisError

from palette_sync.throttle import redis_for

log = logging.getLogger(__name__)


def lock_name(account_id: int, resource: str, project_id: int | None = None) -> str:
    scope = f":{project_id}" if project_id is not None else ""
    return f"palette:sync-lock:{account_id}:{resource}{scope}"


@dataclass
class Held:
    """A scope's lock as its run sees it: whether it was acquired, and whether it has since been lost."""

    acquired: bool
    name: str = ""
    lost: threading.Event = field(default_factory=threading.Event)

    def __bool__(self) -> bool:
        return self.acquired


# The lock of the scope this thread is running, so the run can stop writing when it is lost.
CURRENT: ContextVar[Held | None] = ContextVar("palette_sync_lock", default=None)


@contextmanager
def sync_lock(account_id: int, resource: str, project_id: int | None = None, *, wait: float = 0.0) -> Iterator[Held]:
    """Yield a true Held while holding the lock of the scope, or a false one when another run holds
    it: at once, or after waiting up to `wait` seconds for it."""
    lock = redis_for(settings.REDIS_URL).lock(
        lock_name(account_id, resource, project_id),
        timeout=settings.PALETTE_SYNC_LOCK_TIMEOUT,
        blocking=wait > 0,
        blocking_timeout=wait if wait > 0 else None,
        thread_local=False,  # the keeper thread renews it with the same token
    )
    if not lock.acquire():
        yield Held(False, lock.name)
        return
    held = Held(True, lock.name)
    stop = threading.Event()
    keeper = threading.Thread(target=keep_alive, args=(lock, stop, held), name=f"keep {lock.name}", daemon=True)
    keeper.start()
    token = CURRENT.set(held)
    try:
        yield held
    finally:
        CURRENT.reset(token)
        stop.set()
        keeper.join()
        try:
            lock.release()
        except LockError:  # it lapsed (the run outlived the timeout) and may be someone else's now
            log.warning("sync lock %s had expired before the run ended", lock.name)
        except RedisError as exc:  # Redis went away during the run: the lock lapses by itself
            log.warning("sync lock %s not released (%s); it lapses after its timeout", lock.name, exc)


def keep_alive(lock: object, stop: threading.Event, held: Held) -> None:
    """Renew the lock's timeout every third of it until the run ends, the lock is lost, or the run
    outlives its time limit (a wedged run must not hold its scope forever)."""
    deadline = time.monotonic() + settings.PALETTE_RUN_TIME_LIMIT + settings.PALETTE_SYNC_LOCK_TIMEOUT
    while not stop.wait(lock.timeout / 3):
        if time.monotonic() > deadline:
            log.warning("sync lock %s no longer renewed: its run is past its time limit", lock.name)
            held.lost.set()
            return
        try:
            lock.reacquire()
        except (LockError, RedisError) as exc:  # lost (Redis restarted, or it lapsed): the run must stop
            log.warning("sync lock %s could not be renewed (%s); its run stops writing", lock.name, exc)
            held.lost.set()
            return
