"""The nightly check anchors the audit chain it found intact (issue 15 item 3): a signed checkpoint of its end.
Rows cut from the end afterwards, with the chain's end rewritten to match (what a superuser can do and the
chain alone cannot tell), are then named by `audit verify`; the application's role may add an anchor and
nothing else to the checkpoints."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from activities.retention import RetentionActivities
from adapters.keys import load_or_create_private_key
from probatio.harness import app_database, fresh_database
from store import audit_chain
from store.db import open_pool


@pytest.fixture
def owner_url(pg_server: str) -> str:
    return fresh_database(pg_server, "audit_anchor_tests")


def _audit(url: str, n: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(n):
            conn.execute("INSERT INTO audit (user_name, role, action, detail) VALUES ('alice', 'officer', 'read',"
                         " %s)", (f'{{"n": {i}}}',))


async def test_a_cut_end_of_the_log_is_caught_by_the_last_anchor(owner_url: str, tmp_path: Path) -> None:
    key = load_or_create_private_key(tmp_path / "LU.pem")
    app_url = app_database(owner_url)
    _audit(app_url, 6)
    pool = open_pool(app_url)
    await pool.open()
    try:
        check = await RetentionActivities(pool, state="LU", key=key).verify_audit_chain()
    finally:
        await pool.close()
    assert check.intact
    with psycopg.connect(owner_url, autocommit=True) as conn:
        anchored = conn.execute("SELECT kind, seq FROM audit_checkpoints").fetchall()
        last = conn.execute("SELECT max(seq) FROM audit WHERE action <> 'audit_chain_verified'").fetchone()
    assert anchored == [("anchor", last[0] if last else None)]
    assert audit_chain.verify(owner_url, state="LU", public_key=key.public_key()).intact

    # A superuser cuts the last three rows and rewrites the chain's end to the row now last.
    with psycopg.connect(owner_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)")
        conn.execute("UPDATE audit_chain_head SET seq = a.seq, hash = a.hash FROM (SELECT seq, hash FROM audit"
                     " ORDER BY seq DESC LIMIT 1) a")
    without_key = audit_chain.verify(owner_url, state="LU", public_key=None)
    assert without_key.intact  # the chain alone cannot tell: that is what the anchor is for
    report = audit_chain.verify(owner_url, state="LU", public_key=key.public_key())
    assert not report.intact
    assert "deleted: a signed checkpoint vouches for the chain up to seq" in report.problems[0].what


def test_the_app_role_adds_anchors_only(owner_url: str) -> None:
    app_url = app_database(owner_url)
    with psycopg.connect(app_url, autocommit=True) as conn:
        for kind, error in (("pruned", psycopg.errors.InsufficientPrivilege),):
            with pytest.raises(error):
                conn.execute("INSERT INTO audit_checkpoints (kind, seq, hash, signed_by, signature)"
                             " VALUES (%s, 1, '\\x00', 'LU', 'x')", (kind,))
        # An anchor names a row as it is (tests/security/test_database_privileges.py: never a junk one).
        conn.execute("INSERT INTO audit (user_name, role, action) VALUES ('o', 'officer', 'read')")
        conn.execute("INSERT INTO audit_checkpoints (kind, seq, hash, signed_by, signature)"
                     " SELECT 'anchor', seq, hash, 'LU', 'x' FROM audit")
        for statement in ("DELETE FROM audit_checkpoints", "UPDATE audit_checkpoints SET seq = 2"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)  # type: ignore[arg-type]
