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
    # How long a message is retried before the case shows delivery_failed (PROBATIO_DELIVERY_RETRY_HOURS).
    delivery_retry_hours: int = 48
    # Set only when a run continues as new: the state the previous run handed over.
    snapshot: CaseSnapshot | None = None


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
    # Stage → hours to wait for that stage's evidence (e-CODEX: relay, delivery, retrieval); empty for a
    # channel with one wait (post, e-mail) or none (node link).
    evidence_hours: dict[str, int] = Field(default_factory=dict)


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
    # The executing state's Art 14(3) declaration covers this judgment's type: the issuing state keeps
    # the Art 14(1)(b)-(c) decisions, the executing state supervises and reports on the Annex II form.
    art_14_3_applies: bool = False
    certificate_language: str | None = None


class AdaptationCheck(BaseModel):
    """An adaptation checked against the certificate (Art 9): `path: reason` errors, and what it changes."""

    errors: list[str] = Field(default_factory=list)
    measures_changed: list[int] = Field(default_factory=list)


class CaseSnapshot(BaseModel):
    """Everything one run of a case workflow hands to the next when it continues as new."""

    stage: str
    outcome: str | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    alerts_seen: list[str] = Field(default_factory=list)
    facts: CaseFacts = Field(default_factory=CaseFacts)
    consulted_grounds: list[str] = Field(default_factory=list)
    supervision_started: bool = False
    issuing_competent: bool = False
    received_at: datetime | None = None
    open_requests: list[str] = Field(default_factory=list)
    seen_message_ids: list[str] = Field(default_factory=list)
    messages_sent: list[str] = Field(default_factory=list)
    messages_received: list[str] = Field(default_factory=list)
    failed: list[OutgoingMessage] = Field(default_factory=list)
    # Sent messages whose delivery evidence has not come yet (workflows/delivery.py).
    awaiting_evidence: list[OutgoingMessage] = Field(default_factory=list)
    revision: int = 0
    runs: int = 1


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
    issuing_competent: bool = False
    open_requests: list[str] = Field(default_factory=list)
    next_wakeup: datetime | None = None
    # Which run of the workflow this is: supervision continues as new to keep each history small.
    run: int = 1


# The fields of each received message that the workflow may see: codes, numbers and dates only.
# Everything else in a payload (certificate, free text) stays in the inbox table in PostgreSQL.
SIGNAL_FIELDS: dict[str, frozenset[str]] = {
    "certificate": frozenset({"language", "max_custody_requested"}),
    "acknowledgement": frozenset({"received_at"}),
    "forwarded": frozenset({"authority"}),
    "completion_request": frozenset({"due_days"}),
    "consultation": frozenset({"ground"}),
    "delay_notice": frozenset({"expected_by"}),
    "max_custody_info": frozenset({"max_custody_days"}),
    "decision": frozenset({"outcome", "grounds", "measures_changed", "art_14_3"}),
    "judgment_review": frozenset({"outcome"}),
    "subsequent_decision": frozenset({"decision"}),
    "transfer_back": frozenset({"reason"}),
    "supervision_ended": frozenset({"outcome"}),
}


def signal_body(message_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    allowed = SIGNAL_FIELDS.get(message_type, frozenset())
    return {k: v for k, v in payload.items() if k in allowed}


TransferInput.model_rebuild()
