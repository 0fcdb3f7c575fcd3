"""The audit log: who read or changed which case, when, and why (append-only; kept five years)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

# Luxembourg keeps the log of access to personal data for five years (seeds/luxembourg-ced-report-2024.txt).
RETENTION_YEARS = 5


async def record(
    conn: AsyncConnection[Any],
    *,
    user_name: str,
    role: str,
    authority: str | None,
    case_id: str | None,
    action: str,
    reason: str | None = None,
    old_stage: str | None = None,
    new_stage: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit (user_name, role, authority, case_id, action, reason, old_stage, new_stage, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (user_name, role, authority, case_id, action, reason, old_stage, new_stage, Jsonb(detail or {})),
    )


async def entries(pool: AsyncConnectionPool[Any], *, case_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        if case_id:
            cur = await conn.execute(
                "SELECT * FROM audit WHERE case_id = %s ORDER BY at DESC, id DESC LIMIT %s", (case_id, limit)
            )
        else:
            cur = await conn.execute("SELECT * FROM audit ORDER BY at DESC, id DESC LIMIT %s", (limit,))
        return list(await cur.fetchall())
