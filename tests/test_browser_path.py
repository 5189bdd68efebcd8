"""In Debian's Chromium: log in, then use the pages as an ops engineer does: filter, sort, page, go
back and forward, save a view, export CSV, open a cluster from the list, follow an overview tile."""

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from dashboard.models import Cluster, SyncScope
from dashboard.tests.factories import ClusterFactory, ProjectFactory
from palette_sync.sync.rollups import refresh_counts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery"


@pytest.fixture
def fleet() -> None:
    """90 clusters: every third a depot, every fifth unhealthy; the counts the overview reads."""
    now = timezone.now()
    project = ProjectFactory(uid="p1", name="factory")
    account = project.account
    Cluster.objects.bulk_create(
        ClusterFactory.build(
            project=project,
            uid=f"c{i}",
            name=f"{'plant' if i % 3 else 'depot'}-{i:04d}",
            cloud_type="aws",
            health=Cluster.UNHEALTHY if i % 5 == 0 else "Healthy",
            health_since=now - timedelta(hours=i),
            modified_at=now - timedelta(minutes=i),
            heartbeat_at=now - timedelta(minutes=i),
        )
        for i in range(90)
    )
    refresh_counts(account, project, "clusters")  # the counts the overview reads, as the sync keeps them
    SyncScope.objects.create(account=account, resource="clusters", project=project, last_status="ok", ok_started_at=now)
    user = User.objects.create_user("operator", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="operator")[0])  # saved views need the operator role


@pytest.fixture
def page(browser: object, live_server: object, fleet: None) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/clusters/")
    assert "/login/" in page.url
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#table table")
    yield page
    context.close()


def rows(page: object) -> list[str]:
    return page.locator("#table td.name").all_inner_texts()


def test_it_searches_and_filters_without_reloading(page: object) -> None:
    assert page.locator("#table .meta .count").inner_text() == "90 clusters"
    page.evaluate("window.notReloaded = true")
    page.fill("#id_q", "depot")
    page.wait_for_selector("text=30 clusters")
    assert all(n.startswith("depot-") for n in rows(page)) and len(rows(page)) == 30
    page.get_by_label("Unhealthy", exact=True).check()
    page.wait_for_selector("text=6 clusters")
    assert rows(page) == [f"depot-{i:04d}" for i in range(0, 90, 15)]
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a page load
    assert "q=depot" in page.url and "health=UnHealthy" in page.url  # the state is in the URL


def test_it_sorts_and_pages_and_back_restores_the_whole_page(page: object) -> None:
    page.click("th.col-name a")  # name ascending is the default order: a click sorts descending
    page.wait_for_selector('th.col-name[aria-sort="descending"]')
    assert rows(page)[0] == "plant-0089"
    page.click("a[rel=next]")
    page.wait_for_selector("text=Page 2 of 2")
    assert "page=2" in page.url and "sort=-name" in page.url
    page.go_back()
    page.wait_for_selector('th.col-name[aria-sort="descending"]')
    page.wait_for_function("!document.body.textContent.includes('Page 2 of 2')")
    assert page.locator("#filters").count() == 1  # the whole page came back, not just the table
    assert page.locator("header.topbar").count() == 1
    assert rows(page)[0] == "plant-0089"
    page.go_forward()
    page.wait_for_selector("text=Page 2 of 2")
    assert page.locator("#filters").count() == 1


def test_a_saved_view_brings_the_list_back(page: object, live_server: object) -> None:
    page.get_by_label("Unhealthy", exact=True).check()
    page.wait_for_selector("text=18 clusters")
    page.click("summary:has-text('Saved views')")
    page.fill("#save-view-name", "unhealthy <b>now</b>")
    page.click("#save-view button[type=submit]")
    page.wait_for_selector("text=Saved view “unhealthy <b>now</b>”.")
    page.goto(f"{live_server.url}/clusters/")
    page.wait_for_selector("text=90 clusters")
    page.click("summary:has-text('Saved views')")
    page.click("a:has-text('unhealthy <b>now</b>')")
    page.wait_for_selector("text=18 clusters")
    assert "health=UnHealthy" in page.url


def test_csv_holds_exactly_the_filtered_rows(page: object) -> None:
    page.fill("#id_q", "depot")
    page.wait_for_selector("text=30 clusters")
    with page.expect_download() as download:
        page.click("a.export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "Name"
    assert sorted(r[0] for r in table[1:]) == sorted(f"depot-{i:04d}" for i in range(0, 90, 3))


def test_a_row_opens_its_cluster_and_a_tile_opens_its_filtered_list(page: object, live_server: object) -> None:
    page.click("#table td.name a >> nth=0")
    page.wait_for_selector("h1:has-text('depot-0000')")
    assert "/clusters/c0/" in page.url
    page.goto(f"{live_server.url}/")
    page.click("a.tile:has-text('unhealthy clusters')")
    page.wait_for_selector("text=18 clusters")
    assert all(cell.startswith("✕") for cell in page.locator("#table td.col-health .badge").all_inner_texts())
