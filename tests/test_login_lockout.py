"""Failed sign-ins on /login/ (the admin's sign-in sends there) are logged and, past the limit, locked out: a clear
page (429), the right password refused while locked, the counters in the real Redis."""

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "the right passphrase"


@pytest.fixture
def ops(db: None) -> User:
    return User.objects.create_user("ops", password=PASSWORD, is_staff=True)


def sign_in(client: Client, path: str, password: str, username: str = "ops") -> object:
    return client.post(path, {"username": username, "password": password})


def test_it_locks_out_after_the_limit_and_refuses_the_right_password(
    ops: User, settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = "/login/"
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    caplog.set_level(logging.WARNING, logger="security.lockout")
    for _ in range(2):
        response = sign_in(client, path, "wrong-guess-123")
        assert response.status_code == 200  # the form again, with its error
    locked = sign_in(client, path, "wrong-guess-123")
    assert locked.status_code == 429
    assert b"Sign-in locked for now" in locked.content and "no-store" in locked["Cache-Control"]
    assert 0 < int(locked["Retry-After"]) <= settings.LOGIN_LOCKOUT_SECONDS
    refused = sign_in(client, path, PASSWORD)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    messages = [r.getMessage() for r in caplog.records]
    assert any("sign-in failed for 'ops' from 127.0.0.1 (1 of 3)" in m for m in messages)
    assert any("sign-in locked: 'ops' from 127.0.0.1" in m for m in messages)
    assert any("sign-in refused: 'ops' from 127.0.0.1 is locked out" in m for m in messages)
    assert not any("wrong-guess-123" in m or PASSWORD in m for m in messages)


def test_the_admin_has_no_password_form_of_its_own(ops: User) -> None:
    """/admin/login/ sends to /login/, where the lockout applies: no way around it."""
    client = Client()
    response = sign_in(client, "/admin/login/", PASSWORD)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_another_address_and_another_user_are_not_locked(ops: User, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    attacker = Client(REMOTE_ADDR="10.0.0.9")
    for _ in range(2):
        sign_in(attacker, "/login/", "wrong-guess-123")
    assert sign_in(attacker, "/login/", PASSWORD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="10.0.0.10"), "/login/", PASSWORD).status_code == 302
    User.objects.create_user("other", password=PASSWORD)
    assert sign_in(attacker, "/login/", PASSWORD, username="other").status_code == 302


def test_a_successful_sign_in_clears_the_users_failures(ops: User, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        sign_in(client, "/login/", "wrong-guess-123")
    assert sign_in(client, "/login/", PASSWORD).status_code == 302
    client.post("/logout/")
    for _ in range(2):
        assert sign_in(client, "/login/", "wrong-guess-123").status_code == 200
    assert sign_in(client, "/login/", PASSWORD).status_code == 302


def test_one_address_trying_many_users_is_locked(ops: User, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 4
    client = Client(REMOTE_ADDR="10.0.0.20")
    for name in ("alice", "bob", "carol"):
        assert sign_in(client, "/login/", "guess-123456", username=name).status_code == 200
    assert sign_in(client, "/login/", "guess-123456", username="dave").status_code == 429
    assert sign_in(client, "/login/", PASSWORD).status_code == 429  # even a right password, from there


def test_behind_a_proxy_the_configured_header_names_the_client(ops: User, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(2):
        proxy.post("/login/", {"username": "ops", "password": "x-wrong-123"}, headers={"X-Forwarded-For": "1.1.1.1"})
    other = proxy.post("/login/", {"username": "ops", "password": PASSWORD}, headers={"X-Forwarded-For": "2.2.2.2"})
    assert other.status_code == 302  # the proxy's own address is not what is locked
