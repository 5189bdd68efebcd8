"""var/ is private to the user the product runs as: the SQLite database (sessions, password hashes)
and its -wal/-shm files, the secret key, the directory itself, even under a umask of 022."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

# Opens the database and writes, keeping the connection open so the -wal and -shm files exist.
PROBE = """
import json, os, stat, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
var = settings.VAR_DIR
names = ["", "db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "secret_key"]
print(json.dumps({n: stat.S_IMODE(os.stat(os.path.join(var, n)).st_mode) for n in names}))
"""


def probe(var: Path) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**env, "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),  # what most shells have: files 0644 unless we say otherwise
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_new_var_directory_and_its_files_are_private(tmp_path: Path) -> None:
    modes = probe(tmp_path / "var")
    assert modes == {
        "": 0o700,
        "db.sqlite3": 0o600,
        "db.sqlite3-wal": 0o600,
        "db.sqlite3-shm": 0o600,
        "secret_key": 0o600,
    }


def test_a_database_an_older_install_left_readable_is_made_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
        (var / name).touch()
        (var / name).chmod(0o644)
    (var / "db.sqlite3-wal").unlink()  # SQLite recreates them from the database file's mode
    (var / "db.sqlite3-shm").unlink()
    modes = probe(var)
    assert all(modes[n] == 0o600 for n in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"))
    assert not stat.S_IMODE((var / "db.sqlite3").stat().st_mode) & 0o077
