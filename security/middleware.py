"""Project-wide middleware: signed-in pages never cached, idle sessions pushed back, lockouts shown."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import patch_cache_control

from security import lockout, sessions


class NoStoreForSignedInMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in user (pages, htmx
    partials, CSV): fleet data must not outlive the session in a browser's disk or back/forward
    cache, nor in a shared proxy. Anonymous responses (the login page, health checks, wall screens,
    static files) keep whatever caching their view chose."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class IdleSessionMiddleware:
    """A request pushes its session's end back (security/sessions.py). After SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sessions.touch(request)
        return self.get_response(request)


class LockoutMiddleware:
    """A sign-in refused because of too many failures answers a page that says so (429), not the
    form's "do not match" (security/lockout.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        locked = getattr(request, lockout.LOCKED, None)
        if locked is None:
            return response
        minutes = max(1, round(locked / 60))
        page = TemplateResponse(request, "security/locked_out.html", {"minutes": minutes}, status=429)
        page["Retry-After"] = str(int(locked))
        patch_cache_control(page, private=True, no_store=True)
        return page.render()
