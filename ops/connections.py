"""The Redis connection of health checks and beat's pulse: short timeouts, so a dead Redis answers fast."""

from functools import lru_cache

import redis
from django.conf import settings

TIMEOUT = 1.0  # seconds; /readyz must answer quickly even when Redis does not


def client() -> redis.Redis:
    return connect(settings.REDIS_URL)


@lru_cache(maxsize=4)
def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
