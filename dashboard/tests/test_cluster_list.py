"""The cluster list: login, full page vs htmx partial, filters, sort, paging, columns, CSV, escaping,
freshness, and parameters it cannot use."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Cluster, PaletteAccount, ProfileUse, Project, SyncScope
from dashboard.tests.conftest import forget_all_but_the_banner
from dashboard.tests.factories import ClusterFactory, ProjectFactory
from palette_sync.sync.rollups import refresh_counts

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:cluster_list")


@pytest.fixture
def fleet() -> PaletteAccount:
    """60 clusters in one project: every fourth unhealthy, every fifth on AWS, ten behind their profile."""
    now = timezone.now()
    project = ProjectFactory(uid="p1", name="retail-edge")
    account = project.account
    clusters = Cluster.objects.bulk_create(
        ClusterFactory.build(
            project=project,
            uid=f"c{i:03d}",
            name=f"store-{i:03d}",
            cloud_type="aws" if i % 5 == 0 else "edge-native",
            health="Healthy" if i % 4 else Cluster.UNHEALTHY,
            health_since=now - timedelta(hours=i, minutes=30),
            kubernetes_version="1.30.6" if i % 2 else "1.31.2",
            heartbeat_at=now - timedelta(minutes=i, seconds=30),
            modified_at=now - timedelta(hours=i),
            first_seen_at=now - timedelta(days=3),
        )
        for i in range(60)
    )
    ProfileUse.objects.bulk_create(
        ProfileUse(
            account=account,
            cluster=c,
            profile_uid="pv1" if i < 10 else "pv2",
            name="pos-apps",
            version="1.0.0" if i < 10 else "1.1.0",
            latest_version="1.1.0",
            behind=i < 10,
        )
        for i, c in enumerate(clusters)
    )
    refresh_counts(account, project, "clusters")  # what the sync keeps for the filter choices
    return account


def names(response: object) -> list[str]:
    body = response.content.decode()
    return sorted({part.split("<", 1)[0] for part in body.split(">store-")[1:]})


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_full_page(member: Client, fleet: PaletteAccount, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(12):
        response = member.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and 'id="table"' in body and 'id="filters"' in body
    assert "store-000" in body and "retail-edge" in body
    assert "HX-Request" in response["Vary"]
    assert "60 clusters" in body
    assert 'aria-hidden="true">✕</span>Unhealthy' in body and "UnHealthy<" not in body  # readable, icon beside


def test_its_query_count_does_not_grow_with_rows(member: Client, fleet: PaletteAccount, django_assert_num_queries):
    member.get(URL)  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        member.get(URL, {"per_page": 10})
    with CaptureQueriesContext(connection) as many:
        member.get(URL, {"per_page": 60})
    assert len(few) == len(many)


def test_its_choices_and_total_are_read_once_in_the_banner_seconds(
    member: Client, fleet: PaletteAccount, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accounts, projects, counted values and the unfiltered total are as read in the last
    PALETTE_BANNER_SECONDS (per process and viewer scope): a request within them reads none of
    them, a later one anew."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard import freshness

    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    member.get(URL)  # the session's first push of its idle end
    forget_all_but_the_banner()
    with CaptureQueriesContext(connection) as first:
        member.get(URL)
    project = ProjectFactory(account=fleet, uid="p2", name="new-project")
    Cluster.objects.bulk_create([ClusterFactory.build(project=project, uid="c999", name="store-999")])
    refresh_counts(fleet, project, "clusters")
    now[0] += 4.9
    with CaptureQueriesContext(connection) as kept:
        body = member.get(URL).content.decode()
    assert "new-project" not in body and "retail-edge" in body and "Unhealthy</label>" in body
    assert "60 clusters" in body
    assert len(first) - len(kept) == 4  # the accounts, the projects, the counted values and the total
    now[0] += 0.2
    body = member.get(URL).content.decode()
    assert "new-project" in body and "61 clusters" in body


def test_a_filtered_count_is_kept_per_filter_for_the_banner_seconds(
    member: Client, fleet: PaletteAccount, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging through a filtered list counts its matches once in PALETTE_BANNER_SECONDS; another
    filter is counted on its own; the rows are read afresh on every request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard import freshness

    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    unhealthy = {"health": Cluster.UNHEALTHY, "per_page": "5", "sort": "name"}

    def counts(query: dict) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as seen:
            body = member.get(URL, query).content.decode()
        return body, sum("COUNT(" in q["sql"] and '"dashboard_cluster"' in q["sql"] for q in seen.captured_queries)

    body, counted = counts(unhealthy)
    assert "15 clusters" in body and counted == 1
    project = fleet.project_set.get(uid="p1")
    Cluster.objects.bulk_create(
        [ClusterFactory.build(project=project, uid="c000a", name="store-000a", health=Cluster.UNHEALTHY)]
    )
    now[0] += 4.9
    body, counted = counts({**unhealthy, "page": "2"})
    assert "15 clusters" in body and counted == 0  # the count kept
    body, counted = counts(unhealthy)
    assert "store-000a" in body and counted == 0  # the rows fresh
    body, counted = counts({**unhealthy, "cloud_type": "aws", "per_page": "2"})
    assert counted == 1  # another filter: its own count
    now[0] += 0.2
    body, counted = counts(unhealthy)
    assert "16 clusters" in body and counted == 1


def test_it_renders_only_the_table_for_htmx(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(URL, {"q": "store-01"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="filters"' not in body
    assert body.lstrip().startswith('<section id="table"')
    assert "HX-Request" in response["Vary"]


def test_it_gives_a_history_restore_the_whole_page(member: Client, fleet: PaletteAccount) -> None:
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    body = member.get(URL, {"page": 2}, headers=headers).content.decode()
    assert "<html" in body and 'id="filters"' in body and "Page 2 of 2" in body


def test_it_searches_server_side(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(URL, {"q": "store-01"})
    assert names(response) == [f"01{i}" for i in range(10)]
    assert "10 clusters" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"health": Cluster.UNHEALTHY}, {i for i in range(60) if i % 4 == 0}),
        ({"cloud_type": "aws"}, {i for i in range(60) if i % 5 == 0}),
        ({"cloud_type": "aws", "health": Cluster.UNHEALTHY}, {i for i in range(60) if i % 20 == 0}),
        ({"kubernetes_version": "1.31"}, {i for i in range(60) if i % 2 == 0}),
        ({"behind": "on"}, set(range(10))),
        ({"profile": "pos-apps", "profile_version": "1.0.0"}, set(range(10))),
        ({"heartbeat_older": "15m"}, set(range(15, 60))),
        ({"unhealthy_for": "1d"}, {i for i in range(60) if i % 4 == 0 and i >= 24}),
    ],
)
def test_it_filters(member: Client, fleet: PaletteAccount, params: dict, expected: set[int]) -> None:
    response = member.get(URL, {**params, "per_page": 100})
    assert names(response) == sorted(f"{i:03d}" for i in expected)


def test_it_filters_unknown_health_as_the_empty_value(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c001").update(health="")
    response = member.get(URL, {"health": "unknown"})
    assert names(response) == ["001"]
    assert 'aria-hidden="true">?</span>unknown' in response.content.decode()


def test_it_sorts_on_a_column_and_marks_it(member: Client, fleet: PaletteAccount) -> None:
    oldest_first = member.get(URL, {"sort": "heartbeat_at", "per_page": 5}).content.decode()
    assert names_in_order(oldest_first)[:3] == ["059", "058", "057"]
    assert 'aria-sort="ascending" class="col-heartbeat_at"' in oldest_first
    newest_first = member.get(URL, {"sort": "-heartbeat_at", "per_page": 5}).content.decode()
    assert names_in_order(newest_first)[:3] == ["000", "001", "002"]
    assert 'aria-sort="descending" class="col-heartbeat_at"' in newest_first


def test_a_sort_on_a_value_many_rows_share_goes_on_by_name_either_way(member: Client, fleet: PaletteAccount) -> None:
    """Within one cloud, by name, the same way round as the sort: the order the (cloud_type, name)
    index holds, so the first page is read from it rather than all live rows sorted."""
    aws_first = member.get(URL, {"sort": "cloud_type", "per_page": 5}).content.decode()
    assert names_in_order(aws_first) == ["000", "005", "010", "015", "020"]
    edge_first = member.get(URL, {"sort": "-cloud_type", "per_page": 5}).content.decode()
    assert names_in_order(edge_first) == ["059", "058", "057", "056", "054"]  # 055 is on AWS


def names_in_order(body: str) -> list[str]:
    return [part.split("<", 1)[0] for part in body.split(">store-")[1:]]


def test_it_pages_server_side(member: Client, fleet: PaletteAccount) -> None:
    first = member.get(URL).content.decode()
    second = member.get(URL, {"page": 2}).content.decode()
    assert "store-049" in first and "store-050" not in first
    assert "store-050" in second and "store-049" not in second
    assert "Page 2 of 2" in second


def test_it_shows_the_chosen_columns(member: Client, fleet: PaletteAccount) -> None:
    body = member.get(URL, {"cols": ["name", "location"]}).content.decode()
    assert 'class="col-location"' in body and 'class="col-health"' not in body


def test_it_hides_removed_clusters_and_shows_recent_removals_on_request(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c000").update(removed_at=timezone.now() - timedelta(hours=1))
    Cluster.objects.filter(uid="c001").update(removed_at=timezone.now() - timedelta(days=5))
    assert "000" not in names(member.get(URL, {"per_page": 100}))
    assert names(member.get(URL, {"removed": "recent"})) == ["000"]
    removed = member.get(URL, {"removed": "recent"}).content.decode()
    assert ">Removed<" in removed  # the removal time is shown for removed rows


def test_it_escapes_hostile_names(member: Client, fleet: PaletteAccount) -> None:
    hostile = '<script>alert("x")</script>' + "\u202e" + "x" * 300
    Cluster.objects.filter(uid="c000").update(name=hostile)
    ProfileUse.objects.filter(cluster__uid="c000").update(name="<b>evil</b>")
    body = member.get(URL).content.decode()
    assert "<script>alert" not in body and "<b>evil</b>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body and "&lt;b&gt;evil&lt;/b&gt;" in body


def test_it_says_how_fresh_the_data_is_and_what_is_stale(member: Client, fleet: PaletteAccount, settings) -> None:
    assert "No completed sync yet" in member.get(URL).content.decode()
    project = Project.objects.get()
    started = timezone.now() - timedelta(minutes=3)
    SyncScope.objects.create(
        account=fleet, resource="clusters", project=project, last_status="ok", ok_started_at=started
    )
    body = member.get(URL).content.decode()
    assert f'<time datetime="{timezone.localtime(started).isoformat()}"' in body
    assert "3\xa0minutes ago" in body
    assert "may not be current" not in body

    settings.PALETTE_SYNC_INTERVAL = 60  # stale after 2 minutes
    SyncScope.objects.create(account=fleet, resource="projects", last_status="failed", last_error="401 Unauthorized")
    body = member.get(URL).content.decode()
    assert "may not be current" in body
    assert "the last sync failed: 401 Unauthorized" in body
    assert "older than 0:02:00" in body


def test_it_says_when_nothing_matches(member: Client, fleet: PaletteAccount) -> None:
    assert "Nothing matches these filters." in member.get(URL, {"q": "zzz"}).content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "“abc” is not a valid page: ignored."),
        ({"per_page": "100000"}, "is not a valid per page"),
        ({"health": "<script>"}, "Health: Select a valid choice. &lt;script&gt; is not one of the available choices."),
        ({"q": "store\x00"}, "Search: Null characters are not allowed. This filter was not applied."),
        ({"heartbeat_older": "yesterday"}, "Heartbeat older than: Select a valid choice."),
        ({"project": "999999"}, "Project: Select a valid choice."),
        ({"cols": "bogus"}, "Unknown column"),
    ],
)
def test_it_explains_parameters_it_cannot_use(member: Client, fleet: PaletteAccount, params: dict, message: str):
    response = member.get(URL, params)
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert "60 clusters" in body  # the rest of the page still works, with that filter dropped


def test_it_keeps_the_valid_filters_when_one_is_invalid(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(URL, {"cloud_type": "aws", "heartbeat_older": "yesterday"})
    assert names(response) == [f"{i:03d}" for i in range(0, 60, 5)]


def test_it_exports_exactly_the_filtered_rows_as_csv(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c000").update(name="=HYPERLINK(1)")
    response = member.get(URL, {"health": Cluster.UNHEALTHY, "sort": "name", "export": "csv", "per_page": 2})
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Name", "Project", "Cloud", "State"]
    assert len(body) == 15  # every page, not just the first two rows
    assert {r[0] for r in body} == {"'=HYPERLINK(1)"} | {f"store-{i:03d}" for i in range(4, 60, 4)}
    assert {r[header.index("Health")] for r in body} == {"Unhealthy"}
    assert "pos-apps 1.0.0" in body[-1][header.index("Profiles")] or any("pos-apps" in r[6] for r in body)
