"""Statistics for the supervisor's dashboard, computed in PostgreSQL from the case projection and the
certificates it holds (never from Temporal: its visibility store is eventually consistent and carries no
personal facts). Cases erased by retention still count, through their anonymous facts."""

from __future__ import annotations

from collections.abc import Sequence
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


async def statistics(pool: AsyncConnectionPool[Any], authorities: Sequence[str], *,
                     since: datetime | None = None, until: datetime | None = None) -> dict[str, list[Row]]:
    """Per state, per month, and by sex and age group; each row carries the direction of the transfers."""
    async with pool.connection() as conn:
        return await statistics_on(conn, authorities, since=since, until=until)


async def statistics_on(conn: Any, authorities: Sequence[str], *, since: datetime | None = None,
                        until: datetime | None = None) -> dict[str, list[Row]]:
    """The same on a given connection (bench/dashboard.py runs it bare as the baseline)."""
    where, params = _scope(authorities, since, until)
    by_state = await (await conn.execute(
        "SELECT direction, CASE WHEN direction = 'outgoing' THEN executing_state ELSE issuing_state END AS state,"
        " count(*) AS total, count(*) FILTER (WHERE closed_at IS NULL) AS open,"
        " count(*) FILTER (WHERE stage IN ('transferred', 'recognised', 'supervising')"
        "   OR outcome IN ('completed', 'revoked', 'lapsed', 'transferred_back')) AS recognised,"
        " count(*) FILTER (WHERE outcome = 'refused') AS refused,"
        " count(*) FILTER (WHERE outcome = 'withdrawn') AS withdrawn"
        f" FROM cases WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)).fetchall()  # type: ignore[arg-type]
    by_month = await (await conn.execute(
        "SELECT to_char(date_trunc('month', created_at), 'YYYY-MM') AS month, direction, count(*) AS total,"
        " count(*) FILTER (WHERE outcome = 'refused') AS refused"
        f" FROM cases WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)).fetchall()  # type: ignore[arg-type]
    by_person = await (await conn.execute(
        f"SELECT direction, sex, age_group, count(*) AS total FROM (SELECT direction, {_PERSON}"
        f" FROM cases WHERE {where}) p GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", params)).fetchall()  # type: ignore[arg-type]
    return {"by_state": list(by_state), "by_month": list(by_month), "by_sex_and_age": list(by_person)}
