"""Thin Celery tasks: they name what to sync; `palette_sync.sync` does the work."""

from celery import shared_task

from dashboard.models import PaletteAccount
from palette_sync import sync


@shared_task(name="palette_sync.sync_accounts")
def sync_accounts() -> None:
    """Fan out one sync per Palette account."""
    sync.default_account()
    for account_id in PaletteAccount.objects.values_list("id", flat=True):
        sync_account.delay(account_id)


@shared_task(name="palette_sync.sync_account")
def sync_account(account_id: int) -> None:
    """Sync one Palette account: projects, then each project's clusters."""
    sync.sync_account(PaletteAccount.objects.get(pk=account_id))
