"""The production commands an operator types: migrate, users create, healthcheck."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
from psycopg.conninfo import make_conninfo


def probatio(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probatio", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


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


def test_worker_healthcheck_says_unhealthy_in_one_line() -> None:
    result = probatio("healthcheck", "worker", env={"PROBATIO_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy:") and "Traceback" not in result.stderr
