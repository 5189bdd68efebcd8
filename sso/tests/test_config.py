"""SSO settings from the environment: the group map's checks, and SAML configured through allauth
(a separate process started with the SSO_SAML_* variables, as a deployment would)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sso.config import GroupGrant, parse_group_map

ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_the_group_map() -> None:
    grants = parse_group_map(
        '{"fleet-admins": {"role": "admin"}, "team-b": "operator",'
        ' "team-a": {"role": "viewer", "projects": ["p-1"], "accounts": ["prod"]}}'
    )
    assert grants["fleet-admins"] == GroupGrant("admin") and grants["fleet-admins"].everything
    assert grants["team-b"] == GroupGrant("operator")
    assert grants["team-a"] == GroupGrant("viewer", accounts=("prod",), projects=("p-1",))
    assert not grants["team-a"].everything


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"g": {"role": "root"}}', "role must be one of viewer, operator, admin"),
        ('{"g": {"role": "viewer", "project": ["x"]}}', "unknown keys: project"),
        ('{"g": {"role": "viewer", "projects": "x"}}', "projects must be a list"),
    ],
)
def test_it_refuses_a_group_map_it_cannot_use(text: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=says):
        parse_group_map(text)


SAML_CHECK = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("check")
call_command("migrate", verbosity=0)
client = Client(HTTP_HOST="fleet.example.com")
meta = client.get("/accounts/saml/sso/metadata/")
print("metadata", meta.status_code, meta["Content-Type"])
print(meta.content.decode())
print("login-page", "Sign in with Corp SAML" in client.get("/login/").content.decode())
"""


def test_saml_is_configured_from_the_environment(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "fleet.example.com",
        "SSO_NAME": "Corp SAML",
        "SSO_SAML_IDP_ENTITY_ID": "https://idp.example.com/saml",
        "SSO_SAML_IDP_SSO_URL": "https://idp.example.com/saml/sso",
        "SSO_SAML_IDP_X509CERT": "MIIBfake",
        "SSO_SAML_SP_ENTITY_ID": "https://fleet.example.com/accounts/saml/sso/metadata/",
        "SSO_GROUP_MAP": '{"fleet-admins": {"role": "admin"}}',
    }
    done = subprocess.run(
        [sys.executable, "-c", SAML_CHECK], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "metadata 200" in done.stdout
    assert 'entityID="https://fleet.example.com/accounts/saml/sso/metadata/"' in done.stdout
    assert "://fleet.example.com/accounts/saml/sso/acs/" in done.stdout  # where the IdP posts back
    assert "login-page True" in done.stdout


def test_a_bad_group_map_stops_the_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp_path),
        "SSO_GROUP_MAP": "{oops",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "SSO_GROUP_MAP is not valid JSON" in done.stderr
