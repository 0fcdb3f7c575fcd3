"""The dashboard's counts from the case tallies (migration 0030), at any scale.

A period of whole UTC months (or none: all time) is read from the month tallies alone: a few rows per
authority and value. The whole UTC days of a period outside its whole months (the 10th to the end of the
month, the 1st to the 10th) come from the day tallies. What is left of a day when a period starts or ends at a
time that is not midnight UTC is counted from the cases themselves by `probatio_tallies_started_between`, with
the same definitions, as an index-only scan of those hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

Row = dict[str, Any]

# The facets the dashboard shows (0030's `facet`); 'started' is the count per month.
VALUE_FACETS = ("stage", "state", "person")


def _day_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _ceil_day(at: datetime) -> datetime:
    start = _day_start(at)
    return start if start == at else start + timedelta(days=1)


def _month_start(at: datetime) -> datetime:
    return _day_start(at).replace(day=1)


def _ceil_month(at: datetime) -> datetime:
    start = _month_start(at)
    if start == at:
        return start
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


@dataclass(frozen=True)
class PeriodPlan:
    """How a period [since, until) is counted: whole months [first_month, end_month) from the month tallies
    (None: unbounded; `all_time` when neither bound is given), whole UTC days [first, end) from the day tallies
    (`days`), and what is left of a day at either end from the cases themselves (`edges`)."""

    all_time: bool
    months: tuple[str | None, str | None] | None
    days: tuple[tuple[date, date], ...]
    edges: tuple[tuple[datetime | None, datetime | None], ...]


def plan_period(since: datetime | None, until: datetime | None, *, tallies: bool = True) -> PeriodPlan:
    """`tallies=False` counts the whole period from the cases (the fallback alone; tests compare the two)."""
    if not tallies:
        return PeriodPlan(False, None, (), ((since, until),))
    if since is None and until is None:
        return PeriodPlan(True, None, (), ())
    # Whole days [first_day, end_day): the rest of a day at either end is counted from the cases.
    first_day = _ceil_day(since) if since is not None else None
    end_day = _day_start(until) if until is not None else None
    if first_day is not None and end_day is not None and first_day >= end_day:
        return PeriodPlan(False, None, (), ((since, until),))
    edges: list[tuple[datetime | None, datetime | None]] = []
    if since is not None and first_day != since:
        edges.append((since, first_day))
    if until is not None and end_day != until:
        edges.append((end_day, until))
    # Whole months [first_month, end_month) within those days; the days outside them from the day tallies.
    first_month = _ceil_month(first_day) if first_day is not None else None
    end_month = _month_start(end_day) if end_day is not None else None
    if first_day is not None and end_day is not None and first_month is not None and end_month is not None \
            and first_month >= end_month:
        return PeriodPlan(False, None, ((first_day.date(), end_day.date()),), tuple(edges))
    days: list[tuple[date, date]] = []
    if first_day is not None and first_month is not None and first_day != first_month:
        days.append((first_day.date(), first_month.date()))
    if end_day is not None and end_month is not None and end_month != end_day:
        days.append((end_month.date(), end_day.date()))
    months = (_month(first_month) if first_month else None, _month(end_month) if end_month else None)
    return PeriodPlan(False, months, tuple(days), tuple(edges))


# Each row of the answer: a facet's value (or, for 'started', a month) and its counts, summed over the user's
# authorities. Values that count no case are left out, as a count over the cases would.
_COUNTS = ("sum(cases)::bigint AS cases, sum(open)::bigint AS open, sum(attention)::bigint AS attention,"
           " sum(recognised)::bigint AS recognised, sum(refused)::bigint AS refused,"
           " sum(withdrawn)::bigint AS withdrawn")
_COLUMNS = "facet, direction, value, value2, period, cases, open, attention, recognised, refused, withdrawn"
# The day tallies' rows in the same shape: for 'started', the month of the day.
_DAY_COLUMNS = ("facet, direction, value, value2, to_char(day, 'YYYY-MM') AS period, cases, open, attention,"
                " recognised, refused, withdrawn")


# Whose tally rows a user's counts add up, and with which sign ('*' rows, 0030): their authorities' rows, or, when fewer
# rows that way, the node's ('*') less those of the authorities of the node they do not hold. Exact either way.
_WEIGHTS = """
WITH excluded AS MATERIALIZED (
    SELECT DISTINCT authority FROM case_tallies WHERE period = 'all' AND facet = 'started' AND value = ''
        AND direction IN ('outgoing', 'incoming') AND authority <> '*' AND authority <> ALL(%(auth)s)
), node_less_excluded AS MATERIALIZED (
    SELECT (SELECT count(*) FROM excluded) + 1 < cardinality(%(auth)s::text[]) AS yes
), weights (authority, w) AS MATERIALIZED (
    SELECT authority, 1 FROM unnest(%(auth)s::text[]) AS a(authority) WHERE NOT (SELECT yes FROM node_less_excluded)
    UNION ALL SELECT '*', 1 WHERE (SELECT yes FROM node_less_excluded)
    UNION ALL SELECT authority, -1 FROM excluded WHERE (SELECT yes FROM node_less_excluded)
)"""


def _weighted(columns: str, table: str, where: str) -> str:
    """The rows of `table` matching `where` for each weighted authority, their counts times the weight. OFFSET 0
    keeps PostgreSQL from flattening the lateral subquery into a join, which it may then answer by reading
    the whole table (a few weights, estimated as 20, against tens of thousands of rows): it stays one index
    range scan per weighted authority."""
    return (f"SELECT t.facet, t.direction, t.value, t.value2, t.period, t.cases * ws.w AS cases,"
            f" t.open * ws.w AS open, t.attention * ws.w AS attention, t.recognised * ws.w AS recognised,"
            f" t.refused * ws.w AS refused, t.withdrawn * ws.w AS withdrawn FROM weights AS ws CROSS JOIN LATERAL"
            f" (SELECT {columns} FROM {table} WHERE authority = ws.authority AND {where} OFFSET 0) AS t")


def facets_query(authorities: Sequence[str], since: datetime | None = None, until: datetime | None = None, *,
                 tallies: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of every count the dashboard shows over the period (bench/dashboard.py runs it bare)."""
    plan = plan_period(since, until, tallies=tallies)
    params: dict[str, Any] = {"auth": sorted(set(authorities))}
    parts = []
    if plan.all_time:
        parts.append(_weighted(_COLUMNS, "case_tallies", "facet IN ('stage', 'state', 'person') AND period = 'all'"))
        parts.append(_weighted(_COLUMNS, "case_tallies", "facet = 'started' AND period < 'all'"))
    elif plan.months is not None:
        # 'YYYY-MM' sorts as the months do, and before 'all'.
        params["first_month"] = plan.months[0] or "0000-00"
        params["end_month"] = plan.months[1] or "9999-99"
        parts.append(_weighted(_COLUMNS, "case_tallies", "facet IN ('stage', 'state', 'person', 'started')"
                               " AND period >= %(first_month)s AND period < %(end_month)s"))
    for n, (first_day, end_day) in enumerate(plan.days):
        params[f"first_day{n}"], params[f"end_day{n}"] = first_day, end_day
        parts.append(_weighted(_DAY_COLUMNS, "case_tallies_daily",
                               f"day >= %(first_day{n})s AND day < %(end_day{n})s"))
    for n, (start, end) in enumerate(plan.edges):
        params[f"since{n}"] = start or datetime(1, 1, 1, tzinfo=UTC)
        params[f"until{n}"] = end or datetime(9999, 12, 31, tzinfo=UTC)
        # The function gives the values over those hours, and for 'started' their month.
        parts.append(f"SELECT {_COLUMNS} FROM probatio_tallies_started_between(%(auth)s, %(since{n})s,"
                     f" %(until{n})s)")
    if not parts:
        parts.append(f"SELECT {_COLUMNS} FROM case_tallies WHERE false")
    union = " UNION ALL ".join(f"({p})" for p in parts)
    weights = _WEIGHTS if "weights" in union else ""
    query = (f"{weights} SELECT facet, direction, value, value2, CASE WHEN facet = 'started' THEN period END AS month,"
             f" {_COUNTS} FROM ({union}) AS t GROUP BY 1, 2, 3, 4, 5 HAVING sum(cases) <> 0"
             " ORDER BY 1, 5, 2, 3, 4")
    return query, params


