"""Inputs and outputs of workflows, updates, signals and activities: single serialisable models, so
they can grow without breaking running transfers. None of them carries personal data: names, addresses,
free text and documents stay in PostgreSQL and are read by activities."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, TypeAdapter, field_serializer
from pydantic.dataclasses import dataclass

from forms.messages import ActionInput, Actor
from forms.stages import Side
from workflows.deadlines import Deadline

__all__ = ["ActionInput", "Actor"]


def workflow_id(side: Side | str, case_id: str) -> str:
    """The one place a case's workflow id is made (CONTRACT §5): `transfer-<id>` issuing, `incoming-<id>`."""
    return f"{'transfer' if side == Side.ISSUING else 'incoming'}-{case_id}"


class ActionResult(BaseModel):
    stage: str
    outcome: str | None = None
    detail: str | None = None


# TransferInput, CaseFacts, CaseMemory and Deadline are slotted pydantic dataclasses, not BaseModels: a cached
# run holds them for months, and a model's __dict__ and set of fields set cost about 1 KiB each (README.md,
# "Memory of a worker"). Same JSON either way.
@dataclass(slots=True)
class TransferInput:
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
    # The previous run wrote that state to PostgreSQL (projection, search attributes) before handing it over:
    # the new run does not write it again, so its history stays a few events long (memory per cached case).
    # Absent from runs recorded before, which wrote it again first thing.
    snapshot_published: bool = False

    @field_serializer("snapshot", when_used="json")
    def _snapshot_without_defaults(self, snapshot: CaseSnapshot | None) -> dict[str, Any] | None:
        # On the wire (the next run's input) only what differs from the defaults: a cached run holds its input
        # several times over (the SDK's payload copies, Core's history, the decoded models), and reading it
        # back gives the same memory.
        return None if snapshot is None else _MEMORY.dump_python(snapshot, mode="json", exclude_defaults=True)


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
    # The authority of `to_state` the message is for, when the case is held by a particular one (Art 6(7),
    # 18(1): the executing state named it); otherwise the directory's route for the state.
    to_authority: str | None = None
    # Art 6(7): the executing side sends the certificate as it received it on to the competent authority.
    forwarding: bool = False


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


@dataclass(slots=True)
class CaseFacts:
    """The non-personal facts of a certificate that drive deadlines (forms.annex1.CertificateFacts). A slotted
    dataclass, as Deadline: each cached case holds one."""

    judgment_type: str | None = None
    measure_count: int = 0
    measure_days: list[int | None] = Field(default_factory=list)
    measure_hours: list[int | None] = Field(default_factory=list)
    probation_period_days: int | None = None
    # Art 16(1)(d), 9(3): the period runs from the start in box (j), else from the day the judgment (or the
    # probation decision) became final; it ends when the judgment says, not later where supervision began late.
    probation_start: date | None = None
    probation_end: date | None = None
    executing_declared_14_3: bool = False
    # The executing state's Art 14(3) declaration covers this judgment's type: the issuing state keeps
    # the Art 14(1)(b)-(c) decisions, the executing state supervises and reports on the Annex II form.
    art_14_3_applies: bool = False
    certificate_language: str | None = None


class AdaptationCheck(BaseModel):
    """An adaptation checked against the certificate (Art 9): `path: reason` errors, and what it changes."""

    errors: list[str] = Field(default_factory=list)
    measures_changed: list[int] = Field(default_factory=list)


def _by_message_id(value: Any) -> Any:
    # Recorded histories hand the messages over as a list; the running case looks them up by id.
    if isinstance(value, list):
        return {m["message_id"] if isinstance(m, dict) else m.message_id: m for m in value}
    return value


# A set while the case runs; a sorted list on the wire, so a history's payloads never depend on hash order.
SortedSet = Annotated[set[str], PlainSerializer(lambda s: sorted(s), return_type=list[str])]
ById = Annotated[dict[str, OutgoingMessage], BeforeValidator(_by_message_id),
                 PlainSerializer(lambda d: list(d.values()), return_type=list[OutgoingMessage])]


