"""A wall display in Debian's Chromium: it renders under the strict CSP, rotates, keeps its last data
with a stale marker while the server fails or is unreachable and recovers by itself, blanks when
revoked, reloads itself after a deploy, and its JS heap does not grow over hundreds of polls."""

from collections.abc import Iterator

import pytest

from dashboard.models import Cluster, EdgeHost, FleetCount
from wall import build
from wall.tests.conftest import sync_ran

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.violatedDirective));
"""


@pytest.fixture
def fast_polls(settings: object) -> None:
    settings.WALL_POLL_SECONDS = 0.2


@pytest.fixture
def tv(browser: object, live_server: object, fast_polls: None) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.add_init_script(WATCH_CSP)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.base = live_server.url
    yield page
    context.close()


def current(page: object) -> str:
    return page.evaluate("document.querySelector('.wall-screen.is-current').dataset.key")


def polls(page: object, n: int) -> None:
    """Wait until the page has made `n` more polls (answered or not)."""
    page.evaluate("window.polled = 0")
    page.wait_for_function(f"() => window.polled >= {n}")


def watch_polls(page: object) -> None:
    page.evaluate(
        "window.polled = 0;document.body.addEventListener('htmx:afterRequest', () => { window.polled += 1; });"
    )


def test_it_rotates_keeps_the_last_data_when_the_server_fails_and_recovers(
    tv: object, operator, make_display, fleet
) -> None:
    _, token = make_display(
        operator, screens=["overview", "unhealthy", "timeline"], seconds_per_screen=1, pause_on_problem=False
    )
    tv.goto(f"{tv.base}/wall/{token}/")
    assert current(tv) == "overview" and tv.locator("#wall-clock").inner_text()
    tv.wait_for_function("() => document.querySelector('.wall-screen.is-current').dataset.key === 'unhealthy'")
    assert tv.locator(".wall-screen.is-current").inner_text().count("north-cluster-") == 2
    tv.wait_for_function("() => document.querySelector('.wall-screen.is-current').dataset.key === 'timeline'")
    watch_polls(tv)

    tv.route("**/screens/", lambda route: route.fulfill(status=500, body="Server Error"))
    tv.wait_for_selector("#wall-conn", state="visible")
    assert "Stale" in tv.locator("#wall-conn").inner_text() and "is-stale" in tv.locator("body").get_attribute("class")
    polls(tv, 3)
    assert tv.locator(".wall-screen[data-key=unhealthy]").text_content().count("north-cluster-") == 2
    tv.unroute("**/screens/")
    tv.route("**/screens/", lambda route: route.abort("connectionrefused"))
    polls(tv, 3)
    assert tv.locator("#wall-conn").is_visible()
    assert tv.locator(".wall-screen[data-key=unhealthy]").text_content().count("north-cluster-") == 2

    Cluster.objects.filter(uid="north-c2").update(health=Cluster.UNHEALTHY)
    sync_ran()
    tv.unroute("**/screens/")
    tv.wait_for_selector("#wall-conn", state="hidden")
    tv.wait_for_function(
        "() => document.querySelector('.wall-screen[data-key=unhealthy]').textContent.includes('north-cluster-2')"
    )
    assert "is-stale" not in (tv.locator("body").get_attribute("class") or "")
    assert tv.evaluate("window.cspViolations") == [] and tv.errors == []


def test_it_pauses_on_a_screen_with_a_problem(tv: object, operator, make_display, fleet) -> None:
    _, token = make_display(operator, screens=["unhealthy", "timeline"], seconds_per_screen=1)
    tv.goto(f"{tv.base}/wall/{token}/")
    tv.wait_for_selector("#wall-paused", state="visible")
    watch_polls(tv)
    polls(tv, 10)  # two seconds: it would have rotated twice
    assert current(tv) == "unhealthy"
    Cluster.objects.filter(health=Cluster.UNHEALTHY).update(health="Healthy")
    EdgeHost.objects.update(health="healthy")
    FleetCount.objects.filter(value__in=[Cluster.UNHEALTHY, EdgeHost.UNHEALTHY]).delete()
    sync_ran()
    tv.wait_for_function("() => document.querySelector('.wall-screen.is-current').dataset.key === 'timeline'")


def test_a_revoked_display_blanks_at_once(tv: object, operator, make_display, fleet) -> None:
    display, token = make_display(operator, screens=["unhealthy"])
    tv.goto(f"{tv.base}/wall/{token}/")
    assert tv.locator(".wall-screen").count() == 1
    display.revoke()
    tv.wait_for_selector(".wall-screen", state="detached")
    assert "revoked" in tv.locator("#wall-conn").inner_text()
    assert "north-cluster" not in tv.locator("body").inner_text()


def test_it_reloads_itself_after_a_deploy(tv: object, operator, make_display, fleet, monkeypatch) -> None:
    _, token = make_display(operator, screens=["overview"])
    tv.goto(f"{tv.base}/wall/{token}/")
    before = tv.locator("body").get_attribute("data-build")
    tv.evaluate("window.notReloaded = true")
    monkeypatch.setenv("BUILD_ID", "release-2")
    build.build_id.cache_clear()
    try:
        tv.wait_for_function("() => document.body.dataset.build === 'release-2' && window.notReloaded === undefined")
    finally:
        build.build_id.cache_clear()
    assert before != "release-2"


def test_its_heap_does_not_grow_over_many_polls(tv: object, operator, make_display, fleet) -> None:
    """Every poll brings new data (a count changes each round), so every answer is a 200 and a swap."""
    _, token = make_display(operator, screens=["overview", "unhealthy", "sites", "timeline"], seconds_per_screen=1)
    tv.goto(f"{tv.base}/wall/{token}/")
    cdp = tv.context.new_cdp_session(tv)
    cdp.send("Performance.enable")
    south = FleetCount.objects.get(project__name="south", resource="clusters", value="Healthy")

    def rounds(start: int, n: int) -> None:
        for i in range(start, start + n):
            FleetCount.objects.filter(pk=south.pk).update(count=100 + i)
            sync_ran()
            shown = f"() => document.querySelector('.wall-tile .n').textContent === '{106 + i}'"
            tv.wait_for_function(shown).dispose()  # a kept handle would be the test's own leak

    def heap() -> tuple[int, int, int]:
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return int(metrics["JSHeapUsedSize"]), int(metrics["Nodes"]), int(metrics["JSEventListeners"])

    rounds(0, 50)  # warm up: code paths compiled, caches filled
    first, nodes, listeners = heap()
    rounds(50, 300)
    last, nodes_after, listeners_after = heap()
    print(f"JS heap after GC: {first} bytes after 50 polls, {last} after 350; DOM nodes {nodes} -> {nodes_after}")
    # A swap of these screens is tens of KB of DOM: 300 leaked swaps would be megabytes.
    assert last - first < 512 * 1024, f"JS heap grew from {first} to {last} bytes over 300 polls"
    assert abs(nodes_after - nodes) < 100 and listeners_after <= listeners + 20
    assert tv.evaluate("window.cspViolations") == [] and tv.errors == []
