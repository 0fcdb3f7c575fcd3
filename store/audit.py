"""The audit log: who read or changed which case, when, and why (append-only; kept five years)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

# Luxembourg keeps the log of access to personal data for five years (seeds/luxembourg-ced-report-2024.txt).
RETENTION_YEARS = 5


class Purpose(StrEnum):
    """Why personal data was read (Act of 1 August 2018, criminal matters: who consulted what, when, why).
    The page or endpoint says which; an API client may state it (`X-Probatio-Purpose`)."""

    CASE_WORK = "case_work"          # the officer preparing, sending, supervising a case
    DECISION = "decision"            # the prosecutor approving, deciding, answering
    SUPERVISION = "supervision"      # the supervisor watching the authority's caseload
    AUDIT = "audit"                  # the auditor checking who did what
    SUBJECT_ACCESS = "subject_access"  # the person's right of access: everything held about them


# What a role reads for, unless it says otherwise.
PURPOSE_OF_ROLE = {"officer": Purpose.CASE_WORK, "prosecutor": Purpose.DECISION, "supervisor": Purpose.SUPERVISION,
                   "auditor": Purpose.AUDIT, "admin": Purpose.AUDIT}


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
    purpose: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit (user_name, role, authority, case_id, action, reason, old_stage, new_stage, detail,"
        " purpose) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (user_name, role, authority, case_id, action, reason, old_stage, new_stage, Jsonb(detail or {}), purpose),
    )


# The rows an auditor of these authorities sees: about a case of theirs, or (not about a case) written by
# one of their users. Rows about another authority's case stay with that authority's auditor, also when one
# of ours tried to read it: the case id is theirs.
# A row about a case is in reach when the case is the reader's authority's; a row about no case, or about a case
# since deleted (a transfer never submitted, web/correction.py), by the authority the row names.
_SCOPE = ("(CASE WHEN EXISTS (SELECT 1 FROM cases c WHERE c.id = audit.case_id) THEN EXISTS (SELECT 1 FROM cases c"
          " WHERE c.id = audit.case_id AND c.authority = ANY(%s)) ELSE string_to_array(audit.authority, ',')"
          " && %s::text[] END)")


# A full case id (a uuid as text); fewer characters are its beginning, as the pages show it.
CASE_ID_CHARS = 36


def _filters(within: Sequence[str] | None, case_id: str | None, user_name: str | None, action: str | None,
             authority: str | None, since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    """The WHERE clause of a search of the audit log and its parameters; every filter optional (AND).
    `within`: the reader's authorities (rows outside them are not returned); None only node-wide."""
    where: list[str] = []
    params: list[Any] = []
    if within is not None:
        where.append(_SCOPE)
        params += [list(within), list(within)]
    if case_id and len(case_id.strip()) < CASE_ID_CHARS:
        # The pages show a case by its first characters (the short case id): the auditor types those.
        where.append("starts_with(case_id, %s)")
        params.append(case_id.strip().lower())
    elif case_id:
        where.append("case_id = %s")
        params.append(case_id.strip().lower())
    for column, value in (("user_name", user_name), ("authority", authority)):
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
    within: Sequence[str] | None,
    case_id: str | None = None,
    user_name: str | None = None,
    action: str | None = None,
    authority: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first; every filter is optional and they combine (AND); only rows `within` the reader's reach."""
    clause, params = _filters(within, case_id, user_name, action, authority, since, until)
    params += [limit, offset]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT id, at, user_name, role, authority, case_id, action, reason, purpose, old_stage, new_stage,"
            f" detail, seq FROM audit {clause} ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",  # type: ignore[arg-type]
            params,
        )
        return list(await cur.fetchall())


async def count_entries(
    pool: AsyncConnectionPool[Any],
    *,
    within: Sequence[str] | None,
    case_id: str | None = None,
    user_name: str | None = None,
    action: str | None = None,
    authority: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many entries `entries` would page through with the same filters (a list's total)."""
    clause, params = _filters(within, case_id, user_name, action, authority, since, until)
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) AS n FROM audit {clause}", params)  # type: ignore[arg-type]
        row = await cur.fetchone()
    return int(row["n"]) if row else 0
