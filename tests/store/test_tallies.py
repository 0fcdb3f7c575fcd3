"""The case tallies (migration 0030) against a real PostgreSQL: exact under concurrent stage changes, without
deadlocks; a period that is not whole months counted from the cases gives what the tallies give; list totals."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

import store.db
from probatio.harness import fresh_database
from store import cases, tallies
from store.db import ensure_database, migrate, open_pool

AUTHORITIES = ["A1", "A2", "A3", "A4"]
STAGES_OUT = ["draft", "awaiting_approval", "sent", "under_decision", "consultation", "transferred", "closed"]
OUTCOMES = [None, "refused", "withdrawn", "completed", "revoked"]
ALERTS = ["[]", '["decision_overdue"]', '["decision_due_soon"]', '["duty_overdue"]']
CERTIFICATES = [None, '{"person": {"sex": "female", "date_of_birth": "1990-04-01"},'
                      ' "judgment": {"delivered_on": "2026-01-05"}}',
                '{"person": {"sex": "male", "date_of_birth": "2001-09-30"},'
                ' "judgment": {"delivered_on": "2025-06-01"}}']


@pytest.fixture
def db_url(pg_server: str) -> str:
    return fresh_database(pg_server, "tally_tests")


def _seed(url: str, n: int, start: datetime) -> None:
    """n cases over the authorities, both directions, started over several months, some with a person."""
    rng = random.Random(947)
    rows = []
    for i in range(n):
        outgoing = i % 3 != 0
        partner = rng.choice(["BE", "DE", "FR", "NL"])
        rows.append((f"c{i}", "outgoing" if outgoing else "incoming", rng.choice(AUTHORITIES),
                     "LU" if outgoing else partner, partner if outgoing else "LU", rng.choice(STAGES_OUT[:-1]),
                     start + timedelta(hours=rng.randrange(0, 24 * 150)), rng.choice(CERTIFICATES)))
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage,"
                        " created_at, certificate) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)


def _full_count_differences(url: str) -> list[tuple[Any, ...]]:
    """Every month tally and day tally (0030) row that differs from a count over every case, either way
    (rows of zeros aside)."""
    recount = ("SELECT authority, facet, period, direction, value, value2, cases, COALESCE(open, 0),"
               " COALESCE(attention, 0), COALESCE(recognised, 0), COALESCE(refused, 0), COALESCE(withdrawn, 0)"
               " FROM ({}) AS c WHERE cases <> 0")
    nonzero = "cases <> 0 OR open <> 0 OR attention <> 0 OR recognised <> 0 OR refused <> 0 OR withdrawn <> 0"
    differences = []
    with psycopg.connect(url, autocommit=True) as conn:
        for changes, kept in (
                ("probatio_tally_changes_sql", "SELECT authority, facet, period, direction, value, value2, cases,"
                 f" open, attention, recognised, refused, withdrawn FROM case_tallies WHERE {nonzero}"),
                ("probatio_daily_tally_changes_sql", "SELECT authority, facet, to_char(day, 'YYYY-MM-DD'),"
                 " direction, value, value2, cases, open, attention, recognised, refused, withdrawn"
                 f" FROM case_tallies_daily WHERE {nonzero}")):
            inner = conn.execute(f"SELECT {changes}('SELECT c.*, 1 AS d FROM cases AS c')").fetchone()
            assert inner is not None
            full = recount.format(inner[0])
            differences += conn.execute(f"({full} EXCEPT {kept}) UNION ALL ({kept} EXCEPT {full})").fetchall()
    return differences


async def _change_stages(url: str, ids: list[str], changes: int, seed: int) -> int:
    """`changes` random changes of these cases' stage, outcome, alerts, authority or person, a few cases per
    statement as a workflow's projection writes them (one statement, one transaction)."""
    rng = random.Random(seed)
    done = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while done < changes:
            batch = rng.sample(ids, min(len(ids), rng.randint(1, 8), changes - done))
            values = []
            for case_id in batch:
                stage = rng.choice(STAGES_OUT)
                closed = stage == "closed"
                values.append((case_id, stage, rng.choice(OUTCOMES[1:]) if closed else None, closed,
                               rng.choice(ALERTS), rng.choice(AUTHORITIES) if rng.random() < 0.1 else None))
            await conn.execute(
                "UPDATE cases SET stage = v.stage, outcome = v.outcome,"
                " closed_at = CASE WHEN v.closed THEN now() END, alerts = v.alerts::jsonb,"
                " authority = COALESCE(v.authority, cases.authority), updated_at = now()"
                " FROM (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bool[], %s::text[], %s::text[]))"
                " AS v(id, stage, outcome, closed, alerts, authority) WHERE cases.id = v.id",
                [list(col) for col in zip(*values, strict=True)])
            done += len(batch)
            if rng.random() < 0.05:
                # A corrected certificate changes the person's facts (0006), and so the tallies by sex and age.
                await conn.execute("UPDATE cases SET certificate = %s::jsonb WHERE id = %s",
                                   (rng.choice(CERTIFICATES[1:]), rng.choice(ids)))
    return done


