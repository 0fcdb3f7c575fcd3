"""dashboard: p95 of the dashboard and list endpoints over a million cases, against the raw SQL.

A fresh, migrated database gets `--cases` cases (generate_series: 90 % closed, the rest spread over the open
stages with decision deadlines, some overdue) spread over `--authorities` authorities, then VACUUM ANALYZE.
The node's web app runs as `probatio web` (its own process, as deployed) on a loopback port; each endpoint is
called one request at a time from this process, as a supervisor of one authority (and, with --national, of
every authority), and the same answer is read with the raw SQL the store runs, over one psycopg connection.
The dashboard is asked over all time and over a year that is not whole months (the 10th to the 10th).
Target: p95 of each endpoint under 50 ms and under 3× the raw SQL's p95; the ratio printed is the worst
endpoint's.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.common import Outcome, describe_times, embedded_stack, ms, percentile

STATES = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
          "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]
OPEN_OUT = ["draft", "awaiting_approval", "sent", "under_decision", "consultation", "transferred"]
OPEN_IN = ["received", "under_decision", "recognised", "supervising"]

GENERATE = """
INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage, outcome, decision_due,
                   deadlines, alerts, created_by, created_at, updated_at, closed_at, revision)
SELECT md5(g::text)::uuid::text,
       d.direction,
       'A' || lpad((g %% %(authorities)s)::text, 3, '0'),
       CASE WHEN d.direction = 'outgoing' THEN 'LU' ELSE (%(states)s::text[])[1 + g %% 26] END,
       CASE WHEN d.direction = 'outgoing' THEN (%(states)s::text[])[1 + g %% 26] ELSE 'LU' END,
       CASE WHEN o.open THEN CASE WHEN d.direction = 'outgoing' THEN (%(open_out)s::text[])[1 + (g / 7) %% 6]
                                  ELSE (%(open_in)s::text[])[1 + (g / 7) %% 4] END
            ELSE 'closed' END,
       CASE WHEN o.open THEN NULL ELSE 'completed' END,
       CASE WHEN o.open THEN now() + make_interval(days => (g %% 90) - 20) END,
       '[]'::jsonb,
       CASE WHEN o.open AND g %% 90 < 20 THEN '["decision_overdue"]'::jsonb
            WHEN o.open AND g %% 90 < 35 THEN '["decision_due_soon"]'::jsonb ELSE '[]'::jsonb END,
       'bench',
       now() - make_interval(days => g %% 3000),
       now() - make_interval(mins => g %% 500000),
       CASE WHEN o.open THEN NULL ELSE now() - make_interval(days => g %% 2500) END,
       1
FROM generate_series(1, %(cases)s) AS g,
     LATERAL (SELECT CASE WHEN g %% 3 = 0 THEN 'incoming' ELSE 'outgoing' END AS direction) AS d,
     LATERAL (SELECT (g %% 10) = 0 AS open) AS o
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases generated (default 1,000,000)")
    parser.add_argument("--authorities", type=int, default=100, help="authorities they are spread over")
    parser.add_argument("--samples", type=int, default=200, help="requests per endpoint (default 200)")
    parser.add_argument("--national", action="store_true", help="also as a supervisor of every authority")


