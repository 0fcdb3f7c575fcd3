"""The case projection: what pages, lists and dashboards read. Written by activities, read by web."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from store import tallies

Row = dict[str, Any]

# What lists and the dashboard show of a case (web/cases.py summary, the case list page); never the
# certificate (personal data) in bulk reads.
_SUMMARY_COLUMNS = (
    "id, direction, authority, issuing_state, executing_state, stage, outcome, decision_due, alerts, updated_at,"
    " closed_at"
)


def _first_rows_per_authority(inner: str, order: str) -> str:
    """The first rows across the user's authorities, in index order. PostgreSQL 16 answers
    `authority = ANY(…) ORDER BY … LIMIT n` by fetching and sorting every matching row; one ordered index
    scan per authority (`inner`, which names `a.authority`), merged, reads only the first rows of each."""
    return (f"SELECT c.* FROM unnest(%(auth)s::text[]) AS a(authority) CROSS JOIN LATERAL ({inner}) AS c"
            f" ORDER BY {order}")


# A list's total where no tally answers it (a stage and a partner state at once, a due date) is counted up to
# this many; past it the answer says `total_capped` and the pages say "more than 10,000" (README).
LIST_TOTAL_CAP = 10_000


def _list_where(direction: str, stage: str | None, executing_state: str | None,
                due_before: datetime | None) -> list[str]:
    where = ["direction = %(direction)s"]
    if stage:
        where.append("stage = %(stage)s")
    if executing_state:
        where.append("executing_state = %(executing_state)s")
    if due_before:
        where.append("decision_due < %(due_before)s")
    return where


def list_query(*, direction: str, authorities: Sequence[str], stage: str | None = None,
               executing_state: str | None = None, due_before: datetime | None = None, limit: int = 200,
               offset: int = 0, node_wide: bool = False) -> tuple[str, dict[str, Any]]:
    """The SQL of a case list, newest first (bench/dashboard.py runs it bare as its baseline).

    `node_wide`: one ordered scan over the node's cases, keeping the user's authorities; best when they hold
    much of the node (a national supervisor). Otherwise one ordered index scan per authority, merged."""
    where = _list_where(direction, stage, executing_state, due_before)
    params = {"auth": sorted(set(authorities)), "direction": direction, "stage": stage,
              "executing_state": executing_state, "due_before": due_before, "first": limit + offset,
              "limit": limit, "offset": offset}
    if node_wide:
        return (f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE authority = ANY(%(auth)s) AND {' AND '.join(where)}"
                " ORDER BY updated_at DESC, id LIMIT %(limit)s OFFSET %(offset)s"), params
    inner = (f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE authority = a.authority AND {' AND '.join(where)}"
             " ORDER BY updated_at DESC, id LIMIT %(first)s")
    query = _first_rows_per_authority(inner, "c.updated_at DESC, c.id") + " LIMIT %(limit)s OFFSET %(offset)s"
    return query, params


def list_size_query(*, direction: str, authorities: Sequence[str], stage: str | None = None,
                    executing_state: str | None = None) -> tuple[str, dict[str, Any], bool]:
    """From the tallies: how many cases of the list's facet the user's authorities hold (`mine`) and the node
    holds (`node`); True when `mine` is the list's exact total (its filters are one facet's)."""
    facet, value = ("stage", stage) if stage else ("state", executing_state) if executing_state else ("started", "")
    query = ("SELECT COALESCE(sum(cases) FILTER (WHERE authority = ANY(%(auth)s)), 0)::bigint AS mine,"
             " COALESCE(sum(cases) FILTER (WHERE authority = '*'), 0)::bigint AS node FROM case_tallies"
             " WHERE period = 'all'"
             " AND facet = %(facet)s AND direction = %(direction)s AND value = %(value)s")
    params = {"auth": sorted(set(authorities)), "facet": facet, "direction": direction, "value": value}
    return query, params, not (stage and executing_state)


def count_query(*, direction: str, authorities: Sequence[str], stage: str | None = None,
                executing_state: str | None = None, due_before: datetime | None = None,
                cap: int | None = None) -> tuple[str, dict[str, Any]]:
    """The SQL counting what `list_query` pages through, up to `cap` + 1: a total no tally holds."""
    where = ["authority = ANY(%(auth)s)", *_list_where(direction, stage, executing_state, due_before)]
    params = {"auth": sorted(set(authorities)), "direction": direction, "stage": stage,
              "executing_state": executing_state, "due_before": due_before,
              "cap": (LIST_TOTAL_CAP if cap is None else cap) + 1}
    return f"SELECT count(*) AS n FROM (SELECT 1 FROM cases WHERE {' AND '.join(where)} LIMIT %(cap)s) AS m", params


def node_wide(authorities: Sequence[str], mine: int, node: int) -> bool:
    """Whether one ordered scan of the node's cases reads fewer rows than one scan per authority: a page of n
    costs about n / share rows the first way and n × authorities the second."""
    return mine > 0 and len(set(authorities)) * mine > node


async def insert_case(
    conn: AsyncConnection[Any],
    *,
    case_id: str,
    direction: str,
    authority: str,
    issuing_state: str,
    executing_state: str,
    stage: str,
    certificate: dict[str, Any] | None,
    facts: dict[str, Any] | None,
    created_by: str,
) -> bool:
    """Insert a case; False when it already existed (a repeated delivery of the same certificate)."""
    cur = await conn.execute(
        "INSERT INTO cases (id, direction, authority, issuing_state, executing_state, stage, certificate, facts,"
        " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (case_id, direction, authority, issuing_state, executing_state, stage,
         Jsonb(certificate) if certificate is not None else None, Jsonb(facts) if facts is not None else None,
         created_by),
    )
    return cur.rowcount == 1


async def get_case(pool: AsyncConnectionPool[Any], case_id: str, direction: str | None = None) -> Row | None:
    async with pool.connection() as conn:
        if direction:
            cur = await conn.execute("SELECT * FROM cases WHERE id = %s AND direction = %s", (case_id, direction))
        else:
            cur = await conn.execute("SELECT * FROM cases WHERE id = %s", (case_id,))
        row: Row | None = await cur.fetchone()
        return row


async def case_direction(pool: AsyncConnectionPool[Any], case_id: str) -> str | None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT direction FROM cases WHERE id = %s", (case_id,))
        row = await cur.fetchone()
    return row["direction"] if row else None


async def update_certificate(pool: AsyncConnectionPool[Any], case_id: str, certificate: dict[str, Any],
                             facts: dict[str, Any]) -> None:
    async with pool.connection() as conn:
        await write_certificate(conn, case_id, certificate, facts)


async def write_certificate(conn: AsyncConnection[Any], case_id: str, certificate: dict[str, Any],
                            facts: dict[str, Any]) -> None:
    await conn.execute("UPDATE cases SET certificate = %s, facts = %s, updated_at = now() WHERE id = %s",
                       (Jsonb(certificate), Jsonb(facts), case_id))


async def correct_certificate(conn: AsyncConnection[Any], case_id: str, certificate: dict[str, Any],
                              facts: dict[str, Any]) -> None:
    """The officer's corrected certificate replaces a draft transfer's (Art 6(3)). After a return by the
    prosecutor, the certificate as they returned it is kept first (migration 0039), once per return: a second
    correction before the transfer is submitted again keeps what the prosecutor saw, not the first correction.
    A draft never returned keeps nothing (no prosecutor has seen it). The projection clears it
    (`_PROJECTION_SQL`)."""
    await conn.execute(
        "UPDATE cases SET certificate_before_correction = COALESCE(certificate_before_correction,"
        " CASE WHEN EXISTS (SELECT 1 FROM timeline t WHERE t.case_id = cases.id AND t.type = 'returned_to_officer')"
        " THEN certificate END) WHERE id = %s", (case_id,))
    await write_certificate(conn, case_id, certificate, facts)


@dataclass(frozen=True)
class CasePage:
    rows: list[Row]
    total: int
    # True when more cases match than `total` says (LIST_TOTAL_CAP): counted no further.
    total_capped: bool


async def list_page(
    pool: AsyncConnectionPool[Any],
    *,
    direction: str,
    authorities: Sequence[str],
    stage: str | None = None,
    executing_state: str | None = None,
    due_before: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
    count: bool = True,
) -> CasePage:
    """A page of a list and its total: the total from the tallies where they hold it (else counted up to
    LIST_TOTAL_CAP), and the page read the cheaper way for the share of the node the user sees."""
    async with pool.connection() as conn:
        query, params, exact = list_size_query(direction=direction, authorities=authorities, stage=stage,
                                               executing_state=executing_state)
        size = await (await conn.execute(query, params)).fetchone()  # type: ignore[arg-type]
        mine, node = (int(size["mine"]), int(size["node"])) if size else (0, 0)
        query, params = list_query(direction=direction, authorities=authorities, stage=stage,
                                   executing_state=executing_state, due_before=due_before, limit=limit,
                                   offset=offset, node_wide=node_wide(authorities, mine, node))
        rows = list(await (await conn.execute(query, params)).fetchall())  # type: ignore[arg-type]
        if exact and not due_before:
            return CasePage(rows, mine, False)
        if not count or (offset == 0 and len(rows) < limit):
            return CasePage(rows, len(rows), False)
        query, params = count_query(direction=direction, authorities=authorities, stage=stage,
                                    executing_state=executing_state, due_before=due_before)
        counted = await (await conn.execute(query, params)).fetchone()  # type: ignore[arg-type]
    n = int(counted["n"]) if counted else 0
    return CasePage(rows, min(n, LIST_TOTAL_CAP), n > LIST_TOTAL_CAP)


async def people_of_cases(pool: AsyncConnectionPool[Any], case_ids: Sequence[str]) -> dict[str, Row]:
    """The person's name and the references of each case, for the pages' lists and their search (personal
    data: the pages audit that they showed it)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, certificate->'person'->>'surname' AS surname, certificate->'person'->>'forenames' AS forenames,"
            " certificate->'judgment'->>'reference' AS judgment_reference,"
            " certificate->'signature'->>'file_reference' AS file_reference, deadlines FROM cases WHERE id = ANY(%s)",
            (list(case_ids),))
        return {str(row["id"]): row for row in await cur.fetchall()}


