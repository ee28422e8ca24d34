"""`forum create-admin` from the command line, against a real database file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.database import prepare_database


def forum(database_url: str, *args: str, password: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "ADMIN_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "forum.cli", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    prepare_database(url)
    return url


def test_create_admin_creates_an_administrator_who_can_sign_in(database_url):
    result = forum(database_url, "create-admin", "rosa", "rosa@example.org",
                   password="a long admin passphrase")
    assert result.returncode == 0, result.stderr
    assert "rosa is an administrator" in result.stdout

    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite://")) as connection:
        role, password_hash = connection.execute(
            "SELECT role, password_hash FROM users WHERE username_key = 'rosa'"
        ).fetchone()
    connection.close()
    assert role == "admin"
    assert password_hash.startswith("$argon2")


def test_create_admin_with_a_weak_password_explains_and_creates_nothing(database_url):
    result = forum(database_url, "create-admin", "rosa", "rosa@example.org", password="short")
    assert result.returncode == 2
    assert "password:" in result.stderr
    assert "Traceback" not in result.stderr

    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite://")) as connection:
        count = connection.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    connection.close()
    assert count == 0