async def _times(endpoint: Callable[[], Awaitable[Any]], raw: Callable[[], Awaitable[Any]],
                 samples: int) -> tuple[list[float], list[float]]:
    """Each endpoint call and its raw SQL one after the other, sample by sample (the order alternating), so
    that both see the same moments of a shared machine: measured as two runs of 200 one after the other, a
    busy minute of another process's falls on one side only and its p95 says nothing about ours."""
    for _ in range(max(5, samples // 20)):
        await endpoint()
        await raw()
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(samples):
        for which in ((0, 1) if n % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            await (endpoint if which == 0 else raw)()
            times[which].append(time.perf_counter() - start)
    return times


async def run(args: argparse.Namespace) -> Outcome:
    import httpx
    import psycopg
    from psycopg.rows import dict_row

    from probatio import embedded
    from probatio.dev import DevStack, NodeSpec
    from store.users import create_user

    lines: list[str] = []
    async with embedded_stack("dashboard") as stack:
        # The LU node's web process of `probatio dev` (as deployed: its own process, `probatio web`), on this
        # stack's PostgreSQL and Temporal server; the cases go into its database.
        dev = DevStack(home=stack.home / "nodes", nodes=[NodeSpec("LU", embedded.free_port())],
                       pg_port=stack.pg_port, temporal_port=stack.temporal_port, temporal_ui_port=None)
        url = dev.database_url("LU")
        await asyncio.to_thread(dev.prepare_nodes)
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(GENERATE, {"cases": args.cases, "authorities": args.authorities, "states": STATES,
                                    "open_out": OPEN_OUT, "open_in": OPEN_IN})
            # As autovacuum leaves a long-lived table: statistics and the visibility map for index-only scans.
            conn.execute("VACUUM ANALYZE cases")
            conn.execute("VACUUM ANALYZE case_tallies")
            tokens = {"one authority": create_user(conn, "supervisor-a000", "supervisor", ["A000"])}
            if args.national:
                everyone = [f"A{i:03d}" for i in range(args.authorities)]
                tokens["every authority"] = create_user(conn, "national", "supervisor", everyone)
        lines.append(f"{args.cases:,} cases over {args.authorities} authorities generated and analysed in "
                     f"{time.perf_counter() - start:.0f} s")
        worst = 0.0
        worst_p95 = 0.0
        # A year that is not whole months (the 10th to the 10th): whole months from the tallies, the days at
        # either end counted from the cases.
        today = datetime.now(UTC)
        until = today.replace(day=10, hour=0, minute=0, second=0, microsecond=0)
        since = until.replace(year=until.year - 1)
        try:
            await asyncio.to_thread(dev.start_nodes, ("web",))
            raw = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
            async with httpx.AsyncClient(base_url=dev.nodes[0].url, timeout=60) as http:
                for who, token in tokens.items():
                    authorities = ["A000"] if who == "one authority" else [f"A{i:03d}" for i in
                                                                             range(args.authorities)]
                    headers = {"Authorization": f"Bearer {token}"}

                    async def dashboard_sql(auth: list[str] = authorities, since: datetime | None = None,
                                            until: datetime | None = None) -> None:
                        await _raw_dashboard(raw, auth, since, until)

                    async def list_sql(auth: list[str] = authorities, stage: str | None = None) -> None:
                        await _raw_list(raw, auth, stage)

                    checks: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
                        ("GET /api/v1/dashboard", partial(_get, http, "/api/v1/dashboard", headers),
                         dashboard_sql),
                        (f"GET /api/v1/dashboard?since={since:%Y-%m-%d}&until={until:%Y-%m-%d}",
                         partial(_get, http, f"/api/v1/dashboard?since={since:%Y-%m-%d}&until={until:%Y-%m-%d}",
                                 headers), partial(dashboard_sql, authorities, since, until)),
                        ("GET /api/v1/transfers", partial(_get, http, "/api/v1/transfers", headers), list_sql),
                        ("GET /api/v1/transfers?stage=under_decision",
                         partial(_get, http, "/api/v1/transfers?stage=under_decision", headers),
                         partial(list_sql, authorities, "under_decision")),
                    ]
                    for name, endpoint, sql in checks:
                        e, s = await _times(endpoint, sql, args.samples)
                        ratio = percentile(e, 95) / percentile(s, 95)
                        lines.append(f"{who}: {describe_times(name, e)}; raw SQL p50 {ms(percentile(s, 50))}, "
                                     f"p95 {ms(percentile(s, 95))}; "
                                     f"× {ratio:.2f}")
                        worst = max(worst, ratio)
                        worst_p95 = max(worst_p95, percentile(e, 95))
            await raw.close()
        finally:
            await asyncio.to_thread(dev.shutdown)
    met = worst < 3 and worst_p95 < 0.050
    lines.append(f"worst endpoint p95 {ms(worst_p95)}; worst endpoint/raw SQL p95 ratio {worst:.2f}")
    lines.append("the dashboard endpoint runs its counts (tallies) and its lists side by side on two connections; "
                 "the raw SQL runs the same queries one after another on one connection; each endpoint call and "
                 "its raw SQL are timed alternately, sample by sample")
    return Outcome(name="dashboard", params=f"--cases {args.cases} --authorities {args.authorities}"
                   + (" --national" if args.national else ""), lines=lines, ratio=worst,
                   target="p95 < 50 ms and ratio < 3", met=met)


async def _get(http: Any, path: str, headers: dict[str, str]) -> None:
    r = await http.get(path, headers=headers)
    r.raise_for_status()
    r.json()


async def _raw_dashboard(conn: Any, authorities: list[str], since: datetime | None,
                         until: datetime | None) -> None:
    """The dashboard's queries, exactly as store.cases.dashboard runs them, one after another on a plain
    connection: its counts (store.tallies) and its lists."""
    from store import cases, tallies

    query, params = tallies.facets_query(authorities, since, until)
    await (await conn.execute(query, params)).fetchall()
    await cases.dashboard_lists(conn, cases.dashboard_params(authorities, datetime.now(UTC), since=since,
                                                             until=until))


async def _raw_list(conn: Any, authorities: list[str], stage: str | None) -> None:
    """The list's queries (its size from the tallies, then the page), exactly as store.cases.list_page runs
    them, on a plain connection."""
    from store.cases import list_query, list_size_query, node_wide

    query, params, _ = list_size_query(direction="outgoing", authorities=authorities, stage=stage)
    size = await (await conn.execute(query, params)).fetchone()
    query, params = list_query(direction="outgoing", authorities=authorities, stage=stage,
                               node_wide=node_wide(authorities, size["mine"], size["node"]))
    await (await conn.execute(query, params)).fetchall()
