"""Polling our e-CODEX connector client: messages other states sent us go to the inbox (verified like
any envelope), and evidences about the messages we sent go to their cases' workflows as signals."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from temporalio.service import RPCError

from adapters.ecodex import EcodexOptions, confirm_retrieval, fetch_evidences, fetch_incoming
from adapters.envelope import EnvelopeRejected
from adapters.evidence import Evidence, EvidenceType
from intake import accept_sealed
from probatio.node import Node
from workflows.delivery import DeliveryEvidence

log = logging.getLogger(__name__)

# e-CODEX relays take time and the envelope was signed when submitted: the message id, not the clock,
# protects against replay here.
_KIND = {EvidenceType.SUBMISSION: "submitted", EvidenceType.RELAY: "relayed", EvidenceType.DELIVERY: "delivered",
         EvidenceType.RETRIEVAL: "retrieved"}


def connectors(node: Node) -> list[EcodexOptions]:
    """Our connector clients, as the directory's e-CODEX routes name them (each once)."""
    found: dict[str, EcodexOptions] = {}
    for entry in node.directory.states.values():
        for authority in entry.authorities:
            if authority.adapter == "ecodex":
                options = EcodexOptions.model_validate(authority.options)
                found.setdefault(options.connector_url, options)
    return list(found.values())


def as_delivery_evidence(ev: Evidence) -> DeliveryEvidence:
    kind = "rejected" if ev.is_failure else _KIND[ev.type]
    return DeliveryEvidence(message_id=ev.message_reference, kind=kind, at=ev.at, channel=ev.channel,  # type: ignore[arg-type]
                            recorded_by="e-CODEX")


async def poll_once(node: Node) -> dict[str, int]:
    """One round: take in new messages, pass on new evidences. Safe to repeat (both sides de-duplicate)."""
    counts = {"received": 0, "evidences": 0}
    for options in connectors(node):
        for incoming in await fetch_incoming(options):
            try:
                await accept_sealed(node, incoming.body, incoming.headers, window=timedelta(days=30), channel="ecodex")
                accepted = True
            except EnvelopeRejected as err:
                log.warning("e-CODEX message %s refused: %s", incoming.ebms_message_id, err.reason)
                accepted = False
            if incoming.ebms_message_id:
                await confirm_retrieval(options, incoming.ebms_message_id, accepted=accepted)
            counts["received"] += int(accepted)
        for ev in await fetch_evidences(options):
            if await signal_evidence(node, as_delivery_evidence(ev)):
                counts["evidences"] += 1
    return counts


async def signal_evidence(node: Node, ev: DeliveryEvidence) -> bool:
    """Find the case the message belongs to (the outbox knows) and tell its workflow."""
    async with node.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT o.conversation_id, c.direction FROM outbox o JOIN cases c ON c.id = o.conversation_id"
            " WHERE o.message_id = %s", (ev.message_id,))
        row: dict[str, Any] | None = await cur.fetchone()
    if row is None:
        return False
    prefix = "transfer" if row["direction"] == "outgoing" else "incoming"
    try:
        await node.client.get_workflow_handle(f"{prefix}-{row['conversation_id']}").signal("evidence", ev)
    except RPCError:
        return False  # the case has ended; the evidence changes nothing
    return True


async def run_poller(node: Node, *, interval_seconds: float = 30.0) -> None:
    """Poll until cancelled; an unreachable connector is logged and tried again next round."""
    if not connectors(node):
        return
    while True:
        try:
            await poll_once(node)
        except Exception:
            log.exception("e-CODEX poll failed; trying again in %s s", interval_seconds)
        await asyncio.sleep(interval_seconds)
