"""Which Palette accounts exist, and a client for each (REFERENCE.md 2)."""

import ssl
import threading
from functools import cache

import certifi
import httpx
from django.conf import settings

from dashboard.models import PaletteAccount
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteAuthError, PaletteError


def env_credential() -> tuple[str, str, str, str]:
    """(auth mode, secret, username, org) from PALETTE_API_KEY, or PALETTE_USERNAME / _PASSWORD / _ORG."""
    if settings.PALETTE_API_KEY:
        return PaletteAccount.AuthMode.API_KEY, settings.PALETTE_API_KEY, "", ""
    if settings.PALETTE_USERNAME and settings.PALETTE_PASSWORD:
        return (
            PaletteAccount.AuthMode.PASSWORD,
            settings.PALETTE_PASSWORD,
            settings.PALETTE_USERNAME,
            settings.PALETTE_ORG,
        )
    return "", "", "", ""


def has_env_account() -> bool:
    return bool(env_credential()[1])


def is_env_account(account: PaletteAccount) -> bool:
    """The account the environment configures, still at the environment's URL: only there may the
    environment's credential go (an account moved to another URL in the admin gets none)."""
    return (
        has_env_account()
        and account.name == settings.PALETTE_ACCOUNT_NAME
        and account.api_url == settings.PALETTE_API_URL
    )


def default_account() -> PaletteAccount:
    """The account configured by PALETTE_API_URL and PALETTE_API_KEY (or PALETTE_USERNAME,
    PALETTE_PASSWORD and PALETTE_ORG), created or updated on use.

    The secret is stored sealed, like the secret of any account added in the admin or by command.
    """
    account, _ = PaletteAccount.objects.get_or_create(
        name=settings.PALETTE_ACCOUNT_NAME, defaults={"api_url": settings.PALETTE_API_URL}
    )
    changed = []
    if account.api_url != settings.PALETTE_API_URL:
        account.api_url = settings.PALETTE_API_URL
        changed.append("api_url")
    mode, secret, username, org = env_credential()
    wanted = {"auth_mode": mode, "username": username, "org": org}
    if secret and (any(getattr(account, k) != v for k, v in wanted.items()) or account.secret() != secret):
        for name, value in wanted.items():
            setattr(account, name, value)
        account.set_secret(secret)
        changed += [*wanted, "secret_sealed"]
    if changed:
        account.save(update_fields=changed)
    return account


def client_for(account: PaletteAccount) -> PaletteClient:
    """A client for `account`, spending the shared rate budget of its Palette host.

    Raises ValueError when the account has no usable credential.
    """
    mode, secret, username, org = account.auth_mode, account.secret(), account.username, account.org
    if not secret and is_env_account(account):
        mode, secret, username, org = env_credential()  # the env-configured account, before it was stored
    elif account.secret_unreadable:
        raise ValueError(
            f"the stored secret of account {account.name!r} was sealed under another key "
            "(PALETTE_SECRET_KEY or SECRET_KEY changed): enter the API key or password again"
        )
    if not secret:
        what = "password" if mode == PaletteAccount.AuthMode.PASSWORD else "API key"
        raise ValueError(
            f"account {account.name!r} needs its {what} again: none is stored for its current URL, "
            "sign-in mode and CA (a change of any of them clears it)"
        )
    if mode == PaletteAccount.AuthMode.PASSWORD:
        credentials = {"username": username, "password": secret, "org": org}
    else:
        credentials = {"api_key": secret}
    transport = httpx.HTTPTransport(verify=tls_context(account.ca_pem))
    return PaletteClient.for_account(account.api_url, account.rate_key(), transport=transport, **credentials)


def check_account(account: PaletteAccount) -> str:
    """Ask Palette who the account's credential is (`GET /v1/users/info`): "" if it answers (and
    the account learns its tenant and organisation), else what is wrong, in words (REFERENCE.md 2)."""
    try:
        with client_for(account) as client:
            info = client.user_info()
    except ValueError as exc:
        return str(exc)
    except PaletteAuthError as exc:
        return f"Palette refused the credential ({exc}): check the API key, or the username, password and org"
    except PaletteError as exc:
        return str(exc)
    if isinstance(info, dict):  # who the credential belongs to, shown beside the account
        account.tenant_uid = str(info.get("tenantUid") or "")[:64]
        account.org_name = str(info.get("orgName") or "")[:255]
    return ""


_tls_lock = threading.Lock()


@cache
def _load_tls_context(ca_pem: str) -> ssl.SSLContext:
    if ca_pem:
        return ssl.create_default_context(cadata=ca_pem)
    return ssl.create_default_context(cafile=certifi.where())


def tls_context(ca_pem: str = "") -> ssl.SSLContext:
    """The CAs to trust: the account's own (a self-hosted Palette's private CA), else the public
    bundle httpx would load; each loaded once per process.

    Loading the bundle costs about 50 ms of CPU: every task paid that for its client, and a fan-out
    of twenty tasks started a second late on a busy machine. The lock keeps the threads of a fresh
    worker from all loading it at once.
    """
    with _tls_lock:
        return _load_tls_context(ca_pem.strip())
