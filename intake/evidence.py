"""Delivery evidence that arrives from outside: the e-CODEX connector's evidences (the poll) and what an
officer records of a letter or an e-mail (its receipt, a refusal). Like every arrival, it is bound to its case
before it touches a workflow: the evidence must name a message this node sent (the outbox knows each one and
its case), for the case it is recorded on when a person records it; only then is the case's workflow told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from workflows.delivery import DeliveryEvidence
from workflows.model import workflow_id
from workflows.stages import Side


@dataclass(frozen=True)
class EvidenceCase:
    """The case an evidence belongs to: the one whose outbox holds the message."""

    case_id: str
    side: Side


async def bind_evidence(conn: Any, message_id: str, *, case_id: str | None = None) -> EvidenceCase | None:
    """The case that sent `message_id` (and only `case_id`, when given), or None: the evidence is not ours."""
    cur = await conn.execute(
        "SELECT o.conversation_id, c.direction FROM outbox o JOIN cases c ON c.id = o.conversation_id"
        " WHERE o.message_id = %s AND (%s::text IS NULL OR o.conversation_id = %s)", (message_id, case_id, case_id))
    row: dict[str, Any] | None = await cur.fetchone()
    if row is None:
        return None
    return EvidenceCase(case_id=str(row["conversation_id"]),
                        side=Side.ISSUING if row["direction"] == "outgoing" else Side.EXECUTING)


async def tell_case(client: Client, case: EvidenceCase, evidence: DeliveryEvidence) -> str | None:
    """Signal the bound evidence to its case's workflow; the reason when the case no longer takes it."""
    try:
        await client.get_workflow_handle(workflow_id(case.side, case.case_id)).signal("evidence", evidence)
    except RPCError as err:
        return err.message  # the case has ended: the evidence changes nothing
    return None
