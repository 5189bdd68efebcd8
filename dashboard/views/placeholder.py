"""Pages not built yet (temporary)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def page(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {})
