"""The edge-host list, an edge host's page, and the site roll-up (issue: pages, /edge-hosts/)."""

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.models import EdgeHost, PaletteAccount, Project, TimelineEntry
from dashboard.views.edgehosts import NO_SITE, site_rollup
from palette_sync import mappers
from palette_sync.sync.rollups import refresh_counts

pytestmark = pytest.mark.django_db
LIST = reverse("dashboard:edgehost_list")
SITES = reverse("dashboard:site_list")
HOSTILE = "<script>alert(1)</script>"
RTL = "\u202eمضيف-الحافة-١٢"  # an Arabic name behind a right-to-left override
LONG = "edge-" + "x" * 295  # 300 characters, as Palette could send it


def host(account: PaletteAccount, project: Project, uid: str, **fields: object) -> EdgeHost:
    now = timezone.now()
    values = {"name": uid, "state": "in-use", "health": "healthy", "edge_api_state": "reachable", **fields}
    return EdgeHost.objects.create(
        account=account, project=project, uid=uid, first_seen_at=now, last_seen_at=now, **values
    )


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


@pytest.fixture
def project(account: PaletteAccount) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid="p1", name="retail-edge", first_seen_at=now, last_seen_at=now)


@pytest.fixture
def fleet(account: PaletteAccount, project: Project) -> dict[str, EdgeHost]:
    """Three sites and a host without one, in every health and edge API state; counted as the sync counts."""
    ago = timezone.now() - timedelta(hours=3)
    hosts = {
        "n1": host(account, project, "n1", site="store-north", mac_address="aa:bb:cc:00:00:01"),
        "n2": host(
            account,
            project,
            "n2",
            site="store-north",
            health="unhealthy",
            health_since=ago,
            health_message="heartbeat missed",
            edge_api_state="unreachable",
            edge_api_since=ago,
            edge_api_error="127.1.0.2: ConnectTimeout timed out",
        ),
        "n3": host(account, project, "n3", site="store-north", edge_api_state="tls_failed", edge_api_since=ago),
        "n4": host(account, project, "n4", site="store-north", health="", edge_api_state="no_access"),
        "s1": host(account, project, "s1", site="store-south"),
        "s2": host(account, project, "s2", site="store-south", edge_api_state="unknown"),
        "w1": host(account, project, "w1", site="depot-west", health="unhealthy", edge_api_state="auth_failed"),
        "x1": host(account, project, "x1", site="", health="unhealthy", health_since=ago, edge_api_state="error"),
    }
    refresh_counts(account, project, "edgehosts")
    return hosts


def rows_of(body: str) -> int:
    return body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr")


# -- who may see them ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, SITES, reverse("dashboard:edgehost_detail", args=["n1"])])
def test_it_sends_anonymous_users_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# -- the list ------------------------------------------------------------------------------------


