"""Failed sign-ins are counted, logged and, past a limit, locked out for a while.

Every password sign-in goes through `django.contrib.auth.authenticate()` (the login page, the
admin's, a break-glass login): `LockoutBackend`, first in AUTHENTICATION_BACKENDS, refuses a locked
one before any password is hashed (so a flood of guesses costs no CPU), and `count_failure`, on
Django's `user_login_failed` signal, counts each failure. Two counters, each kept
LOGIN_LOCKOUT_SECONDS after its last failure, in Redis (shared by every web process):

- (username, client address): LOGIN_FAILURE_LIMIT failures lock that user out from that address;
- client address: LOGIN_FAILURE_LIMIT_PER_IP failures, whatever the usernames, lock the address
  (one machine trying many users).

django-axes does this too, but its current release does not declare Django 6.1.
"""

import hashlib
import logging
from functools import cache

import redis
from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from dashboard.access import PasswordBackend

log = logging.getLogger(__name__)
LOCKED = "login_locked_for"  # request attribute: seconds left of the lockout that refused it


@cache
def store(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind a proxy the last address in LOGIN_IP_HEADER (the one our proxy added)."""
    header = settings.LOGIN_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def keys(username: str, address: str) -> tuple[str, str]:
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    prefix = settings.LOGIN_FAILURE_PREFIX
    return f"{prefix}:user:{user}:{address}", f"{prefix}:ip:{address}"


def username_of(credentials: dict) -> str:
    return str(credentials.get("username") or credentials.get("email") or "")


def locked_for(username: str, address: str) -> int:
    """Seconds left of a lockout of this username from this address (0: not locked)."""
    pair, ip = keys(username, address)
    client = store(settings.REDIS_URL)
    with client.pipeline() as pipe:
        pipe.get(pair).ttl(pair).get(ip).ttl(ip)
        pair_count, pair_ttl, ip_count, ip_ttl = pipe.execute()
    waits = [
        ttl
        for count, ttl, limit in (
            (pair_count, pair_ttl, settings.LOGIN_FAILURE_LIMIT),
            (ip_count, ip_ttl, settings.LOGIN_FAILURE_LIMIT_PER_IP),
        )
        if count is not None and int(count) >= limit
    ]
    return max(waits, default=0)


def record_failure(username: str, address: str) -> int:
    """Count one failure; the failures of this username from this address so far."""
    pair, ip = keys(username, address)
    with store(settings.REDIS_URL).pipeline() as pipe:
        for key in (pair, ip):
            pipe.incr(key).expire(key, settings.LOGIN_LOCKOUT_SECONDS)
        pair_count, _, _, _ = pipe.execute()
    return int(pair_count)


class LockoutBackend(BaseBackend):
    """Refuses a sign-in while its username or address is locked out; otherwise leaves it to the
    next backend. First in AUTHENTICATION_BACKENDS."""

    def authenticate(self, request: HttpRequest | None, **credentials: object) -> None:
        if request is None:
            return None
        try:
            wait = locked_for(username_of(credentials), client_address(request))
        except redis.RedisError as exc:
            log.error("sign-in lockout unavailable (Redis: %s): the attempt is let through", exc)
            return None
        if wait:
            setattr(request, LOCKED, wait)
            raise PermissionDenied("locked out")  # authenticate() stops here: no other backend is asked
        return None

    def get_user(self, user_id: int) -> object:
        """Being first, this backend is the one a login names when none is given (`force_login`): the
        user is loaded as the password backend loads it, with its groups (one query, not two)."""
        return PasswordBackend().get_user(user_id)


@receiver(user_login_failed)
def count_failure(sender: object, credentials: dict, request: HttpRequest | None = None, **kwargs: object) -> None:
    """Log each failed sign-in (never the password: Django has already masked it, and it is not
    logged anyway), count it, and lock when the limit is reached."""
    if request is None:
        return
    username, address = username_of(credentials), client_address(request)
    if getattr(request, LOCKED, None) is not None:
        log.warning("sign-in refused: %r from %s is locked out", username, address)
        return
    try:
        failures = record_failure(username, address)
        wait = locked_for(username, address)
    except redis.RedisError as exc:
        log.error("sign-in failed for %r from %s; not counted (Redis: %s)", username, address, exc)
        return
    log.warning("sign-in failed for %r from %s (%d of %d)", username, address, failures, settings.LOGIN_FAILURE_LIMIT)
    if wait:
        setattr(request, LOCKED, wait)
        log.warning("sign-in locked: %r from %s for %d s", username, address, wait)


@receiver(user_logged_in)
def forget_failures(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """A successful sign-in clears that user's failures from that address (not the address's)."""
    if request is None:
        return
    try:
        store(settings.REDIS_URL).delete(keys(user.get_username(), client_address(request))[0])
    except redis.RedisError as exc:
        log.error("could not clear sign-in failures (Redis: %s)", exc)