def shape(rows: Sequence[Row]) -> dict[str, Any]:
    """The facet rows as the dashboard shows them (the shapes of the earlier per-case queries)."""
    by = {facet: [r for r in rows if r["facet"] == facet] for facet in (*VALUE_FACETS, "started")}
    return {
        "by_stage": [{"direction": r["direction"], "stage": r["value"], "n": r["cases"]}
                     for r in sorted(by["stage"], key=lambda r: (r["direction"], r["value"]))],
        "by_state": [{"direction": r["direction"], "state": r["value"], "n": r["cases"]}
                     for r in sorted(by["state"], key=lambda r: (r["direction"], r["value"]))],
        "overdue": sum(r["attention"] for r in by["started"]),
        "statistics": {
            "by_state": [{"direction": r["direction"], "state": r["value"], "total": r["cases"], "open": r["open"],
                          "recognised": r["recognised"], "refused": r["refused"], "withdrawn": r["withdrawn"]}
                         for r in sorted(by["state"], key=lambda r: (r["direction"], r["value"]))],
            "by_month": [{"month": r["month"], "direction": r["direction"], "total": r["cases"],
                          "refused": r["refused"]} for r in by["started"]],
            "by_sex_and_age": [{"direction": r["direction"], "sex": r["value"], "age_group": r["value2"],
                                "total": r["cases"]}
                               for r in sorted(by["person"],
                                                     key=lambda r: (r["direction"], r["value"], r["value2"]))],
        },
    }


async def dashboard_counts(conn: Any, authorities: Sequence[str], since: datetime | None = None,
                           until: datetime | None = None, *, tallies: bool = True) -> dict[str, Any]:
    """By stage, by partner state, the statistics, and how many open cases need attention, over the period."""
    query, params = facets_query(authorities, since, until, tallies=tallies)
    cur = await conn.execute(query, params)
    return shape(list(await cur.fetchall()))


# A list's total, where the filters are a facet's: every case of a direction, of a stage, or with a partner
# state. Other filters (a stage and a state at once, a due date) have no tally.
def total_query(authorities: Sequence[str] | None, *, direction: str, stage: str | None = None,
                partner_state: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The SQL of a list's exact total from the tallies (`authorities` None: the whole node), or None where
    the filters have no tally."""
    if stage and partner_state:
        return None
    facet, value = ("stage", stage) if stage else ("state", partner_state) if partner_state else ("started", None)
    where = ["facet = %(facet)s", "period = 'all'", "direction = %(direction)s"]
    params: dict[str, Any] = {"facet": facet, "direction": direction, "value": value}
    if authorities is not None:
        where.append("authority = ANY(%(auth)s)")
        params["auth"] = sorted(set(authorities))
    else:
        where.append("authority = '*'")  # the node's own rows (0030's node rows)
    if value is not None:
        where.append("value = %(value)s")
    return f"SELECT COALESCE(sum(cases), 0)::bigint AS n FROM case_tallies WHERE {' AND '.join(where)}", params
