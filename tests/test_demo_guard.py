"""`manage.py demo` rewrites the default account, the '*' edge credential and the user 'demo': it
refuses to run on a database that is not its own var/db.sqlite3 unless told to."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def demo(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", "demo", *args],
        cwd=ROOT,
        env={**env, "VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_a_database_that_is_not_its_own(tmp_path: Path) -> None:
    other = tmp_path / "production.sqlite3"
    result = demo(tmp_path, f"sqlite:///{other}")
    assert result.returncode != 0
    assert "the demo runs on its own database" in result.stderr
    assert "--any-database" in result.stderr and str(other) in result.stderr
    with sqlite3.connect(other) as db:  # not migrated, nothing written
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_it_refuses_postgresql_too(tmp_path: Path) -> None:
    result = demo(tmp_path, "postgres://fleet@127.0.0.1:9/palette_fleet")
    assert result.returncode != 0
    assert "the demo runs on its own database" in result.stderr and "'palette_fleet'" in result.stderr
