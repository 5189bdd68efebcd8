"""The sync page: summary, freshness per source, last runs, backfill progress and its polling partial."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.models import PaletteAccount, Project, SyncRun, SyncScope
from dashboard.views import sync

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:sync_status")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


@pytest.fixture
def project(account: PaletteAccount) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid="p1", name="retail-edge", first_seen_at=now, last_seen_at=now)


def scope(account: PaletteAccount, resource: str, project: Project | None = None, **fields: object) -> SyncScope:
    """A scope whose last run finished `age` ago with `status`."""
    age = fields.pop("age", timedelta(minutes=2))
    status = fields.pop("status", SyncRun.Status.OK)
    started = timezone.now() - age
    run = SyncRun.objects.create(
        account=account,
        resource=resource,
        project=project,
        status=status,
        started_at=started,
        finished_at=started + timedelta(seconds=42),
        items=fields.pop("items", 120),
        requests=fields.pop("requests", {"/v1/dashboard": 3}),
        throttled=fields.pop("throttled", 0),
        errors=fields.pop("errors", []),
    )
    values = {
        "last_run": run,
        "last_status": status,
        "last_finished_at": run.finished_at,
        "ok_started_at": started if status == SyncRun.Status.OK else None,
        **fields,
    }
    return SyncScope.objects.create(account=account, resource=resource, project=project, **values)


@pytest.fixture
def scopes(account: PaletteAccount, project: Project) -> dict[str, SyncScope]:
    stale = timedelta(seconds=3 * settings.PALETTE_SYNC_INTERVAL)
    return {
        "projects": scope(account, "projects"),
        "clusters": scope(account, "clusters", project, requests={"/v1/dashboard": 1250, "/v1/spectroclusters": 7}),
        "edgehosts": scope(account, "edgehosts", project, age=stale),
        "audits": scope(account, "audits", status=SyncRun.Status.PARTIAL, throttled=4, errors=["429 twice"]),
        "events": scope(
            account,
            "events",
            project,
            status=SyncRun.Status.FAILED,
            errors=[f"error number {n}" for n in range(6)],
            last_error="error number 0",
        ),
    }


def body_of(response: object) -> str:
    return response.content.decode()


def test_it_sends_anonymous_users_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_full_page(member: Client, scopes: dict, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(7):
        response = member.get(URL)
    body = body_of(response)
    assert response.status_code == 200
    assert "<html" in body and '<section id="sync-status"' in body
    assert "HX-Request" in response["Vary"]
    summary = dict(response.context["summary"])
    assert summary == {"ok": 2, "stale": 1, "partial": 1, "failed": 1, "running": 0}
    assert '<span class="n">2</span><span class="what">scopes fresh' in body
    assert "<code>/v1/dashboard</code> 1,250" in body and "<code>/v1/spectroclusters</code> 7" in body
    assert "took 42 s" in body
    assert "retail-edge" in body and "tenant" in body


def test_it_keeps_its_queries_whatever_the_scopes(
    member: Client, account: PaletteAccount, scopes: dict, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(7) as few:
        member.get(URL)
    now = timezone.now()
    for n in range(30):
        extra = Project.objects.create(account=account, uid=f"x{n}", name=f"p{n}", first_seen_at=now, last_seen_at=now)
        scope(account, "clusters", extra)
    with django_assert_max_num_queries(len(few.captured_queries)):
        member.get(URL)
    with django_assert_max_num_queries(len(few.captured_queries)):
        member.get(URL, headers=HTMX)


def test_it_says_how_fresh_each_source_is(member: Client, scopes: dict) -> None:
    response = member.get(URL)
    # In the sync's order, whichever sources have problems (the scope list below puts problems first).
    assert [s.name for s in response.context["sources"]] == ["Projects", "Clusters", "Edge hosts", "Audits", "Events"]
    sources = {s.name: s for s in response.context["sources"]}
    assert sources["Edge hosts"].problems == 1
    assert sources["Clusters"].problems == 0
    assert sources["Audits"].problems == 1
    body = body_of(response)
    spoken = sync.spoken(timedelta(seconds=2 * settings.PALETTE_SYNC_INTERVAL))
    assert f"stale after {spoken} without a complete listing" in body
    assert "problems</span> in 1 of 1" in body
    assert "Some of this page's data may not be current." in body  # the banner


def test_it_shows_the_first_errors_and_the_rest_on_demand(member: Client, scopes: dict) -> None:
    body = body_of(member.get(URL))
    assert "<li>error number 2</li>" in body
    assert "<details><summary>3 more</summary>" in body and "<li>error number 5</li>" in body
    assert "429 twice" in body


def test_it_shows_only_problems_when_asked(member: Client, scopes: dict) -> None:
    response = member.get(URL, {"problems": "1"})
    shown = {row.scope.resource for _, rows in response.context["accounts"] for row in rows}
    assert shown == {"edgehosts", "audits", "events"}
    assert "Show every scope" in body_of(response)
    assert "problems=1" in response.context["poll_query"]


def test_it_says_when_nothing_has_a_problem(member: Client, account: PaletteAccount) -> None:
    scope(account, "projects")
    body = body_of(member.get(URL, {"problems": "1"}))
    assert "No scope has a problem." in body


def test_it_shows_a_running_backfill_and_polls_fast(member: Client, scopes: dict) -> None:
    SyncScope.objects.filter(pk=scopes["clusters"].pk).update(
        running_since=timezone.now() - timedelta(seconds=30), progress_items=1250, progress_total=4000
    )
    response = member.get(URL)
    body = body_of(response)
    assert "1,250 of 4,000" in body
    assert '<progress value="1250" max="4000">' in body
    assert 'hx-trigger="every 2s"' in body
    assert dict(response.context["summary"])["running"] == 1


def test_it_shows_progress_without_a_known_total(member: Client, scopes: dict) -> None:
    SyncScope.objects.filter(pk=scopes["clusters"].pk).update(
        running_since=timezone.now(), progress_items=300, progress_total=None
    )
    body = body_of(member.get(URL))
    assert "300 so far" in body and '<progress aria-label="total not known yet">' in body


def test_it_polls_slowly_when_idle(member: Client, scopes: dict) -> None:
    assert 'hx-trigger="every 30s"' in body_of(member.get(URL))


def test_it_answers_a_poll_with_204_until_something_changes(
    member: Client, scopes: dict, monkeypatch, django_assert_max_num_queries
) -> None:
    monkeypatch.setattr(sync, "minute", lambda: 1)  # the clock does not tick during the test
    running = SyncScope.objects.filter(pk=scopes["clusters"].pk)
    running.update(running_since=timezone.now(), progress_items=1250, progress_total=4000)
    page = member.get(URL)
    poll = f"{URL}?{page.context['poll_query']}"
    assert f'hx-get="{poll.replace("&", "&amp;")}"' in body_of(page)
    with django_assert_max_num_queries(4):
        unchanged = member.get(poll, headers=HTMX)
    assert unchanged.status_code == 204 and unchanged.content == b""
    assert "HX-Request" in unchanged["Vary"]

    running.update(progress_items=2500)
    with django_assert_max_num_queries(7) as polled:
        changed = member.get(poll, headers=HTMX)
    # The banner is outside the partial: a poll does not read it (its query is the one with a window).
    assert not any(" OVER " in q["sql"] for q in polled.captured_queries)
    body = body_of(changed)
    assert changed.status_code == 200
    assert body.lstrip().startswith('<section id="sync-status"') and "<html" not in body
    assert "2,500 of 4,000" in body and '<progress value="2500" max="4000">' in body
    assert f"v={changed.context['poll_query'].split('v=')[1]}" in body
    assert member.get(f"{URL}?{changed.context['poll_query']}", headers=HTMX).status_code == 204

    running.update(running_since=None, progress_items=4000, progress_total=None, last_finished_at=timezone.now())
    done = member.get(f"{URL}?{changed.context['poll_query']}", headers=HTMX)
    assert done.status_code == 200 and 'hx-trigger="every 30s"' in body_of(done)


def test_its_banner_says_what_the_other_pages_banner_says(member: Client, scopes: dict) -> None:
    """The sync page reads its banner from its own aggregate; it names and counts the same problems,
    as of the same listing, as `freshness` does for every other page."""
    from dashboard.freshness import EVERYTHING, freshness

    response = member.get(URL)
    shown, expected = response.context["freshness"], freshness(EVERYTHING)
    assert (
        shown.problem_count
        == expected.problem_count
        == 3
        == sum(dict(response.context["summary"])[h] for h in sync.PROBLEMS)
    )
    assert shown.as_of == expected.as_of and not shown.never_synced
    named = [(p.scope.resource, p.why) for p in shown.problems]
    assert named == [(p.scope.resource, p.why) for p in expected.problems] and len(named) == 3
    body = body_of(response)
    assert "acme · Events · retail-edge: the last sync failed: error number 0" in body


def test_it_gives_a_history_restore_the_full_page(member: Client, scopes: dict) -> None:
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    body = body_of(member.get(URL, {"v": "stale"}, headers=headers))
    assert "<html" in body


def test_it_escapes_hostile_strings(member: Client, account: PaletteAccount) -> None:
    hostile = '<script>alert("x")</script>'
    now = timezone.now()
    evil = Project.objects.create(account=account, uid="evil", name=hostile, first_seen_at=now, last_seen_at=now)
    scope(account, "clusters", evil, status=SyncRun.Status.FAILED, errors=[hostile], requests={hostile: 1})
    PaletteAccount.objects.filter(pk=account.pk).update(name=hostile[:100])
    body = body_of(member.get(URL))
    assert hostile not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_it_says_when_nothing_was_synced(member: Client) -> None:
    body = body_of(member.get(URL))
    assert "Nothing has been synced yet" in body


def test_it_shows_a_real_sync(member: Client, synced_fleet: object, django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(7):
        response = member.get(URL)
    assert response.status_code == 200
    summary = dict(response.context["summary"])
    assert summary["ok"] == SyncScope.objects.count() and summary["running"] == 0
    body = body_of(response)
    assert "Clusters" in body and "Audits" in body and "<code>/v1/dashboard</code>" in body


def test_it_lists_scopes_a_page_at_a_time_problems_first(member: Client, scopes: dict, monkeypatch) -> None:
    monkeypatch.setattr(sync, "PER_PAGE", 2)
    SyncScope.objects.filter(pk=scopes["clusters"].pk).update(running_since=timezone.now(), progress_items=5)
    first = member.get(URL)
    listed = [row.scope.resource for _, rows in first.context["accounts"] for row in rows]
    assert len(listed) == 2 and set(listed) <= {"clusters", "edgehosts", "audits", "events"}
    assert "Scopes 1–2 of 5, problems and running listings first" in body_of(first)
    pages = [listed]
    for number in (2, 3):
        response = member.get(URL, {"page": number})
        pages.append([row.scope.resource for _, rows in response.context["accounts"] for row in rows])
        assert f"page={number}&" in response.context["poll_query"]
    assert sorted(r for page in pages for r in page) == sorted(scopes)  # every scope, once
    assert pages[-1] == ["projects"]  # the only fine, idle scope comes last
    assert dict(first.context["summary"])["failed"] == 1  # the summary counts every scope, not the page


def test_sql_judges_each_scope_as_the_banner_does(account: PaletteAccount, project: Project) -> None:
    now = timezone.now()
    stale = now - timedelta(seconds=3 * settings.PALETTE_SYNC_INTERVAL)
    cases = {
        "projects": {"last_status": "ok", "ok_started_at": now},
        "clusters": {"last_status": "ok", "ok_started_at": stale},
        "profiles": {"last_status": SyncRun.Status.FAILED, "ok_started_at": now, "last_error": "boom"},
        "edgehosts": {"last_status": SyncRun.Status.PARTIAL, "ok_started_at": stale},
        "edge_api": {"running_since": now},  # a first listing running: pending, not a problem
        "audits": {},  # never complete, not running
        "events": {"last_status": "ok", "ok_started_at": now, "running_since": now},
    }
    for resource, fields in cases.items():
        SyncScope.objects.create(account=account, resource=resource, **fields)
    stale_after = timedelta(seconds=2 * settings.PALETTE_SYNC_INTERVAL)
    judged = {s.resource: s for s in sync.judged(SyncScope.objects.all(), now, stale_after)}
    assert {r: s.health for r, s in judged.items()} == {
        "projects": "ok",
        "clusters": "stale",
        "profiles": "failed",
        "edgehosts": "partial",
        "edge_api": "pending",
        "audits": "stale",
        "events": "ok",
    }
    for scope in judged.values():  # a problem in SQL exactly when the banner gives a reason
        assert (scope.health in sync.PROBLEMS) == bool(sync.problem(scope, now, stale_after)), scope.resource


def test_it_reads_its_scopes_again_only_when_its_version_moves(
    member: Client, scopes: dict, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within PALETTE_BANNER_SECONDS a request whose version is unchanged reuses the page of scopes and
    the banner's names (the aggregate alone is read); a run that ends moves the version, and the next
    request shows it at once."""
    from dashboard import freshness

    settings.PALETTE_BANNER_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(freshness.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(freshness, "_kept", {})
    monkeypatch.setattr(sync, "minute", lambda: 1)
    first = member.get(URL)
    assert "error number 0" in body_of(first)
    now[0] += 4
    with CaptureQueriesContext(connection) as again:
        body = body_of(member.get(URL))
    scope_reads = [q for q in again.captured_queries if "dashboard_syncscope" in q["sql"]]
    assert len(scope_reads) == 1 and "GROUP BY" in scope_reads[0]["sql"]  # the aggregate, nothing else
    assert not [q for q in again.captured_queries if "dashboard_syncrun" in q["sql"]]
    assert "error number 0" in body and "acme · Events · retail-edge: the last sync failed" in body

    events = scopes["events"]
    started = timezone.now()
    fixed = SyncRun.objects.create(  # the next run of the failed scope ends ok
        account=events.account, resource="events", project=events.project, status=SyncRun.Status.OK,
        started_at=started, finished_at=started + timedelta(seconds=3), requests={"/v1/dashboard": 2},
    )  # fmt: skip
    SyncScope.objects.filter(pk=events.pk).update(
        last_run=fixed,
        last_status=fixed.status,
        last_finished_at=fixed.finished_at,
        ok_started_at=started,
        last_error="",
    )
    body = body_of(member.get(URL))  # within the seconds, but the version moved
    assert "error number 0" not in body and "Events · retail-edge: the last sync failed" not in body
    assert dict(member.get(URL).context["summary"])["failed"] == 0
