"""A sign-in that cannot reach the identity provider is a clear page (502), never a server error.

allauth turns a failure during the callback into its error page (sso/adapter.py renders ours), but
the first step, reading the provider's discovery document, raises straight out of its view."""

import logging
from collections.abc import Callable

import requests
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger(__name__)
SIGN_IN_VIEWS = {"openid_connect_login", "openid_connect_callback", "saml_login", "saml_acs", "saml_finish_acs"}


class ProviderUnreachableMiddleware:
    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        match = request.resolver_match
        if not isinstance(exception, requests.RequestException) or match is None or match.url_name not in SIGN_IN_VIEWS:
            return None
        log.warning("SSO sign-in failed: the identity provider could not be reached (%s)", type(exception).__name__)
        return render(request, "sso/error.html", {"unreachable": True}, status=502)
