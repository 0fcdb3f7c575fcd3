"""Inputs and outputs of workflows, updates, signals and activities: single serialisable models, so
they can grow without breaking running transfers. None of them carries personal data: names, addresses,
free text and documents stay in PostgreSQL and are read by activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from workflows.deadlines import Deadline


class Actor(BaseModel):
    """Who acts: a user of this node, or the peer node (role `peer`) for messages."""

    name: str
    role: str
    authorities: list[str] = Field(default_factory=list)


class ActionInput(BaseModel):
    actor: Actor
    # Structured fields only (codes, numbers, dates, letters of grounds); free text is in the note.
    body: dict[str, Any] = Field(default_factory=dict)
    note_id: str | None = None


class ActionResult(BaseModel):
    stage: str
    outcome: str | None = None
    detail: str | None = None


class TransferInput(BaseModel):
    case_id: str
    issuing_state: str
    executing_state: str
    authority: str
    created_by: str
    duty_working_days: int = 2


class LinkMessage(BaseModel):
    """A message received over the node link, as the workflow sees it (structured fields only)."""

    message_id: str
    type: str
    from_state: str
    sent_at: datetime
    received_at: datetime
    body: dict[str, Any] = Field(default_factory=dict)


class OutgoingMessage(BaseModel):
    case_id: str
    message_id: str
    type: str
    to_state: str
    body: dict[str, Any] = Field(default_factory=dict)
    note_id: str | None = None
    # The send activity adds the certificate (JSON and the rendered PDF) from the database.
    attach_certificate: bool = False


class SendResult(BaseModel):
    message_id: str
    delivered: bool
    adapter: str
    reference: str | None = None


class TimelineEvent(BaseModel):
    key: str
    at: datetime
    type: str
    actor: str
    role: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    old_stage: str | None = None
    new_stage: str | None = None


class CaseProjection(BaseModel):
    case_id: str
    revision: int
    stage: str
    outcome: str | None
    decision_due: datetime | None
    deadlines: list[Deadline]
    alerts: list[str]
    alerts_seen: list[str]
    closed_at: datetime | None
    events: list[TimelineEvent]


class SubmissionCheck(BaseModel):
    """Result of checking a certificate before it goes to the prosecutor: `path: reason` lines."""

    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class CaseFacts(BaseModel):
    """The non-personal facts of a certificate that drive deadlines (forms.annex1.CertificateFacts)."""

    judgment_type: str | None = None
    measure_count: int = 0
    measure_days: list[int | None] = Field(default_factory=list)
    measure_hours: list[int | None] = Field(default_factory=list)
    probation_period_days: int | None = None
    executing_declared_14_3: bool = False
    certificate_language: str | None = None


class CaseState(BaseModel):
    """What a query returns: the whole state of one side of a transfer."""

    case_id: str
    side: str
    stage: str
    outcome: str | None
    issuing_state: str
    executing_state: str
    deadlines: list[Deadline]
    alerts: list[str]
    alerts_seen: list[str]
    consulted_grounds: list[str]
    supervision_started: bool
    messages_sent: list[str]
    messages_received: list[str]
    failed_messages: list[str]


# The fields of each received message that the workflow may see: codes, numbers and dates only.
# Everything else in a payload (certificate, free text) stays in the inbox table in PostgreSQL.
SIGNAL_FIELDS: dict[str, frozenset[str]] = {
    "certificate": frozenset({"language"}),
    "acknowledgement": frozenset({"received_at"}),
    "forwarded": frozenset({"authority"}),
    "completion_request": frozenset({"due_days"}),
    "consultation": frozenset({"ground"}),
    "delay_notice": frozenset({"expected_by"}),
    "max_custody_info": frozenset({"max_custody_days"}),
    "decision": frozenset({"outcome", "grounds", "measures_changed"}),
    "subsequent_decision": frozenset({"decision"}),
    "transfer_back": frozenset({"reason"}),
    "supervision_ended": frozenset({"outcome"}),
}


def signal_body(message_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    allowed = SIGNAL_FIELDS.get(message_type, frozenset())
    return {k: v for k, v in payload.items() if k in allowed}
