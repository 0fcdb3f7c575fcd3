"""The production commands an operator types: migrate, users create and list, healthcheck, --version, help."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from store.users import password_matches


def probatio(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probatio", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env}, input=stdin)


def test_migrate_then_create_users(pg_server: str) -> None:
    url = make_conninfo(pg_server, dbname="cli_tests")
    with psycopg.connect(make_conninfo(pg_server, dbname="postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "cli_tests"')
        conn.execute('CREATE DATABASE "cli_tests"')
    env = {"PROBATIO_DATABASE_URL": url, "PROBATIO_STATE": "LU"}

    first = probatio("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied: 0001_cases")
    again = probatio("migrate", env=env)
    assert again.returncode == 0 and "up to date" in again.stdout

    made = probatio("users", "create", "alice", "--role", "prosecutor", "--authority", "LU-PG", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("prb_") and len(token) > 30
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT role, authorities FROM users WHERE name = 'alice'").fetchone()
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
    assert row == ("prosecutor", ["LU-PG"])
    assert token not in {r[0] for r in stored}  # only its digest is kept

    wrong = probatio("users", "create", "bob", "--role", "judge", env=env)
    assert wrong.returncode == 2
    assert "role: must be one of" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    # A password never travels on the command line (the process list shows it to everyone): stdin or a prompt.
    secret = "correct horse battery staple"
    argv = probatio("users", "create", "carol", "--role", "officer", "--password", secret, env=env)
    assert argv.returncode == 2 and "unrecognized arguments: --password" in argv.stderr
    made = probatio("users", "create", "carol", "--role", "officer", "--password-stdin", env=env,
                    stdin=secret + "\n")
    assert made.returncode == 0, made.stderr
    assert secret not in made.stdout + made.stderr
    with psycopg.connect(url) as conn:
        stored_hash = conn.execute("SELECT password_hash FROM users WHERE name = 'carol'").fetchone()
    assert stored_hash is not None and password_matches(stored_hash[0], secret)
    empty = probatio("users", "create", "dave", "--role", "officer", "--password-stdin", env=env, stdin="\n")
    assert empty.returncode == 2 and empty.stderr.startswith("password: ")

    listed = probatio("users", "list", env={**env, "COLUMNS": "160"})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    header = next(line for line in lines if "authorities" in line)
    assert all(word in header for word in ("name", "role", "password", "API tokens"))
    alice = next(line for line in lines if "alice" in line)
    carol = next(line for line in lines if "carol" in line)
    assert "prosecutor" in alice and "LU-PG" in alice and " no " in alice
    assert " yes " in carol
    assert not any("dave" in line for line in lines)


def test_version_and_help_for_people() -> None:
    from probatio import __version__

    version = probatio("--version", env={})
    assert version.returncode == 0 and version.stdout.strip() == f"probatio {__version__}"
    for command in ([], ["dev"], ["users", "create"], ["simulate"], ["certificate", "validate"], ["bench"]):
        shown = probatio(*command, "--help", env={"COLUMNS": "120"})
        assert shown.returncode == 0, shown.stderr
        assert "CONTRACT" not in shown.stdout and "Usage:" in shown.stdout


def test_worker_healthcheck_says_unhealthy_in_one_line() -> None:
    result = probatio("healthcheck", "worker", env={"PROBATIO_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy:") and "Traceback" not in result.stderr


def test_the_password_is_asked_for_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import getpass
    import io

    from probatio.cli import _read_password

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers: list[str] = []
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt: answers.pop(0))
    args = argparse.Namespace(name="erin", password_stdin=False)
    answers[:] = ["s3cret-enough", "s3cret-enough"]
    assert _read_password(args) == "s3cret-enough"
    answers[:] = ["s3cret-enough", "typo"]
    with pytest.raises(ValueError, match="differ"):
        _read_password(args)
    answers[:] = [""]
    assert _read_password(args) is None  # API token only
