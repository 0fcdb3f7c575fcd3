"""Least privilege in the database and the tamper-evident audit log (issue 15, items 2 and 3).

The application's role (what `probatio web` and `probatio worker` log in as) can work on cases but cannot
touch the audit log beyond adding rows, nor switch its guards off. What a superuser can still do is caught
by the hash chain: `probatio audit verify` exits 1 naming the first row changed, deleted or slipped in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.keys import load_or_create_private_key
from probatio.harness import app_database, fresh_database
from store import audit_chain


@pytest.fixture
def owner_url(pg_server: str) -> str:
    return fresh_database(pg_server, "privilege_tests")


@pytest.fixture
def app_url(owner_url: str) -> str:
    return app_database(owner_url)


def _audit(url: str, n: int = 3, who: str = "alice") -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(n):
            conn.execute("INSERT INTO audit (user_name, role, action, detail) VALUES (%s, 'officer', 'read', %s)",
                         (who, f'{{"n": {i}}}'))


ATTEMPTS = [
    ("ALTER TABLE audit DISABLE TRIGGER USER", psycopg.errors.InsufficientPrivilege),
    ("ALTER TABLE audit DISABLE TRIGGER audit_chain", psycopg.errors.InsufficientPrivilege),
    ("DROP TRIGGER audit_no_update ON audit", psycopg.errors.InsufficientPrivilege),
    ("DROP TABLE audit", psycopg.errors.InsufficientPrivilege),
    ("DELETE FROM audit", psycopg.errors.InsufficientPrivilege),
    ("UPDATE audit SET reason = 'changed'", psycopg.errors.InsufficientPrivilege),
    ("TRUNCATE audit", psycopg.errors.InsufficientPrivilege),
    ("SET session_replication_role = replica", psycopg.errors.InsufficientPrivilege),
    ("UPDATE audit_chain_head SET seq = 0", psycopg.errors.InsufficientPrivilege),
    ("DELETE FROM audit_checkpoints", psycopg.errors.InsufficientPrivilege),
    ("ALTER TABLE cases DROP COLUMN certificate", psycopg.errors.InsufficientPrivilege),
    ("CREATE TABLE sneaky (x int)", psycopg.errors.InsufficientPrivilege),
    ("DROP FUNCTION audit_chain() CASCADE", psycopg.errors.InsufficientPrivilege),
]


@pytest.mark.parametrize(("statement", "error"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_the_app_role_cannot_get_around_the_audit_log(app_url: str, statement: str, error: type[Exception]) -> None:
    _audit(app_url, 1)
    with psycopg.connect(app_url, autocommit=True) as conn:
        with pytest.raises(error):
            conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit").fetchone() == (1,)


def test_the_app_role_works_on_cases_and_adds_audit_rows(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as conn:
        role = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
                            ).fetchone()
        assert role == (False, False, False)
        conn.execute("INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage)"
                     " VALUES ('c1', 'outgoing', 'LU', 'LU', 'BE', 'draft')")
        conn.execute("UPDATE cases SET stage = 'sent' WHERE id = 'c1'")
        conn.execute("INSERT INTO audit (user_name, role, action) VALUES ('o', 'officer', 'read')")
        conn.execute("DELETE FROM cases WHERE id = 'c1'")
        # What an audit row says about its time and place is the chain's, not the writer's.
        conn.execute("INSERT INTO audit (user_name, role, action, at, seq)"
                     " VALUES ('o', 'officer', 'x', '2001-01-01', 7)")
        at, seq = conn.execute("SELECT at, seq FROM audit WHERE action = 'x'").fetchone()  # type: ignore[misc]
        assert at > datetime.now(UTC) - timedelta(minutes=5) and seq == 2


def probatio(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Wide enough that no cell of `audit verify`'s tables wraps: each row is one line to read.
    return subprocess.run([sys.executable, "-m", "probatio", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **env})


def table_rows(stdout: str) -> list[list[str]]:
    """The rows of the tables a command printed (probatio/console.py), as their cells; headings left out."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in stdout.splitlines() if line.startswith("│")]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "LU.pem"
    load_or_create_private_key(path)
    return path


@pytest.fixture
def env(app_url: str, owner_url: str, key_file: Path) -> dict[str, str]:
    return {"PROBATIO_DATABASE_URL": app_url, "PROBATIO_DATABASE_OWNER_URL": owner_url, "PROBATIO_STATE": "LU",
            "PROBATIO_SIGNING_KEY_FILE": str(key_file)}


