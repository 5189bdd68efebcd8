"""Operators create, edit and revoke displays; the URL is shown once; viewers and strangers get nothing."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import SavedView
from wall.models import ALIVE_FOR, Display, token_hash
from wall.tests.conftest import signed_in

pytestmark = pytest.mark.django_db
LIST, NEW = reverse("wall:display_list"), reverse("wall:display_create")
FORM = {
    "name": "Ops room TV",
    "seconds_per_screen": "15",
    "theme": "dark",
    "pause_on_problem": "on",
    "screen_1": "unhealthy",
    "screen_2": "overview",
}


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    for url in (LIST, NEW):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_viewer_cannot_see_or_make_displays(viewer, operator, make_display) -> None:
    display, _ = make_display(operator)
    client = signed_in(viewer)
    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, FORM).status_code == 403
    assert client.post(reverse("wall:display_revoke", args=[display.pk])).status_code == 403
    assert not Display.objects.filter(name=FORM["name"]).exists()
    assert Display.objects.get(pk=display.pk).revoked_at is None


def test_an_operator_creates_a_display_and_sees_its_url_once(operator, django_assert_max_num_queries) -> None:
    client = signed_in(operator)
    form = client.get(NEW)
    assert form.status_code == 200 and 'name="screen_1"' in form.content.decode()
    response = client.post(NEW, FORM)
    body = response.content.decode()
    assert response.status_code == 200 and "shown only this once" in body
    url = re.search(r'value="(http://testserver/wall/([\w-]+)/)"', body)
    display = Display.objects.get(name="Ops room TV")
    assert display.token_hash == token_hash(url.group(2))
    assert display.screens == ["unhealthy", "overview"] and display.created_by == operator
    assert display.seconds_per_screen == 15 and display.pause_on_problem
    assert "no-store" in response["Cache-Control"]
    with django_assert_max_num_queries(8):
        listing = client.get(LIST).content.decode()
    assert "Ops room TV" in listing and url.group(2) not in listing
    assert url.group(2) not in client.get(reverse("wall:display_edit", args=[display.pk])).content.decode()
    assert Client().get(url.group(1)).status_code == 200  # the URL works, without signing in


def test_it_refuses_a_display_without_screens_or_name(operator) -> None:
    client = signed_in(operator)
    response = client.post(NEW, {**FORM, "name": "  ", "screen_1": "", "screen_2": ""})
    body = response.content.decode()
    assert response.status_code == 200 and "This field is required." in body and "Choose at least one screen." in body
    assert client.post(NEW, {**FORM, "screen_1": "view:99999"}).status_code == 200
    assert not Display.objects.exists()


def test_it_offers_own_and_shared_saved_views_only(operator, viewer) -> None:
    own = SavedView.objects.create(owner=operator, name="My broken", page="clusters", query="health=UnHealthy")
    shared = SavedView.objects.create(owner=viewer, name="Team view", page="edge_hosts", shared=True)
    private = SavedView.objects.create(owner=viewer, name="Victor's own", page="clusters")
    body = signed_in(operator).get(NEW).content.decode()
    assert f'value="view:{own.pk}"' in body and f'value="view:{shared.pk}"' in body
    assert f'value="view:{private.pk}"' not in body
    response = signed_in(operator).post(NEW, {**FORM, "screen_3": f"view:{private.pk}"})
    assert response.status_code == 200 and not Display.objects.exists()


def test_an_operator_edits_the_screens_in_order(operator, make_display) -> None:
    display, token = make_display(operator)
    response = signed_in(operator).post(
        reverse("wall:display_edit", args=[display.pk]),
        {**FORM, "name": "Renamed", "screen_1": "timeline", "screen_2": "sites", "screen_3": "timeline"},
    )
    assert response.status_code == 302
    display.refresh_from_db()
    assert display.name == "Renamed" and display.screens == ["timeline", "sites"]
    assert display.token_hash == token_hash(token)  # editing keeps the URL


def test_revoking_kills_the_url_at_once(operator, make_display) -> None:
    display, token = make_display(operator)
    page = reverse("wall:wall_page", args=[token])
    assert Client().get(page).status_code == 200
    response = signed_in(operator).post(reverse("wall:display_revoke", args=[display.pk]))
    assert response.status_code == 302
    assert Client().get(page).status_code == 410
    assert Client().get(reverse("wall:wall_screens", args=[token])).status_code == 410
    assert "Revoked" in signed_in(operator).get(LIST).content.decode()


def test_operators_manage_their_own_displays_and_admins_all(operator, admin, make_display) -> None:
    other = Display.objects.model
    colleague = type(operator).objects.create_user("colleague")
    colleague.groups.add(*operator.groups.all())
    theirs, _ = make_display(colleague, name="Colleague's TV")
    mine, _ = make_display(operator, name="My TV")
    client = signed_in(operator)
    listing = client.get(LIST).content.decode()
    assert "My TV" in listing and "Colleague&#x27;s TV" not in listing
    assert client.get(reverse("wall:display_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("wall:display_revoke", args=[theirs.pk])).status_code == 404
    assert other.objects.get(pk=theirs.pk).revoked_at is None
    assert "Colleague&#x27;s TV" in signed_in(admin).get(LIST).content.decode()
    assert signed_in(admin).post(reverse("wall:display_revoke", args=[theirs.pk])).status_code == 302


def test_the_list_says_which_tvs_are_alive(operator, make_display) -> None:
    now = timezone.now()
    make_display(operator, name="Alive TV", last_seen_at=now)
    make_display(operator, name="Dark TV", last_seen_at=now - ALIVE_FOR * 2)
    make_display(operator, name="New TV")
    body = signed_in(operator).get(LIST).content.decode()
    row = {name: body.split(name, 1)[1].split("</tr>", 1)[0] for name in ("Alive TV", "Dark TV", "New TV")}
    assert "✓" in row["Alive TV"] and "TV alive" in row["Alive TV"]
    assert "✕" in row["Dark TV"] and "Not seen for 10 min" in row["Dark TV"]
    assert "Never seen" in row["New TV"]


def test_hostile_names_render_escaped(operator, make_display) -> None:
    make_display(operator, name="<script>alert(1)</script>")
    body = signed_in(operator).get(LIST).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
