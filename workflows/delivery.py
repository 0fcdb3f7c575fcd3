"""Delivery evidence: when a message is known to have reached the other authority.

The node link confirms receipt in the same exchange. e-CODEX (submission, relay, delivery, retrieval
evidences), e-mail (a reply, or an officer noting receipt) and post (the officer records dispatch and
receipt) confirm it later; until then the message waits, and after 24 h without confirmation (e-mail, post)
the case shows `delivery_unconfirmed`. Over e-CODEX each stage has its own wait, as the connector's own time-outs
(relay 12 h, delivery 24 h, retrieval 36 h, adapters/evidence.py): the deadline that is missed names the
stage whose evidence did not come (`delivery:relay:<message id>`, …).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from workflows.deadlines import DELIVERY_PREFIX, Deadline
from workflows.model import CaseMemory, OutgoingMessage, SendResult

EVIDENCE_TIMEOUT = timedelta(hours=24)


class DeliveryEvidence(BaseModel):
    """Sent to a case's workflow by the e-CODEX poller or an officer recording a dispatch or receipt."""

    message_id: str
    kind: Literal["submitted", "relayed", "dispatched", "delivered", "retrieved", "rejected"]
    at: datetime
    channel: str
    recorded_by: str = "system"
    # e-CODEX: which stage the evidence speaks of (submission, relay, delivery, retrieval) and the
    # connector's word for it, so a rejection says at which stage it came.
    stage: str | None = None
    source_type: str | None = None

    @property
    def confirms_receipt(self) -> bool:
        return self.kind in ("delivered", "retrieved")


# The stages whose evidence an e-CODEX message waits for, in order.
EVIDENCE_STAGES = ("relay", "delivery", "retrieval")
_STAGE_OF_KIND = {"relayed": "relay", "delivered": "delivery", "retrieved": "retrieval"}


def delivery_deadline_name(message_id: str) -> str:
    return DELIVERY_PREFIX + message_id


def stage_deadline_name(message_id: str, stage: str) -> str:
    """The wait for one stage's evidence; a `delivery:` deadline, so a missed one is `delivery_unconfirmed`."""
    return f"{DELIVERY_PREFIX}{stage}:{message_id}"


def stages_reached(kind: str) -> tuple[str, ...]:
    """The stages a positive evidence of ``kind`` settles: its own and every earlier one."""
    stage = _STAGE_OF_KIND.get(kind)
    return EVIDENCE_STAGES[: EVIDENCE_STAGES.index(stage) + 1] if stage else ()


# --- what a send result and an evidence do to a case: pure, so unit tests need no Temporal server ---------


def await_evidence(m: CaseMemory, msg: OutgoingMessage, result: SendResult, now: datetime, *,
                   stage_timers: bool) -> None:
    """A message handed over without receipt (e-CODEX, e-mail, post) waits for its evidence: over e-CODEX
    one deadline per stage (when `stage_timers`), otherwise one wait for delivery."""
    m.awaiting_evidence[msg.message_id] = msg
    if result.evidence_hours and stage_timers:
        for stage in EVIDENCE_STAGES:
            if stage in result.evidence_hours:
                m.set_deadline(Deadline(name=stage_deadline_name(msg.message_id, stage), basis="policy",
                                        article="6(2)", due=now + timedelta(hours=result.evidence_hours[stage])))
    else:
        m.set_deadline(Deadline(name=delivery_deadline_name(msg.message_id), due=now + EVIDENCE_TIMEOUT,
                                basis="policy", article="6(2)"))


def apply_evidence(m: CaseMemory, ev: DeliveryEvidence) -> tuple[str, OutgoingMessage] | None:
    """Settle what an evidence settles; the timeline event it makes (`delivered`, `delivery_failed`,
    `delivery_evidence`) with the message it concerns, or None when it changes nothing (evidences repeat)."""
    msg = m.awaiting_evidence.get(ev.message_id)
    if msg is None:
        return None
    if m.deadline(stage_deadline_name(ev.message_id, EVIDENCE_STAGES[0])) is not None:
        return _stage_evidence(m, ev, msg), msg
    if ev.kind == "rejected":
        del m.awaiting_evidence[ev.message_id]
        m.end_deadline(delivery_deadline_name(ev.message_id), "cancelled")
        m.failed[ev.message_id] = msg
        return "delivery_failed", msg
    if ev.confirms_receipt:
        del m.awaiting_evidence[ev.message_id]
        m.end_deadline(delivery_deadline_name(ev.message_id))
        return "delivered", msg
    return "delivery_evidence", msg


def _stage_evidence(m: CaseMemory, ev: DeliveryEvidence, msg: OutgoingMessage) -> str:
    """e-CODEX: each positive evidence settles its stage and the earlier ones; the message waits until
    retrieval. Delivery is receipt (the timeline's `delivered`); a negative one at any stage fails it."""
    names = {stage: stage_deadline_name(ev.message_id, stage) for stage in EVIDENCE_STAGES}
    if ev.kind == "rejected":
        del m.awaiting_evidence[ev.message_id]
        for name in names.values():
            m.end_deadline(name, "cancelled")
        m.failed[ev.message_id] = msg
        return "delivery_failed"
    delivery = m.deadline(names["delivery"])
    first_receipt = ev.confirms_receipt and delivery is not None and delivery.status in ("open", "missed")
    for stage in stages_reached(ev.kind):
        m.end_deadline(names[stage])
    if ev.kind == "retrieved":
        del m.awaiting_evidence[ev.message_id]
    return "delivered" if first_receipt else "delivery_evidence"
