"""In Debian's Chromium: log in, see the cluster list, search, and see the table change in place."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.models import Cluster, PaletteAccount, Project, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fleet() -> None:
    account = PaletteAccount.objects.create(name="acme", api_url="https://palette.example")
    now = timezone.now()
    project = Project.objects.create(account=account, uid="p1", name="factory", first_seen_at=now, last_seen_at=now)
    Cluster.objects.bulk_create(
        [
            Cluster(
                account=account,
                uid=f"c{i}",
                name=f"{'plant' if i % 3 else 'depot'}-{i:04d}",
                project=project,
                cloud_type="aws",
                state="Running",
                health="Healthy",
                kubernetes_version="1.31.2",
                modified_at=now - timedelta(minutes=i),
                first_seen_at=now,
                last_seen_at=now,
            )
            for i in range(90)
        ]
    )
    SyncRun.objects.create(account=account, resource="clusters", status="ok", started_at=now, finished_at=now)
    User.objects.create_user("operator", password="correct horse battery")


def test_it_logs_in_lists_and_searches_without_reloading(browser, live_server, fleet) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url

    page.fill("#id_username", "operator")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#cluster-table table")
    assert page.locator("#cluster-table .meta").inner_text().startswith("90 clusters")
    assert page.locator("#cluster-table tbody tr").count() == 50

    page.evaluate("window.notReloaded = true")
    page.fill("#cluster-search", "depot")
    page.wait_for_selector("text=30 clusters matching")

    names = page.locator("#cluster-table td.name").all_inner_texts()
    assert len(names) == 30 and all(n.startswith("depot-") for n in names)
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a page load
    assert "q=depot" in page.url  # the search is in the URL
    page.close()
