"""Project scope: a viewer limited to one project never sees another project's clusters or hosts, by
name or uid, on any page, list, CSV, count or detail (a fleet synced by the real sync, two projects)."""

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from dashboard.models import Cluster, ClusterProfile, EdgeHost, FleetCount, Project, SiteSummary, TimelineEntry
from sso import config

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(synced_fleet: object) -> tuple[Project, Project]:
    mine, other = Project.objects.filter(removed_at__isnull=True).order_by("name")[:2]
    assert Cluster.objects.filter(project=other, removed_at__isnull=True).exists()
    return mine, other


def scoped_viewer(settings: object, project: Project) -> Client:
    """A viewer through SSO group team-a, which SSO_GROUP_MAP limits to `project`."""
    group_map = {"team-a": {"role": "viewer", "projects": [project.uid]}}
    settings.SSO_GROUP_MAP = config.parse_group_map(json.dumps(group_map))
    user = User.objects.create_user("scoped", password="pw-for-tests-only-1")
    user.groups.add(Group.objects.get_or_create(name="sso:team-a")[0])
    client = Client()
    client.force_login(user)
    return client


def secrets_of(mine: Project, other: Project) -> set[str]:
    """The other project's cluster and host names and uids that no row of mine shares."""
    seen = set()
    for model in (Cluster, EdgeHost, ClusterProfile):
        seen |= set(model.objects.filter(project=mine).values_list("name", flat=True))
    hidden = set()
    for model in (Cluster, EdgeHost):
        for name, uid in model.objects.filter(project=other).values_list("name", "uid"):
            hidden |= {uid} | ({name} - seen)
    return hidden


def leaked(text: str, hidden: set[str]) -> list[str]:
    return [s for s in hidden if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]


def body(response: object) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


PAGES = [
    "/",
    "/clusters/",
    "/clusters/?export=csv",
    "/clusters/?removed=all&per_page=200",
    "/edge-hosts/",
    "/edge-hosts/?export=csv",
    "/edge-hosts/sites/",
    "/profiles/",
    "/profiles/?export=csv",
    "/timeline/",
    "/timeline/?export=csv",
    "/sync/",
    "/sync/?all=1",
]


def test_a_scoped_viewer_never_sees_the_other_project(settings: object, projects: tuple) -> None:
    mine, other = projects
    client = scoped_viewer(settings, mine)
    hidden = secrets_of(mine, other)
    assert hidden
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert not leaked(body(response), hidden), page
    # the filter's choices do not name the other project either
    assert f">{other.name}<" not in body(client.get("/clusters/"))
    # asking for the other project's rows by filter gets nothing of them
    assert not leaked(body(client.get("/clusters/", {"project": other.pk, "q": ""})), hidden)


def test_details_outside_the_scope_are_not_found(settings: object, projects: tuple) -> None:
    mine, other = projects
    client = scoped_viewer(settings, mine)
    theirs = Cluster.objects.filter(project=other).first()
    ours = Cluster.objects.filter(project=mine).first()
    assert client.get(reverse("dashboard:cluster_detail", args=[theirs.uid])).status_code == 404
    assert client.get(reverse("dashboard:cluster_detail", args=[ours.uid])).status_code == 200
    host = EdgeHost.objects.filter(project=other).first()
    if host:
        assert client.get(reverse("dashboard:edgehost_detail", args=[host.uid])).status_code == 404
    profile = ClusterProfile.objects.exclude(project=mine).first()
    assert client.get(reverse("dashboard:profile_detail", args=[profile.uid])).status_code == 404


def test_counts_are_of_the_scope_only(settings: object, projects: tuple) -> None:
    mine, other = projects
    client = scoped_viewer(settings, mine)
    response = client.get("/")
    mine_total = sum(
        FleetCount.objects.filter(project=mine, resource="clusters", dimension="health").values_list("count", flat=True)
    )
    assert response.context["totals"]["clusters"] == mine_total
    assert mine_total < Cluster.objects.filter(removed_at__isnull=True).count()
    assert response.context["chart"] is None and "your access covers only some" in body(response)
    listed = client.get("/clusters/")
    assert (
        listed.context["table"].paginator.count == Cluster.objects.filter(project=mine, removed_at__isnull=True).count()
    )
    sites = client.get("/edge-hosts/sites/").context["everywhere"]
    assert sites.total == sum(SiteSummary.objects.filter(project=mine).values_list("hosts", flat=True))
    entries = client.get("/timeline/").context["page"]
    assert all(TimelineEntry.objects.get(pk=e.pk).project_id == mine.pk for e in entries.rows)


def test_an_unscoped_viewer_sees_both(settings: object, projects: tuple) -> None:
    mine, other = projects
    user = User.objects.create_user("everyone", password="pw-for-tests-only-1")
    client = Client()
    client.force_login(user)
    text = body(client.get("/clusters/?export=csv"))
    assert (
        Cluster.objects.filter(project=other).first().uid in text
        or Cluster.objects.filter(project=other).first().name in text
    )
    assert client.get("/").context["chart"] is not None
