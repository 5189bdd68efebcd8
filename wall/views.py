"""Wall screens: operators manage displays under /wall/; a TV shows one at /wall/<token>/ without signing in.

The TV's page polls `/wall/<token>/screens/` (htmx). The answer carries an ETag computed from the
data (wall/screens.py), so an unchanged wall answers 304 without rendering; and the build id
(X-Wall-Build), so the page reloads itself after a deploy. A revoked display answers 410 and an
unknown token 404, from the very next request.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET, require_POST, require_safe

from dashboard.access import Role, role_of, role_required
from dashboard.models import SavedView
from wall.build import build_id
from wall.forms import DisplayForm
from wall.models import ALIVE_FOR, Display
from wall.screens import BUILT_IN, Wall

# -- managing displays (operators) ---------------------------------------------------------------


def managed(user: object) -> QuerySet:
    """The displays `user` manages: their own; an admin manages every display."""
    displays = Display.objects.select_related("created_by")
    return displays if role_of(user) >= Role.ADMIN else displays.filter(created_by=user)


@require_GET
@role_required(Role.OPERATOR)
def display_list(request: HttpRequest) -> HttpResponse:
    """The displays, live first, each with its screens and whether its TV polled in the last 10 minutes."""
    displays = list(managed(request.user).order_by(F("revoked_at").asc(nulls_first=True), "name", "pk"))
    ids = {int(key[5:]) for d in displays for key in d.screens if key.startswith("view:") and key[5:].isdigit()}
    titles = dict(BUILT_IN) | {f"view:{v.pk}": v.name for v in SavedView.objects.filter(pk__in=ids)}
    for display in displays:
        display.titles = [titles.get(key, "(a deleted saved view)") for key in display.screens]
    minutes = int(ALIVE_FOR.total_seconds() // 60)
    context = {"displays": displays, "alive_minutes": minutes, "not_seen": f"Not seen for {minutes} min"}
    return render(request, "wall/display_list.html", context)


@role_required(Role.OPERATOR)
def display_create(request: HttpRequest) -> HttpResponse:
    """A new display; its URL is shown on the answer to this POST and never again."""
    form = DisplayForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        display = form.save(commit=False)
        display.created_by = request.user
        token = display.new_token()
        display.save()
        url = request.build_absolute_uri(reverse("wall:wall_page", args=[token]))
        return render(request, "wall/display_created.html", {"display": display, "url": url})
    return render(request, "wall/display_form.html", {"form": form, "creating": True})


@role_required(Role.OPERATOR)
def display_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a live display's name, screens, rotation or theme; its TV picks the change up on its next poll."""
    display = get_object_or_404(managed(request.user), pk=pk, revoked_at__isnull=True)
    form = DisplayForm(request.POST or None, instance=display, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved display “{display.name}”.")
        return redirect("wall:display_list")
    return render(request, "wall/display_form.html", {"form": form, "display": display})


@require_POST
@role_required(Role.OPERATOR)
def display_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a display: its URL answers 410 from the next request on, and its TV blanks."""
    display = get_object_or_404(managed(request.user), pk=pk)
    display.revoke()
    messages.success(request, f"Revoked display “{display.name}”: its URL no longer works.")
    return redirect("wall:display_list")


# -- the TV ----------------------------------------------------------------------------------------


def with_wall_headers(response: HttpResponse, etag: str = "") -> HttpResponse:
    """Headers of every wall answer: not stored anywhere, no Referer with the token, the build id."""
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["X-Wall-Build"] = build_id()
    if etag:
        response["ETag"] = etag
    return response


def live_display(request: HttpRequest, token: str) -> tuple[Display | None, HttpResponse | None]:
    """The live display of `token`, or the answer to give instead: 404 unknown, 410 revoked."""
    display = Display.objects.by_token(token)
    if display is None or display.revoked:
        status = 404 if display is None else 410
        response = render(request, "wall/gone.html", {"revoked": display is not None}, status=status)
        return None, with_wall_headers(response)
    display.seen()
    return display, None


def wall_context(token: str, wall: Wall, oob: bool = False) -> dict:
    """What the page and its partial draw; `oob`: the partial also replaces the header's data age."""
    fresh = wall.freshness
    poll_ms = max(100, int(settings.WALL_POLL_SECONDS * 1000))
    return {
        "display": wall.display,
        "screens": wall.screens,
        "freshness": fresh,
        "stale": fresh.as_of is None or wall.now - fresh.as_of > fresh.stale_after,
        "now": wall.now,
        "build": build_id(),
        "poll_ms": poll_ms,
        "timeout_ms": max(100, min(poll_ms - 50, 8000)),  # a hung answer gives way to the next poll
        "screens_url": reverse("wall:wall_screens", args=[token]),
        "oob": oob,
    }


@login_not_required
@require_safe
def wall_page(request: HttpRequest, token: str) -> HttpResponse:
    """The whole wall page: every screen of the display (the script shows one at a time), the clock, the data's age."""
    display, gone = live_display(request, token)
    if gone:
        return gone
    wall = Wall(display)
    computed = wall.etag()
    wall.remember(computed)
    etag = quote_etag(computed)
    context = wall_context(token, wall) | {"etag": etag}  # the page's first poll can already be a 304
    return with_wall_headers(render(request, "wall/wall.html", context), etag)


@login_not_required
@require_safe
def wall_screens(request: HttpRequest, token: str) -> HttpResponse:
    """The screens partial the page polls: 304 when the data's ETag is the one the page holds."""
    display, gone = live_display(request, token)
    if gone:
        return gone
    wall = Wall(display)
    remembered = wall.remembered_etag()
    if remembered and (unchanged := get_conditional_response(request, etag=quote_etag(remembered))):
        return with_wall_headers(unchanged, quote_etag(remembered))  # nothing read beyond the version
    computed = wall.etag()
    wall.remember(computed)
    etag = quote_etag(computed)
    if unchanged := get_conditional_response(request, etag=etag):
        return with_wall_headers(unchanged, etag)  # the sync ran, but nothing this wall shows changed
    return with_wall_headers(render(request, "wall/wall.html#screens", wall_context(token, wall, oob=True)), etag)
