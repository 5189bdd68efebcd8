"""The strict Content Security Policy, in Debian's Chromium: every main page, the login page, the
admin pages and a wall screen load (and htmx swaps a partial) without a single CSP violation, and the policy they get
allows no inline script or style without this response's nonce."""

from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from conftest import SIM_KEY
from dashboard.models import Cluster, ClusterProfile, EdgeCredential, EdgeHost, PaletteAccount
from palette_sim import SimApp, generate_fleet
from palette_sync import sync
from palette_sync.client import PaletteClient
from wall.models import Display

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long admin passphrase"

# Every violation the page reports; console errors are collected too (a blocked resource logs one).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def fleet() -> None:
    """A small fleet synced from the simulator, an edge credential, and an admin to sign in as."""
    app = SimApp(generate_fleet(seed=5, projects=2, clusters=12, profiles=4, edge_hosts=6, audits=50), SIM_KEY)
    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    with PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=app)) as client:
        sync.sync_account(account, client)
    credential = EdgeCredential(account=account, selector="*", insecure=True)
    credential.set_password("edge-os-password")
    credential.save()
    User.objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def page(browser: object, live_server: object, fleet: None) -> Iterator[object]:
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and "status of 404" not in m.text and page.errors.append(m.text))
    # A 404 logs a console error too: only the browser's own favicon guess may miss.
    page.on("response", lambda r: r.status == 404 and "/favicon.ico" not in r.url and page.errors.append(r.url))
    page.goto(f"{live_server.url}/login/")
    assert_clean(page)
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar nav")
    yield page
    context.close()


def assert_clean(page: object) -> None:
    assert page.evaluate("window.__violations") == []
    assert page.errors == []


def main_pages() -> list[str]:
    cluster = Cluster.objects.filter(removed_at__isnull=True).first()
    profile = ClusterProfile.objects.first()
    host = EdgeHost.objects.first()
    account = PaletteAccount.objects.get()
    return [
        "/",
        "/clusters/",
        f"/clusters/{cluster.uid}/",
        "/profiles/",
        f"/profiles/{profile.uid}/",
        "/edge-hosts/",
        "/edge-hosts/sites/",
        f"/edge-hosts/{host.uid}/",
        "/timeline/",
        "/sync/",
        "/admin/",
        "/admin/dashboard/cluster/",  # a change list: the admin's inline <style> carries the nonce
        f"/admin/dashboard/paletteaccount/{account.pk}/change/",
        "/admin/dashboard/edgecredential/add/",
        "/admin/auth/user/",
        "/wall/",
        f"/wall/{wall_token()}/",  # a wall screen, as the TV loads it
    ]


def wall_token() -> str:
    display = Display(name="ops room", screens=["overview", "unhealthy", "sites", "timeline"])
    display.created_by = User.objects.get(username="admin")
    token = display.new_token()
    display.save()
    return token


def test_no_page_reports_a_csp_violation(page: object, live_server: object) -> None:
    for path in main_pages():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        page.wait_for_load_state("load")
        assert page.evaluate("window.__violations") == [], path
        assert page.errors == [], path


def test_an_htmx_swap_reports_no_violation(page: object, live_server: object) -> None:
    page.goto(f"{live_server.url}/clusters/")
    page.evaluate("window.notReloaded = true")
    count = page.locator("#table .meta .count").inner_text()
    page.fill("#id_q", "no-such-cluster-name")
    expect(page.locator("#table .meta .count")).not_to_have_text(count)
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a page load
    assert_clean(page)


def test_the_policy_does_block_inline_style_and_script(page: object, live_server: object) -> None:
    """The watch itself works: what the templates must never do is reported."""
    page.goto(f"{live_server.url}/")
    page.evaluate(
        """() => {
        const style = document.createElement("style"); style.textContent = "body {color: red}";
        document.head.append(style);
        const script = document.createElement("script"); script.textContent = "window.ran = true";
        document.head.append(script);
    }"""
    )
    page.wait_for_function("window.__violations.length >= 2")
    assert page.evaluate("window.ran") is None
    directives = " ".join(page.evaluate("window.__violations"))
    assert "style-src" in directives and "script-src" in directives
