"""Migration 0031: every transaction that writes cases takes the audit chain's head first, so a web request
that creates a case and then audits it, and a projection write that audits and then changes a case (its
tally rows), never deadlock. Several connections interleave both kinds of transaction on the same rows of
a real PostgreSQL; before 0031 PostgreSQL broke such cycles with "deadlock detected" (a 500 to the user)."""

from __future__ import annotations

import asyncio
import random
import uuid

import psycopg
import pytest

from probatio.harness import fresh_database


@pytest.fixture
def db_url(pg_server: str) -> str:
    return fresh_database(pg_server, "lock_order_tests")


def _audit(cur: psycopg.Cursor[tuple[object, ...]], case_id: str) -> None:
    cur.execute("INSERT INTO audit (user_name, role, authority, case_id, action) VALUES ('t', 'officer', 'LU', %s,"
                " 'read')", (case_id,))


def _work(url: str, seed: int, ids: list[str], rounds: int) -> int:
    rng = random.Random(seed)
    done = 0
    with psycopg.connect(url) as conn:
        for _ in range(rounds):
            with conn.transaction(), conn.cursor() as cur:
                if rng.random() < 0.5:
                    # As POST /api/v1/transfers: a new case (tally rows), then its audit row (the chain's head).
                    new = f"n-{uuid.uuid4().hex[:12]}"
                    cur.execute("INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage)"
                                " VALUES (%s, 'outgoing', 'LU', 'LU', 'BE', 'draft')", (new,))
                    _audit(cur, new)
                else:
                    # As a projection write: the audit row first, then the case's stage (its tally rows).
                    case_id = rng.choice(ids)
                    _audit(cur, case_id)
                    cur.execute("UPDATE cases SET stage = %s WHERE id = %s",
                                (rng.choice(["sent", "under_decision", "transferred"]), case_id))
            done += 1
    return done


async def test_creating_and_projecting_cases_at_once_never_deadlocks(db_url: str) -> None:
    ids = [f"c{i}" for i in range(20)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        for case_id in ids:
            conn.execute("INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage)"
                         " VALUES (%s, 'outgoing', 'LU', 'LU', 'BE', 'draft')", (case_id,))
    done = await asyncio.gather(*(asyncio.to_thread(_work, db_url, seed, ids, 150) for seed in range(6)))
    assert sum(done) == 6 * 150  # a deadlock would have raised psycopg.errors.DeadlockDetected
