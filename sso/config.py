"""Single sign-on settings from the environment (README "Single sign-on").

Read by config/settings.py before Django starts, so nothing here touches models. A value that
cannot be used (the group map is not JSON, a role is unknown) stops the start with a message
naming the variable, rather than starting with access nobody meant to give.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ROLES = ("viewer", "operator", "admin")
OIDC_PROVIDER_ID = "sso"  # the allauth app id: /accounts/oidc/sso/login/ and /accounts/oidc/sso/login/callback/
SAML_ORGANIZATION = "sso"  # /accounts/saml/sso/login/, /acs/, /metadata/


@dataclass(frozen=True)
class GroupGrant:
    """What membership of one identity-provider group gives: a role, and the rows it may see.

    No accounts and no projects: the whole fleet. Otherwise the rows of the named Palette accounts
    plus those of the named projects (by Palette uid)."""

    role: str
    accounts: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.accounts and not self.projects


def parse_group_map(text: str, variable: str = "SSO_GROUP_MAP") -> dict[str, GroupGrant]:
    """`{"fleet-admins": {"role": "admin"}, "team-a": {"role": "viewer", "projects": ["<uid>"]}}`."""
    try:
        raw = json.loads(text or "{}")
    except json.JSONDecodeError as e:
        raise ImproperlyConfigured(f"{variable} is not valid JSON: {e}") from e
    if not isinstance(raw, dict):
        raise ImproperlyConfigured(f"{variable} must be a JSON object of group name -> grant.")
    return {str(name): parse_grant(name, entry, variable) for name, entry in raw.items()}


def parse_grant(name: str, entry: Any, variable: str) -> GroupGrant:
    if isinstance(entry, str):  # shorthand: "team-b": "operator"
        entry = {"role": entry}
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{variable}[{name!r}] must be an object with a role.")
    unknown = set(entry) - {"role", "accounts", "projects"}
    if unknown:
        raise ImproperlyConfigured(f"{variable}[{name!r}] has unknown keys: {', '.join(sorted(unknown))}.")
    role = entry.get("role")
    if role not in ROLES:
        raise ImproperlyConfigured(f"{variable}[{name!r}] role must be one of {', '.join(ROLES)}, not {role!r}.")
    lists = {}
    for key in ("accounts", "projects"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ImproperlyConfigured(f"{variable}[{name!r}] {key} must be a list of names/uids.")
        lists[key] = tuple(value)
    return GroupGrant(role=role, **lists)


def oidc_provider(issuer: str, client_id: str, secret: str, name: str, scopes: list[str]) -> dict:
    """allauth's `openid_connect` provider with one app: discovery from the issuer, PKCE on."""
    return {
        "OAUTH_PKCE_ENABLED": True,
        "SCOPE": scopes,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": name,
                "client_id": client_id,
                "secret": secret,
                "settings": {"server_url": issuer, "token_auth_method": "client_secret_basic"},
            }
        ],
    }


def saml_provider(env: dict[str, str], name: str, groups_attribute: str) -> dict:
    """allauth's `saml` provider with one app, from SSO_SAML_* variables."""
    idp: dict[str, Any] = {"entity_id": env["SSO_SAML_IDP_ENTITY_ID"]}
    if env.get("SSO_SAML_IDP_METADATA_URL"):
        idp["metadata_url"] = env["SSO_SAML_IDP_METADATA_URL"]
    else:
        idp.update(sso_url=env.get("SSO_SAML_IDP_SSO_URL", ""), x509cert=env.get("SSO_SAML_IDP_X509CERT", ""))
    mapping = {
        "uid": env.get(
            "SSO_SAML_UID_ATTRIBUTE", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
        ),
        "email": env.get("SSO_SAML_EMAIL_ATTRIBUTE", "email"),
        "username": env.get("SSO_SAML_USERNAME_ATTRIBUTE", "username"),
        "groups": groups_attribute,
    }
    return {
        "APPS": [
            {
                "client_id": SAML_ORGANIZATION,
                "name": name,
                "settings": {
                    "attribute_mapping": mapping,
                    "idp": idp,
                    "sp": {"entity_id": env.get("SSO_SAML_SP_ENTITY_ID", "")},
                    "advanced": {
                        "want_assertion_signed": True,
                        "want_message_signed": False,
                        "reject_idp_initiated_sso": True,
                    },
                },
            }
        ]
    }
