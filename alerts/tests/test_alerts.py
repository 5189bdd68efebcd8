"""Alerts end to end: problems in the database, evaluations, and messages arriving at a real HTTP
receiver on loopback (plain webhook and apprise)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts import notify, rules
from alerts.models import Alert
from alerts.tests.conftest import Receiver, cluster, project
from dashboard.models import Cluster, EdgeHost, PaletteAccount, SiteSummary, SyncRun, SyncScope

pytestmark = pytest.mark.django_db


def tick(now: object) -> dict:
    """What the beat task does: one evaluation, one delivery pass."""
    return rules.evaluate(now) | notify.deliver(now)


def test_it_notifies_a_problem_once(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    cluster(account, "pos-eu-2", health="Healthy", since=now - timedelta(minutes=20))

    assert tick(now)["sent"] == 1
    for minutes in (1, 2, 3, 30):
        tick(now + timedelta(minutes=minutes))

    assert webhook.events() == [("problem", "cluster pos-eu-1")]
    body = webhook.posts[0]["json"]
    assert body["kind"] == "cluster_unhealthy" and body["account"] == "acme" and body["resolved_at"] is None
    assert Alert.objects.get().state == Alert.State.NOTIFIED


def test_it_waits_for_the_grace_period(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=4))

    tick(now)
    tick(now + timedelta(minutes=5))
    assert webhook.posts == []

    tick(now + timedelta(minutes=7))
    assert webhook.events() == [("problem", "cluster pos-eu-1")]


def test_it_sends_one_resolved_message(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    row = cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    tick(now)
    Cluster.objects.filter(pk=row.pk).update(health="Healthy", health_since=now + timedelta(minutes=1))

    for minutes in (2, 3, 4):
        tick(now + timedelta(minutes=minutes))

    assert webhook.events() == [("problem", "cluster pos-eu-1"), ("resolved", "cluster pos-eu-1")]
    assert webhook.posts[1]["json"]["resolved_at"]
    alert = Alert.objects.get()
    assert alert.state == Alert.State.CLOSED and alert.resolve_notified_at is not None


def test_it_opens_a_new_alert_when_a_problem_comes_back(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    row = cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    tick(now)
    Cluster.objects.filter(pk=row.pk).update(health="Healthy")
    tick(now + timedelta(minutes=1))
    Cluster.objects.filter(pk=row.pk).update(health="UnHealthy", health_since=now + timedelta(minutes=2))
    tick(now + timedelta(minutes=13))

    assert [e for e, _ in webhook.events()] == ["problem", "resolved", "problem"]
    assert Alert.objects.count() == 2


def test_it_says_nothing_of_a_problem_that_ended_within_its_grace(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    row = cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    SiteSummary.objects.create(account=account, site="store-1", hosts=2, unhealthy=2, trouble=2)
    rules.evaluate(now)  # the site's grace begins
    SiteSummary.objects.all().update(unhealthy=0, trouble=0)
    Cluster.objects.filter(pk=row.pk).update(health="Healthy")
    tick(now + timedelta(minutes=11))

    assert webhook.posts == []
    assert set(Alert.objects.values_list("kind", "state")) == {
        (Alert.Kind.SITE_DARK, Alert.State.CLOSED),
        (Alert.Kind.CLUSTER_UNHEALTHY, Alert.State.CLOSED),
    }


def test_it_holds_messages_in_quiet_hours_and_sends_them_after(
    webhook: Receiver, account: PaletteAccount, settings: object
) -> None:
    settings.ALERT_TIMEZONE = "Europe/Paris"
    settings.ALERT_QUIET_HOURS = "22:00-07:00"
    night = timezone.datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Europe/Paris"))
    lasting = cluster(account, "pos-eu-1", health="UnHealthy", since=night - timedelta(minutes=20))
    cluster(account, "pos-eu-2", health="UnHealthy", since=night - timedelta(minutes=20))

    held = tick(night)
    assert held["held"] == 2 and webhook.posts == []
    Cluster.objects.exclude(pk=lasting.pk).update(health="Healthy")  # over before morning: never sent
    tick(night + timedelta(hours=7))  # 06:30, still quiet
    assert webhook.posts == []

    tick(night + timedelta(hours=8))  # 07:30
    assert webhook.events() == [("problem", "cluster pos-eu-1")]
    assert notify.quiet(night) and not notify.quiet(night + timedelta(hours=8))


def test_it_alerts_only_the_projects_it_is_told(webhook: Receiver, account: PaletteAccount, settings: object) -> None:
    settings.ALERT_PROJECTS = {"retail-eu", "uid-factory"}  # by name, or by uid
    now = timezone.now()
    since = now - timedelta(hours=1)
    cluster(account, "till-1", health="UnHealthy", since=since, proj=project(account, "retail-eu"))
    cluster(account, "press-1", health="UnHealthy", since=since, proj=project(account, "factory"))
    cluster(account, "mail-1", health="UnHealthy", since=since, proj=project(account, "corp"))

    tick(now)

    assert sorted(webhook.events()) == [("problem", "cluster press-1"), ("problem", "cluster till-1")]
    assert {p["json"]["project"] for p in webhook.posts} == {"retail-eu", "factory"}


def test_it_delivers_later_when_the_receiver_was_down(
    webhook: Receiver, account: PaletteAccount, caplog: object
) -> None:
    now = timezone.now()
    row = cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    webhook.stop()

    assert tick(now)["failed"] == 1
    alert = Alert.objects.get()
    assert alert.state == Alert.State.PENDING and alert.attempts == 1
    assert alert.last_error == "webhook: ConnectError"
    assert "secret-token-123" not in alert.last_error + caplog.text  # the URL (and its token) never shows

    tick(now + timedelta(seconds=10))  # before the retry is due: not tried
    assert Alert.objects.get().attempts == 1

    webhook.start()
    tick(now + timedelta(minutes=1))
    tick(now + timedelta(minutes=2))
    assert webhook.events() == [("problem", "cluster pos-eu-1")]
    assert Alert.objects.get().state == Alert.State.NOTIFIED

    Cluster.objects.filter(pk=row.pk).update(health="Healthy")
    webhook.stop()
    tick(now + timedelta(minutes=3))  # ended, and the resolved message cannot go out
    assert Alert.objects.get().state == Alert.State.RESOLVING
    webhook.start()
    tick(now + timedelta(minutes=10))
    assert webhook.events() == [("problem", "cluster pos-eu-1"), ("resolved", "cluster pos-eu-1")]
    assert Alert.objects.get().state == Alert.State.CLOSED


def test_it_resends_only_to_the_channel_that_failed(
    webhook: Receiver, account: PaletteAccount, settings: object
) -> None:
    down = Receiver()  # never started: refuses connections
    settings.ALERT_WEBHOOK_URLS = f"{webhook.url}, {down.url}"
    now = timezone.now()
    cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))

    tick(now)
    down.start()
    try:
        tick(now + timedelta(minutes=5))
    finally:
        down.stop()

    assert len(webhook.posts) == 1 and len(down.posts) == 1
    assert Alert.objects.get().state == Alert.State.NOTIFIED


def test_it_notifies_through_apprise(
    receiver: Receiver, account: PaletteAccount, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ALERT_WEBHOOK_URLS = ""
    settings.ALERT_URLS = f"json://127.0.0.1:{receiver.port}/apprise, bogus-not-a-url-secret"
    settings.ALERT_QUIET_HOURS = ""
    now = timezone.now()
    cluster(account, "pos-eu-<1>", health="UnHealthy", since=now - timedelta(minutes=20))

    tick(now)

    assert [p["path"] for p in receiver.posts] == ["/apprise"]
    body = receiver.posts[0]["json"]
    assert body["title"] == "PROBLEM: cluster pos-eu-<1>" and "is UnHealthy" in body["message"]
    alert = Alert.objects.get()  # the bad URL failed, by its position: the apprise one is not sent again
    assert alert.last_error == "ALERT_URLS entry 2 is not a URL apprise understands"
    assert len(alert.delivered) == 1
    assert "Unsupported URL: <ALERT_URLS entry 2>" in caplog.text and "url-secret" not in caplog.text


def test_it_alerts_a_dark_site_once_not_each_host(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    shop = project(account, "retail-eu")
    for i in range(3):
        EdgeHost.objects.create(
            account=account,
            uid=f"host-{i}",
            name=f"host-{i}",
            project=shop,
            site="store-7",
            health="unhealthy",
            health_since=now - timedelta(hours=1),
            first_seen_at=now,
            last_seen_at=now,
        )
    EdgeHost.objects.create(
        account=account,
        uid="lone",
        name="lone-host",
        project=shop,
        site="store-8",
        health="unhealthy",
        health_since=now - timedelta(hours=1),
        first_seen_at=now,
        last_seen_at=now,
    )
    SiteSummary.objects.create(account=account, project=shop, site="store-7", hosts=3, unhealthy=3, trouble=3)
    SiteSummary.objects.create(account=account, project=shop, site="store-8", hosts=2, unhealthy=1, trouble=1)

    tick(now)
    tick(now + timedelta(minutes=11))

    assert sorted(webhook.events()) == [("problem", "edge host lone-host"), ("problem", "edge site store-7")]
    EdgeHost.objects.filter(site="store-7").update(health="healthy")
    SiteSummary.objects.filter(site="store-7").delete()  # the recount rewrites the rows
    SiteSummary.objects.create(account=account, project=shop, site="store-7", hosts=3, healthy=3)
    tick(now + timedelta(minutes=12))
    assert webhook.events()[-1] == ("resolved", "edge site store-7") and len(webhook.posts) == 3


def test_it_alerts_a_stale_or_failing_source(webhook: Receiver, account: PaletteAccount, settings: object) -> None:
    settings.PALETTE_SYNC_INTERVAL = 300
    now = timezone.now()
    SyncScope.objects.create(account=account, resource="clusters", last_status="ok", ok_started_at=now)
    stale = SyncScope.objects.create(
        account=account, resource="audits", last_status="ok", ok_started_at=now - timedelta(minutes=11)
    )
    failing = SyncScope.objects.create(
        account=account,
        resource="profiles",
        last_status=SyncRun.Status.FAILED,
        last_error="PaletteServerError: 502",
        ok_started_at=now - timedelta(minutes=4),
    )

    tick(now)
    assert webhook.events() == [("problem", "sync of acme audits")]
    tick(now + timedelta(minutes=7))  # failing past the grace (its data is not stale yet)
    assert webhook.events()[-1] == ("problem", "sync of acme profiles")
    assert "PaletteServerError: 502" in webhook.posts[-1]["json"]["message"]

    SyncScope.objects.filter(pk__in=[stale.pk, failing.pk]).update(
        last_status="ok", ok_started_at=now + timedelta(minutes=8)
    )
    tick(now + timedelta(minutes=9))
    assert sorted(webhook.events()[2:]) == [("resolved", "sync of acme audits"), ("resolved", "sync of acme profiles")]


def test_it_claims_an_alert_for_one_deliverer_only(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    cluster(account, "pos-eu-1", health="UnHealthy", since=now - timedelta(minutes=20))
    rules.evaluate(now)
    alert = Alert.objects.get()

    assert notify.claim(alert.pk, now) is not None
    assert notify.claim(alert.pk, now) is None  # a second deliverer backs off
    assert notify.deliver(now)["sent"] == 0 and webhook.posts == []
    assert notify.deliver(now + notify.LEASE + timedelta(seconds=1))["sent"] == 1  # a dead claim lapses


def test_it_opens_at_most_a_batch_per_evaluation(webhook: Receiver, account: PaletteAccount, settings: object) -> None:
    settings.ALERT_BATCH = 3
    now = timezone.now()
    for i in range(5):
        cluster(account, f"c{i}", health="UnHealthy", since=now - timedelta(minutes=30 - i))

    assert rules.evaluate(now)["opened"] == 3
    assert rules.evaluate(now)["opened"] == 2
    assert rules.evaluate(now)["opened"] == 0
    assert list(Alert.objects.order_by("since").values_list("subject", flat=True)) == [
        f"cluster c{i}" for i in range(5)
    ]


def test_it_refuses_a_quiet_hours_setting_it_cannot_read(settings: object) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.ALERT_QUIET_HOURS = "after ten"
    with pytest.raises(ImproperlyConfigured, match="22:00-07:00"):
        notify.quiet(timezone.now())


def test_it_splits_urls_but_not_a_mail_urls_recipients() -> None:
    urls = "slack://a/b/c, mailto://u:p@example.com?to=a@example.com,b@example.com json://h/x"
    assert notify.split_urls(urls) == [
        "slack://a/b/c",
        "mailto://u:p@example.com?to=a@example.com,b@example.com",
        "json://h/x",
    ]


def test_it_alerts_a_wall_screen_that_stopped_polling(webhook: Receiver, django_user_model: type) -> None:
    from wall.models import Display

    now = timezone.now()
    owner = django_user_model.objects.create_user("ops")
    screens = []
    for name, seen_ago, revoked in (("Ops room", 15, None), ("Lobby", 2, None), ("Old TV", 60, now)):
        display = Display(
            name=name, created_by=owner, revoked_at=revoked, last_seen_at=now - timedelta(minutes=seen_ago)
        )
        display.new_token()
        display.save()
        screens.append(display)
    Display(name="Never set up", created_by=owner, token_hash="x" * 64).save()

    tick(now)
    assert webhook.events() == [("problem", "wall screen Ops room")]

    screens[0].seen(now + timedelta(minutes=1))  # it polls again
    tick(now + timedelta(minutes=2))
    assert webhook.events()[-1] == ("resolved", "wall screen Ops room") and len(webhook.posts) == 2


def test_it_tries_a_channel_that_is_down_once_per_pass(webhook: Receiver, account: PaletteAccount) -> None:
    now = timezone.now()
    for i in range(3):
        cluster(account, f"c{i}", health="UnHealthy", since=now - timedelta(minutes=20))
    webhook.stop()

    assert tick(now)["failed"] == 3
    errors = sorted(Alert.objects.values_list("last_error", flat=True))
    assert errors.count("webhook: ConnectError") == 1  # one connection attempt, not one per alert
    assert errors.count("webhook 1: not tried, it failed earlier in this pass") == 2

    webhook.start()
    tick(now + timedelta(minutes=1))
    assert sorted(webhook.events()) == [("problem", f"cluster c{i}") for i in range(3)]
