"""Palette accounts: secrets sealed at rest, the env-configured default account, the admin and command."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

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


def test_it_adds_and_lists_accounts_by_command_without_showing_secrets(monkeypatch) -> None:
    monkeypatch.setenv("ACME_PALETTE_PASSWORD", KEY)
    out = StringIO()
    call_command(
        "palette_account",
        "add",
        "acme",
        "--url=https://palette.acme.example",
        "--username=ops@acme.example",
        "--org=acme",
        "--secret-env=ACME_PALETTE_PASSWORD",
        stdout=out,
    )
    call_command("palette_account", "list", stdout=out)

    account = PaletteAccount.objects.get(name="acme")
    assert account.auth_mode == "password" and account.org == "acme" and account.secret() == KEY
    assert KEY not in raw_secret_column(account)
    assert "acme\thttps://palette.acme.example" in out.getvalue()
    assert KEY not in out.getvalue()


def test_it_seals_the_secret_typed_in_the_admin_and_never_shows_it(client: Client) -> None:
    admin = User.objects.create_superuser("root", password="pw-for-tests-only")
    client.force_login(admin)
    response = client.post(
        reverse("admin:dashboard_paletteaccount_add"),
        {
            "name": "acme",
            "api_url": "https://api.spectrocloud.com",
            "auth_mode": "api_key",
            "enabled": "on",
            "secret": KEY,
        },
    )
    assert response.status_code == 302
    account = PaletteAccount.objects.get(name="acme")
    assert account.secret() == KEY and KEY not in raw_secret_column(account)

    page = client.get(reverse("admin:dashboard_paletteaccount_change", args=[account.pk])).content.decode()
    assert KEY not in page and account.secret_sealed not in page
    client.post(
        reverse("admin:dashboard_paletteaccount_change", args=[account.pk]),
        {
            "name": "acme",
            "api_url": "https://api.spectrocloud.com",
            "auth_mode": "api_key",
            "enabled": "on",
            "secret": "",
        },
    )
    assert PaletteAccount.objects.get(pk=account.pk).secret() == KEY  # empty means keep


def test_it_shares_one_rate_budget_per_palette_host() -> None:
    one = PaletteAccount(name="a", api_url="https://API.spectrocloud.com/")
    two = PaletteAccount(name="b", api_url="https://api.spectrocloud.com")
    assert one.rate_key() == two.rate_key() == "api.spectrocloud.com"
