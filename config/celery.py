"""The Celery app and its beat schedule."""

import ctypes
import gc
import logging
import logging.config
import os
import platform

from celery import Celery
from celery.signals import celeryd_init, setup_logging, worker_process_init, worker_ready
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("palette_fleet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["palette_sync", "alerts", "retention"])

# Logs (README "Logs"): workers and beat log through Django's LOGGING rather than Celery's own format,
# and a task logs the request id of the request that queued it (django-structlog).
app.steps["worker"].add(DjangoStructLogInitStep)


M_ARENA_MAX = -8  # glibc's malloc.h
WORKER_ARENAS = 2


def cap_malloc_arenas(arenas: int = WORKER_ARENAS) -> int | None:
    """Let glibc keep at most `arenas` malloc arenas in this process; the cap in force, or None
    (not glibc, or mallopt refused).

    A threaded worker's tasks allocate in up to 8 arenas a core, and glibc keeps what is freed in
    each: the same runs peaked 55-80 MB higher without the cap (bench/README.md, `bench/scale.py`).
    Set by the worker itself, so no start script can forget it; MALLOC_ARENA_MAX in the
    environment, which glibc has read already, wins.
    """
    explicit = os.environ.get("MALLOC_ARENA_MAX", "").strip()
    if explicit:
        return int(explicit) if explicit.isdigit() else None
    if platform.libc_ver()[0] != "glibc":  # musl's mallopt does nothing; macOS has none
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return arenas if mallopt(M_ARENA_MAX, arenas) == 1 else None


ARENAS: int | None = None  # the cap this worker set


@celeryd_init.connect
def cap_worker_arenas(**kwargs: object) -> None:
    """The first thing a starting worker does, before its pool's threads (or processes, which
    inherit it) allocate."""
    global ARENAS
    ARENAS = cap_malloc_arenas()  # said once the worker logs (spare_the_collector), not before Celery's banner


# The sync parses and drops millions of small containers (listed items as JSON): at Python's default
# a young collection runs every 700 of them, and each full one also walks all the worker loaded to
# start. bench/sync.py's full sync, both workers: 2.1 CPU-seconds in the collector at the default,
# 1.25 frozen and at these thresholds.
GC_THRESHOLDS = (10_000, 10, 10)


@worker_ready.connect
@worker_process_init.connect
def spare_the_collector(**kwargs: object) -> None:
    """Once a worker (or a prefork child) has loaded what it runs on (modules, models, settings:
    about 150,000 objects), move that out of the cyclic collector's sight, as web processes do
    (config/wsgi.py), and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log = logging.getLogger("palette_sync.worker")
    log.info("malloc arenas: %s", f"at most {ARENAS}" if ARENAS else "glibc's default (mallopt not available)")
    log.info("collector: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())


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
