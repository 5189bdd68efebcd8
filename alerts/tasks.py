"""Beat sends `alerts.evaluate_alerts` every ALERT_INTERVAL: open and resolve alerts, then send what is due."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from alerts import notify, rules


@shared_task(
    name="alerts.evaluate_alerts",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def evaluate_alerts() -> dict[str, int]:
    """One evaluation and one delivery pass, both bounded (ALERT_BATCH)."""
    return rules.evaluate() | notify.deliver()
