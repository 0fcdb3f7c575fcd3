"""The node link's books: the inbox (de-duplication on receipt) and the outbox (delivery attempts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool


async def inbox_answer(conn: AsyncConnection[Any], message_id: str) -> tuple[dict[str, Any], bool] | None:
    """The answer given the first time this message id arrived, if it did, and whether the case's workflow
    was told of it (0037)."""
    cur = await conn.execute("SELECT response, handed_over FROM inbox WHERE message_id = %s", (message_id,))
    row = await cur.fetchone()
    return (dict(row["response"]), bool(row["handed_over"])) if row else None


async def inbox_handed_over(pool: AsyncConnectionPool[Any], message_id: str, response: dict[str, Any]) -> None:
    """The case's workflow has the message (or has ended: the answer says so)."""
    async with pool.connection() as conn:
        await conn.execute("UPDATE inbox SET handed_over = true, hand_over = NULL, response = %s"
                           " WHERE message_id = %s",
                           (Jsonb(response), message_id))


# A kept message with what its workflow is to be told (0038) and the case it belongs to (intake HandOver.kept).
_KEPT = ("SELECT i.message_id, i.conversation_id, i.type, i.hand_over, i.response, c.direction, c.issuing_state,"
         " c.authority, c.created_by FROM inbox i JOIN cases c ON c.id = i.conversation_id"
         " WHERE NOT i.handed_over AND i.hand_over IS NOT NULL")


async def inbox_kept(conn: AsyncConnection[Any], message_id: str) -> dict[str, Any] | None:
    """One message kept and not yet handed over to its case's workflow, if it is."""
    cur = await conn.execute(_KEPT + " AND i.message_id = %s", (message_id,))
    row = await cur.fetchone()
    return dict(row) if row else None


async def inbox_awaiting_hand_over(pool: AsyncConnectionPool[Any], *, older_than: timedelta,
                                   limit: int = 100) -> list[dict[str, Any]]:
    """Messages kept and not yet handed over, at least `older_than` old, oldest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(_KEPT + " AND i.received_at < now() - %s ORDER BY i.received_at LIMIT %s",
                                 (older_than, limit))
        return [dict(row) for row in await cur.fetchall()]


async def inbox_refusal(conn: AsyncConnection[Any], message_id: str) -> tuple[int, str] | None:
    """The refusal this message id got the first time, when it was refused for what it is (0034)."""
    cur = await conn.execute("SELECT status, reason FROM inbox_refusals WHERE message_id = %s", (message_id,))
    row = await cur.fetchone()
    return (int(row["status"]), str(row["reason"])) if row else None


async def remember_refusal(pool: AsyncConnectionPool[Any], *, message_id: str, from_state: str, status: int,
                           reason: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO inbox_refusals (message_id, from_state, status, reason) VALUES (%s, %s, %s, %s)"
                           " ON CONFLICT (message_id) DO NOTHING", (message_id, from_state, status, reason))


async def inbox_record(conn: AsyncConnection[Any], *, message_id: str, conversation_id: str, type_: str,
                       from_state: str, envelope: dict[str, Any], response: dict[str, Any],
                       hand_over: dict[str, Any] | None = None) -> bool:
    """Keep a message; `hand_over` is what its case's workflow is to be told, until it has been (0038)."""
    cur = await conn.execute(
        "INSERT INTO inbox (message_id, conversation_id, type, from_state, envelope, response, handed_over,"
        " hand_over) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING",
        (message_id, conversation_id, type_, from_state, Jsonb(envelope), Jsonb(response), hand_over is None,
         Jsonb(hand_over) if hand_over is not None else None),
    )
    return cur.rowcount == 1


async def inbox_payload(pool: AsyncConnectionPool[Any], message_id: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT envelope FROM inbox WHERE message_id = %s", (message_id,))
        row = await cur.fetchone()
    return dict(row["envelope"]["payload"]) if row else None


async def conversation(pool: AsyncConnectionPool[Any], conversation_id: str) -> list[dict[str, Any]]:
    """Every message of one case, both ways, in order: what crossed the link."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 'in' AS way, message_id, type, received_at AS at FROM inbox WHERE conversation_id = %s"
            " UNION ALL SELECT 'out', message_id, type, created_at FROM outbox WHERE conversation_id = %s"
            " ORDER BY at", (conversation_id, conversation_id))
        return list(await cur.fetchall())


# Keys of a payload that carry a document's bytes (base64): kept once in `documents`, not in every listing.
_BYTES = ("certificate_pdf", "documents")


def without_bytes(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a person reads it: documents named by their digest, their bytes left out."""
    out = dict(payload)
    for key in _BYTES:
        value = out.get(key)
        if isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k != "content"}
        elif isinstance(value, list):
            out[key] = [{k: v for k, v in d.items() if k != "content"} if isinstance(d, dict) else d for d in value]
    return out


async def conversation_messages(pool: AsyncConnectionPool[Any], conversation_id: str) -> list[dict[str, Any]]:
    """Every message of one case, both ways, in order, with what it said (documents' bytes left out)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 'received' AS way, message_id, type, from_state AS state, received_at AS at,"
            # Documents' bytes (up to 20 MB each) stay in the database: the documents list shows them.
            "  (envelope->'payload') - 'certificate_pdf' - 'documents' AS payload FROM inbox WHERE conversation_id = %s"
            " UNION ALL SELECT 'sent', message_id, type, to_state, created_at,"
            "  payload - 'certificate_pdf' - 'documents' FROM outbox"
            "  WHERE conversation_id = %s ORDER BY at", (conversation_id, conversation_id))
        rows = list(await cur.fetchall())
    return [{**row, "payload": row["payload"] if isinstance(row["payload"], dict) else None} for row in rows]


async def outbox_attempt(pool: AsyncConnectionPool[Any], *, message_id: str, conversation_id: str, type_: str,
                         to_state: str, adapter: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Count an attempt; returns the row so a retry after success can answer without sending again. The
    payload (documents' bytes left out: they are in `documents`) is what the conversation panel shows."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO outbox (message_id, conversation_id, type, to_state, adapter, attempts, payload)"
            " VALUES (%s, %s, %s, %s, %s, 1, %s) ON CONFLICT (message_id) DO UPDATE"
            " SET attempts = outbox.attempts + 1, payload = COALESCE(outbox.payload, EXCLUDED.payload)"
            " RETURNING *",
            (message_id, conversation_id, type_, to_state, adapter,
             Jsonb(without_bytes(payload)) if payload is not None else None),
        )
        row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def outbox_result(pool: AsyncConnectionPool[Any], message_id: str, *, delivered: bool,
                        response: dict[str, Any] | None, error: str | None) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE outbox SET delivered_at = CASE WHEN %s THEN now() ELSE delivered_at END,"
            " response = COALESCE(%s, response), last_error = %s WHERE message_id = %s",
            (delivered, Jsonb(response) if response is not None else None, error, message_id),
        )
