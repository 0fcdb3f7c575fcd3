"""Evidence that a message moved one step closer to the other authority, whatever the channel.

e-CODEX sends ETSI REM evidences (submission, relay, delivery, retrieval; each positive or negative); a
posted letter gets a dispatch date and a signed return card; an e-mail gets accepted by our SMTP relay
and later answered. All of them become the same :class:`Evidence`, so the workflows reason about one
vocabulary: a positive DELIVERY or RETRIEVAL means the other authority has it (the Art 12 clock may
start), a negative one at any stage means a person must act.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

DEFAULT_EVIDENCE_TIMEOUT = timedelta(hours=24)
"""How long to wait for delivery evidence before alerting ``delivery_unconfirmed`` (CONTRACT §3), for a
channel without stages (post, e-mail); the case workflow's own constant is workflows/delivery.py
``EVIDENCE_TIMEOUT``, of the same value."""


class EvidenceType(IntEnum):
    """How far the message got. Ordered: a later stage implies the earlier ones."""

    SUBMISSION = 1  # our gateway, SMTP relay or post office took it
    RELAY = 2  # the other side's gateway took it
    DELIVERY = 3  # it reached the other authority's system or mailbox
    RETRIEVAL = 4  # the other authority opened it

    def __str__(self) -> str:
        return self.name.lower()


# The e-CODEX connector's own evidence time-outs, counted from submission, after which it issues the
# negative evidence itself: e-CODEX/connector at 0d4f5012,
# domibusConnectorController/src/main/resources/eu/ecodex/connector/controller/spring/default-connector.properties
# (relayREMMDTimeout=12h, deliveryTimeout=24h, retrievalTimeout=36h, checked every checkTimeout=1h by
# CheckEvidencesTimeoutProcessorImpl). Operators who change them on their connector change them here too
# (PROBATIO_ECODEX_RELAY_HOURS, …_DELIVERY_HOURS, …_RETRIEVAL_HOURS).
CONNECTOR_EVIDENCE_TIMEOUTS: dict[EvidenceType, timedelta] = {
    EvidenceType.RELAY: timedelta(hours=12),
    EvidenceType.DELIVERY: timedelta(hours=24),
    EvidenceType.RETRIEVAL: timedelta(hours=36),
}


class EvidenceOutcome(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class Evidence(BaseModel):
    """One evidence about one of our messages, ready for the audit log and the case timeline."""

    model_config = ConfigDict(frozen=True)

    type: EvidenceType
    outcome: EvidenceOutcome
    at: AwareDatetime
    message_reference: str
    """Our ``message_id`` (the envelope's), so the evidence finds its workflow."""
    channel: str
    """The adapter that produced it: ``ecodex``, ``email``, ``post``."""
    source_type: str
    """The channel's own word for it, e.g. ``RELAY_REMMD_FAILURE``, kept for the audit."""
    transport_reference: str | None = None
    """The channel's id: the e-CODEX ebMS message id, a registered-mail number, an e-mail Message-ID."""
    reason: str | None = None
    recorded_by: str | None = None
    """For evidence typed in by an officer (post): who."""
    document: str | None = None
    """The evidence as received (ETSI REM XML), for the file."""

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def confirms_receipt(self) -> bool:
        """The other authority has the message: the moment that starts the Art 12(1) decision clock."""
        return self.outcome is EvidenceOutcome.POSITIVE and self.type >= EvidenceType.DELIVERY

    @property
    def is_failure(self) -> bool:
        return self.outcome is EvidenceOutcome.NEGATIVE


def decisive_evidence(evidences: Iterable[Evidence]) -> Evidence | None:
    """The evidence that sums up where a message stands, as the e-CODEX connector ranks them.

    Once rejected, a message stays rejected (the first negative evidence wins); otherwise the furthest
    positive stage wins, the earliest of equals (that is when receipt happened).
    """
    ordered = sorted(evidences, key=lambda e: e.at)
    negatives = [e for e in ordered if e.is_failure]
    if negatives:
        return negatives[0]
    if not ordered:
        return None
    furthest = max(e.type for e in ordered)
    return next(e for e in ordered if e.type == furthest)


def receipt_time(evidences: Iterable[Evidence]) -> datetime | None:
    """When the other authority first had the message, or None if no evidence says so yet."""
    times = [e.at for e in evidences if e.confirms_receipt]
    return min(times) if times else None