async def test_tallies_equal_a_full_count_after_10000_concurrent_stage_changes(db_url: str) -> None:
    _seed(db_url, 400, datetime(2026, 1, 10, tzinfo=UTC))
    ids = [f"c{i}" for i in range(400)]
    # Four connections at once, each on cases of its own (their rows never wait on each other) but sharing
    # every tally row: only the tallies' lock order keeps them from deadlocking (a deadlock raises here).
    workers = 4
    done = await asyncio.gather(*(_change_stages(db_url, ids[w::workers], 10_000 // workers, seed=w)
                                  for w in range(workers)))
    assert sum(done) == 10_000
    # A draft deleted and a case inserted count too.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM cases WHERE id = ANY(%s)", (ids[:7],))
    assert _full_count_differences(db_url) == []

    pool = open_pool(db_url)
    await pool.open()
    try:
        async with pool.connection() as conn:
            kept = await tallies.dashboard_counts(conn, AUTHORITIES[:3])
            counted = await tallies.dashboard_counts(conn, AUTHORITIES[:3], tallies=False)
        assert kept == counted
        with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as plain:
            expected = Counter((r["direction"], r["stage"]) for r in plain.execute(
                "SELECT direction, stage FROM cases WHERE authority = ANY(%s)", (AUTHORITIES[:3],)))
            overdue = plain.execute("SELECT count(*) AS n FROM cases WHERE authority = ANY(%s) AND closed_at IS NULL"
                                    " AND needs_attention", (AUTHORITIES[:3],)).fetchone()
        assert {(r["direction"], r["stage"]): r["n"] for r in kept["by_stage"]} == dict(expected)
        assert overdue is not None and kept["overdue"] == overdue["n"]
    finally:
        await pool.close()


def test_the_migration_counts_the_cases_already_there(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node that upgrades: its cases were written before the tallies existed, and 0030 counts them all, for
    their authorities and for the node, by month and by day."""
    url = make_conninfo(pg_server, dbname="tally_upgrade_tests")
    with psycopg.connect(make_conninfo(pg_server, dbname="postgres"), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "tally_upgrade_tests" WITH (FORCE)')
    ensure_database(url)
    every = store.db.migrations()
    monkeypatch.setattr(store.db, "migrations", lambda: [m for m in every if m[0] < "0030"])
    migrate(url)
    _seed(url, 300, datetime(2026, 1, 20, tzinfo=UTC))
    monkeypatch.setattr(store.db, "migrations", lambda: every)
    assert "0030_case_tallies" in migrate(url)
    assert _full_count_differences(url) == []
    with psycopg.connect(url, autocommit=True) as conn:
        node = conn.execute("SELECT cases FROM case_tallies WHERE authority = '*' AND facet = 'started'"
                            " AND period = 'all' AND direction = 'outgoing'").fetchone()
        outgoing = conn.execute("SELECT count(*) FROM cases WHERE direction = 'outgoing'").fetchone()
    assert node is not None and node == outgoing and node[0] > 0


def test_a_period_is_split_into_whole_months_days_and_hours() -> None:
    jan20_3pm = datetime(2026, 1, 20, 15, tzinfo=UTC)
    apr5 = datetime(2026, 4, 5, tzinfo=UTC)
    plan = tallies.plan_period(jan20_3pm, apr5)
    assert plan.months == ("2026-02", "2026-04")
    assert plan.days == ((date(2026, 1, 21), date(2026, 2, 1)), (date(2026, 4, 1), date(2026, 4, 5)))
    assert plan.edges == ((jan20_3pm, datetime(2026, 1, 21, tzinfo=UTC)),)
    whole = tallies.plan_period(datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert whole.months == ("2025-12", "2026-03") and whole.days == () and whole.edges == ()
    inside = tallies.plan_period(datetime(2026, 2, 3, tzinfo=UTC), datetime(2026, 2, 27, 12, tzinfo=UTC))
    assert inside.months is None and inside.days == ((date(2026, 2, 3), date(2026, 2, 27)),)
    assert inside.edges == ((datetime(2026, 2, 27, tzinfo=UTC), datetime(2026, 2, 27, 12, tzinfo=UTC)),)
    hours = tallies.plan_period(datetime(2026, 2, 3, 8, tzinfo=UTC), datetime(2026, 2, 4, 6, tzinfo=UTC))
    assert hours.months is None and hours.days == () and len(hours.edges) == 1
    assert tallies.plan_period(None, None).all_time
    assert tallies.plan_period(None, apr5).months == (None, "2026-04")
    assert tallies.plan_period(None, apr5).days == ((date(2026, 4, 1), date(2026, 4, 5)),)
    # A date-time in another zone is a UTC instant: 2026-03-01T00:30+01:00 is 23:30 UTC on 28 February.
    zoned = tallies.plan_period(datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), None)
    assert zoned.months == ("2026-03", None) and zoned.days == ()
    assert zoned.edges == ((datetime(2026, 2, 28, 23, 30, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),)


@pytest.mark.parametrize(("since", "until"), [
    (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),       # whole months
    (datetime(2026, 1, 20, 15, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC)),  # days at both ends
    (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 17, 12, tzinfo=UTC)),  # within one month
    (datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC)),      # whole days at both ends
    (datetime(2026, 3, 9, tzinfo=UTC), None),                                   # open-ended
    (None, datetime(2026, 3, 9, 6, tzinfo=UTC)),                                # open-ended, hours at its end
], ids=["whole-months", "partial-ends", "inside-a-month", "whole-days", "open-ended", "until-hours"])
# Two authorities of four add up their own rows; three of four, the node's rows less the fourth's (0030's node rows).
@pytest.mark.parametrize("held", [2, 3], ids=["own-rows", "node-less-others"])
async def test_a_period_counts_the_cases_started_in_it(db_url: str, since: datetime | None,
                                                        until: datetime | None, held: int) -> None:
    _seed(db_url, 300, datetime(2026, 1, 1, tzinfo=UTC))
    pool = open_pool(db_url)
    await pool.open()
    try:
        async with pool.connection() as conn:
            answer = await tallies.dashboard_counts(conn, AUTHORITIES[:held], since, until)
            fallback = await tallies.dashboard_counts(conn, AUTHORITIES[:held], since, until, tallies=False)
    finally:
        await pool.close()
    assert answer == fallback
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        started = [r for r in conn.execute("SELECT direction, stage, created_at, person_sex FROM cases"
                                           " WHERE authority = ANY(%s)", (AUTHORITIES[:held],))
                   if (since is None or r["created_at"] >= since) and (until is None or r["created_at"] < until)]
    assert started, "the period must hold cases for this test to say anything"
    assert {(r["direction"], r["stage"]): r["n"] for r in answer["by_stage"]} == dict(
        Counter((r["direction"], r["stage"]) for r in started))
    assert {(r["month"], r["direction"]): r["total"] for r in answer["statistics"]["by_month"]} == dict(
        Counter((f"{r['created_at'].astimezone(UTC):%Y-%m}", r["direction"]) for r in started))
    assert sum(r["total"] for r in answer["statistics"]["by_sex_and_age"] if r["sex"] == "female") == sum(
        1 for r in started if r["person_sex"] == "female")


async def test_list_totals_come_from_the_tallies_or_are_capped(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db_url, 600, datetime(2026, 1, 1, tzinfo=UTC))
    with psycopg.connect(db_url, autocommit=True) as conn:
        sent = conn.execute("SELECT count(*) FROM cases WHERE direction = 'outgoing' AND stage = 'sent'"
                            " AND authority = ANY(%s)", (AUTHORITIES[:2],)).fetchone()
        sent_be = conn.execute("SELECT count(*) FROM cases WHERE direction = 'outgoing' AND stage = 'sent'"
                               " AND executing_state = 'BE' AND authority = ANY(%s)", (AUTHORITIES[:2],)).fetchone()
    assert sent is not None and sent_be is not None and sent_be[0] > 3
    monkeypatch.setattr(cases, "LIST_TOTAL_CAP", 3)
    pool = open_pool(db_url)
    await pool.open()
    try:
        exact = await cases.list_page(pool, direction="outgoing", authorities=AUTHORITIES[:2], stage="sent", limit=2)
        assert (exact.total, exact.total_capped, len(exact.rows)) == (sent[0], False, 2)
        capped = await cases.list_page(pool, direction="outgoing", authorities=AUTHORITIES[:2], stage="sent",
                                       executing_state="BE", limit=2)
        assert (capped.total, capped.total_capped) == (3, True)
        assert all(r["executing_state"] == "BE" and r["stage"] == "sent" for r in capped.rows)
        # Every authority of the node, read node-wide in order: the same first page as one scan per authority.
        every = await cases.list_page(pool, direction="outgoing", authorities=AUTHORITIES, limit=10)
        with psycopg.connect(db_url, autocommit=True) as conn:
            newest = conn.execute("SELECT id FROM cases WHERE direction = 'outgoing'"
                                  " ORDER BY updated_at DESC, id LIMIT 10").fetchall()
        assert [r["id"] for r in every.rows] == [r[0] for r in newest]
    finally:
        await pool.close()


@pytest.mark.parametrize("authorities", [AUTHORITIES[:1], AUTHORITIES], ids=["one-authority", "every-authority"])
async def test_dashboard_lists_are_the_first_due_whichever_way_they_are_read(
        db_url: str, authorities: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """One authority of four is read per authority, all four node-wide (chosen from the tallies): both give
    the first cases due, in order, within the period, and the same count."""
    monkeypatch.setattr(cases, "DASHBOARD_LIST_LIMIT", 12)
    _seed(db_url, 600, datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2026, 6, 1, tzinfo=UTC)
    rng = random.Random(18)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for i in range(600):
            due = now + timedelta(hours=rng.randrange(-24 * 20, 24 * 40))
            duty = now + timedelta(hours=rng.randrange(0, 24 * 20)) if i % 5 == 0 else None
            deadlines = [{"name": "duty:report", "due": duty.isoformat()}] if duty else []
            conn.execute("UPDATE cases SET decision_due = %s, deadlines = %s::jsonb, alerts = %s::jsonb,"
                         " closed_at = CASE WHEN %s THEN now() END WHERE id = %s",
                         (due, Jsonb(deadlines), rng.choice(ALERTS), i % 7 == 0, f"c{i}"))
    since, until = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 5, 10, tzinfo=UTC)
    pool = open_pool(db_url)
    await pool.open()
    try:
        answer = await cases.dashboard(pool, authorities, now, since=since, until=until)
    finally:
        await pool.close()
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        open_cases = [r for r in conn.execute(
            "SELECT id, decision_due, next_duty_due, needs_attention FROM cases WHERE authority = ANY(%s)"
            " AND closed_at IS NULL AND created_at >= %s AND created_at < %s", (authorities, since, until))]
    soon = now + timedelta(days=15)
    due = sorted([(r["decision_due"], r["id"]) for r in open_cases if now <= r["decision_due"] < soon]
                 + [(r["next_duty_due"], r["id"]) for r in open_cases
                    if r["next_duty_due"] is not None and now <= r["next_duty_due"] < soon])
    assert len(due) > cases.DASHBOARD_LIST_LIMIT, "the list must be cut for this test to say anything"
    assert [(r["due"], r["id"]) for r in answer["decisions_due_soon"]] == due[:cases.DASHBOARD_LIST_LIMIT]
    overdue = sorted((r["decision_due"], r["id"]) for r in open_cases if r["needs_attention"])
    assert [(r["decision_due"], r["id"]) for r in answer["overdue"]] == overdue[:cases.DASHBOARD_LIST_LIMIT]
    assert answer["totals"]["due_soon"] == len({i for _, i in due})


async def test_a_measure_due_soon_is_on_the_dashboard_before_it_is_missed(db_url: str) -> None:
    """§7 row 25: a measure's own period (community service to be done within it) is watched like a duty:
    due within 15 days, it is listed with the decisions and duties, by its measure, with the earliest first."""
    _seed(db_url, 3, datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE cases SET closed_at = NULL, decision_due = NULL, deadlines = %s::jsonb WHERE id = 'c0'",
                     (Jsonb([{"name": "measure:2", "due": (now + timedelta(days=9)).isoformat()},
                             {"name": "duty:end_supervision", "due": (now + timedelta(days=30)).isoformat()},
                             {"name": "measure:1", "due": (now + timedelta(days=3)).isoformat(), "status": "met"}]),))
        authority = conn.execute("SELECT authority FROM cases WHERE id = 'c0'").fetchone()[0]  # type: ignore[index]
    pool = open_pool(db_url)
    await pool.open()
    try:
        answer = await cases.dashboard(pool, [authority], now)
    finally:
        await pool.close()
    listed = [(r["id"], r["due_name"]) for r in answer["decisions_due_soon"]]
    assert ("c0", "measure:2") in listed, listed
