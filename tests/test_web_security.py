"""The web side's hardening: the production settings the README gives pass `check --deploy`,
signed-in pages are never cached, sessions end when idle and with the browser, the CSRF cookie is
out of scripts' reach, and local passwords follow the policy."""

import json
import re
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from conftest import ROOT

PASSWORD = "a long member passphrase"


def production_environment() -> dict[str, str]:
    """The environment of the README's "Production settings" block, placeholders filled in."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Production settings\n.*?```sh\n(.*?)```", readme, re.S).group(1)
    env = {}
    for line in block.splitlines():
        name, _, value = line.split("#", 1)[0].strip().partition("=")
        if name:
            env[name] = secrets.token_urlsafe(50) if value.startswith("<") else value
    return env


def test_check_deploy_is_clean_with_the_readme_production_settings(tmp_path) -> None:
    env = production_environment()
    assert {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS"} <= {*env}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_of_a_weak_palette_secret_key(tmp_path) -> None:
    env = {**production_environment(), "PALETTE_SECRET_KEY": "palette"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "security.palette.W001" in result.stderr


def test_the_default_environment_would_not_pass_check_deploy(tmp_path) -> None:
    """The check itself bites: without the production settings it warns (HSTS, SSL redirect, cookies)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_sso_keeps_the_lockout_first_and_may_redirect_forms_to_its_provider(tmp_path) -> None:
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.AUTHENTICATION_BACKENDS, settings.SECURE_CSP['form-action']]))"
    )
    sso = {"SSO_OIDC_ISSUER": "https://login.example.com/realms/ops/", "SSO_OIDC_CLIENT_ID": "fleet"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **sso}
        | {"SSO_OIDC_CLIENT_SECRET": "s"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    backends, form_action = json.loads(result.stdout)
    assert backends[0] == "security.lockout.LockoutBackend" and len(backends) > 1
    assert form_action == ["'self'", "https://login.example.com"]


@pytest.fixture
def member(client: Client, db: None) -> Client:
    User.objects.create_user("member", password=PASSWORD)
    assert client.post("/login/", {"username": "member", "password": PASSWORD}).status_code == 302
    return client


@pytest.mark.parametrize("path", ["/", "/clusters/", "/profiles/", "/edge-hosts/", "/timeline/", "/sync/", "/admin/"])
def test_signed_in_pages_and_partials_are_never_stored(member: Client, path: str) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        response = member.get(path, headers=headers)
        assert response.status_code in (200, 302, 403), path  # 403: the admin is for the admin role
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, (path, headers)


def test_a_csv_export_is_never_stored(member: Client) -> None:
    response = member.get("/clusters/?export=csv")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_anonymous_pages_keep_their_own_caching(client: Client, db: None) -> None:
    assert "no-store" not in client.get("/static/css/app.css").get("Cache-Control", "")


def test_a_session_ends_with_the_browser_and_after_the_idle_time(member: Client, settings) -> None:
    cookie = member.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    session = Session.objects.get(session_key=cookie.value)
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs(session.expire_date - (timezone.now() + idle)) < timedelta(seconds=30)
    # A request within a minute of the last push does not write the session again...
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert member.get("/").status_code == 200
    assert Session.objects.get(pk=session.pk).expire_date < timezone.now() + timedelta(minutes=2)
    # ...a later one pushes the end back (the step made 0 here, rather than waiting a minute).
    settings.SESSION_IDLE_STEP = 0
    assert member.get("/").status_code == 200
    assert Session.objects.get(pk=session.pk).expire_date > timezone.now() + idle - timedelta(seconds=30)
    # Idle past the end: signed out.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = member.get("/clusters/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_csrf_cookie_is_http_only_and_htmx_still_sends_the_token(db: None, settings) -> None:
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/login/")
    assert client.cookies[settings.CSRF_COOKIE_NAME]["httponly"] is True
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.content.decode()).group(1)
    User.objects.create_user("member", password=PASSWORD)
    response = client.post("/login/", {"username": "member", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    page = client.get("/clusters/").content.decode()
    header_token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)
    assert client.post("/logout/").status_code == 403  # no token: refused
    # What htmx does: the token from the page's hx-headers, in a header (scripts cannot read the cookie).
    response = client.post("/logout/", headers={"X-CSRFToken": header_token})
    assert response.status_code == 302 and response["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("username", "password"),
    [("opsadmin", "opsadmin1"), ("opsadmin", "opsadmin-2026"), ("ops", "83920174652104"), ("ops", "Palette2026")],
)
def test_weak_passwords_are_refused(db: None, username: str, password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password, User(username=username))


def test_a_long_passphrase_is_accepted(db: None) -> None:
    validate_password("copper kettle morning tide", User(username="opsadmin"))
