"""Why a case's personal data is read: the purpose (from the page or endpoint, or stated by an API client)
and, for a read outside the user's own work, a reason the user gives. Both go into the audit log.

API clients send `X-Probatio-Purpose` (case_work, decision, supervision, audit, subject_access) and, where
asked (428 `reason_required`), `X-Probatio-Reason` — or the query parameters `purpose` and `reason`.
The pages ask for the reason with a small form and carry it over to the case's other pages (its
certificate) for REASON_CARRIES_OVER.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from store.audit import PURPOSE_OF_ROLE, Purpose
from store.users import User
from web.errors import ApiError, problems

PURPOSE_HEADER = "X-Probatio-Purpose"
REASON_HEADER = "X-Probatio-Reason"
REASON_MAX_CHARS = 500
# A reason given for one case covers the user's further reads of that case for this long (its certificate,
# going back to the case page): one question per piece of work, not per click.
REASON_CARRIES_OVER = timedelta(minutes=30)


@dataclass(frozen=True)
class ReadWhy:
    purpose: Purpose | None = None
    reason: str | None = None


class ReasonRequired(ApiError):
    """A read outside the user's own work, without a reason: the API answers 428, the pages ask for it."""

    def __init__(self, purpose: Purpose) -> None:
        super().__init__(428, f"this case is outside your own work: say why you read it ({REASON_HEADER} header "
                              "or `reason` parameter); it is kept in the audit log", code="reason_required")
        self.purpose = purpose


def read_why(request: Request) -> ReadWhy:
    """The purpose and reason a request states (422 naming the field when the purpose is not one we know)."""
    raw_purpose = request.headers.get(PURPOSE_HEADER) or request.query_params.get("purpose") or ""
    purpose = None
    if raw_purpose:
        try:
            purpose = Purpose(raw_purpose.strip())
        except ValueError as err:
            raise ApiError(422, problems(("purpose", "must be one of " + ", ".join(p.value for p in Purpose)))
                           ) from err
    reason = (request.headers.get(REASON_HEADER) or request.query_params.get("reason") or "").strip()
    if len(reason) > REASON_MAX_CHARS:
        raise ApiError(422, problems(("reason", f"must be at most {REASON_MAX_CHARS} characters")))
    return ReadWhy(purpose=purpose, reason=reason or None)


def default_purpose(user: User, channel: str) -> Purpose:
    if channel.endswith(":decide"):
        return Purpose.DECISION
    return PURPOSE_OF_ROLE.get(user.role, Purpose.CASE_WORK)


async def own_work(pool: AsyncConnectionPool[Any], user: User, row: dict[str, Any], actions: list[str]) -> bool:
    """Whether this case is in the user's own work: the supervisor oversees every case of the authority; an
    officer or prosecutor their cases with something to do now, and those they started or acted on. An
    auditor or admin reading a case always says why."""
    if user.role == "supervisor":
        return True
    if user.role not in ("officer", "prosecutor"):
        return False
    if (actions and row.get("closed_at") is None) or row.get("created_by") == user.name:
        return True
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM timeline WHERE case_id = %s AND actor = %s LIMIT 1",
                                 (row["id"], user.name))
        return await cur.fetchone() is not None


async def carried_reason(pool: AsyncConnectionPool[Any], user: User, case_id: str) -> str | None:
    """The reason this user gave for this case a moment ago, if any."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT reason FROM audit WHERE case_id = %s AND user_name = %s AND reason IS NOT NULL"
            " AND action LIKE 'read%%' AND at > now() - %s ORDER BY at DESC LIMIT 1",
            (case_id, user.name, REASON_CARRIES_OVER))
        row = await cur.fetchone()
    return str(row["reason"]) if row else None


async def resolve(pool: AsyncConnectionPool[Any], user: User, row: dict[str, Any], actions: list[str],
                  why: ReadWhy | None, channel: str) -> ReadWhy:
    """The purpose and reason to record for this read, or ReasonRequired."""
    why = why or ReadWhy()
    purpose = why.purpose or default_purpose(user, channel)
    if why.reason:
        return ReadWhy(purpose, why.reason)
    if await own_work(pool, user, row, actions):
        return ReadWhy(purpose, None)
    carried = await carried_reason(pool, user, row["id"])
    if carried:
        return ReadWhy(purpose, carried)
    raise ReasonRequired(purpose)