def test_it_renders_the_list(member: Client, fleet: dict, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(11):  # +1: the user's groups (role and scope, dashboard/access.py)
        response = member.get(LIST)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert 'id="table"' in body and "8 edge hosts" in body
    assert "HX-Request" in response["Vary"]
    assert f'<a href="{LIST}" aria-current="page">Hosts</a>' in body and f'href="{SITES}"' in body
    assert 'title="127.1.0.2: ConnectTimeout timed out"' in body  # why the edge API is unreadable
    assert 'href="/edge-hosts/?site=store-north"' in body


def test_it_renders_only_the_table_for_htmx(member: Client, fleet: dict, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(7):  # session, user, freshness, choices, count, ids, rows
        response = member.get(LIST, {"health": "unhealthy"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="table"')
    assert "3 edge hosts" in body and "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("params", "uids"),
    [
        ({"health": "unhealthy"}, {"n2", "w1", "x1"}),
        ({"health": "unknown"}, {"n4"}),
        ({"edge_api_state": ["unreachable", "tls_failed"]}, {"n2", "n3"}),
        ({"edge_api_state": "unknown"}, {"s2"}),  # a stored state, not an empty value
        ({"site": "store-north"}, {"n1", "n2", "n3", "n4"}),
        ({"no_site": "on"}, {"x1"}),
        ({"unhealthy_for": "1h"}, {"n2", "x1"}),
        ({"unreadable_for": "1h"}, {"n2", "n3"}),
        ({"q": "AA:BB:CC:00:00:01"}, {"n1"}),
    ],
)
def test_it_filters(member: Client, fleet: dict, params: dict, uids: set[str]) -> None:
    body = member.get(LIST, params).content.decode()
    shown = {uid for uid in fleet if f"/edge-hosts/{uid}/" in body}
    assert shown == uids
    assert f"{len(uids)} edge host" in body


def test_it_finds_hosts_not_read_lately(member: Client, fleet: dict) -> None:
    EdgeHost.objects.exclude(uid="n1").update(edge_api_checked_at=timezone.now())
    EdgeHost.objects.filter(uid="s1").update(edge_api_checked_at=timezone.now() - timedelta(days=2))
    body = member.get(LIST, {"read_older": "1d"}).content.decode()
    assert {uid for uid in fleet if f"/edge-hosts/{uid}/" in body} == {"n1", "s1"}  # never read, read 2 days ago


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"page": "abc"}, "is not a valid page"),
        ({"per_page": "100000"}, "is not a valid per page"),
        ({"health": "bogus"}, "Health: Select a valid choice"),
        ({"edge_api_state": "bogus"}, "Edge API: Select a valid choice"),
        ({"unhealthy_for": "99y"}, "Unhealthy longer than: Select a valid choice"),
        ({"site": "s" * 300}, "Site: Ensure this value has at most 255 characters"),
        ({"q": "a\x00b"}, "Search:"),
        ({"cols": "nope"}, "Unknown column"),
    ],
)
def test_it_drops_bad_parameters_with_a_note(member: Client, fleet: dict, params: dict, note: str) -> None:
    response = member.get(LIST, params)
    body = response.content.decode()
    assert response.status_code == 200
    assert note in body
    assert "8 edge hosts" in body


def test_it_ignores_an_unknown_sort(member: Client, fleet: dict) -> None:
    response = member.get(LIST, {"sort": "nonsense"})
    assert response.status_code == 200 and "8 edge hosts" in response.content.decode()