async def timeline(pool: AsyncConnectionPool[Any], case_id: str) -> list[Row]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT at, type, actor, detail FROM timeline WHERE case_id = %s ORDER BY at, id", (case_id,)
        )
        return list(await cur.fetchall())


# One statement, one round trip: a workflow writes its view at every step, so this is the busiest
# write of a node. New timeline events are inserted (a retried activity's repeats are skipped by their
# keys), each newly inserted event that changes a stage or was someone's action is audited, and the case
# row is updated unless a later revision is already there. Nothing is written for an unknown case.
_PROJECTION_SQL = """
WITH known AS (
    SELECT id FROM cases WHERE id = %(case_id)s
), new_events AS (
    SELECT e.* FROM jsonb_to_recordset(%(events)s::jsonb)
        AS e(key text, at timestamptz, type text, actor text, detail jsonb, role text, authority text,
             reason text, old_stage text, new_stage text, audited boolean, n bigint)
    WHERE EXISTS (SELECT 1 FROM known)
), inserted AS (
    INSERT INTO timeline (case_id, at, type, actor, detail, event_key)
    SELECT %(case_id)s, at, type, actor, coalesce(detail, '{}'), key FROM new_events ORDER BY n
    ON CONFLICT (event_key) DO NOTHING
    RETURNING event_key
), audited AS (
    INSERT INTO audit (user_name, role, authority, case_id, action, reason, old_stage, new_stage)
    SELECT actor, coalesce(role, 'system'), authority, %(case_id)s, type, reason, old_stage, new_stage
    FROM new_events WHERE audited AND key IN (SELECT event_key FROM inserted) ORDER BY n
), updated AS (
    UPDATE cases SET stage = %(stage)s, outcome = %(outcome)s, decision_due = %(decision_due)s,
        deadlines = %(deadlines)s, alerts = %(alerts)s,
        alerts_seen = ARRAY(SELECT DISTINCT unnest(alerts_seen || %(alerts_seen)s::text[])),
        closed_at = %(closed_at)s, revision = %(revision)s, updated_at = now(),
        -- What the prosecutor returned (0039), until they decide again: kept while the transfer stays in draft
        -- or awaits approval; cleared when it leaves them (approved and sent, withdrawn) or comes back to draft
        -- (a new return: what they saw since is the corrected certificate). `stage` is the row's stage before.
        certificate_before_correction = CASE
            WHEN %(stage)s = 'awaiting_approval' OR (%(stage)s = 'draft' AND stage = 'draft')
            THEN certificate_before_correction END
    WHERE id = %(case_id)s AND revision <= %(revision)s
)
SELECT EXISTS (SELECT 1 FROM known) AS known
"""


