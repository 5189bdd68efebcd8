"""A cluster's page: summary, profiles against their latest, node pools, edge hosts, timeline,
what changed before a health change, raw JSON; 404 with a way back."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.models import Cluster, ProfileUse, TimelineEntry

pytestmark = pytest.mark.django_db


def url(cluster: Cluster) -> str:
    return reverse("dashboard:cluster_detail", args=[cluster.uid])


def test_it_sends_anonymous_users_to_login(client: Client, synced_fleet) -> None:
    response = client.get(url(Cluster.objects.first()))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_shows_a_synced_cluster(member: Client, synced_fleet, django_assert_max_num_queries) -> None:
    cluster = Cluster.objects.filter(removed_at__isnull=True, profile_uses__isnull=False).first()
    with django_assert_max_num_queries(12):
        response = member.get(url(cluster))
    body = response.content.decode()
    assert response.status_code == 200
    assert cluster.name in body and cluster.project.name in body
    for use in ProfileUse.objects.filter(cluster=cluster):
        assert reverse("dashboard:profile_detail", args=[use.profile_uid]) in body
        assert ("behind latest" if use.behind else "up to date") in body
    assert "Raw JSON" in body and cluster.uid in body


def test_it_lists_the_node_pools_palette_reports(member: Client, synced_fleet) -> None:
    cluster = Cluster.objects.filter(removed_at__isnull=True).first()
    pools = cluster.raw["specSummary"]["cloudConfig"]["machinePools"]
    body = member.get(url(cluster)).content.decode()
    assert body.count('<tr class="pool">') == len(pools) > 0
    control_plane = next(p for p in pools if p["isControlPlane"])
    assert f"<td>control plane</td><td>{control_plane['size']}</td>" in body


def test_it_says_when_palette_reports_no_node_pools(member: Client, synced_fleet) -> None:
    cluster = Cluster.objects.first()
    Cluster.objects.filter(pk=cluster.pk).update(raw={"metadata": {"uid": cluster.uid}})
    assert "Palette reported no node pools" in member.get(url(cluster)).content.decode()


def test_it_shows_what_changed_in_the_hour_before_a_health_change(member: Client, synced_fleet) -> None:
    cluster = Cluster.objects.filter(removed_at__isnull=True).first()
    change = TimelineEntry.objects.create(
        account=cluster.account,
        kind="transition",
        source_id="t-health",
        occurred_at=cluster.last_seen_at,
        subject_kind="cluster",
        subject_uid=cluster.uid,
        subject_name=cluster.name,
        action="health",
        message="health Healthy → UnHealthy",
    )
    for minutes, source in ((30, "inside"), (90, "outside")):
        TimelineEntry.objects.create(
            account=cluster.account,
            kind="audit",
            source_id=f"audit-{source}",
            occurred_at=change.occurred_at - timedelta(minutes=minutes),
            subject_kind="cluster",
            subject_uid=cluster.uid,
            actor="ops@example.com",
            action="update",
            message=f"values changed {source}",
        )
    body = member.get(url(cluster)).content.decode()
    before = body.split("What changed before each health change", 1)[1].split("<h2>Timeline", 1)[0]
    assert "values changed inside" in before and "values changed outside" not in before


def test_it_escapes_hostile_names(member: Client, synced_fleet) -> None:
    cluster = Cluster.objects.first()
    Cluster.objects.filter(pk=cluster.pk).update(name="<img src=x onerror=alert(1)>", raw={"x": "</pre><script>"})
    body = member.get(url(cluster)).content.decode()
    assert "<img src=x" not in body and "</pre><script>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_it_answers_an_unknown_uid_with_a_404_page_and_a_way_back(member: Client, synced_fleet) -> None:
    response = member.get(reverse("dashboard:cluster_detail", args=["no-such-uid"]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "no-such-uid" in body and reverse("dashboard:overview") in body


def test_it_says_a_removed_cluster_is_gone(member: Client, synced_fleet, account_removed_cluster) -> None:
    body = member.get(url(account_removed_cluster)).content.decode()
    assert "no longer in Palette" in body


@pytest.fixture
def account_removed_cluster(synced_fleet) -> Cluster:
    removed = Cluster.objects.filter(removed_at__isnull=False).first()
    if removed is None:
        removed = Cluster.objects.first()
        Cluster.objects.filter(pk=removed.pk).update(removed_at=removed.last_seen_at)
    return removed
