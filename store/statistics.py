"""Statistics for the supervisor's dashboard, from PostgreSQL (never from Temporal: its visibility store is
eventually consistent and carries no personal facts). Cases erased by retention still count, through their
anonymous facts. The counts per state, per month and by sex and age group come from the case tallies
(store/tallies.py, migration 0030); this module keeps their vocabulary and the per-case export."""

from __future__ import annotations

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
