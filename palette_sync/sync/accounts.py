"""Which Palette accounts exist, and a client for each (REFERENCE.md 2)."""

import ssl
import threading
from functools import cache

import certifi
import httpx
from django.conf import settings

from dashboard.models import PaletteAccount
from palette_sync.client import PaletteClient


def default_account() -> PaletteAccount:
    """The account configured by PALETTE_API_URL / PALETTE_API_KEY, created or updated on use.

    The key is stored sealed, like the secret of any account added in the admin or by command.
    """
    account, _ = PaletteAccount.objects.get_or_create(
        name=settings.PALETTE_ACCOUNT_NAME, defaults={"api_url": settings.PALETTE_API_URL}
    )
    changed = []
    if account.api_url != settings.PALETTE_API_URL:
        account.api_url = settings.PALETTE_API_URL
        changed.append("api_url")
    key = settings.PALETTE_API_KEY
    if key and (account.auth_mode != PaletteAccount.AuthMode.API_KEY or account.secret() != key):
        account.auth_mode = PaletteAccount.AuthMode.API_KEY
        account.set_secret(key)
        changed += ["auth_mode", "secret_sealed"]
    if changed:
        account.save(update_fields=changed)
    return account


def client_for(account: PaletteAccount) -> PaletteClient:
    """A client for `account`, spending the shared rate budget of its Palette host.

    Raises ValueError when the account has no usable credential.
    """
    secret = account.secret()
    if not secret and account.name == settings.PALETTE_ACCOUNT_NAME:
        secret = settings.PALETTE_API_KEY  # the env-configured account, before its key was stored
    if account.auth_mode == PaletteAccount.AuthMode.PASSWORD:
        credentials = {"username": account.username, "password": secret, "org": account.org}
    else:
        credentials = {"api_key": secret}
    transport = httpx.HTTPTransport(verify=tls_context())
    return PaletteClient.for_account(account.api_url, account.rate_key(), transport=transport, **credentials)


_tls_lock = threading.Lock()


@cache
def _load_tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def tls_context() -> ssl.SSLContext:
    """The CA bundle httpx would load, loaded once per process.

    Loading it costs about 50 ms of CPU: every task paid that for its client, and a fan-out of
    twenty tasks started a second late on a busy machine. The lock keeps the threads of a fresh
    worker from all loading it at once.
    """
    with _tls_lock:
        return _load_tls_context()
