"""Adding a Palette account checks its credential at once and says what is wrong: by command, in the
admin, from the environment; a self-hosted Palette with a private CA; a secret sealed under a lost key."""

import ssl
import threading
from collections.abc import Iterator
from io import StringIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import trustme
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from conftest import SIM_KEY, Sim
from dashboard.models import PaletteAccount
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sync import sync
from palette_sync.errors import PaletteConnectionError, PaletteTLSError

pytestmark = pytest.mark.django_db


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_palette() -> Iterator[tuple[str, str]]:
    """The simulator behind TLS on loopback, with a certificate from a private CA: (url, CA PEM)."""
    ca = trustme.CA()
    server: WSGIServer = make_server(
        "127.0.0.1", 0, SimApp(generate_fleet(seed=2, projects=1, clusters=5), SIM_KEY), handler_class=Quiet
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", ca.cert_pem.bytes().decode()
    server.shutdown()


def account_at(url: str, key: str = SIM_KEY, **fields: object) -> PaletteAccount:
    account = PaletteAccount(name="acme", api_url=url, **fields)
    account.set_secret(key)
    return account


def test_the_command_checks_the_credential_before_storing_it(sim_server: Sim, monkeypatch) -> None:
    monkeypatch.setenv("ACME_KEY", "not-the-key")
    with pytest.raises(CommandError, match="not saved: Palette refused the credential"):
        call_command("palette_account", "add", "acme", f"--url={sim_server.url}", "--secret-env=ACME_KEY")
    assert not PaletteAccount.objects.exists()

    monkeypatch.setenv("ACME_KEY", SIM_KEY)
    out = StringIO()
    call_command("palette_account", "add", "acme", f"--url={sim_server.url}", "--secret-env=ACME_KEY", stdout=out)
    call_command("palette_account", "list", stdout=out)
    account = PaletteAccount.objects.get(name="acme")
    assert account.secret() == SIM_KEY and account.tenant_uid and account.org_name  # learnt from users/info
    assert f"acme\t{sim_server.url}" in out.getvalue() and SIM_KEY not in out.getvalue()


def test_the_command_says_when_palette_cannot_be_reached(monkeypatch) -> None:
    monkeypatch.setenv("ACME_KEY", SIM_KEY)
    with pytest.raises(CommandError, match="cannot connect to http://127.0.0.1:9"):
        call_command("palette_account", "add", "acme", "--url=http://127.0.0.1:9", "--secret-env=ACME_KEY")
    call_command("palette_account", "add", "acme", "--url=http://127.0.0.1:9", "--secret-env=ACME_KEY", "--no-check")
    assert PaletteAccount.objects.filter(name="acme").exists()


def test_the_admin_checks_the_credential_and_never_shows_the_secret(client: Client, sim_server: Sim) -> None:
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    form = {"name": "acme", "api_url": sim_server.url, "auth_mode": "api_key", "enabled": "on"}
    refused = client.post(reverse("admin:dashboard_paletteaccount_add"), {**form, "secret": "wrong-key"})
    assert refused.status_code == 200 and "Palette did not accept this account" in refused.content.decode()
    assert not PaletteAccount.objects.exists()

    assert client.post(reverse("admin:dashboard_paletteaccount_add"), {**form, "secret": SIM_KEY}).status_code == 302
    account = PaletteAccount.objects.get(name="acme")
    assert account.secret() == SIM_KEY
    page = client.get(reverse("admin:dashboard_paletteaccount_change", args=[account.pk])).content.decode()
    assert SIM_KEY not in page and account.secret_sealed not in page
    client.post(reverse("admin:dashboard_paletteaccount_change", args=[account.pk]), {**form, "secret": ""})
    assert PaletteAccount.objects.get(pk=account.pk).secret() == SIM_KEY  # empty means keep


def test_synced_rows_are_read_only_in_the_admin(client: Client, live_fleet: Fleet, sim_client) -> None:
    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    sync.sync_projects(account, sim_client(live_fleet))
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    project = account.project_set.first()
    change = reverse("admin:dashboard_project_change", args=[project.pk])
    assert client.get(reverse("admin:dashboard_project_add")).status_code == 403
    assert client.post(change, {"name": "renamed"}).status_code == 403
    assert client.post(reverse("admin:dashboard_project_delete", args=[project.pk]), {"post": "yes"}).status_code == 403
    assert project.name in client.get(change).content.decode()  # still readable
    project.refresh_from_db()
    assert project.name != "renamed"


def test_a_private_ca_is_trusted_only_when_given(tls_palette: tuple[str, str]) -> None:
    url, ca_pem = tls_palette
    with pytest.raises(PaletteTLSError, match="not trusted.*private CA"), sync.client_for(account_at(url)) as client:
        client.user_info()
    assert sync.check_account(account_at(url)).startswith("GET /v1/users/info: the TLS certificate")
    assert sync.check_account(account_at(url, ca_pem=ca_pem)) == ""


def test_connection_errors_are_not_retried_as_timeouts() -> None:
    import time

    started = time.monotonic()
    with (
        pytest.raises(PaletteConnectionError, match="cannot connect"),
        sync.client_for(account_at("http://127.0.0.1:9")) as client,
    ):
        client.user_info()
    assert time.monotonic() - started < 5  # told at once, not after half a minute of backoff


def test_a_secret_sealed_under_a_lost_key_says_so(settings) -> None:
    account = account_at("http://127.0.0.1:9")
    account.save()
    settings.PALETTE_SECRET_KEY = "another-install-key"
    account = PaletteAccount.objects.get(pk=account.pk)
    with pytest.raises(ValueError, match="sealed under another key"):
        sync.client_for(account)
    assert "sealed under another key" in sync.check_account(account)


def test_the_environment_configures_a_password_account(settings, sim_server: Sim) -> None:
    settings.PALETTE_API_URL, settings.PALETTE_API_KEY = sim_server.url, ""
    fleet = generate_fleet(seed=7, projects=3, clusters=120)  # the fleet sim_server serves
    sim = SimApp(fleet, SIM_KEY)
    settings.PALETTE_USERNAME, settings.PALETTE_PASSWORD, settings.PALETTE_ORG = sim.email, SIM_KEY, fleet.org
    assert sync.has_env_account()
    account = sync.default_account()
    assert (account.auth_mode, account.username, account.org) == ("password", sim.email, fleet.org)
    assert account.secret() == SIM_KEY
    assert sync.check_account(account) == ""  # it logs in with them
