"""Delivery evidence: when a message is known to have reached the other authority.

The node link confirms receipt in the same exchange. e-CODEX (submission, relay, delivery, retrieval
evidences), e-mail (a reply, or an officer noting receipt) and post (the officer records dispatch and
receipt) confirm it later; until then the message waits, and after 24 h without confirmation the case
shows `delivery_unconfirmed`. Over e-CODEX each stage has its own wait, as the connector's own time-outs
(relay 12 h, delivery 24 h, retrieval 36 h, adapters/evidence.py): the deadline that is missed names the
stage whose evidence did not come (`delivery:relay:<message id>`, …).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from workflows.deadlines import DELIVERY_PREFIX

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
