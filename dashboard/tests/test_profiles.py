"""The profile list and a profile's page (issue: pages, /profiles/): versions, adoption, clusters behind."""

import csv
import io
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Cluster, ClusterProfile, PaletteAccount, ProfileUse, Project, SavedView
from dashboard.tests.conftest import forget_all_but_the_banner
from palette_sim import Fleet

pytestmark = pytest.mark.django_db
LIST = reverse("dashboard:profile_list")
HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")  # 1.2.0 is the latest


def detail(uid: str) -> str:
    return reverse("dashboard:profile_detail", args=[uid])


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


@pytest.fixture
def project(account: PaletteAccount) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid="p1", name="retail-edge", first_seen_at=now, last_seen_at=now)


def add_profiles(
    account: PaletteAccount, project: Project | None, count: int, start: int = 0, uses: tuple[int, ...] = (1, 2, 3)
) -> None:
    """`count` profiles named infra-NNN, each with VERSIONS; version i runs on uses[i] clusters.

    As the sync writes them: one row per version, a ProfileUse per (cluster, version) with `behind`,
    and Palette's in-use count on each version row.
    """
    now = timezone.now()
    rows, clusters, pairs = [], [], []
    for n in range(start, start + count):
        name = f"infra-{n:03d}"
        for i, version in enumerate(VERSIONS):
            uid = f"prof-{n:03d}-{i}"
            rows.append(
                ClusterProfile(
                    account=account,
                    project=project,
                    uid=uid,
                    name=name,
                    scope="project" if project else "tenant",
                    profile_type="infra",
                    cloud_type="edge-native",
                    version=version,
                    latest_version=VERSIONS[-1],
                    versions=[{"uid": f"prof-{n:03d}-{j}", "version": v} for j, v in enumerate(VERSIONS)],
                    packs=[
                        {"name": "ubuntu", "layer": "os", "version": "22.04"},
                        {"name": "kubernetes", "layer": "k8s", "version": f"1.3{i}.0"},
                        *([{"name": "cilium", "layer": "cni", "version": "1.15"}] if i else []),
                    ],
                    cluster_count=uses[i],
                    created_at=now,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
            for c in range(uses[i]):
                cluster = Cluster(
                    account=account,
                    project=project,
                    uid=f"c-{n:03d}-{i}-{c}",
                    name=f"store-{n:03d}-{i}-{c}",
                    health="Healthy",
                    first_seen_at=now,
                    last_seen_at=now,
                )
                clusters.append(cluster)
                pairs.append((cluster, uid, name, version))
    ClusterProfile.objects.bulk_create(rows)
    Cluster.objects.bulk_create(clusters)
    ProfileUse.objects.bulk_create(
        ProfileUse(
            account=account,
            cluster=cluster,
            profile_uid=uid,
            name=name,
            version=version,
            latest_version=VERSIONS[-1],
            behind=version != VERSIONS[-1],
        )
        for cluster, uid, name, version in pairs
    )


@pytest.fixture
def fleet(account: PaletteAccount, project: Project) -> PaletteAccount:
    add_profiles(account, project, 5)
    return account


def shown_profiles(response: object) -> dict[str, object]:
    """The profiles the list's page shows, by name (from the table the template rendered)."""
    return {p.key[2]: p for p in response.context["table"].profiles.values()}


# -- Who may see it, full page and partial ----------------------------------------------------------


def test_it_sends_anonymous_users_to_login(client: Client, fleet: PaletteAccount) -> None:
    for url in (LIST, detail("prof-000-0")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_full_page(operator: Client, fleet: PaletteAccount, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(11):  # +1: the user's groups (role and scope, dashboard/access.py)
        response = operator.get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and '<section id="table"' in body
    assert "5 profiles" in body
    assert "infra-000" in body and "retail-edge" in body and "Edge native" in body
    assert 'name="page" value="profiles"' in body  # the saved-view form of this list
    assert "HX-Request" in response["Vary"]


def test_it_renders_only_the_table_for_htmx(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(LIST, {"q": "infra-003"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="table"')
    assert "infra-003" in body and "infra-002" not in body
    assert "HX-Request" in response["Vary"]


def test_it_gives_a_history_restore_the_whole_page(member: Client, fleet: PaletteAccount) -> None:
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    body = member.get(LIST, {"q": "infra"}, headers=headers).content.decode()
    assert "<html" in body and 'id="filters"' in body


def test_it_keeps_the_queries_flat_as_profiles_grow(member: Client, account: PaletteAccount, project: Project) -> None:
    add_profiles(account, project, 5)
    add_profiles(account, None, 5, start=100)
    with CaptureQueriesContext(connection) as few:
        member.get(LIST)
    with CaptureQueriesContext(connection) as few_partial:
        member.get(LIST, headers={"HX-Request": "true"})
    add_profiles(account, project, 40, start=5)
    add_profiles(account, None, 10, start=110)
    with CaptureQueriesContext(connection) as many:
        response = member.get(LIST)
    with CaptureQueriesContext(connection) as many_partial:
        member.get(LIST, headers={"HX-Request": "true"})
    assert len(shown_profiles(response)) == 50
    assert len(many) == len(few) <= 11  # +1: the user's groups (role and scope, dashboard/access.py)
    assert len(many_partial) == len(few_partial) <= 7


def test_it_stays_within_the_query_budget_with_every_filter(
    member: Client, fleet: PaletteAccount, project: Project
) -> None:
    params = {
        "q": "infra",
        "account": fleet.pk,
        "project": project.pk,
        "profile_type": "infra",
        "cloud_type": "edge-native",
        "scope": "project",
        "behind": "on",
        "sort": "lagging",
    }
    with CaptureQueriesContext(connection) as queries:
        response = member.get(LIST, params)
    assert len(shown_profiles(response)) == 5
    assert len(queries) <= 13  # +1: the user's groups (role and scope, dashboard/access.py)
    assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"]]  # no DISTINCT over version rows


# -- What it shows ------------------------------------------------------------------------------------


def test_it_shows_every_version_with_its_clusters(member: Client, fleet: PaletteAccount) -> None:
    profiles = shown_profiles(member.get(LIST))
    profile = profiles["infra-002"]
    assert [v.version for v in profile.versions] == ["1.2.0", "1.1.0", "1.0.0"]  # newest first
    assert [v.clusters for v in profile.versions] == [3, 2, 1]
    assert profile.latest_version == "1.2.0" and profile.latest.is_latest
    assert profile.clusters == 6
    assert profile.lagging == 3  # 1 on 1.0.0, 2 on 1.1.0


def test_its_adoption_numbers_match_the_profile_uses(member: Client, fleet: PaletteAccount) -> None:
    live = ProfileUse.objects.filter(cluster__removed_at__isnull=True)
    uses = dict(live.values_list("profile_uid").annotate(n=Count("id")))
    behind = live.filter(behind=True).values("name").annotate(n=Count("id"))
    for profile in shown_profiles(member.get(LIST)).values():
        assert {v.row.uid: v.clusters for v in profile.versions} == {
            v.row.uid: uses[v.row.uid] for v in profile.versions
        }
    lagging = {p.key[2]: p.lagging for p in shown_profiles(member.get(LIST)).values()}
    assert lagging == {b["name"]: b["n"] for b in behind}


def test_its_numbers_on_a_synced_fleet(member: Client, synced_fleet: Fleet) -> None:
    """On what the real sync writes: the list shows Palette's in-use count of every version; a profile's
    page counts the live clusters whose own listing names each version (the two can differ for a
    moment: profiles and clusters are listed at different times)."""
    profiles = member.get(LIST, {"per_page": 200}).context["table"].profiles
    live_rows = ClusterProfile.objects.filter(removed_at__isnull=True)
    assert len(profiles) == live_rows.values("account", "project", "name").distinct().count() > 0
    reported = dict(live_rows.values_list("uid", "cluster_count"))
    assert sum(p.clusters for p in profiles.values()) == sum(reported.values()) > 0
    live = ProfileUse.objects.filter(cluster__removed_at__isnull=True)
    uses = Counter(dict(live.values_list("profile_uid").annotate(n=Count("id"))))
    for profile in profiles.values():
        assert {v.row.uid: v.clusters for v in profile.versions} == {
            v.row.uid: reported[v.row.uid] for v in profile.versions
        }
        page = member.get(detail(profile.link_uid)).context["profile"]
        assert {v.row.uid: v.clusters for v in page.versions} == {v.row.uid: uses[v.row.uid] for v in page.versions}
        assert page.lagging == live.filter(profile_uid__in=[v.row.uid for v in page.versions], behind=True).count()


def test_it_draws_adoption_bars_and_links_the_clusters_behind(member: Client, fleet: PaletteAccount) -> None:
    body = member.get(LIST, {"q": "infra-001"}).content.decode()
    assert body.count('<svg class="pv-bar"') == 3
    assert '<rect class="pv-fill" width="40" height="10"' in body  # 3 of 6 clusters: half the bar
    assert '/clusters/?profile=infra-001&amp;behind=on">' in body
    assert "3 behind" in body


def test_it_pages_by_profile_not_by_version(member: Client, account: PaletteAccount, project: Project) -> None:
    add_profiles(account, project, 60, uses=(0, 0, 1))
    first = member.get(LIST)
    second = member.get(LIST, {"page": 2})
    assert "60 profiles" in first.content.decode()
    assert len(shown_profiles(first)) == 50 and len(shown_profiles(second)) == 10
    assert "infra-049" in shown_profiles(first) and "infra-050" in shown_profiles(second)
    assert all(len(p.versions) == 3 for p in shown_profiles(second).values())


def test_its_unfiltered_count_is_read_once_in_the_banner_seconds(
    member: Client, account: PaletteAccount, project: Project, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No count of profiles is kept by the sync: the unfiltered list's own count is kept for
    PALETTE_BANNER_SECONDS per process and viewer scope, as the other lists' totals are."""
    from dashboard import freshness

    add_profiles(account, project, 60, uses=(0, 0, 1))
    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    member.get(LIST, headers={"HX-Request": "true"})  # the session's first push of its idle end
    forget_all_but_the_banner()
    with CaptureQueriesContext(connection) as first:
        member.get(LIST, headers={"HX-Request": "true"})
    add_profiles(account, project, 1, start=60, uses=(0, 0, 1))
    now[0] += 4.9
    with CaptureQueriesContext(connection) as kept:
        body = member.get(LIST, headers={"HX-Request": "true"}).content.decode()
    assert "60 profiles" in body and len(first) - len(kept) == 1
    assert "61 profiles" in member.get(LIST, {"q": "infra"}).content.decode()  # filtered: counted each time
    now[0] += 0.2
    assert "61 profiles" in member.get(LIST, headers={"HX-Request": "true"}).content.decode()


def test_it_keeps_profiles_of_different_owners_apart(member: Client, account: PaletteAccount, project: Project) -> None:
    add_profiles(account, project, 1)
    add_profiles(account, None, 1, start=500)
    ClusterProfile.objects.filter(name="infra-500").update(name="infra-000")
    profiles = member.get(LIST).context["table"].profiles
    assert sorted(len(p.versions) for p in profiles.values()) == [3, 3]
    assert {k[1] for k in profiles} == {project.pk, None}


def test_it_searches_by_name(member: Client, fleet: PaletteAccount) -> None:
    assert set(shown_profiles(member.get(LIST, {"q": "INFRA-00"}))) == {f"infra-00{n}" for n in range(5)}
    assert set(shown_profiles(member.get(LIST, {"q": "infra-004"}))) == {"infra-004"}
    assert "No profiles match these filters." in member.get(LIST, {"q": "zzz"}).content.decode()


def test_it_filters(member: Client, account: PaletteAccount, project: Project) -> None:
    add_profiles(account, project, 2)
    add_profiles(account, None, 2, start=10, uses=(0, 0, 4))  # nobody behind
    ClusterProfile.objects.filter(name="infra-010").update(profile_type="add-on", cloud_type="all")
    other = PaletteAccount.objects.create(name="other", api_url="https://other.example")
    add_profiles(other, None, 1, start=20)

    def names(**params: object) -> set[str]:
        return set(shown_profiles(member.get(LIST, params)))

    assert names(profile_type="add-on") == {"infra-010"}
    assert names(cloud_type="all") == {"infra-010"}
    assert names(scope="tenant") == {"infra-010", "infra-011", "infra-020"}
    assert names(project=project.pk) == {"infra-000", "infra-001"}
    assert names(account=other.pk) == {"infra-020"}
    assert names(behind="on") == {"infra-000", "infra-001", "infra-020"}
    assert names(behind="on", scope="tenant") == {"infra-020"}


def test_it_sorts_by_clusters_and_by_clusters_behind(member: Client, account: PaletteAccount, project: Project) -> None:
    add_profiles(account, project, 1, start=0, uses=(0, 0, 9))  # 9 clusters, none behind
    add_profiles(account, project, 1, start=1, uses=(2, 2, 1))  # 5 clusters, 4 behind
    add_profiles(account, project, 1, start=2, uses=(0, 1, 0))  # 1 cluster, 1 behind

    def order(sort: str) -> list[str]:
        return [row.record["name"] for row in member.get(LIST, {"sort": sort}).context["table"].paginated_rows]

    assert order("clusters") == ["infra-000", "infra-001", "infra-002"]  # most first
    assert order("-clusters") == ["infra-002", "infra-001", "infra-000"]
    assert order("lagging") == ["infra-001", "infra-002", "infra-000"]
    assert order("name") == ["infra-000", "infra-001", "infra-002"]


def test_it_hides_removed_versions_unless_asked(member: Client, fleet: PaletteAccount) -> None:
    ClusterProfile.objects.filter(uid="prof-001-0").update(removed_at=timezone.now())
    ClusterProfile.objects.filter(name="infra-004").update(removed_at=timezone.now())
    profiles = shown_profiles(member.get(LIST))
    assert "infra-004" not in profiles
    assert [v.version for v in profiles["infra-001"].versions] == ["1.2.0", "1.1.0"]
    assert "infra-004" in shown_profiles(member.get(LIST, {"removed": "all"}))


def test_it_exports_one_row_per_version_of_the_current_view(member: Client, fleet: PaletteAccount) -> None:
    ClusterProfile.objects.filter(uid="prof-003-0").update(name="=HYPERLINK(1)")
    response = member.get(LIST, {"q": "infra-00", "sort": "clusters", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Account", "Project", "Scope"] and "Version" in rows[0]
    version, clusters, uid = rows[0].index("Version"), rows[0].index("Clusters"), rows[0].index("Uid")
    assert len(rows) == 1 + 5 * 3 - 1  # every version of the five profiles, but the renamed one
    assert {r[uid] for r in rows[1:]} == set(
        ClusterProfile.objects.filter(name__startswith="infra-00").values_list("uid", flat=True)
    )
    assert rows[1][version] == "1.2.0" and rows[1][clusters] == "3" and rows[1][0] == "acme"
    everything = member.get(LIST, {"export": "csv"})
    text = b"".join(everything.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text  # a formula is defused


# -- Hostile and bad input --------------------------------------------------------------------------


def test_it_escapes_hostile_names(member: Client, fleet: PaletteAccount, project: Project) -> None:
    ClusterProfile.objects.filter(name="infra-000").update(name=HOSTILE)
    ClusterProfile.objects.filter(uid="prof-000-1").update(
        packs=[{"name": HOSTILE, "layer": HOSTILE, "version": HOSTILE}]
    )
    Project.objects.filter(pk=project.pk).update(name=HOSTILE)
    Cluster.objects.filter(uid="c-000-0-0").update(name=HOSTILE)
    for body in (member.get(LIST).content.decode(), member.get(detail("prof-000-0")).content.decode()):
        assert HOSTILE not in body
        assert ESCAPED in body


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"page": "abc"}, "is not a valid page"),
        ({"per_page": "100000"}, "is not a valid per page"),
        ({"profile_type": HOSTILE}, "Type:"),
        ({"cloud_type": "moon"}, "Cloud:"),
        ({"scope": "galaxy"}, "Scope:"),
        ({"project": "nope"}, "Project:"),
        ({"q": "infra\x00"}, "Search:"),
        ({"cols": HOSTILE}, "Unknown column"),
    ],
)
def test_it_says_which_parameters_it_ignored(member: Client, fleet: PaletteAccount, params: dict, note: str) -> None:
    response = member.get(LIST, params)
    body = response.content.decode()
    assert response.status_code == 200
    assert note in body
    assert HOSTILE not in body
    assert "5 profiles" in body  # the rest of the view still applies


def test_it_ignores_an_unknown_sort_and_pages_past_the_end(member: Client, fleet: PaletteAccount) -> None:
    assert member.get(LIST, {"sort": "nonsense"}).status_code == 200
    assert len(shown_profiles(member.get(LIST, {"page": 99}))) == 5


# -- A profile's page -----------------------------------------------------------------------------------


def test_its_page_shows_every_version_and_highlights_the_asked_one(
    member: Client, fleet: PaletteAccount, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(9):  # +1: the user's groups (role and scope, dashboard/access.py)
        response = member.get(detail("prof-002-1"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<title>infra-002 · Profiles" in body
    profile = response.context["profile"]
    assert [(v.version, v.clusters, v.own) for v in profile.versions] == [
        ("1.2.0", 3, False),
        ("1.1.0", 2, True),
        ("1.0.0", 1, False),
    ]
    assert body.count('aria-current="true"') == 1
    assert "this page" in body
    assert '/clusters/?profile=infra-002&amp;profile_version=1.1.0">2</a>' in body


def test_its_page_marks_changed_packs_in_words(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(detail("prof-000-2"))
    matrix = {(row["layer"], row["name"]): [c["change"] for c in row["cells"]] for row in response.context["matrix"]}
    assert matrix[("os", "ubuntu")] == ["", "", ""]
    assert matrix[("k8s", "kubernetes")] == ["", "changed", "changed"]
    assert matrix[("cni", "cilium")] == ["", "added", ""]
    body = response.content.decode()
    assert '<small class="pv-change">changed</small>' in body and '<small class="pv-change">added</small>' in body


def test_its_page_lists_exactly_the_clusters_behind(member: Client, fleet: PaletteAccount) -> None:
    Cluster.objects.filter(uid="c-001-1-0").update(removed_at=timezone.now())
    response = member.get(detail("prof-001-2"))
    expected = set(
        ProfileUse.objects.filter(name="infra-001", behind=True, cluster__removed_at__isnull=True).values_list(
            "cluster__uid", flat=True
        )
    )
    assert {use.cluster.uid for use in response.context["lagging"]} == expected == {"c-001-0-0", "c-001-1-1"}
    assert [use.version for use in response.context["lagging"]] == ["1.0.0", "1.1.0"]  # oldest version first
    profile = response.context["profile"]
    assert [(v.clusters, v.reported) for v in profile.versions] == [(3, 3), (1, 2), (1, 1)]  # a removed cluster
    body = response.content.decode()
    assert "(Palette reports 2)" in body
    assert 'href="/clusters/?profile=infra-001&amp;behind=on"' in body
    assert "store-001-1-0" not in body


def test_its_page_keeps_its_queries_flat_as_clusters_and_versions_grow(
    member: Client, account: PaletteAccount, project: Project
) -> None:
    add_profiles(account, project, 1, uses=(1, 1, 1))
    with CaptureQueriesContext(connection) as few:
        member.get(detail("prof-000-0"))
    add_profiles(account, project, 1, start=1, uses=(80, 90, 5))
    ClusterProfile.objects.filter(name="infra-001").update(name="infra-000")
    with CaptureQueriesContext(connection) as many:
        response = member.get(detail("prof-000-0"))
    assert len(response.context["profile"].versions) == 6
    assert len(response.context["lagging"]) == 100  # bounded; the cluster list has them all
    assert "Showing 100 of 172." in response.content.decode()
    assert len(many) == len(few) <= 9  # +1: the user's groups (role and scope, dashboard/access.py)


def test_its_page_says_when_the_latest_is_unknown(member: Client, fleet: PaletteAccount) -> None:
    ClusterProfile.objects.filter(name="infra-000").update(latest_version="")
    body = member.get(detail("prof-000-0")).content.decode()
    assert "which clusters are behind is unknown" in body


def test_its_page_is_404_for_an_unknown_uid(member: Client, fleet: PaletteAccount) -> None:
    response = member.get(detail("no-such-uid"))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_its_page_says_when_the_version_was_removed(member: Client, fleet: PaletteAccount) -> None:
    ClusterProfile.objects.filter(uid="prof-000-0").update(removed_at=timezone.now())
    response = member.get(detail("prof-000-0"))
    assert response.status_code == 200
    assert "is no longer in Palette" in response.content.decode()
    assert len(response.context["profile"].versions) == 3  # the live ones and the asked one


# -- Saved views and freshness ------------------------------------------------------------------------


def test_it_offers_saved_views_of_this_list(member: Client, fleet: PaletteAccount) -> None:
    owner = User.objects.create_user("bob")
    SavedView.objects.create(
        owner=owner, page=SavedView.Page.PROFILES, name="lagging infra", query="behind=on", shared=True
    )
    SavedView.objects.create(owner=owner, page=SavedView.Page.CLUSTERS, name="cluster view", shared=True)
    body = member.get(LIST).content.decode()
    assert 'href="/profiles/?behind=on">lagging infra</a>' in body
    assert "cluster view" not in body


def test_it_says_how_fresh_the_data_is(member: Client, fleet: PaletteAccount) -> None:
    assert "No completed sync yet" in member.get(LIST).content.decode()
    assert "No completed sync yet" in member.get(detail("prof-000-0")).content.decode()
