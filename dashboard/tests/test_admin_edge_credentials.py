"""Edge credentials in the admin: the password is sealed on save and never shown back."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.models import EdgeCredential, PaletteAccount

pytestmark = pytest.mark.django_db
ADD = "/admin/dashboard/edgecredential/add/"


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    return client


@pytest.fixture
def account() -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example")


def form(account: PaletteAccount, **overrides: str) -> dict:
    data = {
        "account": account.pk,
        "selector": "site=store-0042",
        "username": "kairos",
        "scheme": "https",
        "port": "5080",
        "ca_pem": "",
        "fingerprint": "ab" * 32,
        "password": "s3cret-host-pw",
    }
    return {**data, **overrides}


def test_it_seals_the_password_and_never_shows_it(admin_client: Client, account: PaletteAccount) -> None:
    response = admin_client.post(ADD, form(account))
    assert response.status_code == 302
    credential = EdgeCredential.objects.get()
    assert "s3cret-host-pw" not in credential.password_sealed
    assert credential.password() == "s3cret-host-pw"

    page = admin_client.get(f"/admin/dashboard/edgecredential/{credential.pk}/change/").content.decode()
    assert "s3cret-host-pw" not in page
    assert credential.password_sealed not in page


def test_it_keeps_the_password_when_left_empty(admin_client: Client, account: PaletteAccount) -> None:
    admin_client.post(ADD, form(account))
    credential = EdgeCredential.objects.get()
    response = admin_client.post(
        f"/admin/dashboard/edgecredential/{credential.pk}/change/", form(account, password="", username="admin")
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.username == "admin"
    assert credential.password() == "s3cret-host-pw"


def test_it_asks_what_to_trust(admin_client: Client, account: PaletteAccount) -> None:
    response = admin_client.post(ADD, form(account, fingerprint=""))
    assert response.status_code == 200
    assert "Give a CA certificate or a fingerprint to trust" in response.content.decode()
    assert not EdgeCredential.objects.exists()


def test_it_is_for_staff_only(client: Client, account: PaletteAccount) -> None:
    client.force_login(User.objects.create_user("viewer", password="pw-for-tests-only"))
    assert client.get(ADD).status_code == 403  # the admin role only (dashboard/access.py)
