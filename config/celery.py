"""The Celery app and its beat schedule."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("palette_fleet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["palette_sync", "alerts", "retention"])

# Logs (README "Logs"): workers and beat log through Django's LOGGING rather than Celery's own format,
# and a task logs the request id of the request that queued it (django-structlog).
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def use_django_logging(**kwargs: object) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@app.on_after_configure.connect
def schedule_syncs(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    interval = settings.PALETTE_SYNC_INTERVAL
    # expires: a sync that waited a whole interval in the queue is superseded by the next one.
    sender.add_periodic_task(
        interval,
        sender.signature("palette_sync.sync_accounts"),
        name="sync all accounts",
        expires=interval,
    )
    # Edge hosts' own API on its own cadence: each tick hands out the hosts due before the next one.
    tick = settings.PALETTE_EDGE_TICK
    sender.add_periodic_task(
        tick, sender.signature("palette_sync.schedule_edge_probes"), name="edge host probes", expires=tick
    )


@app.on_after_configure.connect
def schedule_alerts_and_retention(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    # Alerts (README "Alerts"): evaluate, then send what is due; a late evaluation is superseded.
    alerts = settings.ALERT_INTERVAL
    sender.add_periodic_task(alerts, sender.signature("alerts.evaluate_alerts"), name="evaluate alerts", expires=alerts)
    # Retention (README "Retention"): a pass of short delete batches.
    retention = settings.RETENTION_INTERVAL
    sender.add_periodic_task(
        retention, sender.signature("retention.purge_old_rows"), name="purge old rows", expires=retention
    )