def _as_superuser(owner_url: str, *statements: str) -> None:
    """What the app cannot do and a superuser can: switch the guards off and edit the log."""
    with psycopg.connect(owner_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # no triggers fire
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _seq_of(owner_url: str, n: int) -> tuple[int, int]:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SELECT id, seq FROM audit ORDER BY seq OFFSET %s LIMIT 1", (n,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_verify_says_intact_then_names_a_changed_row(owner_url: str, app_url: str, env: dict[str, str]) -> None:
    _audit(app_url, 5)
    ok = probatio("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Audit log of the LU node" in ok.stdout
    checks = table_rows(ok.stdout)
    assert ["rows checked", "5 (seq 1–5)"] in checks and ["starting from", "the beginning of the log"] in checks
    assert checks[-1] == ["verdict", "intact: every row is unchanged and in its place"]

    row_id, seq = _seq_of(owner_url, 2)
    _as_superuser(owner_url, f"UPDATE audit SET user_name = 'mallory' WHERE id = {row_id}")
    broken = probatio("audit", "verify", env=env)
    assert broken.returncode == 1
    rows = table_rows(broken.stdout)
    assert ["verdict", "NOT INTACT: 1 problem(s); the first is where tampering begins"] in rows
    # The problems' table, one row per problem: the first names the changed row, its place and its user.
    first = next(row for row in rows if len(row) == len(audit_chain.PROBLEM_COLUMNS))
    assert first[:2] == [str(seq), str(row_id)] and first[3] == "mallory" and "changed" in first[-1]
    assert "Traceback" not in broken.stderr


def test_verify_catches_a_recomputed_hash(owner_url: str, app_url: str, env: dict[str, str]) -> None:
    _audit(app_url, 4)
    row_id, seq = _seq_of(owner_url, 1)
    # A careful superuser recomputes the changed row's own hash: the next row no longer links to it.
    _as_superuser(owner_url, f"UPDATE audit SET reason = 'nothing to see' WHERE id = {row_id}",
                  f"UPDATE audit a SET hash = audit_row_hash(a.prev_hash, a) WHERE id = {row_id}")
    report = audit_chain.verify(owner_url, state="LU", public_key=None)
    assert not report.intact
    assert (report.problems[0].seq, report.problems[0].row_id) == (seq, row_id)


def test_verify_names_a_deleted_row(owner_url: str, app_url: str, env: dict[str, str]) -> None:
    _audit(app_url, 5)
    row_id, seq = _seq_of(owner_url, 2)
    _as_superuser(owner_url, f"DELETE FROM audit WHERE id = {row_id}")
    broken = probatio("audit", "verify", env=env)
    assert broken.returncode == 1
    assert f"seq {seq} deleted just before this row" in broken.stdout
    # The last row deleted: the chain's end still counts it.
    _as_superuser(owner_url, "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
    report = audit_chain.verify(owner_url, state="LU", public_key=None)
    assert any("deleted" in p.what for p in report.problems)


def test_verify_names_a_backdated_insert(owner_url: str, app_url: str, env: dict[str, str]) -> None:
    _audit(app_url, 3)
    # Slipped in at the end with the chain's trigger off, with a hash made up.
    _as_superuser(owner_url, "INSERT INTO audit (user_name, role, action, at, seq, prev_hash, hash)"
                             " SELECT 'ghost', 'auditor', 'read', now() - interval '30 days', seq + 1, hash,"
                             " sha256('x') FROM audit_chain_head")
    report = audit_chain.verify(owner_url, state="LU", public_key=None)
    assert report.problems and report.problems[0].user_name == "ghost"
    assert {"changed", "out of order"} <= {w for p in report.problems for w in ("changed", "out of order")
                                           if w in p.what and p.user_name == "ghost"}


def test_verify_names_a_backdated_row_forged_into_the_chain(owner_url: str, app_url: str) -> None:
    _audit(app_url, 3)
    # A superuser who computes the hash as the trigger would, but with a date of their choosing.
    _as_superuser(owner_url, """
        INSERT INTO audit (user_name, role, action, at, seq, prev_hash, hash)
        SELECT 'ghost', 'auditor', 'read', now() - interval '30 days', h.seq + 1, h.hash, '\\x00'
        FROM audit_chain_head h;
        UPDATE audit a SET hash = audit_row_hash(a.prev_hash, a) WHERE user_name = 'ghost';
        UPDATE audit_chain_head SET seq = seq + 1, hash = (SELECT hash FROM audit WHERE user_name = 'ghost');
    """)
    report = audit_chain.verify(owner_url, state="LU", public_key=None)
    assert report.problems and report.problems[0].user_name == "ghost"
    assert "out of order" in report.problems[0].what


def test_pruning_keeps_the_chain_verifiable(owner_url: str, app_url: str, env: dict[str, str],
                                            key_file: Path) -> None:
    _audit(app_url, 6)
    # Make the first four rows five years old, as the chain's clock would have written them.
    _as_superuser(owner_url, "UPDATE audit SET at = at - interval '6 years' WHERE seq <= 4",
                  "UPDATE audit a SET hash = audit_row_hash(a.prev_hash, a) WHERE seq <= 4")
    _as_superuser(owner_url, *[f"UPDATE audit a SET prev_hash = (SELECT hash FROM audit WHERE seq = {s - 1}),"
                               f" hash = audit_row_hash((SELECT hash FROM audit WHERE seq = {s - 1}), a)"
                               f" WHERE seq = {s}" for s in range(2, 7)],
                  "UPDATE audit_chain_head SET hash = (SELECT hash FROM audit WHERE seq = 6)")
    assert audit_chain.verify(owner_url, state="LU", public_key=None).intact

    # The application's role cannot prune: it is the owner's maintenance step.
    denied = probatio("audit", "prune", env={**env, "PROBATIO_DATABASE_OWNER_URL": app_url})
    assert denied.returncode == 1 and "Traceback" not in denied.stderr
    done = probatio("audit", "prune", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 rows" in done.stdout
    ok = probatio("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stdout
    assert "signed checkpoint after seq 4" in ok.stdout

    # A checkpoint signed by another key does not count.
    other = Ed25519PrivateKey.generate()
    report = audit_chain.verify(app_url, state="LU", public_key=other.public_key())
    assert not report.intact and "signature" in report.problems[0].what


def test_app_role_url_in_settings_is_not_the_owner(tmp_path: Path) -> None:
    from probatio.settings import Settings

    settings = Settings(state="LU", home=tmp_path)
    assert "probatio_node" in settings.effective_database_url
    assert "postgres@" in settings.effective_database_owner_url


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("PROBATIO_DATABASE_URL", "PROBATIO_DATABASE_OWNER_URL"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_migrate_with_two_urls_makes_the_app_role(owner_url: str, tmp_path: Path) -> None:
    from psycopg.conninfo import make_conninfo

    app = make_conninfo(owner_url, user="probatio_node_cli", password="s3cret-for-test")
    done = probatio("migrate", env={"PROBATIO_DATABASE_URL": app, "PROBATIO_DATABASE_OWNER_URL": owner_url,
                                    "PROBATIO_STATE": "LU"})
    assert done.returncode == 0, done.stderr
    assert "role probatio_node_cli: member of probatio_app" in done.stdout
    with psycopg.connect(app, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit")



def test_concurrent_writers_keep_one_unbroken_chain(app_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def writer(n: int) -> None:
        with psycopg.connect(app_url) as conn:
            for i in range(25):
                with conn.transaction():
                    conn.execute("INSERT INTO audit (user_name, role, action) VALUES (%s, 'officer', 'read')",
                                 (f"w{n}",))
                if i % 5 == 0:  # a transaction that rolls back leaves no gap behind
                    with conn.transaction():
                        conn.execute("INSERT INTO audit (user_name, role, action) VALUES ('gone', 'x', 'y')")
                        raise psycopg.Rollback()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    report = audit_chain.verify(app_url, state="LU", public_key=None)
    assert report.intact, report.table()
    assert report.rows == report.last_seq == 8 * 25


def test_an_anchor_the_app_role_adds_names_a_row_as_it_is_and_is_made_now(app_url: str) -> None:
    """The application's role may add an anchor (the nightly check signs the chain's end), but not a junk one:
    the row it names must be there with that hash, and it is made now, not backdated."""
    _audit(app_url, 2)
    insert = ("INSERT INTO audit_checkpoints (kind, seq, hash, rows_deleted, made_at, signed_by, signature)"
              " VALUES ('anchor', %s, %s, 0, %s, 'LU', 'not checked here')")
    with psycopg.connect(app_url, autocommit=True) as conn:
        seq, real = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()  # type: ignore[misc]
        now = datetime.now(UTC)
        for bad_seq, bad_hash, made_at in ((seq, b"\x00" * 32, now), (seq + 100, real, now),
                                           (seq, real, now - timedelta(days=30))):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(insert, (bad_seq, bad_hash, made_at))
        conn.execute(insert, (seq, real, now))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(insert.replace("'anchor'", "'pruned'"), (seq, real, now))
        assert conn.execute("SELECT count(*) FROM audit_checkpoints").fetchone() == (1,)


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_log_in_as_the_owner(owner_url: str, command: str, env: dict[str, str]) -> None:
    """A deployment that gives the web app or the worker the owner's URL by accident is told so, in one line,
    and does not start: that role could switch the audit log's guards off."""
    done = probatio(command, env={**env, "PROBATIO_DATABASE_URL": owner_url})
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    # The owner here is the test server's superuser: said as what it is.
    assert len(lines) == 1 and "Traceback" not in done.stderr, lines
    assert "a superuser" in lines[0] or "the owner of the tables" in lines[0], lines
    assert "PROBATIO_DATABASE_OWNER_URL" in lines[0]


def test_the_app_role_is_not_more_than_it_should_be(app_url: str, owner_url: str) -> None:
    from store.db import more_than_the_app_role

    assert more_than_the_app_role(app_url) is None
    assert more_than_the_app_role(owner_url) is not None
