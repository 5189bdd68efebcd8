"""`manage.py purge_old_rows`: one retention pass by hand (beat runs it every RETENTION_INTERVAL)."""

import json
import time

from django.core.management.base import BaseCommand

from retention import purge


class Command(BaseCommand):
    help = "Delete rows past their retention horizon (RETENTION_* settings), in short batches."

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--max-seconds", type=float, help="stop after this long (default RETENTION_MAX_SECONDS)")

    def handle(self, *args: object, max_seconds: float | None = None, **options: object) -> None:
        started = time.monotonic()
        deleted = purge.purge(max_seconds=max_seconds)
        self.stdout.write(json.dumps({"deleted": deleted, "seconds": round(time.monotonic() - started, 2)}))
