"""The database layer against a real PostgreSQL: migrations, the append-only audit log, the projection."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from probatio.harness import fresh_database
from store import cases, messages
from store.db import migrate, open_pool


@pytest.fixture
def db_url(pg_server: str) -> str:
    return fresh_database(pg_server, "store_tests")


def test_migrations_are_idempotent_and_guard_against_edits(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert migrate(db_url) == []  # fresh_database applied them already
    import store.db

    original = store.db.migrations()
    edited = [(v, sql + "\n-- edited") if v == original[0][0] else (v, sql) for v, sql in original]
    monkeypatch.setattr(store.db, "migrations", lambda: edited)
    with pytest.raises(RuntimeError, match="was changed after it was applied"):
        migrate(db_url)


def test_audit_log_is_append_only(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO audit (user_name, role, action) VALUES ('alice', 'auditor', 'read')")
        for statement in ("UPDATE audit SET user_name = 'mallory'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT user_name FROM audit").fetchall() == [("alice",)]


async def test_projection_is_idempotent_and_ignores_older_revisions(db_url: str) -> None:
    pool = open_pool(db_url)
    await pool.open()
    try:
        async with pool.connection() as conn:
            await cases.insert_case(conn, case_id="c1", direction="outgoing", authority="LU", issuing_state="LU",
                                    executing_state="BE", stage="draft", certificate={}, facts={}, created_by="o")
        now = datetime.now(UTC)
        event = {"key": "c1:1", "at": now, "type": "submitted", "actor": "officer", "role": "officer",
                 "old_stage": "draft", "new_stage": "awaiting_approval"}
        common = {"outcome": None, "decision_due": None, "deadlines": [], "alerts": [], "alerts_seen": [],
                  "closed_at": None}
        await cases.apply_projection(pool, case_id="c1", revision=2, stage="awaiting_approval", events=[event],
                                     **common)
        # The same activity retried, and an older revision arriving late: neither changes anything.
        await cases.apply_projection(pool, case_id="c1", revision=2, stage="awaiting_approval", events=[event],
                                     **common)
        await cases.apply_projection(pool, case_id="c1", revision=1, stage="draft", events=[], **common)
        row = await cases.get_case(pool, "c1")
        assert row is not None and row["stage"] == "awaiting_approval"
        assert [e["type"] for e in await cases.timeline(pool, "c1")] == ["submitted"]
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT action, old_stage, new_stage FROM audit WHERE case_id = 'c1'")
            assert await cur.fetchall() == [{"action": "submitted", "old_stage": "draft",
                                             "new_stage": "awaiting_approval"}]
            with pytest.raises(LookupError):
                await cases.apply_projection(pool, case_id="nope", revision=1, stage="draft", events=[], **common)
    finally:
        await pool.close()


async def test_inbox_keeps_the_first_answer(db_url: str) -> None:
    pool = open_pool(db_url)
    await pool.open()
    try:
        async with pool.connection() as conn:
            first = {"accepted": True, "received_at": "first"}
            assert await messages.inbox_record(conn, message_id="m1", conversation_id="c", type_="certificate",
                                               from_state="LU", envelope={"payload": {}}, response=first)
            assert not await messages.inbox_record(conn, message_id="m1", conversation_id="c", type_="certificate",
                                                   from_state="LU", envelope={"payload": {}},
                                                   response={"accepted": True, "received_at": "second"})
            assert await messages.inbox_answer(conn, "m1") == (first, True)
            assert await messages.inbox_answer(conn, "m2") is None
    finally:
        await pool.close()
