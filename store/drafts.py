"""The officer's certificate drafts: what the wizard autosaves, box by box, before a case exists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]


async def create_draft(pool: AsyncConnectionPool[Any], *, authority: str, created_by: str,
                       certificate: dict[str, Any]) -> str:
    draft_id = str(uuid.uuid4())
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO transfer_drafts (id, authority, created_by, executing_state, certificate)"
            " VALUES (%s, %s, %s, %s, %s)",
            (draft_id, authority, created_by, certificate.get("executing_state"), Jsonb(certificate)),
        )
    return draft_id


async def get_draft(pool: AsyncConnectionPool[Any], draft_id: str) -> Row | None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM transfer_drafts WHERE id = %s", (draft_id,))
        row: Row | None = await cur.fetchone()
    return row


async def save_draft(pool: AsyncConnectionPool[Any], draft_id: str, certificate: dict[str, Any]) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE transfer_drafts SET certificate = %s, executing_state = %s, updated_at = now()"
            " WHERE id = %s AND case_id IS NULL",
            (Jsonb(certificate), certificate.get("executing_state"), draft_id),
        )


async def mark_started(pool: AsyncConnectionPool[Any], draft_id: str, case_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE transfer_drafts SET case_id = %s, updated_at = now() WHERE id = %s",
                           (case_id, draft_id))


async def list_drafts(pool: AsyncConnectionPool[Any], authorities: Sequence[str], limit: int = 100) -> list[Row]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, authority, created_by, executing_state, updated_at,"
            " certificate->'person'->>'surname' AS surname FROM transfer_drafts"
            " WHERE authority = ANY(%s) AND case_id IS NULL ORDER BY updated_at DESC LIMIT %s",
            (list(authorities), limit),
        )
        return list(await cur.fetchall())