def _event_row(n: int, event: dict[str, Any]) -> dict[str, Any]:
    at = event["at"]
    return {
        "n": n, "key": event["key"], "at": at.isoformat() if isinstance(at, datetime) else at, "type": event["type"],
        "actor": event["actor"], "detail": event.get("detail") or {}, "role": event.get("role"),
        "authority": event.get("authority"), "reason": event.get("reason"), "old_stage": event.get("old_stage"),
        "new_stage": event.get("new_stage"),
        # A stage change or a person's action goes to the audit log; a system note (an alert) does not.
        "audited": bool(event.get("old_stage") or event.get("new_stage") or event.get("role")),
    }


async def apply_projection(
    pool: AsyncConnectionPool[Any],
    *,
    case_id: str,
    revision: int,
    stage: str,
    outcome: str | None,
    decision_due: datetime | None,
    deadlines: list[dict[str, Any]],
    alerts: list[str],
    alerts_seen: list[str],
    closed_at: datetime | None,
    events: list[dict[str, Any]],
) -> None:
    """Write the workflow's view of a case. Idempotent: events carry keys, older revisions are ignored."""
    async with pool.connection() as conn:
        cur = await conn.execute(_PROJECTION_SQL, {
            "case_id": case_id, "events": Jsonb([_event_row(n, e) for n, e in enumerate(events)]), "stage": stage,
            "outcome": outcome, "decision_due": decision_due, "deadlines": Jsonb(deadlines), "alerts": Jsonb(alerts),
            "alerts_seen": alerts_seen, "closed_at": closed_at, "revision": revision,
        })
        row = await cur.fetchone()
    if row is None or not row["known"]:
        raise LookupError(f"case {case_id} is not in the database")


