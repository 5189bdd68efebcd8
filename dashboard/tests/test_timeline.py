"""The timeline: keyset paging, filters, bad input, htmx partial, saved views, CSV, escaping, query ceilings."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard import keyset
from dashboard.models import Cluster, PaletteAccount, Project, SavedView, TimelineEntry
from dashboard.views import timeline

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:timeline")
BASE = timezone.now().replace(microsecond=0) - timedelta(hours=1)
KINDS = ["audit", "event", "transition", "edge"]
CLUSTER_UID = "0123456789abcdef01234567"


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


@pytest.fixture
def project(account: PaletteAccount) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid="p1", name="retail-edge", first_seen_at=now, last_seen_at=now)


def entries(account: PaletteAccount, count: int, start: int = 0, **fields: object) -> list[TimelineEntry]:
    """`count` entries, three to a timestamp (ties must page correctly), kinds in turn."""
    rows = []
    for n in range(start, start + count):
        values = {
            "account": account,
            "kind": KINDS[n % 4],
            "source_id": f"s{n}",
            "occurred_at": BASE - timedelta(seconds=10 * (n // 3)),
            "subject_kind": "cluster",
            "subject_uid": f"uid-{n % 10}",
            "subject_name": f"store-{n % 10:03d}",
            "actor": "palette-sync",
            "action": "health",
            "severity": "info",
            "message": f"message {n}",
        }
        values.update(fields)
        rows.append(TimelineEntry(**values))
    return TimelineEntry.objects.bulk_create(rows)


@pytest.fixture
def timeline_rows(account: PaletteAccount) -> list[TimelineEntry]:
    return entries(account, 130)


def shown(response: object) -> list[int]:
    return [e.pk for e in response.context["page"].rows]


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_full_page(member: Client, timeline_rows: list, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(8):
        response = member.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and 'id="filters"' in body and 'id="table"' in body
    assert "50 entries, newest first" in body
    # Newest first, ties by id: the 50 newest are rows 0-47 and two of the three at row 48's moment.
    assert ">message 0<" in body and ">message 50<" in body
    assert ">message 48<" not in body and ">message 51<" not in body
    assert "HX-Request" in response["Vary"]


def test_it_renders_only_the_table_for_htmx(member: Client, timeline_rows: list) -> None:
    response = member.get(URL, {"kind": "audit"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="filters"' not in body
    assert body.lstrip().startswith('<section id="table"')
    assert 'id="filter-notes"' in body and 'hx-swap-oob="true"' in body
    assert "HX-Request" in response["Vary"]


def test_it_gives_a_history_restore_the_full_page(member: Client, timeline_rows: list) -> None:
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    body = member.get(URL, {"kind": "audit"}, headers=headers).content.decode()
    assert "<html" in body and 'id="filters"' in body


def test_it_keeps_its_queries_whatever_the_rows(
    member: Client, account: PaletteAccount, project: Project, django_assert_max_num_queries
) -> None:
    entries(account, 60)
    params = {"subject": "store", "project": project.pk, "account": account.pk, "kind": "audit"}
    with django_assert_max_num_queries(11) as few:  # +1: the user's groups (role and scope, dashboard/access.py)
        member.get(URL, params)
    entries(account, 1500, start=60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        member.get(URL, params)
    with django_assert_max_num_queries(len(few.captured_queries)):
        member.get(URL, params, headers={"HX-Request": "true"})


def test_it_walks_every_row_exactly_once_with_ties(member: Client, timeline_rows: list) -> None:
    seen: list[int] = []
    response = member.get(URL)
    while True:
        seen += shown(response)
        older = response.context["page"].older
        if not older:
            break
        response = member.get(URL, {"before": older})
    expected = list(
        TimelineEntry.objects.order_by("-occurred_at", "-id").values_list("pk", flat=True)
    )  # 130 rows, 3 to a timestamp
    assert seen == expected
    assert len(set(seen)) == 130


def test_it_pages_back_to_newer_rows(member: Client, timeline_rows: list) -> None:
    first = member.get(URL)
    second = member.get(URL, {"before": first.context["page"].older})
    third = member.get(URL, {"before": second.context["page"].older})
    assert len(shown(third)) == 30 and not third.context["page"].older
    back = member.get(URL, {"after": third.context["page"].newer})
    assert shown(back) == shown(second)
    assert "← Newer" in back.content.decode() and "Older →" in back.content.decode()
    newest = member.get(URL, {"after": back.context["page"].newer})  # fewer than a page above: the newest page
    assert shown(newest) == shown(first)


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_it_walks_both_ways_at_any_page_size(account: PaletteAccount, size: int) -> None:
    entries(account, 23)
    queryset = TimelineEntry.objects.all()
    expected = list(queryset.order_by("-occurred_at", "-id").values_list("pk", flat=True))
    pages = [keyset.page(queryset, size)]
    while pages[-1].older:
        pages.append(keyset.page(queryset, size, before=pages[-1].older))
    assert [e.pk for p in pages for e in p.rows] == expected
    for n in range(len(pages) - 2, 0, -1):  # and back up by the newer cursors
        assert [e.pk for e in keyset.page(queryset, size, after=pages[n + 1].newer).rows] == [
            e.pk for e in pages[n].rows
        ]


@pytest.mark.parametrize("cursor", ["garbage", "x" * 500, "a\x00b", "%%%"])
def test_it_shows_the_newest_page_for_a_garbled_cursor(member: Client, timeline_rows: list, cursor: str) -> None:
    response = member.get(URL, {"before": cursor})
    assert response.status_code == 200
    assert "That page link is garbled or was altered" in response.content.decode()
    assert shown(response) == shown(member.get(URL))


def test_it_refuses_a_tampered_cursor(member: Client, timeline_rows: list) -> None:
    older = member.get(URL).context["page"].older
    payload, _, signature = older.partition(":")
    forged = signing_forgery(older)
    for cursor in (forged, payload + ":" + signature[::-1], older[:-2]):
        response = member.get(URL, {"before": cursor})
        assert response.status_code == 200
        assert "garbled or was altered" in response.content.decode()
    assert "garbled" not in member.get(URL, {"before": older}).content.decode()


def signing_forgery(cursor: str) -> str:
    """The same signature on a cursor that points elsewhere."""
    import base64

    payload, sep, rest = cursor.partition(":")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    moment, _, pk = text.strip('"').partition("|")
    forged = base64.urlsafe_b64encode(f'"{moment}|{int(pk) + 1}"'.encode()).decode().rstrip("=")
    return forged + sep + rest


def test_it_filters_by_kind(member: Client, timeline_rows: list) -> None:
    response = member.get(URL, {"kind": "edge"})
    assert {e.kind for e in response.context["page"].rows} == {"edge"}
    assert len(shown(response)) == 32
    both = member.get(URL, {"kind": ["audit", "event"]})
    assert {e.kind for e in both.context["page"].rows} == {"audit", "event"}


def test_it_filters_by_severity(member: Client, account: PaletteAccount) -> None:
    entries(account, 3, severity="info")
    entries(account, 2, start=3, severity="Warning")
    entries(account, 2, start=5, severity="warning")
    entries(account, 1, start=7, severity="")
    assert len(shown(member.get(URL, {"severity": "warning"}))) == 4
    assert len(shown(member.get(URL, {"severity": "unknown"}))) == 1
    assert len(shown(member.get(URL, {"severity": ["info", "unknown"]}))) == 4
    assert "not one of the available choices" in member.get(URL, {"severity": "<b>"}).content.decode()


def test_it_filters_by_account_and_project(member: Client, account: PaletteAccount, project: Project) -> None:
    other = PaletteAccount.objects.create(name="other", api_url="https://other.example")
    entries(account, 4, project=project)
    entries(account, 3, start=4)
    entries(other, 2, start=7)
    assert len(shown(member.get(URL, {"account": account.pk}))) == 7
    assert len(shown(member.get(URL, {"account": other.pk}))) == 2
    assert len(shown(member.get(URL, {"project": project.pk}))) == 4
    body = member.get(URL, {"project": "nope"}).content.decode()
    assert "Project:" in body and "This filter was not applied." in body


def test_it_filters_by_subject_uid_or_name(member: Client, account: PaletteAccount, project: Project) -> None:
    now = timezone.now()
    Cluster.objects.create(
        account=account, uid=CLUSTER_UID, name="depot-madrid-01", project=project, first_seen_at=now, last_seen_at=now
    )
    entries(account, 5, subject_uid=CLUSTER_UID, subject_name="depot-madrid-01", subject_kind="spectrocluster")
    entries(account, 7, start=5)
    assert len(shown(member.get(URL, {"subject": CLUSTER_UID}))) == 5
    assert len(shown(member.get(URL, {"subject": "MADRID"}))) == 5  # a name search, any case
    assert len(shown(member.get(URL, {"q": "madrid"}))) == 5  # the search box
    assert len(shown(member.get(URL, {"subject": "uid-7"}))) == 1  # a subject not in the inventory, by uid
    assert shown(member.get(URL, {"subject": "nothing-like-it"})) == []
    assert "Nothing on the timeline matches these filters." in member.get(URL, {"subject": "zzz"}).content.decode()


def test_it_looks_names_up_only_among_the_chosen_kind(
    member: Client, account: PaletteAccount, django_assert_max_num_queries
) -> None:
    now = timezone.now()
    Cluster.objects.create(account=account, uid="c-madrid", name="depot-madrid", first_seen_at=now, last_seen_at=now)
    entries(account, 2, subject_uid="c-madrid", subject_kind="cluster")
    entries(account, 3, start=2)
    with CaptureQueriesContext(connection) as queries:
        response = member.get(URL, {"subject": "madrid", "subject_kind": "cluster"}, headers={"HX-Request": "true"})
    assert len(shown(response)) == 2
    lookups = [q["sql"] for q in queries.captured_queries if "UNION" in q["sql"] or "dashboard_cluster" in q["sql"]]
    assert lookups and all("dashboard_edgehost" not in sql for sql in lookups)


def test_it_walks_an_index_not_a_distinct_sort(member: Client, account: PaletteAccount, project: Project) -> None:
    entries(account, 3, project=project)
    with CaptureQueriesContext(connection) as queries:
        member.get(URL, {"kind": "audit", "account": account.pk, "project": project.pk}, headers={"HX-Request": "true"})
    timeline_sql = [q["sql"] for q in queries.captured_queries if "dashboard_timelineentry" in q["sql"]]
    assert timeline_sql and not any("DISTINCT" in sql for sql in timeline_sql)
    assert all("COUNT(" not in sql and "OFFSET" not in sql for sql in timeline_sql)


def test_it_says_when_a_name_matches_too_much(member: Client, account: PaletteAccount, monkeypatch) -> None:
    monkeypatch.setattr("dashboard.filters.SUBJECT_LIMIT", 2)
    now = timezone.now()
    for n in range(4):
        Cluster.objects.create(account=account, uid=f"c{n}", name=f"store-{n}", first_seen_at=now, last_seen_at=now)
    body = member.get(URL, {"subject": "store"}).content.decode()
    assert "names more than 2 clusters" in body


def test_it_filters_by_subject_kind(member: Client, account: PaletteAccount) -> None:
    entries(account, 2, subject_kind="cluster")
    entries(account, 3, start=2, subject_kind="spectrocluster")
    entries(account, 4, start=5, subject_kind="clusterprofile")
    entries(account, 5, start=9, subject_kind="edgehost")
    assert len(shown(member.get(URL, {"subject_kind": "cluster"}))) == 5  # both spellings
    assert len(shown(member.get(URL, {"subject_kind": "profile"}))) == 4  # the short name
    assert len(shown(member.get(URL, {"subject_kind": "clusterprofile"}))) == 4
    assert len(shown(member.get(URL, {"subject_kind": "EdgeHost"}))) == 5
    response = member.get(URL, {"subject_kind": "spaceship"})
    assert response.status_code == 200 and len(shown(response)) == 14
    assert "Subject kind:" in response.content.decode()


def test_it_filters_by_actor(member: Client, account: PaletteAccount) -> None:
    entries(account, 3, actor="ana@example.com")
    entries(account, 4, start=3)
    assert len(shown(member.get(URL, {"actor": "ana@example.com"}))) == 3
    assert shown(member.get(URL, {"actor": "ana"})) == []  # exact, as the index wants


def test_it_filters_by_time_range(member: Client, timeline_rows: list) -> None:
    fmt = "%Y-%m-%dT%H:%M"
    since = timezone.localtime(BASE - timedelta(minutes=2)).strftime(fmt)
    until = timezone.localtime(BASE - timedelta(minutes=1)).strftime(fmt)
    response = member.get(URL, {"since": since, "until": until})
    moments = [e.occurred_at for e in response.context["page"].rows]
    low = datetime.strptime(since, fmt).replace(tzinfo=timezone.get_current_timezone())
    high = datetime.strptime(until, fmt).replace(tzinfo=timezone.get_current_timezone())
    assert moments and all(low <= m <= high for m in moments)
    assert len(moments) == TimelineEntry.objects.filter(occurred_at__gte=low, occurred_at__lte=high).count() >= 15


def test_it_drops_a_bad_since_with_a_message(member: Client, timeline_rows: list) -> None:
    response = member.get(URL, {"since": "yesterday", "kind": "audit"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Since: Enter a valid date/time. This filter was not applied." in body
    assert {e.kind for e in response.context["page"].rows} == {"audit"}  # the other filters still apply
    assert len(shown(response)) == 33


@pytest.mark.parametrize("name", ["subject", "q", "actor", "since", "subject_kind"])
def test_it_refuses_a_nul_byte_with_a_message(member: Client, timeline_rows: list, name: str) -> None:
    response = member.get(URL + f"?{name}=store%00x")
    assert response.status_code == 200
    assert "This filter was not applied." in response.content.decode()
    assert len(shown(response)) == 50


def test_it_escapes_hostile_strings(member: Client, account: PaletteAccount) -> None:
    hostile = '<script>alert("x")</script>'
    entries(account, 1, subject_name=hostile, message=hostile, actor=hostile, action=hostile, severity="<i>x</i>")
    body = member.get(URL).content.decode()
    assert hostile not in body and "<i>x</i>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert hostile not in member.get(URL, {"subject": hostile}).content.decode()


def test_it_links_each_subject_to_its_page(member: Client, account: PaletteAccount) -> None:
    entries(account, 1, subject_kind="spectrocluster", subject_uid=CLUSTER_UID)
    entries(account, 1, start=1, subject_kind="edgehost", subject_uid="edge-1")
    entries(account, 1, start=2, subject_kind="clusterprofile", subject_uid="prof-1")
    entries(account, 1, start=3, subject_kind="user", subject_uid="user-1")
    entries(account, 1, start=4, subject_kind="cluster", subject_uid="a/b")  # no detail URL can hold it
    body = member.get(URL).content.decode()
    assert f'href="{reverse("dashboard:cluster_detail", args=[CLUSTER_UID])}"' in body
    assert f'href="{reverse("dashboard:edgehost_detail", args=["edge-1"])}"' in body
    assert f'href="{reverse("dashboard:profile_detail", args=["prof-1"])}"' in body
    assert f'href="{URL}?subject=user-1"' in body
    assert f'href="{URL}?subject=a/b"' in body


def test_it_names_each_subject_kind_and_what_is_missing(member: Client, account: PaletteAccount) -> None:
    entries(account, 1, subject_kind="spectrocluster", subject_uid=CLUSTER_UID, subject_name="store-1")
    entries(account, 1, start=1, subject_kind="edgehost", subject_uid="edge-1", subject_name="")
    entries(account, 1, start=2, subject_kind="clusterprofile", subject_uid="prof-1", subject_name="edge-base")
    entries(account, 1, start=3, subject_kind="api_key", subject_uid="", subject_name="", severity="", actor="")
    rows = {
        tr.split('"', 1)[0]: tr
        for tr in member.get(URL).content.decode().split('<tr class="kind-')[1:]  # one per entry: kinds in turn
    }
    assert '>store-1</a> <small class="muted">cluster</small>' in rows["audit"]
    assert '>edge-1</a> <small class="muted">edge host</small>' in rows["event"]  # no name: its uid
    assert '>edge-base</a> <small class="muted">cluster profile</small>' in rows["transition"]
    edge = rows["edge"]
    assert '<td class="subject">— <small class="muted">api key</small></td>' in edge
    assert '<td class="actor">—</td>' in edge and '<td><span class="muted">—</span></td>' in edge  # no severity
    assert "Edge" in edge and "tone-" in edge  # the kind as a badge, text beside its colour


def test_it_saves_and_lists_views(operator: Client, timeline_rows: list) -> None:
    body = operator.get(URL, {"kind": "audit", "before": "x"}).content.decode()
    assert 'name="query" value="kind=audit" form="save-view"' in body
    assert f'name="page" value="{SavedView.Page.TIMELINE}"' in body
    response = operator.post(
        reverse("dashboard:savedview_create"), {"page": "timeline", "name": "audits", "query": "kind=audit"}
    )
    assert response["Location"] == f"{URL}?kind=audit"
    assert ">audits</a>" in operator.get(URL).content.decode()


def test_it_exports_the_filtered_view_as_csv(member: Client, account: PaletteAccount) -> None:
    entries(account, 5, kind="audit", message="=HYPERLINK(1)")
    entries(account, 70, start=5, kind="event")
    response = member.get(URL, {"kind": "event", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Occurred at", "Kind", "Severity"]
    assert len(rows) == 71 and {r[1] for r in rows[1:]} == {"event"}  # every page, not just the first
    audits = member.get(URL, {"kind": "audit", "export": "csv"})
    lines = list(csv.reader(io.StringIO(b"".join(audits.streaming_content).decode())))
    assert lines[1][-1] == "'=HYPERLINK(1)"  # a formula is defused


def test_it_bounds_the_csv_export(member: Client, timeline_rows: list, monkeypatch) -> None:
    monkeypatch.setattr(timeline, "EXPORT_LIMIT", 10)
    response = member.get(URL, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 12
    assert rows[-1][0].startswith("# cut at 10 rows")


def test_it_says_when_there_is_nothing_yet(member: Client) -> None:
    body = member.get(URL).content.decode()
    assert "Nothing recorded yet" in body
    assert "Older →" not in body


def test_it_shows_the_synced_timeline(member: Client, synced_fleet: object, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(8):
        response = member.get(URL)
    assert response.status_code == 200
    assert len(shown(response)) == 50 and response.context["page"].older
    kinds = set(TimelineEntry.objects.values_list("kind", flat=True).distinct())
    assert {"audit", "event", "transition"} <= kinds
    for kind in ("audit", "event", "transition"):
        page = member.get(URL, {"kind": kind}).context["page"]
        assert page.rows and {e.kind for e in page.rows} == {kind}
    clusters = member.get(URL, {"subject_kind": "cluster"}).context["page"].rows
    assert clusters and {e.subject_kind.lower() for e in clusters} <= {"cluster", "spectrocluster"}
