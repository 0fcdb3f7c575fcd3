"""Delivery evidence: when a message is known to have reached the other authority.

The node link confirms receipt in the same exchange. e-CODEX (submission, relay, delivery, retrieval
evidences), e-mail (a reply, or an officer noting receipt) and post (the officer records dispatch and
receipt) confirm it later; until then the message waits, and after 24 h without confirmation the case
shows `delivery_unconfirmed` (the connector's default evidence timeout).
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

    @property
    def confirms_receipt(self) -> bool:
        return self.kind in ("delivered", "retrieved")


def delivery_deadline_name(message_id: str) -> str:
    return DELIVERY_PREFIX + message_id
