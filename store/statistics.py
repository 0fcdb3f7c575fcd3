"""Statistics for the supervisor's dashboard, computed in PostgreSQL from the case projection and the
certificates it holds (never from Temporal: its visibility store is eventually consistent and carries no
personal facts). Cases erased by retention still count, through their anonymous facts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]

# Sex and age group of the sentenced person; the age group is the age on the day of the judgment
# (probatio_age_group, 0004).
# Both are kept in anonymous_facts from the moment the certificate is stored (0006), so the statistics
# never open a certificate.
_PERSON = """
    COALESCE(person_sex, 'unknown') AS sex,
    COALESCE(person_age_group, 'unknown') AS age_group
"""

AGE_GROUPS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over", "unknown")
SEXES = ("female", "male", "unknown")


def _scope(authorities: Sequence[str], since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    where = ["authority = ANY(%s)"]
    params: list[Any] = [list(authorities)]
    if since:
        where.append("created_at >= %s")
        params.append(since)
    if until:
        where.append("created_at < %s")
        params.append(until)
    return " AND ".join(where), params


def statistics_sql(where: str) -> dict[str, str]:
    """The three statistics over the cases matching `where` (from _scope)."""
    return {
        "by_state": "SELECT direction,"
        " CASE WHEN direction = 'outgoing' THEN executing_state ELSE issuing_state END AS state,"
        " count(*) AS total, count(*) FILTER (WHERE closed_at IS NULL) AS open,"
        " count(*) FILTER (WHERE stage IN ('transferred', 'recognised', 'supervising')"
        "   OR outcome IN ('completed', 'revoked', 'lapsed', 'transferred_back')) AS recognised,"
        " count(*) FILTER (WHERE outcome = 'refused') AS refused,"
        " count(*) FILTER (WHERE outcome = 'withdrawn') AS withdrawn"
        f" FROM cases WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        "by_month": "SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month, direction,"
        " count(*) AS total, count(*) FILTER (WHERE outcome = 'refused') AS refused"
        f" FROM cases WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2",
        "by_sex_and_age": f"SELECT direction, sex, age_group, count(*) AS total FROM (SELECT direction, {_PERSON}"
        f" FROM cases WHERE {where}) p GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    }


async def statistics(pool: AsyncConnectionPool[Any], authorities: Sequence[str], *,
                     since: datetime | None = None, until: datetime | None = None) -> dict[str, list[Row]]:
    """Per state, per month, and by sex and age group; each row carries the direction of the transfers.

    Each statistic reads every case of the user's authorities: they run at the same time, each on a
    connection of its own, so the page waits for the slowest rather than for their sum."""
    where, params = _scope(authorities, since, until)

    async def one(query: str) -> list[Row]:
        async with pool.connection() as conn:
            return list(await (await conn.execute(query, params)).fetchall())  # type: ignore[arg-type]

    queries = statistics_sql(where)
    results = await asyncio.gather(*(one(q) for q in queries.values()))
    return dict(zip(queries, results, strict=True))


async def statistics_on(conn: Any, authorities: Sequence[str], *, since: datetime | None = None,
                        until: datetime | None = None) -> dict[str, list[Row]]:
    """The same, one after the other on a given connection (bench/dashboard.py runs it as the baseline)."""
    where, params = _scope(authorities, since, until)
    return {name: list(await (await conn.execute(query, params)).fetchall())
            for name, query in statistics_sql(where).items()}


# The dashboard's default CSV: one row per case started in the period, with the anonymous facts the charts
# count (no name, no certificate), so that a spreadsheet opens it as a table and can pivot it any way.
CASE_COLUMNS = ("case", "direction", "partner_state", "stage", "outcome", "started", "closed", "sex", "age_group")


def cases_sql(where: str) -> str:
    return ("SELECT id AS case, direction,"
            " CASE WHEN direction = 'outgoing' THEN executing_state ELSE issuing_state END AS partner_state,"
            " stage, outcome, created_at::date AS started, closed_at::date AS closed,"
            f" {_PERSON} FROM cases WHERE {where} ORDER BY created_at, id")


async def case_rows(pool: AsyncConnectionPool[Any], authorities: Sequence[str], *, since: datetime | None = None,
                    until: datetime | None = None) -> AsyncIterator[Row]:
    """Every case of the authorities started in the period, streamed (an authority may hold a million)."""
    where, params = _scope(authorities, since, until)
    async with pool.connection() as conn:
        async for row in conn.cursor().stream(cases_sql(where), params):  # type: ignore[arg-type]
            yield row
