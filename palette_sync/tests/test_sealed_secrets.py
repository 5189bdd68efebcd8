"""A stored secret is bound to where it is sent (dashboard/sealing.py): a Palette account's URL,
sign-in mode or CA, an edge credential's account, scheme, port or trust. Changing any of them, by
the ORM, the admin or a queryset update, clears it: it must be entered again for the new target."""

import pytest
from cryptography.fernet import InvalidToken
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from conftest import ROOT, SIM_KEY, Sim
from dashboard.models import EdgeCredential, PaletteAccount, SyncRun
from dashboard.sealing import SecretState, rebind, secret_box, target_digest, unseal
from palette_sync import sync
from palette_sync.sync.edge_api import sealed, unsealed
from palette_sync.tasks import run_scope

pytestmark = pytest.mark.django_db
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def account() -> PaletteAccount:
    account = PaletteAccount(name="acme", api_url="https://palette.example")
    account.set_secret("the-api-key")
    account.save()
    return account


def stored(model: type, pk: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_changing_the_url_clears_the_key_and_the_sync_asks_for_it_again(account: PaletteAccount) -> None:
    account.api_url = "https://attacker.example"
    account.save()
    assert stored(PaletteAccount, account.pk, "secret_sealed") == ""
    account = PaletteAccount.objects.get(pk=account.pk)
    assert account.secret() == "" and account.secret_state is SecretState.NONE
    with pytest.raises(ValueError, match="account 'acme' needs its API key again"):
        sync.client_for(account)
    assert "needs its API key again" in sync.check_account(account)
    run = SyncRun.objects.get(pk=run_scope(account, "projects", None)["run"])  # what the scheduled sync does
    assert run.status == SyncRun.Status.FAILED and "needs its API key again" in str(run.errors)


def test_changing_the_url_with_a_new_key_works(account: PaletteAccount, sim_server: Sim) -> None:
    account.api_url = sim_server.url
    account.set_secret(SIM_KEY)
    account.save()
    account = PaletteAccount.objects.get(pk=account.pk)
    assert account.secret() == SIM_KEY
    assert sync.check_account(account) == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("auth_mode", PaletteAccount.AuthMode.PASSWORD, "needs its password again"), ("ca_pem", PEM, "API key again")],
)
def test_the_sign_in_mode_and_the_ca_are_part_of_the_target(
    account: PaletteAccount, field: str, value: str, message: str
) -> None:
    setattr(account, field, value)
    account.save()
    assert PaletteAccount.objects.get(pk=account.pk).secret() == ""
    with pytest.raises(ValueError, match=message):
        sync.client_for(PaletteAccount.objects.get(pk=account.pk))


def test_other_changes_keep_the_key(account: PaletteAccount) -> None:
    account.name, account.enabled, account.org = "acme-eu", False, "acme"
    account.save()
    assert PaletteAccount.objects.get(pk=account.pk).secret() == "the-api-key"


def test_a_queryset_update_cannot_redirect_the_key_either(account: PaletteAccount) -> None:
    PaletteAccount.objects.filter(pk=account.pk).update(api_url="https://attacker.example")
    moved = PaletteAccount.objects.get(pk=account.pk)
    assert moved.secret() == "" and moved.secret_state is SecretState.STALE
    with pytest.raises(ValueError, match="needs its API key again"):
        sync.client_for(moved)
    moved.save()  # the next save clears what no longer opens
    assert stored(PaletteAccount, account.pk, "secret_sealed") == ""


def test_the_environment_key_goes_only_to_the_environment_url(account: PaletteAccount, settings) -> None:
    settings.PALETTE_ACCOUNT_NAME, settings.PALETTE_API_URL, settings.PALETTE_API_KEY = "acme", "https://p.example", "k"
    account.api_url = "https://attacker.example"
    account.save()
    with pytest.raises(ValueError, match="needs its API key again"):
        sync.client_for(PaletteAccount.objects.get(pk=account.pk))


@pytest.fixture
def credential(account: PaletteAccount) -> EdgeCredential:
    credential = EdgeCredential(account=account, selector="site=store-1", ca_pem=PEM)
    credential.set_password("os-password")
    credential.save()
    return credential


@pytest.mark.parametrize(
    ("field", "value"),
    [("scheme", "http"), ("port", 15080), ("ca_pem", ""), ("fingerprint", "ab" * 32), ("insecure", True)],
)
def test_an_edge_credential_moved_or_trusting_otherwise_loses_its_password(
    credential: EdgeCredential, field: str, value: object
) -> None:
    setattr(credential, field, value)
    credential.save()
    assert stored(EdgeCredential, credential.pk, "password_sealed") == ""
    assert EdgeCredential.objects.get(pk=credential.pk).password() == ""


def test_an_edge_credential_moved_to_another_account_loses_its_password(credential: EdgeCredential) -> None:
    credential.account = PaletteAccount.objects.create(name="other", api_url="https://other.example")
    credential.save()
    assert EdgeCredential.objects.get(pk=credential.pk).password() == ""


def test_an_edge_credential_keeps_its_password_for_a_new_user_or_selector(credential: EdgeCredential) -> None:
    credential.username, credential.selector = "admin", "site=store-2"
    credential.save()
    assert EdgeCredential.objects.get(pk=credential.pk).password() == "os-password"


