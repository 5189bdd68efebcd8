from django.core.management.base import BaseCommand, CommandError

from palette_sync import sync


class Command(BaseCommand):
    help = "Sync the configured Palette account into the database."

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--once", action="store_true", help="run one sync in this process, then exit")

    def handle(self, *args: object, once: bool, **options: object) -> None:
        if not once:
            raise CommandError("Only --once is supported here; scheduled syncs run under Celery beat.")
        runs = sync.sync_account(sync.default_account())
        for run in runs:
            where = f" {run.project.name}" if run.project else ""
            self.stdout.write(
                f"{run.resource}{where}: {run.status}, {run.items} items"
                + (f" ({'; '.join(run.errors)})" if run.errors else "")
            )
        if any(run.status != run.Status.OK for run in runs):
            raise CommandError("sync did not complete; see errors above")