def test_it_exports_the_filtered_rows_as_csv(member: Client, fleet: dict, account, project) -> None:
    host(account, project, "f1", name="=HYPERLINK(evil)", health="unhealthy", site="")
    response = member.get(LIST, {"health": "unhealthy", "sort": "name", "export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = EdgeHost.objects.filter(health="unhealthy", removed_at__isnull=True).order_by("name")
    assert [r["Name"] for r in table] == [
        "'" + n if n.startswith("=") else n for n in expected.values_list("name", flat=True)
    ]
    by_name = {r["Name"]: r for r in table}
    assert by_name["n2"]["Edge API"] == "Unreachable" and by_name["w1"]["Edge API"] == "Login refused"
    assert by_name["x1"]["Site"] == "" and by_name["n2"]["Site"] == "store-north"  # empty, never "None" or "—"
    assert by_name["n2"]["Health"] == "Unhealthy"


def test_it_exports_the_chosen_columns(member: Client, fleet: dict) -> None:
    response = member.get(LIST, {"cols": ["name", "mac_address"], "site": "store-north", "export": "csv"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "Name,MAC" and len(lines) == 5
    assert "n1,aa:bb:cc:00:00:01" in lines and "n2," in lines


def test_it_escapes_hostile_names(member: Client, fleet: dict, account, project) -> None:
    host(account, project, "evil", name=HOSTILE, site=HOSTILE, cluster_uid="c1", cluster_name=HOSTILE, os=HOSTILE)
    host(account, project, "rtl", name=RTL, site=RTL)
    long = mappers.edgehost_fields({"metadata": {"uid": "long", "name": LONG}})["name"]
    host(account, project, "long", name=long)
    body = member.get(LIST, {"per_page": 200}).content.decode()
    assert HOSTILE not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert f"<bdi>{RTL}</bdi>" in body  # isolated: it cannot reorder the cells around it
    assert f'title="{long}"' in body and long == LONG  # stored whole (300 characters), whole in the tooltip


def test_it_exports_names_as_they_are(member: Client, account, project) -> None:
    host(account, project, "amp", name='R&D north "lab"', site="Zürich & co")
    lines = b"".join(member.get(LIST, {"export": "csv"}).streaming_content).decode().splitlines()
    assert lines[0].startswith("Name,Health,Edge API,State,Site,Cluster,Project,")
    assert lines[1].startswith('"R&D north ""lab""",Healthy,Reachable,In use,Zürich & co,,retail-edge,')


def test_it_exports_hostile_names_as_data(member: Client, account, project) -> None:
    host(account, project, "evil", name=HOSTILE)
    csv_text = b"".join(member.get(LIST, {"export": "csv"}).streaming_content).decode()
    assert HOSTILE in csv_text  # CSV is data: the name as it is, for the spreadsheet to show as text


# -- one host ------------------------------------------------------------------------------------

FACTS = {
    "agentVersion": "4.6.21",
    "hostName": "edge-n1",
    "os": "ubuntu 22.04",
    "arch": "amd64",
    "cpuCores": 8,
    "memoryMB": 16384,
    "nics": [{"nicName": "eth0", "ip": "127.1.0.1", "macAddr": "aa:bb:cc:00:00:01", "isDefault": True}],
    "clusterState": "Running",
    "clusterHealth": "Healthy",
    "kubernetesVersion": "1.31.2",
    "registryState": "",
    "registryUsagePercent": 42,
    "certificatesNeedRenewal": False,
    "certificatesEarliestExpiry": "2027-03-01T00:00:00Z",
    "gpus": [{"vendor": "NVIDIA", "model": HOSTILE, "gpuCount": 1}],
    "futureFact": {"nested": {"deeper": [1, 2]}},
    "readAt": "2026-11-30T10:00:00+00:00",
}
RAW = {
    "metadata": {"uid": "n1", "name": "n1", "labels": {"site": "store-north", "city": "Oslo", "team": HOSTILE}},
    "spec": {
        "device": {
            "archType": "amd64",
            "cpu": {"cores": 8},
            "memory": {"sizeInMB": 16384},
            "disks": [{"controller": "SCSI", "vendor": "VMware", "size": 300, "partitions": [{"mountPoint": "/"}]}],
            "gpus": [],
        }
    },
}


@pytest.fixture
def detailed(fleet: dict) -> EdgeHost:
    n1 = fleet["n1"]
    n1.raw, n1.edge_facts = RAW, FACTS
    n1.host_address, n1.os, n1.agent_version, n1.arch = "127.1.0.1", "ubuntu 22.04", "4.6.21", "amd64"
    n1.cluster_uid, n1.cluster_name, n1.edge_api_checked_at = "c-north", "north-cluster", timezone.now()
    n1.save()
    base = timezone.now() - timedelta(days=1)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            account=n1.account,
            kind="edge",
            source_id=f"t{i}",
            occurred_at=base + timedelta(minutes=i),
            subject_kind="edgehost",
            subject_uid="n1",
            subject_name="n1",
            action="edge_api_state",
            message=f"change number {i:02d}",
        )
        for i in range(60)
    )
    return n1


def test_it_renders_a_host(member: Client, detailed: EdgeHost, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(6):  # session, user, groups, the host, its timeline, freshness
        response = member.get(reverse("dashboard:edgehost_detail", args=["n1"]))
    body = response.content.decode()
    assert response.status_code == 200 and "<h1><bdi>n1</bdi></h1>" in body
    for fragment in ("127.1.0.1", "aa:bb:cc:00:00:01", "ubuntu 22.04", "4.6.21", "retail-edge", "city</bdi>=<bdi>Oslo"):
        assert fragment in body
    assert f'href="{reverse("dashboard:cluster_detail", args=["c-north"])}"' in body
    assert 'href="/edge-hosts/?site=store-north"' in body


def test_it_shows_the_hosts_own_facts_readably(member: Client, detailed: EdgeHost) -> None:
    body = member.get(reverse("dashboard:edgehost_detail", args=["n1"])).content.decode()
    facts = body.split('id="edge-facts"', 1)[1].split("</section>\n</div>", 1)[0]
    assert '<time datetime="2026-11-30T10:00:00+00:00"' in facts  # dated by readAt
    assert "<dt>CPU cores</dt><dd>8</dd>" in facts
    assert "<dt>Memory</dt><dd>16.0 GiB (16,384 MB)</dd>" in facts
    assert "<dt>Registry usage</dt><dd>42 %</dd>" in facts and "<dt>Registry state</dt><dd>not reported</dd>" in facts
    assert "<dt>Certificates need renewal</dt><dd>no</dd>" in facts
    assert "<dt>Earliest certificate expiry</dt><dd>2027-03-01 00:00 UTC</dd>" in facts
    assert "<caption>NICs</caption>" in facts and "<td>127.1.0.1</td>" in facts
    assert "<caption>GPUs</caption>" in facts and "&lt;script&gt;" in facts and HOSTILE not in body
    assert "<h3>Other</h3>" in facts and "Future fact" in facts  # a key the page does not know yet
    assert "Healthy</span>" in facts  # the local cluster's health as a badge
    palette = body.split("What Palette says", 1)[1].split('id="edge-facts"', 1)[0]
    assert "<caption>Disks</caption>" in palette and "<td>300</td>" in palette


def test_it_shows_the_timeline_newest_first_and_bounded(member: Client, detailed: EdgeHost) -> None:
    body = member.get(reverse("dashboard:edgehost_detail", args=["n1"])).content.decode()
    timeline = body.split("<h2>Timeline", 1)[1].split("</section>", 1)[0]
    assert timeline.count('<tr class="kind-edge">') == 50
    assert timeline.index("change number 59") < timeline.index("change number 58")
    assert "change number 09" not in timeline and "The newest 50 entries" in timeline
    assert '<details class="panel raw"><summary>Raw JSON as Palette last returned it' in body


def test_it_says_why_a_host_cannot_be_read(member: Client, detailed: EdgeHost) -> None:
    EdgeHost.objects.filter(uid="n1").update(
        edge_api_state="auth_failed",
        edge_api_since=timezone.now() - timedelta(hours=2),
        edge_api_error="login refused (401)",
    )
    body = member.get(reverse("dashboard:edgehost_detail", args=["n1"])).content.decode()
    assert "Login refused" in body and "login refused (401)" in body
    assert "These are the last facts read." in body and "2\xa0hours ago" in body


@pytest.mark.parametrize(
    ("uid", "says"),
    [
        ("n4", "No edge credentials match this host"),
        ("s2", "has not been read yet"),
        ("x1", "has never answered"),
    ],
)
def test_it_says_when_there_are_no_facts(member: Client, fleet: dict, uid: str, says: str) -> None:
    body = member.get(reverse("dashboard:edgehost_detail", args=[uid])).content.decode()
    assert says in body and "Last read" in body and "never" in body


def test_it_escapes_a_hostile_host(member: Client, account, project) -> None:
    raw = {"metadata": {"labels": {HOSTILE: HOSTILE}}, "spec": {"device": {"os": {"family": HOSTILE}}}}
    host(account, project, "evil", name=HOSTILE, site=HOSTILE, edge_api_state="error", edge_api_error=HOSTILE, raw=raw)
    body = member.get(reverse("dashboard:edgehost_detail", args=["evil"])).content.decode()
    assert HOSTILE not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_it_answers_404_for_an_unknown_host(member: Client, fleet: dict) -> None:
    assert member.get(reverse("dashboard:edgehost_detail", args=["nope"])).status_code == 404
    assert member.get("/edge-hosts/a%00b/").status_code == 404


# -- the site roll-up ----------------------------------------------------------------------------


def test_it_rolls_up_sites_worst_first(member: Client, fleet: dict, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(7):  # session, user, groups, the counts, freshness
        response = member.get(SITES)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and "HX-Request" in response["Vary"]
    assert f'<a href="{SITES}" aria-current="page">Sites</a>' in body
    rows = [(s.name, s.total, s.healthy, s.unhealthy, s.unknown, s.unreachable) for s in response.context["page"]]
    assert rows == [
        ("store-north", 4, 2, 1, 1, 2),
        (NO_SITE, 1, 0, 1, 0, 1),  # a tie on trouble and size: by name
        ("depot-west", 1, 0, 1, 0, 1),
        ("store-south", 2, 2, 0, 0, 0),
    ]
    assert body.index("store-north") < body.index(NO_SITE) < body.index("depot-west") < body.index("store-south")
    assert "8 hosts in 4 sites: 3 unhealthy, 4 edge API unreachable" in body
    assert '<rect class="seg-ok" x="0.0" y="0" width="50.0" height="9">' in body


def test_its_numbers_match_the_hosts(member: Client, fleet: dict) -> None:
    """Each site links to the list of its hosts, and the list shows as many as the roll-up says."""
    body = member.get(SITES).content.decode()
    for site in site_rollup():
        assert f'href="{site.url.replace("&", "&amp;")}"' in body
        listed = member.get(site.url).content.decode()
        assert f"{site.total} edge host" in listed
        query = parse_qs(urlparse(site.url).query)
        hosts = EdgeHost.objects.filter(removed_at__isnull=True, site=query.get("site", [""])[0])
        assert site.total == hosts.count()
        assert site.unhealthy == hosts.filter(health="unhealthy").count()
        assert site.unreachable == hosts.filter(edge_api_state__in=EdgeHost.API_PROBLEMS).count()


def test_it_reads_the_counts_not_the_hosts(member: Client, fleet: dict) -> None:
    with CaptureQueriesContext(connection) as queries:
        member.get(SITES)
    assert not [q for q in queries.captured_queries if "dashboard_edgehost" in q["sql"]]
    EdgeHost.objects.filter(uid="s1").update(health="unhealthy")  # not counted until the sync recounts
    assert member.get(SITES).context["page"][3].unhealthy == 0


def test_it_renders_only_the_sites_for_htmx(member: Client, fleet: dict, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(7):  # +1: the user's groups (role and scope, dashboard/access.py)
        response = member.get(SITES, {"q": "STORE"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="sites"') and "<html" not in body
    assert "2 sites matching “STORE”" in body and "depot-west" not in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"page": "abc"}, "“abc” is not a page of this list"),
        ({"page": "99"}, "“99” is not a page of this list"),
        ({"q": "a\x00b"}, "holds a NUL character"),
        ({"q": "q" * 201}, "too long"),
    ],
)
def test_it_drops_bad_site_parameters(member: Client, fleet: dict, params: dict, note: str) -> None:
    response = member.get(SITES, params)
    body = response.content.decode()
    assert response.status_code == 200 and note in body and "4 sites" in body


def test_its_totals_are_read_once_in_the_banner_seconds(
    member: Client, fleet: dict, account, project, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sum over every site is kept for PALETTE_BANNER_SECONDS per process and viewer scope, as
    the lists' totals are; the page of sites itself is read on every request."""
    from dashboard import freshness

    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    assert "8 hosts in 4 sites" in member.get(SITES).content.decode()
    host(account, project, "new", site="kiosk-east", health="unhealthy")
    refresh_counts(account, project, "edgehosts")
    now[0] += 4.9
    with CaptureQueriesContext(connection) as kept:
        body = member.get(SITES).content.decode()
    assert "8 hosts in 4 sites" in body and "kiosk-east" in body  # the totals kept, the rows fresh
    assert not [q for q in kept.captured_queries if "SUM(" in q["sql"]]
    now[0] += 0.2
    assert "9 hosts in 5 sites" in member.get(SITES).content.decode()


def test_it_pages_the_sites(member: Client, account, project) -> None:
    now = timezone.now()
    EdgeHost.objects.bulk_create(
        EdgeHost(
            account=account,
            project=project,
            uid=f"h{i}",
            name=f"h{i}",
            site=f"shop-{i:03d}",
            health="healthy",
            first_seen_at=now,
            last_seen_at=now,
        )
        for i in range(150)
    )
    refresh_counts(account, project, "edgehosts")
    first = member.get(SITES, {"q": "shop"}).content.decode()
    assert "150 sites matching" in first and "Page 1 of 3" in first and rows_of(first) == 50
    assert 'href="?q=shop&amp;page=2"' in first
    second = member.get(SITES, {"q": "shop", "page": 2}, headers={"HX-Request": "true"}).content.decode()
    assert rows_of(second) == 50 and "shop-099" in second and "shop-000" not in second and "shop-100" not in second


def test_it_escapes_hostile_sites(member: Client, account, project) -> None:
    host(account, project, "evil", site=HOSTILE, health="unhealthy")
    host(account, project, "rtl", site=RTL)
    refresh_counts(account, project, "edgehosts")
    body = member.get(SITES).content.decode()
    assert HOSTILE not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "?site=%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in body
    assert f"<bdi>{RTL}</bdi>" in body
    listed = member.get(LIST, {"site": HOSTILE}).content.decode()
    assert "1 edge host" in listed and "/edge-hosts/evil/" in listed


def test_it_says_when_nothing_is_counted(member: Client) -> None:
    body = member.get(SITES).content.decode()
    assert "0 sites" in body and "No edge hosts synced yet." in body


def test_its_roll_up_matches_a_synced_fleet(member: Client, synced_fleet) -> None:
    """On what the real sync writes: every site's numbers are its live hosts'."""
    live = EdgeHost.objects.filter(removed_at__isnull=True)
    sites = site_rollup()
    assert sum(s.total for s in sites) == live.count() > 0
    assert len(sites) == live.values("site").distinct().count()
    for site in sites:
        hosts = live.filter(site=site.site)
        assert (site.total, site.healthy, site.unhealthy, site.unknown) == (
            hosts.count(),
            hosts.filter(health="healthy").count(),
            hosts.filter(health="unhealthy").count(),
            hosts.exclude(health__in=["healthy", "unhealthy"]).count(),
        )
    worst = [s.trouble for s in sites]
    assert worst == sorted(worst, reverse=True)
    body = member.get(SITES).content.decode()
    assert f"{live.count()} hosts in {len(sites)} sites" in body


# -- in Chromium ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_goes_from_the_worst_site_to_its_hosts_in_chromium(browser, live_server, fleet: dict) -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("operator", password="correct horse battery")
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{live_server.url}{SITES}")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("#sites table")
    assert page.locator("#sites tbody tr").first.locator("td.name").inner_text() == "store-north"

    page.evaluate("window.notReloaded = true")
    page.fill("#site-search", "south")
    page.wait_for_selector("text=1 site matching “south”")
    assert page.locator("#sites td.name").all_inner_texts() == ["store-south"]
    assert page.evaluate("window.notReloaded") is True and "q=south" in page.url

    page.fill("#site-search", "")
    page.wait_for_selector("text=4 sites")
    page.click("#sites td.name >> text=store-north")
    page.wait_for_selector("#table table")
    assert "site=store-north" in page.url
    assert page.locator("#table .meta .count").inner_text().startswith("4 edge hosts")

    page.evaluate("window.notReloaded = true")
    page.locator("#filters input[name=health][value=unhealthy]").check()
    page.wait_for_selector("#table .meta .count >> text=1 edge host")
    assert page.locator("#table td.name").all_inner_texts() == ["n2"]
    assert page.evaluate("window.notReloaded") is True and "health=unhealthy" in page.url
    page.close()