def test_a_probe_batch_opens_the_password_only_for_its_own_target(credential: EdgeCredential) -> None:
    values = sealed(credential)
    assert unsealed(values).password == "os-password"
    assert unsealed({**values, "port": 15080}) is None  # a batch cannot move it either


def test_the_ca_compares_without_line_ending_differences(credential: EdgeCredential) -> None:
    credential.ca_pem = PEM.replace("\n", "\r\n") + "\r\n"  # as a browser posts a textarea
    credential.save()
    assert EdgeCredential.objects.get(pk=credential.pk).password() == "os-password"


@pytest.fixture
def admin(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    return client


def test_the_admin_asks_for_the_key_again_when_the_url_changes(admin: Client, account: PaletteAccount) -> None:
    form = {"name": "acme", "api_url": "https://attacker.example", "auth_mode": "api_key", "enabled": "on"}
    response = admin.post(f"/admin/dashboard/paletteaccount/{account.pk}/change/", {**form, "secret": ""})
    assert response.status_code == 200
    assert "Enter the API key or password again" in response.content.decode()
    assert PaletteAccount.objects.get(pk=account.pk).api_url == "https://palette.example"  # nothing saved
    page = admin.get(f"/admin/dashboard/paletteaccount/{account.pk}/change/").content.decode()
    assert "unless you change the API URL, sign-in mode or CA" in page


def test_the_admin_asks_for_the_edge_password_again_when_the_port_changes(
    admin: Client, credential: EdgeCredential
) -> None:
    form = {"account": credential.account_id, "selector": "site=store-1", "username": "kairos", "scheme": "https"}
    form |= {"port": "15080", "ca_pem": PEM, "fingerprint": "", "password": ""}
    response = admin.post(f"/admin/dashboard/edgecredential/{credential.pk}/change/", form)
    assert response.status_code == 200 and "Enter the password again" in response.content.decode()
    assert EdgeCredential.objects.get(pk=credential.pk).port == 5080
    response = admin.post(f"/admin/dashboard/edgecredential/{credential.pk}/change/", {**form, "password": "new-pw"})
    assert response.status_code == 302
    assert EdgeCredential.objects.get(pk=credential.pk).password() == "new-pw"


def test_a_secret_sealed_before_binding_is_bound_by_the_migration() -> None:
    legacy = secret_box().encrypt(b"old-key").decode()
    target = target_digest(["https://palette.example", "api_key", ""])
    assert unseal(legacy, target) is None  # unbound: opens for no target
    bound = rebind(legacy, target)
    assert unseal(bound, target) == "old-key" and unseal(bound, target_digest(["https://x", "api_key", ""])) is None
    assert rebind(bound, target) is None  # already bound: left alone
    with pytest.raises(InvalidToken):
        unseal("not-a-token", target)


@pytest.mark.parametrize("url", ["http://palette.example", "http://10.0.0.5:8080"])
def test_a_key_is_never_sent_in_clear_over_the_network(admin: Client, url: str, monkeypatch) -> None:
    form = {"name": "lab", "api_url": url, "auth_mode": "api_key", "enabled": "on", "secret": "k"}
    response = admin.post("/admin/dashboard/paletteaccount/add/", form)
    assert response.status_code == 200 and "Use https://" in response.content.decode()
    monkeypatch.setenv("LAB_KEY", "k")
    with pytest.raises(CommandError, match="not saved: api_url: Use https://"):
        call_command("palette_account", "add", "lab", f"--url={url}", "--secret-env=LAB_KEY", "--no-check")
    assert not PaletteAccount.objects.filter(name="lab").exists()


def test_plain_http_is_fine_on_this_machine() -> None:
    for url in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "https://palette.example"):
        PaletteAccount(name="local", api_url=url).full_clean(exclude=["secret_sealed"])


@pytest.mark.django_db(transaction=True)
def test_secrets_stored_before_binding_open_after_the_upgrade_and_after_a_downgrade() -> None:
    """Migration 0013 seals the secrets stored before binding again, bound to their rows' targets."""
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    later = [  # our other apps with migrations: unmigrated while dashboard steps back
        (app.label, None)
        for app in apps.get_app_configs()
        if app.label != "dashboard" and app.path == str(ROOT / app.label) and (ROOT / app.label / "migrations").is_dir()
    ]
    old = migrate([("dashboard", "0012_trigram_search"), *later])
    account = old.get_model("dashboard", "PaletteAccount").objects.create(
        name="prod", api_url="https://api.spectrocloud.com", secret_sealed=secret_box().encrypt(b"old-key").decode()
    )
    old.get_model("dashboard", "EdgeCredential").objects.create(
        account=account, selector="*", ca_pem=PEM, password_sealed=secret_box().encrypt(b"old-pw").decode()
    )
    try:
        migrate(leaf)
        assert PaletteAccount.objects.get().secret() == "old-key"
        assert EdgeCredential.objects.get().password() == "old-pw"
        migrate([("dashboard", "0012_trigram_search"), *later])  # and back, as the release before reads them
        assert secret_box().decrypt(PaletteAccount.objects.values_list("secret_sealed", flat=True)[0].encode()) == (
            b"old-key"
        )
    finally:
        migrate(leaf)


def migrate(targets: list[tuple[str, str | None]]) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps
