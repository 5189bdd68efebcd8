"""Every URL of the URL conf, for anonymous, viewer, operator and admin: who gets in, who gets 403,
who is sent to the login page. A view that forgets its role shows up here as a wrong status."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from sso.tests.conftest import client_with_role

pytestmark = pytest.mark.django_db

ROLES = ("viewer", "operator", "admin")
# What each URL needs beyond the viewer role, by URL name ("namespace:name"); the Django admin needs admin.
NEEDS = {
    "dashboard:savedview_create": "operator",
    "dashboard:savedview_delete": "operator",
}
OPEN_TO_SIGNED_IN = {"logout", "account_logout", "admin:logout"}  # signing out, whatever the role
RANK = {"viewer": 1, "operator": 2, "admin": 3}
SAMPLES = {"int": "1", "uuid": str(uuid.UUID(int=1))}


def sample(part: str) -> str:
    """A route or regex with each parameter filled in by a sample value."""
    part = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES.get(m.group(1) or "str", "x"), part)
    part = re.sub(r"\(\?P<app_label>([\w]+)[^)]*\)", r"\1", part)  # the admin's app index: its first app
    part = re.sub(r"\(\?P<\w+>[^)]*\)", "x", part)
    return part.lstrip("^").rstrip("$").replace("\\", "")


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[tuple[str, str, object]]:
    """(path, "namespace:name", view) for every pattern, with sample arguments."""
    found = []
    for entry in resolver.url_patterns:
        route = prefix + sample(str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            found += walk(entry, route, inner or "")
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else entry.name or ""
            found.append(("/" + route, name, entry.callback))
    return found


def needs(name: str) -> str:
    if name.startswith("admin:"):
        return "admin"
    if name.startswith("wall:"):
        return "operator"  # managing wall displays; the displays' own token URLs are public
    return NEEDS.get(name, "viewer")


def public(view: object) -> bool:
    return getattr(view, "login_required", True) is False


def test_it_checks_every_url_for_every_role() -> None:
    urls = walk(get_resolver())
    assert len(urls) > 40  # the dashboard, allauth's pages, the Django admin
    clients = {"anonymous": Client(), **{role: client_with_role(role, f"u-{role}") for role in ROLES}}
    checked = 0
    for path, name, view in urls:
        if "\x00" in path:
            continue
        for who, client in clients.items():
            response = client.get(path)
            status = response.status_code
            where = f"{who} GET {path} ({name or view}) -> {status}"
            assert status != 500, where  # (503: a readiness check with no worker running)
            if who == "anonymous":
                if public(view):
                    continue  # marked login_not_required: the login flow, health, metrics, wall tokens
                if name.startswith("admin:"):  # the admin sends to its login page, which sends to ours
                    assert status == 302 and response["Location"].startswith(("/login/", "/admin/login/")), where
                    continue
                assert status == 302 and response["Location"].startswith("/login/?next="), where
            elif name == "admin:login" or name in OPEN_TO_SIGNED_IN or (public(view) and not name.startswith("admin:")):
                continue
            elif RANK[who] < RANK[needs(name)]:
                assert status == 403 and f"needs the {needs(name)} role" in response.content.decode(), where
            else:  # let through (the view itself may still refuse: the admin's read-only models, a bad id)
                body = response.content.decode(errors="replace") if not response.streaming else ""
                assert "role." not in body and not response.get("Location", "").startswith("/login/"), where
            checked += 1
    assert checked > 100


def test_a_user_without_a_role_gets_the_no_access_page_everywhere(settings: object) -> None:
    settings.SSO_ENABLED = True  # with SSO on, no group means no role
    client = client_with_role(None, "nobody")
    for path in ("/", "/clusters/", "/timeline/?export=csv", "/admin/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "No access to the fleet dashboard" in response.content.decode()
    assert client.post("/logout/").status_code == 302  # signing out stays open


def test_local_users_without_a_group_are_viewers_while_sso_is_off() -> None:
    client = client_with_role(None, "plain")
    assert client.get("/clusters/").status_code == 200
    assert client.post("/views/", {"page": "clusters", "name": "x"}).status_code == 403
    assert client.get("/admin/").status_code == 403


def test_a_superuser_is_an_admin() -> None:
    client = client_with_role("superuser", "root")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/dashboard/paletteaccount/").status_code == 200
