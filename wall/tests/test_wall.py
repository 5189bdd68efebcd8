"""/wall/<token>/: no login, only the display's screens, within its creator's scope, read-only; the
partial answers 304 when nothing it shows changed, and a revoked or unknown token gets nothing."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.access import Scope
from dashboard.models import Cluster, FleetCount, SavedView, SyncScope
from wall.build import build_id
from wall.screens import Wall
from wall.tests.conftest import sync_ran

pytestmark = pytest.mark.django_db


def urls(token: str) -> tuple[str, str]:
    return reverse("wall:wall_page", args=[token]), reverse("wall:wall_screens", args=[token])


def test_it_needs_no_login_and_shows_the_displays_screens(client: Client, operator, make_display, fleet) -> None:
    _, token = make_display(operator, screens=["unhealthy", "overview"], name="NOC wall")
    page, screens = urls(token)
    response = client.get(page)
    body = response.content.decode()
    assert response.status_code == 200 and "NOC wall" in body
    titles = re.findall(r'<h2 id="screen-\d+" class="wall-title">([^<]+)', body)
    assert [title.strip() for title in titles] == ["Unhealthy now", "Overview"]
    assert "north-cluster-0" in body and "north-host-1" in body  # unhealthy, oldest first
    assert "Latest on the timeline" not in body and "changed in north" not in body  # not one of its screens
    assert f'hx-get="{screens}"' in body and 'id="wall-clock"' in body and "Data as of" in body
    assert 'data-problem="true"' in body  # the unhealthy screen shows a problem


def test_a_wrong_token_gets_404_and_a_revoked_one_410(client: Client, operator, make_display, fleet) -> None:
    display, token = make_display(operator)
    for url in urls("A" * 43):
        assert client.get(url).status_code == 404
    display.revoke()
    for url in urls(token):
        response = client.get(url)
        assert response.status_code == 410 and "revoked" in response.content.decode()
        assert "north-cluster" not in response.content.decode()


def test_it_is_read_only(client: Client, operator, make_display) -> None:
    _, token = make_display(operator)
    for url in urls(token):
        assert client.post(url).status_code == 405
    body = client.get(urls(token)[0]).content.decode()
    assert "<form" not in body and "csrf" not in body.lower()


def test_the_partial_answers_304_until_its_data_changes(client: Client, operator, make_display, fleet) -> None:
    display, token = make_display(operator)
    _, screens = urls(token)
    first = client.get(screens, headers={"HX-Request": "true"})
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and "<html" not in first.content.decode()
    assert 'id="wall-age" hx-swap-oob="true"' in first.content.decode()
    again = client.get(screens, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert again["X-Wall-Build"] == build_id() and "no-store" in again["Cache-Control"]

    Cluster.objects.filter(uid="north-c2").update(health=Cluster.UNHEALTHY)  # a third unhealthy cluster
    sync_ran()
    changed = client.get(screens, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag and "north-cluster-2" in changed.content.decode()

    etag = changed["ETag"]
    display.screens = ["timeline"]
    display.save()
    edited = client.get(screens, headers={"If-None-Match": etag})
    assert edited.status_code == 200 and "changed in north" in edited.content.decode()


def test_an_old_listing_or_a_count_changes_the_etag(client: Client, operator, make_display, fleet) -> None:
    _, token = make_display(operator, screens=["overview"])
    _, screens = urls(token)
    etag = client.get(screens)["ETag"]
    FleetCount.objects.filter(resource="clusters", value="Healthy").update(count=40)
    sync_ran()
    assert client.get(screens, headers={"If-None-Match": etag}).status_code == 200
    etag = client.get(screens)["ETag"]
    SyncScope.objects.update(ok_started_at=timezone.now() - timedelta(hours=2))
    stale = client.get(screens, headers={"If-None-Match": etag})
    assert stale.status_code == 200 and "stale: the sync is behind" in stale.content.decode()


def test_a_sync_run_that_changed_nothing_shown_still_answers_304(client: Client, operator, make_display, fleet) -> None:
    _, token = make_display(operator, screens=["unhealthy"])
    _, screens = urls(token)
    etag = client.get(screens)["ETag"]
    Cluster.objects.filter(uid="south-c1").update(name="south-renamed")  # healthy: not on this screen
    sync_ran()
    assert client.get(screens, headers={"If-None-Match": etag}).status_code == 304


def test_a_change_no_sync_run_announced_shows_once_the_etag_lapses(
    client: Client, operator, make_display, fleet
) -> None:
    _, token = make_display(operator, screens=["unhealthy"])
    _, screens = urls(token)
    etag = client.get(screens)["ETag"]
    Cluster.objects.filter(uid="north-c2").update(health=Cluster.UNHEALTHY)
    assert client.get(screens, headers={"If-None-Match": etag}).status_code == 304  # trusted for ETAG_TRUST
    cache.clear()  # what ETAG_TRUST seconds do
    changed = client.get(screens, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "north-cluster-2" in changed.content.decode()


def test_the_304_costs_no_rendering_and_few_queries(
    client: Client, operator, make_display, fleet, django_assert_max_num_queries
) -> None:
    _, token = make_display(operator)
    _, screens = urls(token)
    etag = client.get(screens)["ETag"]
    with django_assert_max_num_queries(3):  # the display by its token, its creator's groups, the data's version
        assert client.get(screens, headers={"If-None-Match": etag}).status_code == 304
    sync_ran()
    with django_assert_max_num_queries(10):  # and the screens' data, once the version moved
        assert client.get(screens, headers={"If-None-Match": etag}).status_code == 304
    with django_assert_max_num_queries(10):
        assert client.get(screens).status_code == 200


def test_polls_mark_the_display_seen(client: Client, operator, make_display) -> None:
    display, token = make_display(operator)
    client.get(urls(token)[1])
    display.refresh_from_db()
    assert display.last_seen_at is not None and display.alive()


def test_it_has_no_inline_script_or_style(client: Client, operator, make_display, fleet) -> None:
    _, token = make_display(operator)
    for url in urls(token):
        body = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
        assert "<style" not in body and " style=" not in body and "hx-on" not in body


def test_a_scoped_creator_never_shows_other_projects(
    client: Client, make_display, fleet, settings, django_user_model
) -> None:
    from sso.config import parse_group_map

    settings.SSO_GROUP_MAP = parse_group_map('{"team-south": {"role": "operator", "projects": ["uid-south"]}}')
    creator = django_user_model.objects.create_user("sam")
    creator.groups.add(Group.objects.create(name="sso:team-south"))
    _, token = make_display(creator)
    page, screens = urls(token)
    for url in (page, screens):
        body = client.get(url).content.decode()
        assert "north" not in body and "store-n" not in body
        assert "store-s" in body and "changed in south" in body
        assert "No cluster is unhealthy" in body and "No edge host is unhealthy" in body


def test_the_wall_cuts_every_screen_to_its_scope(operator, make_display, fleet) -> None:
    south = fleet["projects"]["south"]
    view = SavedView.objects.create(owner=operator, name="All clusters", page="clusters", query="sort=name")
    display, _ = make_display(operator, screens=["overview", "unhealthy", "sites", "timeline", f"view:{view.pk}"])
    wall = Wall(display)
    wall.scope = Scope(projects=frozenset([south.pk]))
    overview, unhealthy, sites, timeline, saved = (wall.screen(key) for key in display.screens)
    assert overview.data["totals"] == {"clusters": 4, "edgehosts": 1} and not overview.problem
    assert unhealthy.data["clusters"] == [] and unhealthy.data["hosts"] == [] and not unhealthy.problem
    assert [s.site for s in sites.data["sites"]] == ["store-s"]
    assert [e.message for e in timeline.data["entries"]] == ["changed in south"]
    names = [row.record.name for row in saved.data["table"].paginated_rows]
    assert names == [f"south-cluster-{i}" for i in range(4)] and saved.data["count"] == 4
    everywhere = Wall(display)
    assert everywhere.screen("overview").data["totals"]["clusters"] == 10 and everywhere.screen("unhealthy").problem
    assert "north" not in "".join(shown.html for shown in wall.screens)  # what is drawn and shared, too


def test_a_saved_view_screen_uses_the_lists_filters_and_columns(client: Client, operator, make_display, fleet) -> None:
    view = SavedView.objects.create(
        owner=operator, name="Broken <clusters>", page="clusters", query="health=UnHealthy&cols=name&cols=health"
    )
    _, token = make_display(operator, screens=[f"view:{view.pk}"])
    body = client.get(urls(token)[0]).content.decode()
    assert "Broken &lt;clusters&gt;" in body and "<clusters>" not in body
    assert "north-cluster-0" in body and "north-cluster-1" in body and "north-cluster-3" not in body
    assert "2 clusters" in body and 'data-problem="true"' in body
    view.delete()
    assert "saved view was deleted or is no longer shared" in client.get(urls(token)[0]).content.decode()


def test_displays_in_one_scope_share_the_drawn_screens(
    client: Client, operator, make_display, fleet, django_assert_max_num_queries
) -> None:
    _, first = make_display(operator, name="Room A")
    _, second = make_display(operator, name="Room B")
    client.get(urls(first)[1])
    with django_assert_max_num_queries(4):  # the display, its last poll, its creator's groups, the data's version
        body = client.get(urls(second)[1]).content.decode()
    assert "north-cluster-0" in body and "store-n" in body and "changed in north" in body


def test_the_pages_first_poll_is_already_a_304(client: Client, operator, make_display, fleet) -> None:
    _, token = make_display(operator)
    page, screens = urls(token)
    etag = re.search(r'data-etag="([^"]+)"', client.get(page).content.decode()).group(1).replace("&quot;", '"')
    assert client.get(screens, headers={"If-None-Match": etag}).status_code == 304
