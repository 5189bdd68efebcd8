from django.core.management.base import BaseCommand, CommandError

from dashboard.models import PaletteAccount
from palette_sync import sync
from palette_sync.sync.runs import ALLOW_MASS_REMOVAL


class Command(BaseCommand):
    help = "Sync Palette accounts into the database, once, in this process."

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--once", action="store_true", help="run one sync in this process, then exit")
        parser.add_argument("--account", help="the account to sync (default: the PALETTE_API_URL one)")
        parser.add_argument(
            "--allow-mass-removal",
            action="store_true",
            help="remove rows even when more than PALETTE_REMOVAL_MAX_SHARE of a scope vanished at once "
            "(only after checking that Palette really removed them)",
        )

    def handle(
        self, *args: object, once: bool, account: str | None, allow_mass_removal: bool, **options: object
    ) -> None:
        if not once:
            raise CommandError("Only --once is supported here; scheduled syncs run under Celery beat.")
        if account:
            try:
                target = PaletteAccount.objects.get(name=account)
            except PaletteAccount.DoesNotExist:
                raise CommandError(f"no account named {account!r}; see `manage.py palette_account list`") from None
        else:
            target = sync.default_account()
        token = ALLOW_MASS_REMOVAL.set(allow_mass_removal)
        try:
            runs = sync.sync_account(target)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            ALLOW_MASS_REMOVAL.reset(token)
        for run in runs:
            where = f" {run.project.name}" if run.project else ""
            self.stdout.write(
                f"{run.resource}{where}: {run.status}, {run.items} items"
                + (f" ({'; '.join(run.errors)})" if run.errors else "")
            )
        if any(run.status != run.Status.OK for run in runs):
            raise CommandError("sync did not complete; see errors above")
