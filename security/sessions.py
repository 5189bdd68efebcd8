"""Sessions end after SESSION_COOKIE_AGE (SESSION_IDLE_SECONDS) without a request.

Django would push a session's end back on every request with SESSION_SAVE_EVERY_REQUEST, at the
cost of a database write per request. Here a request writes only when the last push is more than
SESSION_IDLE_STEP seconds old, so the idle time is kept to within that step.
"""

import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

ACTIVE_AT = "_active_at"


def touch(request: HttpRequest) -> None:
    """Push the session's end back if the last push is more than a step old."""
    session = request.session
    if session.is_empty():
        return
    now = int(time.time())
    if now - session.get(ACTIVE_AT, 0) >= getattr(settings, "SESSION_IDLE_STEP", 60):
        session[ACTIVE_AT] = now  # modified: SessionMiddleware saves it with a new end


@receiver(user_logged_in)
def stamp_login(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[ACTIVE_AT] = int(time.time())
