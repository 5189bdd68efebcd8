"""Palette accounts: secrets sealed at rest, the env-configured default account, one rate budget per host.
(Adding accounts by command and in the admin: palette_sync/tests/test_accounts.py.)"""

import pytest
from django.db import connection

from dashboard.models import PaletteAccount
from palette_sync import sync

pytestmark = pytest.mark.django_db
KEY = "pk-live-0123456789abcdef-not-a-real-key"


def raw_secret_column(account: PaletteAccount) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_sealed FROM dashboard_paletteaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_it_never_stores_the_secret_in_plaintext() -> None:
    account = PaletteAccount(name="acme", api_url="https://api.spectrocloud.com")
    account.set_secret(KEY)
    account.save()

    stored = raw_secret_column(account)
    assert stored and KEY not in stored
    assert PaletteAccount.objects.get(pk=account.pk).secret() == KEY


def test_it_reads_no_secret_sealed_with_another_key(settings) -> None:
    account = PaletteAccount(name="acme", api_url="https://api.spectrocloud.com")
    account.set_secret(KEY)
    account.save()
    settings.PALETTE_SECRET_KEY = "a-different-install-key"

    assert PaletteAccount.objects.get(pk=account.pk).secret() == ""


def test_it_keeps_the_env_account_working_with_its_key_sealed(settings) -> None:
    settings.PALETTE_API_URL = "https://palette.example"
    settings.PALETTE_API_KEY = KEY
    account = sync.default_account()

    assert (account.name, account.api_url, account.auth_mode) == ("default", "https://palette.example", "api_key")
    assert KEY not in raw_secret_column(account) and account.secret() == KEY
    sealed = raw_secret_column(account)
    sync.default_account()
    assert raw_secret_column(account) == sealed  # unchanged key: not re-sealed on every use


def test_it_shares_one_rate_budget_per_palette_host() -> None:
    one = PaletteAccount(name="a", api_url="https://API.spectrocloud.com/")
    two = PaletteAccount(name="b", api_url="https://api.spectrocloud.com")
    assert one.rate_key() == two.rate_key() == "api.spectrocloud.com"