async def save_document(pool: AsyncConnectionPool[Any], case_id: str, kind: str, lang: str, media_type: str,
                        content: bytes) -> str:
    async with pool.connection() as conn:
        return await write_document(conn, case_id, kind, lang, media_type, content)


async def write_document(conn: AsyncConnection[Any], case_id: str, kind: str, lang: str, media_type: str,
                         content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    await conn.execute(
        "INSERT INTO documents (case_id, kind, lang, media_type, sha256, content) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (case_id, kind, lang, sha256) DO NOTHING",
        (case_id, kind, lang, media_type, digest, content),
    )
    return digest


async def latest_document(pool: AsyncConnectionPool[Any], case_id: str, kind: str,
                          lang: str | None = None) -> Row | None:
    async with pool.connection() as conn:
        if lang:
            cur = await conn.execute(
                "SELECT * FROM documents WHERE case_id = %s AND kind = %s AND lang = %s ORDER BY id DESC LIMIT 1",
                (case_id, kind, lang),
            )
        else:
            cur = await conn.execute(
                "SELECT * FROM documents WHERE case_id = %s AND kind = %s ORDER BY id DESC LIMIT 1", (case_id, kind)
            )
        row: Row | None = await cur.fetchone()
        return row


async def save_note(conn: AsyncConnection[Any], *, note_id: str, case_id: str, author: str,
                    texts: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO notes (id, case_id, author, texts) VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        (note_id, case_id, author, Jsonb(texts)),
    )


async def note_texts(pool: AsyncConnectionPool[Any], note_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT texts FROM notes WHERE id = %s", (note_id,))
        row = await cur.fetchone()
    return dict(row["texts"]) if row else {}


async def notes_of_case(pool: AsyncConnectionPool[Any], case_id: str) -> dict[str, dict[str, Any]]:
    """Every note of a case by its id: the free text of the actions its timeline names."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, texts FROM notes WHERE case_id = %s", (case_id,))
        return {str(row["id"]): dict(row["texts"]) for row in await cur.fetchall()}


# The lists on the dashboard show the first ones by due date; the totals say how many there are.
DASHBOARD_LIST_LIMIT = 100

# The dashboard's period (CONTRACT: `since` inclusive, `until` exclusive) is on the day a case started: every
# chart and table of the page counts the same cases.
_PERIOD = ("(%(since)s::timestamptz IS NULL OR created_at >= %(since)s)"
           " AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)")
_OPEN = f"authority = ANY(%(auth)s) AND closed_at IS NULL AND {_PERIOD}"
_DECISION_DUE_SOON = "decision_due >= %(now)s AND decision_due < %(soon)s"

_DUTY_DUE_SOON = "next_duty_due >= %(now)s AND next_duty_due < %(soon)s"


def _node_wide(inner: str) -> str:
    """Rows of `inner` (ordered, over the whole node) kept for the user's authorities and period. OFFSET 0 keeps
    PostgreSQL from folding the authorities into `inner`: it then reads `inner` in its index's order and stops
    at the page's end, where it would otherwise fetch every row of the authorities and sort them."""
    return f"SELECT c.* FROM ({inner} OFFSET 0) AS c WHERE authority = ANY(%(auth)s) AND {_PERIOD} LIMIT %(limit)s"


# The dashboard's queries besides its counts (store/tallies.py), also run bare by bench/dashboard.py: for a user
# who sees a small share of the node, plain queries that PostgreSQL reads in order from each authority's
# partial indexes (0007, 0025, 0030); for one who sees most of it (a national supervisor), one ordered scan of
# the node's open cases (0030), keeping theirs. Either way it reads about as many rows as it shows.
DASHBOARD_SQL: dict[str, str] = {
    # What falls due within the next days: the decision (Art 12(1)) and the duties (policy deadlines); a case
    # with both shows twice, once for each.
    "decisions_due_soon":
        f"(SELECT {_SUMMARY_COLUMNS}, decision_due AS due, 'decision' AS due_name FROM cases WHERE {_OPEN}"
        f" AND {_DECISION_DUE_SOON} ORDER BY decision_due, id LIMIT %(limit)s)"
        f" UNION ALL (SELECT {_SUMMARY_COLUMNS}, next_duty_due AS due, next_duty AS due_name FROM cases"
        f" WHERE {_OPEN} AND {_DUTY_DUE_SOON} ORDER BY next_duty_due, id LIMIT %(limit)s)"
        " ORDER BY due, id LIMIT %(limit)s",
    "overdue": f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE {_OPEN} AND needs_attention"
               " ORDER BY decision_due NULLS LAST, id LIMIT %(limit)s",
    # Art 17: breach reports waiting for the issuing state's decision (migration 0035's index).
    "breach_reports": f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE {_OPEN} AND alerts ? 'breach_reported'"
                      " ORDER BY updated_at, id LIMIT %(limit)s",
    # Cases with a decision or a duty due soon, each once: the clock moves this count, so no tally can hold
    # it; two index-only range scans (0030), the second skipping what the first counted.
    "totals": f"SELECT (SELECT count(*) FROM cases WHERE {_OPEN} AND {_DECISION_DUE_SOON})"
              f" + (SELECT count(*) FROM cases WHERE {_OPEN} AND {_DUTY_DUE_SOON}"
              f" AND (decision_due IS NULL OR NOT ({_DECISION_DUE_SOON}))) AS due_soon",
}
DASHBOARD_NODE_WIDE_SQL: dict[str, str] = {
    **DASHBOARD_SQL,
    "decisions_due_soon":
        "(" + _node_wide(f"SELECT {_SUMMARY_COLUMNS}, created_at, decision_due AS due, 'decision' AS due_name"
                         f" FROM cases WHERE closed_at IS NULL AND {_DECISION_DUE_SOON} ORDER BY decision_due, id")
        + ") UNION ALL (" + _node_wide(f"SELECT {_SUMMARY_COLUMNS}, created_at, next_duty_due AS due,"
                                       f" next_duty AS due_name FROM cases WHERE closed_at IS NULL"
                                       f" AND {_DUTY_DUE_SOON} ORDER BY next_duty_due, id")
        + ") ORDER BY due, id LIMIT %(limit)s",
    "overdue": _node_wide(f"SELECT {_SUMMARY_COLUMNS}, created_at FROM cases WHERE closed_at IS NULL"
                          " AND needs_attention ORDER BY decision_due NULLS LAST, id"),
    "breach_reports": _node_wide(f"SELECT {_SUMMARY_COLUMNS}, created_at FROM cases WHERE closed_at IS NULL"
                                 " AND alerts ? 'breach_reported' ORDER BY updated_at, id"),
}
# How many open cases the user's authorities hold, and the node: which of the two above reads less.
OPEN_SHARE_SQL = ("SELECT COALESCE(sum(open) FILTER (WHERE authority = ANY(%(auth)s)), 0)::bigint AS mine,"
                  " COALESCE(sum(open) FILTER (WHERE authority = '*'), 0)::bigint AS node FROM case_tallies"
                  " WHERE period = 'all'"
                  " AND facet = 'started' AND direction IN ('outgoing', 'incoming') AND value = ''")


async def dashboard_lists(conn: AsyncConnection[Any], params: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's lists and its count of what falls due soon, on one connection: the user's share of the
    node (from the tallies), then the three statements sent at once (a pipeline: one round trip, where on a
    busy machine every further wake-up of the server costs the most).

    The node-wide statements are prepared (psycopg's default): only users holding much of the node run them,
    and their generic plan is the ordered scan they want. The per-authority ones are planned for each call: a
    generic plan, shared by a user of one authority and one of twenty, knows neither how many authorities
    nor which due dates it is asked about, and reads one authority's list from the node-wide index (measured:
    10,000 rows where its own index reads 200)."""
    share = await (await conn.execute(OPEN_SHARE_SQL, params)).fetchone()
    wide = share is not None and node_wide(params["auth"], int(share["mine"]), int(share["node"]))
    async with conn.pipeline():
        cursors = {name: await conn.execute(query, params,  # type: ignore[arg-type]  # fixed fragments
                                            prepare=None if wide or name == "totals" else False)
                   for name, query in (DASHBOARD_NODE_WIDE_SQL if wide else DASHBOARD_SQL).items()}
        return {name: await cur.fetchall() for name, cur in cursors.items()}


def dashboard_params(authorities: Sequence[str], now: datetime, soon_days: int = 15, *,
                     since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    return {"auth": sorted(set(authorities)), "now": now, "soon": now + timedelta(days=soon_days),
            "limit": DASHBOARD_LIST_LIMIT, "since": since, "until": until}


async def dashboard(pool: AsyncConnectionPool[Any], authorities: Sequence[str], now: datetime,
                    soon_days: int = 15, *, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, Any]:
    """Counts by stage and state, decisions and duties due soon, what is overdue, and the statistics: ICOTS's
    daily reports, on one page, over the cases started in the period (all when none is given). The counts
    (tallies) and the lists run side by side on two connections: the page waits for the slower."""
    params = dashboard_params(authorities, now, soon_days, since=since, until=until)

    async def lists() -> dict[str, Any]:
        async with pool.connection() as conn:
            return await dashboard_lists(conn, params)

    async def counts() -> dict[str, Any]:
        async with pool.connection() as conn:
            return await tallies.dashboard_counts(conn, authorities, since, until)

    listed, counted = await asyncio.gather(lists(), counts())
    return {"by_stage": counted["by_stage"], "by_state": counted["by_state"],
            "decisions_due_soon": listed["decisions_due_soon"], "overdue": listed["overdue"],
            "breach_reports": listed["breach_reports"],
            "totals": {"due_soon": int(listed["totals"][0]["due_soon"]), "overdue": counted["overdue"]},
            "statistics": counted["statistics"]}


async def failed_deliveries(pool: AsyncConnectionPool[Any], authorities: Sequence[str]) -> list[Row]:
    """Open cases showing `delivery_failed`: what a bulk resend after an outage goes through."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, direction FROM cases WHERE authority = ANY(%s) AND closed_at IS NULL"
            " AND alerts ? 'delivery_failed' ORDER BY updated_at", (list(authorities),))
        return list(await cur.fetchall())


async def open_transfer_of_judgment(conn: AsyncConnection[Any], issuing_state: str,
                                    identity: tuple[str, str, str],
                                    excluding: str | None = None) -> dict[str, Any] | None:
    """Art 6(5): the open outgoing case (other than `excluding`) forwarding the same judgment
    (forms.annex1 judgment_identity), if any. Takes a transaction lock on the judgment first, so that two
    transfers created or corrected at once cannot both pass. The court and reference are compared as
    `identity_text` folds them, here in Python: PostgreSQL's lower() is not Unicode case folding."""
    from forms.annex1 import identity_text

    court, delivered_on, reference = identity
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 947))",
                       (f"{issuing_state}|{court}|{delivered_on}|{reference}",))
    cur = await conn.execute(
        "SELECT id, executing_state, stage, certificate->'judgment'->>'court' AS court,"
        " certificate->'judgment'->>'reference' AS reference FROM cases"
        " WHERE direction = 'outgoing' AND closed_at IS NULL AND issuing_state = %s"
        " AND certificate->'judgment'->>'delivered_on' = %s AND id IS DISTINCT FROM %s ORDER BY created_at",
        (issuing_state, delivered_on, excluding))
    for row in await cur.fetchall():
        if identity_text(row["court"]) == court and identity_text(row["reference"]) == reference:
            return {k: row[k] for k in ("id", "executing_state", "stage")}
    return None


async def reassign(pool: AsyncConnectionPool[Any], case_id: str, authority: str) -> None:
    """Art 6(7), 18(1): the case now belongs to the competent authority; its users see it, the others do not."""
    async with pool.connection() as conn:
        await conn.execute("UPDATE cases SET authority = %s, updated_at = now() WHERE id = %s", (authority, case_id))
