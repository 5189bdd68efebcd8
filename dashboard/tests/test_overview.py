"""The overview: problems oldest first, tiles from the precomputed counts, the 7-day chart."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Cluster, EdgeHost, FleetCount, HealthSample, ProfileUse, SyncScope
from dashboard.tests.conftest import forget_all_but_the_banner

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:overview")


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_waits_for_the_first_sync(member: Client) -> None:
    body = member.get(URL).content.decode()
    assert "Waiting for the first sync" in body and "No completed sync yet" in body


def test_it_shows_problems_oldest_first(member: Client, synced_fleet, django_assert_max_num_queries) -> None:
    now = timezone.now()
    live = Cluster.objects.filter(removed_at__isnull=True).order_by("name")
    old, new = live[0], live[1]
    live.filter(pk=old.pk).update(health=Cluster.UNHEALTHY, health_since=now - timedelta(days=2))
    live.filter(pk=new.pk).update(health=Cluster.UNHEALTHY, health_since=now - timedelta(minutes=5))
    with django_assert_max_num_queries(12):
        response = member.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    section = body.split("Unhealthy clusters", 1)[1].split("</section>", 1)[0]
    assert section.index(old.name) < section.index(new.name)
    assert re.search("✕ 2\\+?\xa0days", section)


def test_its_numbers_are_the_synced_fleets(member: Client, synced_fleet) -> None:
    body = member.get(URL).content.decode()
    clusters = Cluster.objects.filter(removed_at__isnull=True)
    hosts = EdgeHost.objects.filter(removed_at__isnull=True)
    behind = ProfileUse.objects.filter(behind=True, cluster__removed_at__isnull=True).values("cluster").distinct()
    assert f'<span class="n">{clusters.count()}</span><span class="what">clusters' in body
    assert f'<span class="n">{hosts.count()}</span><span class="what">edge hosts' in body
    unhealthy = clusters.filter(health=Cluster.UNHEALTHY).count()
    assert f'<span class="n">{unhealthy}</span><span class="what">{"✕ " if unhealthy else ""}unhealthy clusters' in body
    assert f'<span class="n">{behind.count()}</span>' in body


def test_its_counts_are_read_once_in_the_banner_seconds(
    member: Client, synced_fleet, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counts (two aggregates over FleetCount) and the chart's hourly samples are as read in the
    last PALETTE_BANNER_SECONDS per process and viewer scope, as the banner is; the problem lists
    are read on every request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard import freshness

    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    member.get(URL)  # the session's first push of its idle end, the banner, the counts
    forget_all_but_the_banner()
    with CaptureQueriesContext(connection) as first:
        member.get(URL)
    FleetCount.objects.filter(resource="clusters", dimension="health").update(count=0)
    now[0] += 4.9
    with CaptureQueriesContext(connection) as kept:
        body = member.get(URL).content.decode()
    assert len(first) - len(kept) == 3
    assert not [q for q in kept.captured_queries if "dashboard_healthsample" in q["sql"]]
    live = Cluster.objects.filter(removed_at__isnull=True).count()
    assert f'<span class="n">{live}</span><span class="what">clusters' in body
    now[0] += 0.2
    body = member.get(URL).content.decode()
    assert '<span class="n">0</span><span class="what">clusters' in body


def test_its_tiles_link_to_the_filtered_list_with_the_same_count(member: Client, synced_fleet) -> None:
    body = member.get(URL).content.decode()
    clouds = body.split("Clusters by cloud", 1)[1].split("</section>", 1)[0]
    href = clouds.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    shown = int(clouds.split('<span class="n">', 1)[1].split("<", 1)[0])
    cloud = parse_qs(urlparse(href).query)["cloud_type"][0]
    assert Cluster.objects.filter(removed_at__isnull=True, cloud_type=cloud).count() == shown
    listed = member.get(href).content.decode()
    assert f"{shown} cluster" in listed


def test_it_lists_sync_problems_with_why(member: Client, synced_fleet) -> None:
    scope = SyncScope.objects.filter(resource="clusters").first()
    scope.last_status, scope.last_error = "failed", "PaletteAuthError: 401 <Unauthorized>"
    scope.save()
    body = member.get(URL).content.decode()
    assert "the last sync failed: PaletteAuthError: 401 &lt;Unauthorized&gt;" in body


def test_it_draws_a_week_of_samples(member: Client, synced_fleet) -> None:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    HealthSample.objects.all().delete()
    for hours, clusters in ((100, 3), (50, 7), (1, 2)):
        HealthSample.objects.create(hour=now - timedelta(hours=hours), clusters_unhealthy=clusters, hosts_unhealthy=1)
    HealthSample.objects.create(hour=now - timedelta(days=9), clusters_unhealthy=99)  # older than the chart
    body = member.get(URL).content.decode()
    assert body.count('<polyline class="series-clusters"') == 3  # gaps of more than two hours split the line
    assert "unhealthy clusters: now 2" in body
    assert ">99<" not in body  # the scale comes from the last 7 days only


def test_it_never_shows_unknown_as_zero(member: Client, synced_fleet) -> None:
    FleetCount.objects.filter(resource="clusters", dimension="health").delete()
    Cluster.objects.update(health="")
    FleetCount.objects.create(
        account=Cluster.objects.first().account, resource="clusters", dimension="health", value="", count=5
    )
    body = member.get(URL).content.decode()
    health = body.split("Clusters by health", 1)[1].split("</section>", 1)[0]
    assert "unknown" in health and "health=unknown" in health
