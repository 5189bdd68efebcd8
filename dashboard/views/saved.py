"""Saved views: a named list state (filters, sort, columns), private or shared."""

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from dashboard.access import Role, role_required
from dashboard.models import SavedView

DROPPED = {"page", "export", "query", "csrfmiddlewaretoken"}


@require_POST
@role_required(Role.OPERATOR)
def savedview_create(request: HttpRequest) -> HttpResponse:
    """Save the list state posted from a list page, then show that list with the view applied."""
    page = request.POST.get("page", "")
    name = request.POST.get("name", "").strip()
    if page not in SavedView.Page.values:
        return HttpResponse("Unknown list page.", status=400)
    query = urlencode([(k, v) for k, v in parse_qsl(request.POST.get("query", "")) if k not in DROPPED and v])
    view = SavedView(owner=request.user, page=page, name=name[:100], query=query, shared="shared" in request.POST)
    if not name or "\x00" in name:
        messages.error(request, "A saved view needs a name.")
        return redirect(view.get_absolute_url())
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        messages.error(request, f"You already have a view named “{name}” on this page.")
        return redirect(view.get_absolute_url())
    messages.success(request, f"Saved view “{view.name}”.")
    return redirect(view.get_absolute_url())


@require_POST
@role_required(Role.OPERATOR)
def savedview_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of your own saved views."""
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    view.delete()
    messages.success(request, f"Deleted saved view “{view.name}”.")
    return redirect(SavedView.LIST_URLS[view.page])
