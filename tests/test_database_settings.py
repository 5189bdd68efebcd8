"""The database connections: the pool and the timeouts the settings derive from the environment,
and a web server whose database is down or stuck answering a clear 503 page within seconds."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import ROOT, free_port, stop, wait_for_port

# A well-formed session key: the session middleware looks it up in the database.
SESSION_COOKIE = {"sessionid": "a" * 32}


def database_settings(**env: str) -> dict:
    """config.settings' DATABASES["default"], as a process started with `env` sees it."""
    code = "import json; from config import settings; print(json.dumps(settings.DATABASES['default'], default=str))"
    base = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


POSTGRES = "postgres://palette:pw@db.internal:5432/palette_fleet"


def test_it_pools_postgresql_connections_when_asked() -> None:
    db = database_settings(DATABASE_URL=POSTGRES, DB_POOL="true", DB_CONN_MAX_AGE="600", DB_POOL_MAX_SIZE="6")

    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 5.0}
    assert db["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert db["CONN_HEALTH_CHECKS"] is True  # the pool checks a connection before lending it


def test_it_sets_timeouts_on_every_postgresql_connection() -> None:
    db = database_settings(DATABASE_URL=POSTGRES, DB_STATEMENT_TIMEOUT="30", DB_CONNECT_TIMEOUT="3")

    assert db["OPTIONS"]["connect_timeout"] == 3
    assert db["OPTIONS"]["options"] == "-c statement_timeout=30000"
    assert db["OPTIONS"]["keepalives"] == 1
    assert "pool" not in db["OPTIONS"]  # off unless asked: workers keep one connection per thread


def test_it_keeps_options_given_in_the_url() -> None:
    db = database_settings(DATABASE_URL=f"{POSTGRES}?sslmode=require", DB_STATEMENT_TIMEOUT="30")

    assert db["OPTIONS"]["sslmode"] == "require"
    assert db["OPTIONS"]["options"] == "-c statement_timeout=30000"


def test_it_leaves_sqlite_and_the_edge_site_worker_alone() -> None:
    sqlite = database_settings(DATABASE_URL="sqlite:////tmp/x.sqlite3", DB_POOL="true", DB_STATEMENT_TIMEOUT="30")
    edge = database_settings(DATABASE_URL=POSTGRES, DB_POOL="true", PALETTE_WORKER_ROLE="edge-site")

    assert "pool" not in sqlite["OPTIONS"] and "connect_timeout" not in sqlite["OPTIONS"]
    assert edge == {"ENGINE": "django.db.backends.dummy"}


# --- the web server with its database down or stuck -----------------------------------------------------


def start_gunicorn(database_url: str, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            **env,
        },
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A port that accepts connections and never says a word: a stuck database server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"postgres://postgres@127.0.0.1:{sock.getsockname()[1]}/palette_fleet"


def assert_database_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert "Database unavailable" in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text


def test_it_answers_503_when_the_database_refuses_connections() -> None:
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/palette_fleet"
    proc, url = start_gunicorn(closed, DB_POOL_TIMEOUT="2")
    try:
        began = time.monotonic()
        response = httpx.get(f"{url}/", cookies=SESSION_COOKIE, timeout=30)
        waited = time.monotonic() - began
    finally:
        stop(proc)

    assert_database_unavailable_page(response)
    assert waited < 25  # the pool's wait (2 s, and its retries on a busy machine), not gunicorn's 60 s worker timeout


def test_it_answers_503_within_the_connect_timeout_when_the_database_is_stuck(silent_database: str) -> None:
    proc, url = start_gunicorn(silent_database, DB_POOL="false", DB_CONNECT_TIMEOUT="2")
    try:
        began = time.monotonic()
        response = httpx.get(f"{url}/clusters/", cookies=SESSION_COOKIE, timeout=30)
        waited = time.monotonic() - began
    finally:
        stop(proc)

    assert_database_unavailable_page(response)
    assert 1.5 < waited < 10


def test_it_tells_a_database_error_from_any_other() -> None:
    from django.db import OperationalError

    from config.errors import database_unavailable

    wrapped = RuntimeError("while rendering")
    wrapped.__cause__ = OperationalError("could not connect")

    assert database_unavailable(OperationalError("server closed the connection unexpectedly"))
    assert database_unavailable(wrapped)
    assert not database_unavailable(ValueError("a bug"))
    assert not database_unavailable(None)
