"""Saved views: a named list state, private or shared, that brings the list back as it was."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from dashboard.models import SavedView

pytestmark = pytest.mark.django_db
CLUSTERS = reverse("dashboard:cluster_list")


def save(client: Client, name: str, query: str, shared: bool = False) -> object:
    data = {"page": "clusters", "name": name, "query": query}
    if shared:
        data["shared"] = "on"
    return client.post(reverse("dashboard:savedview_create"), data)


def test_it_saves_the_list_state_and_brings_it_back(operator: Client) -> None:
    response = save(operator, "unhealthy aws", "health=UnHealthy&cloud_type=aws&sort=-heartbeat_at&page=3&cols=name")
    view = SavedView.objects.get()
    assert view.query == "health=UnHealthy&cloud_type=aws&sort=-heartbeat_at&cols=name"  # no page number
    assert response.status_code == 302 and response["Location"] == f"{CLUSTERS}?{view.query}"
    body = operator.get(CLUSTERS).content.decode()
    assert f'href="{CLUSTERS}?health=UnHealthy&amp;cloud_type=aws&amp;sort=-heartbeat_at&amp;cols=name"' in body


def test_private_views_are_private_and_shared_ones_are_not(operator: Client) -> None:
    save(operator, "mine", "health=UnHealthy")
    save(operator, "ours", "cloud_type=aws", shared=True)
    bob = Client()
    bob_user = User.objects.create_user("bob", password="pw-for-tests-only")
    bob_user.groups.add(Group.objects.get(name="operator"))
    bob.force_login(bob_user)
    body = bob.get(CLUSTERS).content.decode()
    assert "ours" in body and "shared by olivia" in body
    assert ">mine<" not in body
    delete = reverse("dashboard:savedview_delete", args=[SavedView.objects.get(name="ours").pk])
    assert bob.post(delete).status_code == 404  # only the owner deletes
    assert operator.post(delete).status_code == 302
    assert not SavedView.objects.filter(name="ours").exists()


def test_it_refuses_a_duplicate_or_empty_name_with_a_message(operator: Client) -> None:
    save(operator, "x", "q=a")
    response = operator.get(save(operator, "x", "q=b")["Location"])
    assert "already have a view named “x”" in response.content.decode()
    response = operator.get(save(operator, "  ", "q=b")["Location"])
    assert "needs a name" in response.content.decode()
    assert SavedView.objects.count() == 1


def test_it_refuses_an_unknown_page(operator: Client) -> None:
    response = operator.post(reverse("dashboard:savedview_create"), {"page": "admin", "name": "x", "query": ""})
    assert response.status_code == 400


def test_it_needs_login_and_post(operator: Client) -> None:
    assert save(Client(), "x", "")["Location"].startswith(reverse("login"))
    assert operator.get(reverse("dashboard:savedview_create")).status_code == 405
