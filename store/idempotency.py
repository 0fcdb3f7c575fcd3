"""Answers kept for `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): a retried request
gets its first answer again; the same key with another body is refused.

Call within the transaction that does the work, so the answer is kept exactly when the work is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

# How long a key is remembered: a client retries within minutes; a day leaves room for an outage.
KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class KeptAnswer:
    request_hash: str
    status: int
    answer: dict[str, Any]


async def lock_and_find(conn: AsyncConnection[Any], user_name: str, key: str) -> KeptAnswer | None:
    """Serialise requests with this key (a retry racing a slow first attempt waits for it), then the
    answer kept for it, if any and still fresh."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"idempotency:{user_name}:{key}",))
    cur = await conn.execute(
        "SELECT request_hash, status, answer FROM idempotency_keys"
        " WHERE user_name = %s AND key = %s AND created_at > now() - %s",
        (user_name, key, KEY_LIFETIME))
    row = await cur.fetchone()
    if row is None:
        return None
    return KeptAnswer(request_hash=row["request_hash"], status=row["status"], answer=row["answer"])


async def keep(conn: AsyncConnection[Any], user_name: str, key: str, request_hash: str, status: int,
               answer: dict[str, Any]) -> None:
    """Remember the answer (replacing an expired one with the same key); old keys are dropped on the way."""
    await conn.execute("DELETE FROM idempotency_keys WHERE created_at <= now() - %s", (KEY_LIFETIME,))
    await conn.execute(
        "INSERT INTO idempotency_keys (user_name, key, request_hash, status, answer) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (user_name, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
        " status = EXCLUDED.status, answer = EXCLUDED.answer, created_at = now()",
        (user_name, key, request_hash, status, Jsonb(answer)))
