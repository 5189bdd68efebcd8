"""The cluster list: login, full page vs htmx partial, search, paging, escaping, freshness."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Cluster, PaletteAccount, Project, SyncRun

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:cluster_list")


@pytest.fixture
def member(client: Client) -> Client:
    user = User.objects.create_user("alice", password="pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def fleet() -> PaletteAccount:
    account = PaletteAccount.objects.create(name="acme", api_url="https://palette.example")
    now = timezone.now()
    project = Project.objects.create(account=account, uid="p1", name="retail-edge", first_seen_at=now, last_seen_at=now)
    Cluster.objects.bulk_create(
        [
            Cluster(
                account=account,
                uid=f"c{i:03d}",
                name=f"store-{i:03d}",
                project=project,
                cloud_type="edge-native",
                state="Running",
                health="Healthy" if i % 4 else "UnHealthy",
                kubernetes_version="1.30.6",
                modified_at=now - timedelta(hours=i),
                first_seen_at=now,
                last_seen_at=now,
            )
            for i in range(60)
        ]
    )
    return account


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_full_page(member: Client, fleet: PaletteAccount, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(6):
        response = member.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert 'id="cluster-table"' in body
    assert "store-000" in body and "retail-edge" in body
    assert "HX-Request" in response["Vary"]
    assert "60 clusters" in body


def test_it_renders_only_the_table_for_htmx(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(URL, {"q": "store-01"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="cluster-table"')
    assert "HX-Request" in response["Vary"]


def test_it_searches_server_side(member: Client, fleet: PaletteAccount) -> None:
    body = member.get(URL, {"q": "store-01"}).content.decode()
    assert "store-010" in body and "store-019" in body
    assert "store-020" not in body
    assert "10 clusters matching" in body


def test_it_searches_health(member: Client, fleet: PaletteAccount) -> None:
    body = member.get(URL, {"q": "unhealthy"}).content.decode()
    assert "15 clusters matching" in body


def test_it_pages_server_side(member: Client, fleet: PaletteAccount) -> None:
    first = member.get(URL).content.decode()
    second = member.get(URL, {"page": 2}).content.decode()
    assert "store-049" in first and "store-050" not in first
    assert "store-050" in second and "store-049" not in second
    assert "Page 2 of 2" in second


def test_it_hides_removed_clusters(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c000").update(removed_at=timezone.now())
    body = member.get(URL).content.decode()
    assert "store-000" not in body
    assert "59 clusters" in body


def test_it_escapes_hostile_names(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c000").update(name='<script>alert("x")</script>')
    body = member.get(URL).content.decode()
    assert '<script>alert("x")</script>' not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_it_says_how_fresh_the_data_is(member: Client, fleet: PaletteAccount) -> None:
    assert "No completed sync yet" in member.get(URL).content.decode()
    started = timezone.now() - timedelta(minutes=3)
    SyncRun.objects.create(
        account=fleet, resource="clusters", status="ok", started_at=started, finished_at=started + timedelta(seconds=5)
    )
    SyncRun.objects.create(account=fleet, resource="clusters", status="failed", started_at=timezone.now())
    body = member.get(URL).content.decode()
    assert f'Data as of <time datetime="{timezone.localtime(started).isoformat()}">' in body
    assert "3\xa0minutes ago" in body


def test_it_says_when_nothing_matches(member: Client, fleet: PaletteAccount) -> None:
    assert "No clusters match “zzz”." in member.get(URL, {"q": "zzz"}).content.decode()


def test_it_says_how_long_a_cluster_has_been_unhealthy(member: Client, fleet: PaletteAccount) -> None:
    now = timezone.now()
    Cluster.objects.filter(uid="c000").update(
        health_since=now - timedelta(hours=5), first_seen_at=now - timedelta(days=2)
    )
    Cluster.objects.filter(uid="c001").update(health_since=now - timedelta(hours=7))
    Cluster.objects.filter(uid="c004").update(
        health_since=now - timedelta(hours=3), first_seen_at=now - timedelta(hours=3)
    )
    body = member.get(URL, {"q": "store-00"}).content.decode()
    assert "for 5\xa0hours" in body  # c000 turned UnHealthy after we first saw it
    assert "for 7\xa0hours" not in body  # c001 is Healthy: no age shown
    assert "for 3+\xa0hours" in body  # c004 was already UnHealthy when first seen: at least that long
