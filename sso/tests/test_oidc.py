"""Sign-in through a real OpenID Connect provider on loopback (oidc-provider-mock): group claims
become roles and are refreshed at each sign-in; no mapped group is a clear "no access" page; a
provider that cannot be reached is a clear error page; the password form is the break-glass
admin's only. Over HTTP (httpx) and in Chromium (Playwright)."""

import re

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import free_port
from sso import config
from sso.tests.conftest import BREAK_GLASS, PASSWORD, set_claims

pytestmark = pytest.mark.django_db(transaction=True)


def sso_sign_in(
    live_server: object, sub: str, web: httpx.Client | None = None, **extra: str
) -> tuple[httpx.Client, httpx.Response]:
    """The whole flow over HTTP: the login page's SSO button, the provider's page, the callback."""
    web = web or httpx.Client(follow_redirects=True, timeout=10)
    page = web.get(f"{live_server.url}/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    button = re.search(r'<form method="post" action="([^"]+)" class="sso">', page.text).group(1)
    provider = web.post(f"{live_server.url}{button}", data={"csrfmiddlewaretoken": csrf, "next": "/", **extra})
    assert "Authorize Client" in provider.text  # the provider's own page
    return web, web.post(str(provider.url), data={"sub": sub})


def test_group_claims_become_roles(live_server: object, sso: str) -> None:
    set_claims(sso, "ada", ["fleet-admins", "unmapped-group"])
    set_claims(sso, "vic", ["team-a"])
    admin, landed = sso_sign_in(live_server, "ada")
    assert landed.status_code == 200 and landed.url.path == "/"
    assert admin.get(f"{live_server.url}/admin/").status_code == 200
    assert admin.get(f"{live_server.url}/admin/dashboard/paletteaccount/").status_code == 200
    viewer, landed = sso_sign_in(live_server, "vic")
    assert landed.status_code == 200 and "Overview" in landed.text
    assert viewer.get(f"{live_server.url}/admin/", follow_redirects=False).status_code == 403
    assert viewer.get(f"{live_server.url}/clusters/?export=csv").status_code == 200
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@example.com" and ada.first_name == "Ada" and ada.is_staff and not ada.is_superuser
    assert sorted(ada.groups.values_list("name", flat=True)) == ["sso:fleet-admins"]
    assert not User.objects.get(username="vic").is_staff


def test_leaving_a_group_takes_access_away_at_the_next_sign_in(live_server: object, sso: str) -> None:
    set_claims(sso, "otto", ["fleet-ops"])
    first, _ = sso_sign_in(live_server, "otto")
    assert first.get(f"{live_server.url}/clusters/").status_code == 200
    set_claims(sso, "otto", [])  # removed from the group at the identity provider
    second, refused = sso_sign_in(live_server, "otto")
    assert refused.status_code == 403
    assert "No access to the fleet dashboard" in refused.text and "otto@example.com" in refused.text
    assert second.get(f"{live_server.url}/clusters/", follow_redirects=False).status_code == 302  # not signed in
    assert not User.objects.get(username="otto").groups.exists()
    # and the session opened before goes no further: its groups are gone
    assert first.get(f"{live_server.url}/clusters/").status_code == 403


def test_a_second_identity_cannot_be_linked_to_an_account(live_server: object, sso: str) -> None:
    set_claims(sso, "ada", ["fleet-admins"])
    set_claims(sso, "mallory", ["team-a"])
    web, _ = sso_sign_in(live_server, "ada")
    _, refused = sso_sign_in(live_server, "mallory", web=web, process="connect")
    assert refused.status_code == 400
    assert list(User.objects.get(username="ada").socialaccount_set.values_list("uid", flat=True)) == ["ada"]


def test_a_user_in_no_mapped_group_gets_the_no_access_page(live_server: object, sso: str) -> None:
    set_claims(sso, "nina", ["marketing"])
    web, response = sso_sign_in(live_server, "nina")
    assert response.status_code == 403
    assert "none of your groups gives access" in response.text
    assert len(response.history) < 6  # no redirect loop
    assert web.get(f"{live_server.url}/", follow_redirects=False).status_code == 302


def test_a_provider_that_cannot_be_reached_is_a_clear_page(live_server: object, settings: object, sso: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": config.oidc_provider(down, "fleet-dashboard", "secret", "Test SSO", ["openid"])
    }
    web = httpx.Client(follow_redirects=True, timeout=10)
    page = web.get(f"{live_server.url}/login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = web.post(f"{live_server.url}/accounts/oidc/sso/login/", data={"csrfmiddlewaretoken": csrf})
    assert response.status_code == 502
    assert "The identity provider cannot be reached" in response.text


def test_with_sso_on_only_the_break_glass_admin_uses_a_password(sso: str) -> None:
    User.objects.create_user("alice", password=PASSWORD)
    User.objects.create_superuser(BREAK_GLASS, password=PASSWORD)
    client = Client()
    page = client.get("/login/").content.decode()
    assert "Sign in with Test SSO" in page and "break-glass" in page
    refused = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 200
    assert "Password sign-in is turned off: sign in with Test SSO" in refused.content.decode()
    assert client.get("/clusters/").status_code == 302  # still anonymous
    assert client.post("/login/", {"username": BREAK_GLASS, "password": PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200
    # the Django admin's own password form is not a way around it
    assert Client().get("/admin/login/")["Location"].startswith("/login/")


def test_without_sso_the_login_page_has_no_sso_button(client: Client) -> None:
    User.objects.create_user("alice", password=PASSWORD)
    assert "Sign in with" not in client.get("/login/").content.decode()
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


@pytest.mark.browser
def test_it_signs_in_through_the_providers_pages_in_chromium(browser: object, live_server: object, sso: str) -> None:
    set_claims(sso, "ada", ["fleet-admins"])
    set_claims(sso, "vic", ["team-a"])
    for sub, admin_status in (("ada", 200), ("vic", 403)):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{live_server.url}/clusters/")
        assert "/login/" in page.url
        page.get_by_role("button", name="Sign in with Test SSO").click()
        page.get_by_label("Subject").fill(sub)  # the provider's own form
        page.get_by_role("button", name="Authorize", exact=True).click()
        page.wait_for_url(f"{live_server.url}/clusters/")
        assert page.locator(".user").inner_text() == sub
        assert page.goto(f"{live_server.url}/admin/").status == admin_status
        context.close()
