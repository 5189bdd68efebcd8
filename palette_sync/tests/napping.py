"""A task that only waits, for tests that need a worker's pool threads busy at the same time."""

import time

from celery import shared_task


@shared_task
def nap(seconds: float) -> None:
    time.sleep(seconds)
