"""Fixtures for the SSO, role and scope tests: a real OpenID Connect provider on loopback
(oidc-provider-mock), settings that turn SSO on against it, users of each role, a synced fleet."""

import json
from collections.abc import Iterator

import httpx
import oidc_provider_mock
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from dashboard.tests.conftest import synced_fleet  # noqa: F401  (a fleet synced by the real sync)
from sso import config

GROUP_MAP = {"fleet-admins": {"role": "admin"}, "fleet-ops": {"role": "operator"}, "team-a": {"role": "viewer"}}
BREAK_GLASS = "breakglass"
PASSWORD = "pw-for-tests-only-1"


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[str]:
    """The provider, its issuer URL. Users and their claims are set per test (set_claims)."""
    # allauth's generic OIDC provider sends no nonce (it relies on state and PKCE)
    with oidc_provider_mock.run_server_in_thread(require_nonce=False) as server:
        yield f"http://localhost:{server.server_port}"


def set_claims(issuer: str, sub: str, groups: list[str]) -> None:
    """The identity provider's record of `sub`: email, name and groups, as the next sign-in will see them."""
    claims = {
        "email": f"{sub}@example.com",
        "email_verified": True,
        "preferred_username": sub,
        "given_name": sub.title(),
        "family_name": "Ops",
        "groups": groups,
    }
    httpx.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()


def sso_settings(settings: object, issuer: str, group_map: dict | None = None) -> None:
    settings.SSO_ENABLED = True
    settings.SSO_NAME = "Test SSO"
    settings.SSO_GROUP_MAP = config.parse_group_map(json.dumps(GROUP_MAP if group_map is None else group_map))
    settings.SSO_BREAK_GLASS_USERNAME = BREAK_GLASS
    csp = getattr(settings, "SECURE_CSP", None)
    if csp:  # as config/settings.py does for SSO_OIDC_ISSUER: the SSO button's POST is redirected there
        settings.SECURE_CSP = {**csp, "form-action": [*csp.get("form-action", []), issuer]}
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": config.oidc_provider(
            issuer, "fleet-dashboard", "client-secret", "Test SSO", ["openid", "profile", "email"]
        )
    }


@pytest.fixture
def sso(settings: object, oidc_server: str) -> str:
    """SSO on, against the provider on loopback; returns its issuer URL."""
    sso_settings(settings, oidc_server)
    return oidc_server


def client_with_role(role: str | None, name: str) -> Client:
    user = User.objects.create_user(name, password=PASSWORD)
    if role == "superuser":
        user.is_superuser = user.is_staff = True
        user.save()
    elif role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == "admin":
            user.is_staff = True
            user.save()
    client = Client()
    client.force_login(user)
    return client
