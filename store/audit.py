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


def _filters(case_id: str | None, user_name: str | None, action: str | None, authority: str | None,
             since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    """The WHERE clause of a search of the audit log and its parameters; every filter optional (AND)."""
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
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


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
    clause, params = _filters(case_id, user_name, action, authority, since, until)
    params += [limit, offset]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT * FROM audit {clause} ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",  # type: ignore[arg-type]
            params,
        )
        return list(await cur.fetchall())


async def count_entries(
    pool: AsyncConnectionPool[Any],
    *,
    case_id: str | None = None,
    user_name: str | None = None,
    action: str | None = None,
    authority: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many entries `entries` would page through with the same filters (a list's total)."""
    clause, params = _filters(case_id, user_name, action, authority, since, until)
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) AS n FROM audit {clause}", params)  # type: ignore[arg-type]
        row = await cur.fetchone()
    return int(row["n"]) if row else 0