@dataclass(slots=True)
class CaseMemory:
    """Everything one side of a case knows: the workflow keeps it in this one model and hands it whole to
    the next run when it continues as new. Ids, stages, dates and codes only: no personal data."""

    stage: str
    outcome: str | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    alerts: SortedSet = Field(default_factory=set)
    alerts_seen: SortedSet = Field(default_factory=set)
    facts: CaseFacts = Field(default_factory=CaseFacts)
    consulted_grounds: SortedSet = Field(default_factory=set)
    # Art 11(3): when the answer to each consultation is due (the period set when consulting), and which grounds'
    # consultations the issuing side answered (a reply answers every consultation open when it came). A ground
    # consulted on before these were kept counts as answered; `consultation_answered` is what runs recorded
    # before `consultations_answered` kept: the last consultation answered.
    consultation_due: dict[str, datetime] = Field(default_factory=dict)
    consultation_answered: bool = False
    consultations_answered: SortedSet = Field(default_factory=set)
    # Art 8(2), 11(1)(a), 12(1): while a completed certificate is awaited the 60 days do not run. The decision's
    # date was moved by the whole period set; these say since when, and until when at most, it waits.
    decision_paused_at: datetime | None = None
    decision_paused_until: datetime | None = None
    supervision_started: bool = False
    # Art 14(3): the executing state declared it will not take the 14(1)(b)-(c) decisions for this case.
    issuing_competent: bool = False
    # Art 17: a breach report came and this side has not written to the executing state since: the case
    # shows the `breach_reported` alert until a subsequent decision, a request or a reply goes out.
    breach_unanswered: bool = False
    received_at: datetime | None = None
    # Art 6(7), 18(1): the authority that now holds the case, where it was forwarded (on the executing side
    # the competent authority this node reassigned it to; on the issuing side the one the executing state named).
    authority: str | None = None
    # Art 6(7): the competent authority, served by another node, the certificate is on its way to; the case
    # closes as `forwarded` once it has it (workflows/incoming.py `forward`).
    forwarding_to: str | None = None
    # Requests from the other side that wait for an answer (information, transfer back, max custody).
    open_requests: SortedSet = Field(default_factory=set)
    seen_message_ids: SortedSet = Field(default_factory=set)
    messages_sent: list[str] = Field(default_factory=list)
    messages_received: list[str] = Field(default_factory=list)
    # Messages whose delivery failed (an officer may resend them), by message id.
    failed: ById = Field(default_factory=dict)
    # Sent messages whose delivery evidence has not come yet (workflows/delivery.py), by message id.
    awaiting_evidence: ById = Field(default_factory=dict)
    revision: int = 0
    runs: int = 1

    @property
    def closed(self) -> bool:
        # `returned` ends an outgoing transfer too: the supervision is back with the issuing state (Art 20(3)).
        return self.stage in ("closed", "returned")

    def deadline(self, name: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.name == name), None)

    def set_deadline(self, deadline: Deadline) -> None:
        self.deadlines = [d for d in self.deadlines if d.name != deadline.name] + [deadline]

    def end_deadline(self, name: str, status: str = "met") -> None:
        for d in self.deadlines:
            if d.name == name and d.status in ("open", "missed"):
                # Done after it was missed: the record says it was late, not that it was met.
                d.status = "met_late" if status == "met" and d.status == "missed" else status  # type: ignore[assignment]

    def close(self, new_stage: str, outcome: str | None) -> None:
        """Move to a final stage: every open deadline is cancelled, nothing is watched any more."""
        self.stage = new_stage
        self.outcome = outcome
        self.breach_unanswered = False
        for d in self.deadlines:
            if d.status == "open":
                d.status = "cancelled"

    def first_receipt(self, message_id: str) -> bool:
        """De-duplicate on receipt: a message id is handled once, however often it arrives."""
        if message_id in self.seen_message_ids:
            return False
        self.seen_message_ids.add(message_id)
        return True

    def taken(self, type_: str) -> None:
        """A received message this case acts on. One it ignored (out of stage, from a third state, after the
        end) is on the timeline as ignored, not counted here: the count is of what the case heard and heeded."""
        self.messages_received.append(type_)


# The name recorded histories know the handed-over state by.
CaseSnapshot = CaseMemory
_MEMORY: TypeAdapter[CaseMemory] = TypeAdapter(CaseMemory)


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
