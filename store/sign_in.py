"""Failed sign-ins, per user name and per address: after a few, each further attempt must wait twice as
long as the one before; after more, the name or address is locked for a while. A locked or waiting
attempt is refused without looking at the password, so guessing gets nowhere faster by asking faster.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

# A user name as typed is kept at most this long (in the key and in the audit log).
NAME_CHARS = 100


@dataclass(frozen=True)
class Limits:
    backoff_after: int
    lock_after: int
    lock_minutes: int


def keys_for(name: str, address: str) -> list[str]:
    return [f"user:{name.strip().lower()[:NAME_CHARS]}", f"address:{address}"]


def _wait(row: dict[str, Any], limits: Limits, now: datetime) -> float:
    if row["locked_until"] is not None and row["locked_until"] > now:
        return float((row["locked_until"] - now).total_seconds())
    extra = int(row["failures"]) - limits.backoff_after
    if extra < 0:
        return 0.0
    ready = row["last_failure"] + timedelta(seconds=min(2 ** extra, limits.lock_minutes * 60))
    return max(0.0, float((ready - now).total_seconds()))


# How many sign-in attempts of one process hold a database connection at once. An attempt waits for its keys'
# locks while holding one; without this bound, a burst of attempts on one name would hold every connection of
# the pool, and the whole node (its pages, its API, the inbox) would wait with them.
SIGN_IN_SLOTS = 2
_slots: weakref.WeakKeyDictionary[AsyncConnectionPool[Any], asyncio.Semaphore] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def one_at_a_time(pool: AsyncConnectionPool[Any], keys: list[str]) -> AsyncIterator[AsyncConnection[Any]]:
    """A transaction holding each key's lock (in one order, so two attempts cannot deadlock): attempts on one
    name or from one address are judged one after the other, from the check of the wait to the failure
    counted, so a burst of parallel guesses cannot all pass the check before the first is counted. At most
    SIGN_IN_SLOTS attempts of this process hold a connection meanwhile; the others wait without one."""
    slots = _slots.setdefault(pool, asyncio.Semaphore(SIGN_IN_SLOTS))
    async with slots, pool.connection() as conn, conn.transaction():
        for key in sorted(keys):
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 9471))", (key,))
        yield conn


async def seconds_to_wait(conn: AsyncConnection[Any], keys: list[str], limits: Limits) -> float:
    """0 when an attempt may be made now; else how long until it may (the longest of the keys)."""
    cur = await conn.execute("SELECT failures, last_failure, locked_until, now() AS now FROM sign_in_failures"
                             " WHERE key = ANY(%s)", (keys,))
    rows = await cur.fetchall()
    return max((_wait(r, limits, r["now"]) for r in rows), default=0.0)


async def record_failure(conn: AsyncConnection[Any], keys: list[str], limits: Limits) -> list[str]:
    """Count a failure against each key; returns the keys this failure locked. Called under one_at_a_time,
    after seconds_to_wait said 0: a lock still running never reaches here, one that ran out starts afresh."""
    locked: list[str] = []
    for key in keys:
        cur = await conn.execute(
            "INSERT INTO sign_in_failures (key, failures, last_failure) VALUES (%s, 1, now())"
            " ON CONFLICT (key) DO UPDATE SET last_failure = now(), locked_until = NULL,"
            " failures = CASE WHEN sign_in_failures.locked_until IS NOT NULL THEN 1"
            " ELSE sign_in_failures.failures + 1 END RETURNING failures", (key,))
        row = await cur.fetchone()
        if row and int(row["failures"]) >= limits.lock_after:
            await conn.execute("UPDATE sign_in_failures SET locked_until = now() + %s WHERE key = %s",
                               (timedelta(minutes=limits.lock_minutes), key))
            locked.append(key)
    return locked


async def record_success(conn: AsyncConnection[Any], name: str) -> None:
    """The right password clears the name's count (not the address's: one office shares an address)."""
    await conn.execute("DELETE FROM sign_in_failures WHERE key = %s", (keys_for(name, "")[0],))


async def forget_old(pool: AsyncConnectionPool[Any]) -> int:
    """Failed sign-ins hold names as typed and addresses: kept only while they still slow anyone down."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM sign_in_failures WHERE last_failure < now() - interval '1 day'"
                                 " AND (locked_until IS NULL OR locked_until < now())")
        return int(cur.rowcount)
