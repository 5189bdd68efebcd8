"""The server error page: a database that cannot be reached is a clear 503, not a 500 traceback.

Django hands every uncaught exception of a request, wherever it was raised (a view, the session
middleware, the login check), to the 500 handler, inside the `except` block: the handler sees the
exception and answers 503 with Retry-After when the database was the problem.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error

RETRY_AFTER = "10"  # seconds: a restarting PostgreSQL is usually back by then


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) says the database could not be reached or answered too late."""
    while exc is not None:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__
    return False


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if not database_unavailable(sys.exception()):
        return django_server_error(request)
    # Rendered without the request: the user and the session live in the database.
    body = loader.render_to_string("503.html")
    response = HttpResponse(body, status=503)
    response["Retry-After"] = RETRY_AFTER
    response["Cache-Control"] = "no-store"
    return response
