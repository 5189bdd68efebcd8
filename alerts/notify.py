"""Delivery: the messages alerts owe, sent to every channel, retried until each channel has them.

Channels come from the environment: ALERT_WEBHOOK_URLS (a plain JSON POST of the alert) and
ALERT_URLS (apprise: Slack, Teams, e-mail and the rest). A message counts as sent once every
channel took it; a channel that failed is tried again later, with a backoff, and never given up
on, so a resolved message is never lost. Channels that already have a message do not get it again.
During quiet hours nothing is sent: messages wait, and go out when the quiet hours end.
"""

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import apprise
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a deliverer that died mid-send leaves its claim to lapse
FIRST_RETRY = 30  # seconds; doubled on each failure up to ALERT_RETRY_MAX


class AlertDeliveryError(Exception):
    """A channel did not take a message. The text never carries the channel's URL (it holds secrets)."""


@dataclass(frozen=True)
class Message:
    """What one alert has to say now: its problem, or that the problem ended."""

    alert: Alert

    @property
    def resolved(self) -> bool:
        return self.alert.state == Alert.State.RESOLVING

    @property
    def title(self) -> str:
        return f"{'RESOLVED' if self.resolved else 'PROBLEM'}: {self.alert.subject}"

    @property
    def body(self) -> str:
        a = self.alert
        if self.resolved:
            return f"Resolved at {stamp(a.resolved_at)} (since {stamp(a.since)}): {a.message}"
        return f"{a.message} (since {stamp(a.since)})"

    def payload(self) -> dict:
        a = self.alert
        return {
            "event": "resolved" if self.resolved else "problem",
            "kind": a.kind,
            "key": a.key,
            "title": self.title,
            "message": a.message,
            "subject": a.subject,
            "account": a.account.name if a.account else None,
            "project": a.project.name if a.project else None,
            "since": a.since.isoformat(),
            "opened_at": a.opened_at.isoformat(),
            "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        }


def stamp(moment: datetime) -> str:
    return f"{timezone.localtime(moment, ZoneInfo(settings.ALERT_TIMEZONE)):%Y-%m-%d %H:%M %Z}"


@dataclass(frozen=True)
class Channel:
    """One destination. `id` is a digest of its URL: recorded per alert, it never reveals the URL."""

    name: str
    id: str
    send: Callable[[Message], None]


def split_urls(value: str) -> list[str]:
    """URLs separated by whitespace, or by a comma that comes before the next scheme (an apprise
    mailto:// URL may itself hold commas between recipients)."""
    pieces = re.split(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)", value.strip())
    return [u for u in (p.strip(",") for p in pieces) if u]


def digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def channels() -> list[Channel]:
    """The channels the environment names, webhooks first."""
    found = [
        Channel(f"webhook {i + 1}", digest(url), webhook_sender(url))
        for i, url in enumerate(split_urls(settings.ALERT_WEBHOOK_URLS))
    ]
    for i, url in enumerate(split_urls(settings.ALERT_URLS)):
        scheme = url.split("://", 1)[0].lower() if "://" in url else "apprise"
        found.append(Channel(f"{scheme} ({i + 1})", digest(url), apprise_sender(url, f"ALERT_URLS entry {i + 1}")))
    return found


def webhook_sender(url: str) -> Callable[[Message], None]:
    def send(message: Message) -> None:
        try:
            response = httpx.post(url, json=message.payload(), timeout=settings.ALERT_TIMEOUT)
        except httpx.HTTPError as exc:
            raise AlertDeliveryError(f"webhook: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise AlertDeliveryError(f"webhook: HTTP {response.status_code}")

    return send


def apprise_sender(url: str, label: str) -> Callable[[Message], None]:
    def send(message: Message) -> None:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise AlertDeliveryError(f"{label} is not a URL apprise understands")
        kind = apprise.NotifyType.SUCCESS if message.resolved else apprise.NotifyType.FAILURE
        if not notifier.notify(title=message.title, body=message.body, notify_type=kind):
            raise AlertDeliveryError(f"{label}: apprise could not deliver (see its log)")

    return send


class RedactAlertUrls(logging.Filter):
    """Apprise logs a URL it cannot read as is; the URLs hold tokens and passwords, so its log lines
    name the entry instead (installed on the "apprise" logger by AlertsConfig.ready)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for i, url in enumerate(split_urls(settings.ALERT_URLS)):
            text = text.replace(url, f"<ALERT_URLS entry {i + 1}>")
        record.msg, record.args = text, ()
        return True


def quiet_window() -> tuple[time, time] | None:
    """ALERT_QUIET_HOURS "HH:MM-HH:MM" (it may span midnight), or None."""
    value = settings.ALERT_QUIET_HOURS.strip()
    if not value:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", value)
    if not match:
        raise ImproperlyConfigured(f"ALERT_QUIET_HOURS must read like 22:00-07:00, not {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ImproperlyConfigured(f"ALERT_QUIET_HOURS: {exc}") from None


def quiet(now: datetime) -> bool:
    """Whether `now` falls within the quiet hours, on the ALERT_TIMEZONE clock."""
    window = quiet_window()
    if window is None:
        return False
    start, end = window
    local = timezone.localtime(now, ZoneInfo(settings.ALERT_TIMEZONE)).time()
    return start <= local < end if start <= end else (local >= start or local < end)


def due(now: datetime) -> Q:
    """Alerts that owe a message now."""
    owed = Q(state=Alert.State.PENDING, notify_after__lte=now) | Q(state=Alert.State.RESOLVING)
    return owed & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def deliver(now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Send what is due (at most `limit` messages), unless it is quiet hours or there is no channel."""
    now = now or timezone.now()
    figures = {"sent": 0, "failed": 0, "held": 0}
    targets = channels()
    pending = Alert.objects.filter(due(now))
    if quiet(now) or not targets:
        figures["held"] = pending.count()
        return figures
    ids = list(pending.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[: limit or settings.ALERT_BATCH])
    down: set[str] = set()  # channels that failed in this pass are not tried again in it (one timeout, not 200)
    for alert_id in ids:
        alert = claim(alert_id, now)
        if alert is None:
            continue  # another deliverer has it, or it changed since
        ok = send_one(alert, targets, now, down)
        figures["sent" if ok else "failed"] += 1
    return figures


def claim(alert_id: int, now: datetime) -> Alert | None:
    """Take an alert for sending: a conditional update that exactly one deliverer wins."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if not Alert.objects.filter(due(now), free, pk=alert_id).update(claimed_until=now + LEASE):
        return None
    return Alert.objects.select_related("account", "project").get(pk=alert_id)


def send_one(alert: Alert, targets: list[Channel], now: datetime, down: set[str] | None = None) -> bool:
    """Send one alert's message to the channels that do not have it yet; record how it went.

    A channel in `down` failed earlier in this pass: it counts as failed without being tried.
    """
    message = Message(alert)
    delivered, errors, down = list(alert.delivered), [], down if down is not None else set()
    for channel in targets:
        if channel.id in delivered:
            continue
        if channel.id in down:
            errors.append(f"{channel.name}: not tried, it failed earlier in this pass")
            continue
        try:
            channel.send(message)
            delivered.append(channel.id)
        except AlertDeliveryError as exc:
            down.add(channel.id)
            errors.append(str(exc))
            log.warning("alert %s: %s not delivered to %s: %s", alert.pk, message.title, channel.name, exc)
    if errors:
        wait = min(FIRST_RETRY * 2**alert.attempts, settings.ALERT_RETRY_MAX)
        Alert.objects.filter(pk=alert.pk).update(
            delivered=delivered,
            attempts=alert.attempts + 1,
            next_attempt_at=now + timedelta(seconds=wait),
            last_error="; ".join(errors)[:2000],
            claimed_until=None,
        )
        return False
    mark_sent(alert, now)
    log.info("alert %s: %s sent to %d channels", alert.pk, message.title, len(targets))
    return True


def mark_sent(alert: Alert, now: datetime) -> None:
    """Record a message as sent. A problem resolved while its problem message was on its way was
    closed as untold by the evaluation; it was told after all, so it owes its resolved message."""
    reset = {"delivered": [], "attempts": 0, "next_attempt_at": None, "last_error": "", "claimed_until": None}
    if alert.state == Alert.State.RESOLVING:
        Alert.objects.filter(pk=alert.pk).update(state=Alert.State.CLOSED, resolve_notified_at=now, **reset)
        return
    if Alert.objects.filter(pk=alert.pk, state=Alert.State.PENDING).update(
        state=Alert.State.NOTIFIED, notified_at=now, **reset
    ):
        return
    Alert.objects.filter(pk=alert.pk, state=Alert.State.CLOSED, notified_at__isnull=True).update(
        state=Alert.State.RESOLVING, notified_at=now, **reset
    )
