"""Beat's pulse: the beat process notes in Redis each time it sends a scheduled task, and /readyz
checks that the last note is younger than two of its shortest intervals.

Beat sends `schedule_edge_probes` every PALETTE_EDGE_TICK and `sync_accounts` every
PALETTE_SYNC_INTERVAL, so a beat that is alive notes at least that often; no extra task is needed.
"""

import contextlib
import time

import redis
from celery.signals import beat_init, before_task_publish
from django.conf import settings

from ops.connections import client

KEY = "palette:ops:beat-sent"


def connect() -> None:
    beat_init.connect(start_noting, weak=False)


def start_noting(sender: object = None, **kwargs: object) -> None:
    """Only the beat process notes: it is the only one that calls this (beat_init)."""
    before_task_publish.connect(note, weak=False)


def note(sender: str | None = None, **kwargs: object) -> None:
    with contextlib.suppress(redis.RedisError):  # the publish itself reports a Redis outage
        client().set(KEY, repr(time.time()), ex=86400)


def last_sent() -> float | None:
    """When beat last sent a task (epoch seconds), or None when it never did (or Redis forgot)."""
    value = client().get(KEY)
    return float(value) if value else None


def interval() -> float:
    """The shortest time between two tasks beat sends."""
    return float(min(settings.PALETTE_EDGE_TICK, settings.PALETTE_SYNC_INTERVAL))
