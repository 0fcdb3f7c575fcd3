"""The audit log: who read or changed which case, when, and why (append-only; kept five years)."""

from __future__ import annotations

from datetime import datetime
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


async def entries(
    pool: AsyncConnectionPool[Any],
    *,
    case_id: str | None = None,
    user_name: str | None = None,
    action: str | None = None,
    authority: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first; every filter is optional and they combine (AND)."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("case_id", case_id), ("user_name", user_name), ("authority", authority)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    if action:
        # "read" finds read, read_certificate, read_denied: the auditor asks about kinds of access.
        where.append("action LIKE %s")
        params.append(action.replace("%", r"\%").replace("_", r"\_") + "%")
    if since:
        where.append("at >= %s")
        params.append(since)
    if until:
        where.append("at < %s")
        params.append(until)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params += [limit, offset]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT * FROM audit {clause} ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",  # type: ignore[arg-type]
            params,
        )
        return list(await cur.fetchall())
