"""Stages, outcomes and alerts of CONTRACT §3, on both sides of a transfer (the law's vocabulary: the
catalogue of the exchange, the workflows and the pages all name them from here)."""

from enum import StrEnum


class Side(StrEnum):
    ISSUING = "issuing"  # the node that sends the certificate (an outgoing transfer)
    EXECUTING = "executing"  # the node that decides on recognition and supervises (an incoming transfer)


class IssuingStage(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SENT = "sent"
    UNDER_DECISION = "under_decision"
    COMPLETION_REQUESTED = "completion_requested"
    CONSULTATION = "consultation"
    ADAPTED = "adapted"
    TRANSFERRED = "transferred"
    RETURNED = "returned"
    CLOSED = "closed"


class ExecutingStage(StrEnum):
    RECEIVED = "received"
    UNDER_DECISION = "under_decision"
    RECOGNISED = "recognised"
    SUPERVISING = "supervising"
    CLOSED = "closed"


class Outcome(StrEnum):
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    FORWARDED = "forwarded"
    COMPLETED = "completed"
    REVOKED = "revoked"
    LAPSED = "lapsed"
    TRANSFERRED_BACK = "transferred_back"
    PERSON_NOT_FOUND = "person_not_found"
    AMNESTY = "amnesty"


class Alert(StrEnum):
    DECISION_DUE_SOON = "decision_due_soon"  # 15 days or less left of the Art 12(1) period
    DECISION_OVERDUE = "decision_overdue"
    WITHDRAWAL_WINDOW_OPEN = "withdrawal_window_open"  # Art 9(4)
    DUTY_OVERDUE = "duty_overdue"  # a "without delay" duty past its policy deadline
    DELIVERY_UNCONFIRMED = "delivery_unconfirmed"  # no evidence in time: 24 h (e-mail, post), per stage (e-CODEX)
    DELIVERY_FAILED = "delivery_failed"  # retries exhausted: an officer must resend
    PROBATION_PERIOD_ENDED = "probation_period_ended"
    # A measure's own period (community service hours, training, damages) ran out: check it was carried out.
    MEASURE_PERIOD_ENDED = "measure_period_ended"
    # Art 8(2), 11(1)(a): the period set for the completed certificate ran out without it.
    COMPLETION_OVERDUE = "completion_overdue"
    # Art 17: an Annex II breach report waits for the issuing state's reading and decision on what follows.
    BREACH_REPORTED = "breach_reported"
