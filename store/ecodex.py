"""The e-CODEX poller's books (migration 0014): fetched messages until taken in and answered, and the
evidences about our own messages already passed on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

# After this many failed intake attempts for a passing reason (database, Temporal), a message is refused.
MAX_INTAKE_ATTEMPTS = 5


async def keep_fetched(pool: AsyncConnectionPool[Any], connector_url: str, messages: list[dict[str, Any]]) -> int:
    """Write every fetched message before any is read; a message fetched twice is kept once."""
    kept = 0
    async with pool.connection() as conn, conn.transaction():
        for message in messages:
            ebms_id = str(message.get("ebmsMessageId") or "")
            if not ebms_id:
                continue  # nothing to answer to, and nothing the client would hand out twice
            cur = await conn.execute(
                "INSERT INTO ecodex_incoming (ebms_message_id, connector_url, action, conversation_id, message)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (ebms_message_id) DO NOTHING",
                (ebms_id, connector_url, message.get("action"), message.get("conversationId"), Jsonb(message)),
            )
            kept += cur.rowcount
    return kept


async def waiting_intake(pool: AsyncConnectionPool[Any], connector_url: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT ebms_message_id, message, attempts FROM ecodex_incoming"
            " WHERE connector_url = %s AND state = 'fetched' ORDER BY fetched_at, ebms_message_id",
            (connector_url,),
        )
        return list(await cur.fetchall())


async def taken_in(pool: AsyncConnectionPool[Any], ebms_message_id: str, *, message_id: str, conversation_id: str,
                   trust: dict[str, Any], trust_pdf: bytes | None) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE ecodex_incoming SET state = 'taken_in', message = NULL, message_id = %s, conversation_id = %s,"
            " trust = %s, trust_pdf = %s, answer = 'RETRIEVAL' WHERE ebms_message_id = %s",
            (message_id, conversation_id, Jsonb(trust), trust_pdf, ebms_message_id),
        )


async def refused(pool: AsyncConnectionPool[Any], ebms_message_id: str, reason: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE ecodex_incoming SET state = 'refused', message = NULL, reason = %s, answer = 'NON_RETRIEVAL'"
            " WHERE ebms_message_id = %s",
            (reason, ebms_message_id),
        )


async def intake_failed(pool: AsyncConnectionPool[Any], ebms_message_id: str) -> int:
    """Count a failed attempt; returns how many there were."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE ecodex_incoming SET attempts = attempts + 1 WHERE ebms_message_id = %s RETURNING attempts",
            (ebms_message_id,),
        )
        row = await cur.fetchone()
    return int(row["attempts"]) if row else 0


async def unanswered(pool: AsyncConnectionPool[Any], connector_url: str) -> list[dict[str, Any]]:
    """Messages whose DELIVERY, or whose RETRIEVAL / NON_RETRIEVAL, our connector has not taken yet."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT ebms_message_id, delivery_sent_at, answer, answer_sent_at FROM ecodex_incoming"
            " WHERE connector_url = %s"
            " AND (delivery_sent_at IS NULL OR (answer IS NOT NULL AND answer_sent_at IS NULL))"
            " ORDER BY fetched_at, ebms_message_id",
            (connector_url,),
        )
        return list(await cur.fetchall())


async def mark_sent(pool: AsyncConnectionPool[Any], ebms_message_id: str, confirmation_type: str) -> None:
    async with pool.connection() as conn:
        if confirmation_type == "DELIVERY":
            await conn.execute("UPDATE ecodex_incoming SET delivery_sent_at = now() WHERE ebms_message_id = %s",
                               (ebms_message_id,))
        else:
            await conn.execute("UPDATE ecodex_incoming SET answer_sent_at = now() WHERE ebms_message_id = %s",
                               (ebms_message_id,))


async def trust_of_case(pool: AsyncConnectionPool[Any], conversation_id: str) -> list[dict[str, Any]]:
    """The trust-OK verdicts of the messages of one case that came over e-CODEX, oldest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT e.ebms_message_id, e.message_id, i.type, e.fetched_at, e.trust FROM ecodex_incoming e"
            " LEFT JOIN inbox i ON i.message_id = e.message_id"
            " WHERE e.conversation_id = %s AND e.trust IS NOT NULL ORDER BY e.fetched_at",
            (conversation_id,),
        )
        return list(await cur.fetchall())


async def first_evidence(pool: AsyncConnectionPool[Any], *, ebms_message_id: str, confirmation_type: str,
                         message_id: str, event_at: datetime, document: str | None) -> bool:
    """Note an evidence as passed on; False if it was already (the client lists evidences again).

    The first arrival wins, and may: the list and the look-up by backend id give an evidence with the same
    document from the client's storage, so the same documented time (adapters/ecodex.py ``evidences_for``),
    and the client writes that file before it lists the evidence. They could differ only for a file the
    client failed to read once and read later; the client answers that like a missing file (empty), so it
    cannot be told apart, and the first arrival, with the client's storage time, stays.
    """
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO ecodex_evidence (ebms_message_id, confirmation_type, message_id, event_at, document)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (ebms_message_id, confirmation_type, message_id, event_at, document),
        )
        return bool(cur.rowcount == 1)


async def forget_evidence(pool: AsyncConnectionPool[Any], ebms_message_id: str, confirmation_type: str) -> None:
    """Undo :func:`first_evidence` when the workflow could not be told, so the next round tries again."""
    async with pool.connection() as conn:
        await conn.execute(
            "DELETE FROM ecodex_evidence WHERE ebms_message_id = %s AND confirmation_type = %s",
            (ebms_message_id, confirmation_type),
        )


async def awaiting_evidence(pool: AsyncConnectionPool[Any], *, within_hours: int) -> list[dict[str, Any]]:
    """Our e-CODEX messages of the last ``within_hours`` with no final evidence yet (retrieval or a negative
    one): the client never lists a message that is only ACCEPTED, so the poller asks for each."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT o.message_id, o.to_state FROM outbox o WHERE o.adapter = 'ecodex'"
            " AND o.created_at > now() - make_interval(hours => %s) AND o.response IS NOT NULL"
            # Only the latest submission counts: after a resend the message is on its way again.
            " AND NOT EXISTS (SELECT 1 FROM ecodex_evidence e WHERE e.message_id = o.message_id"
            "   AND e.ebms_message_id = COALESCE(o.response->>'ebmsMessageId', e.ebms_message_id) AND"
            "   e.confirmation_type IN ('RETRIEVAL', 'NON_RETRIEVAL', 'NON_DELIVERY', 'SUBMISSION_REJECTION',"
            "   'RELAY_REMMD_REJECTION', 'RELAY_REMMD_FAILURE'))"
            " ORDER BY o.created_at",
            (within_hours,),
        )
        return list(await cur.fetchall())
