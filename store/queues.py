"""The prosecutor's task queue (Camunda Tasklist's inbox, ICOTS's due-date report): what waits for a
prosecutor's decision, soonest deadline first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]

# (direction, stage or alert) → what the prosecutor is asked to do.
TASKS = (
    ("outgoing", "awaiting_approval", "Approve and sign the certificate (Art 6(3))"),
    ("outgoing", "consultation", "Answer the executing State's consultation (Art 11(3))"),
    ("outgoing", "adapted", "Withdraw or accept the adapted measures (Art 9(4))"),
    ("incoming", "received", "Decide on recognition (Art 8, 11, 12)"),
    ("incoming", "under_decision", "Decide on recognition (Art 8, 11, 12)"),
)
BREACH_TASK = "Read the breach report and decide what follows (Art 17)"
# Art 17: a breach report received after the last message this node sent on the case waits for the
# competent prosecutor (a subsequent decision, a request for information, or a reply).
_BREACH_UNANSWERED = (
    "EXISTS (SELECT 1 FROM inbox i WHERE i.conversation_id = cases.id AND i.type = 'breach_report'"
    " AND i.received_at > COALESCE((SELECT max(o.created_at) FROM outbox o WHERE o.conversation_id = cases.id),"
    " '-infinity'::timestamptz))")


def _first_due(row: Row) -> datetime | None:
    """The earliest open deadline of the case: the decision clock, a policy duty, or the withdrawal window."""
    dues = [datetime.fromisoformat(str(d["due"])) for d in row.get("deadlines") or []
            if d.get("status", "open") == "open" and d.get("due")]
    if row.get("decision_due"):
        dues.append(row["decision_due"])
    return min(dues) if dues else None


async def prosecutor_queue(pool: AsyncConnectionPool[Any], authorities: Sequence[str]) -> list[Row]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, direction, authority, issuing_state, executing_state, stage, outcome, decision_due,"
            " deadlines, alerts, updated_at FROM cases WHERE authority = ANY(%s) AND closed_at IS NULL AND ("
            " (direction = 'outgoing' AND (stage IN ('awaiting_approval', 'consultation', 'adapted')"
            "   OR alerts ? 'withdrawal_window_open'))"
            f" OR (direction = 'outgoing' AND stage = 'transferred' AND {_BREACH_UNANSWERED})"
            " OR (direction = 'incoming' AND stage IN ('received', 'under_decision')))",
            (list(authorities),),
        )
        rows = list(await cur.fetchall())
    tasks = []
    for row in rows:
        what = next((t for d, s, t in TASKS if d == row["direction"] and s == row["stage"]),
                    BREACH_TASK if row["stage"] == "transferred" else
                    "Withdrawal window open: withdraw or let supervision start (Art 9(4))")
        tasks.append({**row, "task": what, "due": _first_due(row)})
    # Cases without a deadline (an approval has none in law) come after those with one, oldest first.
    tasks.sort(key=lambda t: (t["due"] is None, t["due"] or t["updated_at"], t["updated_at"]))
    return tasks
