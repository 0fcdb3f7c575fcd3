"""What a case shows to people: its alerts, the watched decision date and the projection written to
PostgreSQL (the dashboards and lists read it). Pure functions of the case's memory, so unit tests need no
Temporal server; the workflow calls them and writes the result through an activity."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic_core import to_json

from workflows import deadlines as dl
from workflows.model import CaseMemory, CaseProjection, TimelineEvent
from workflows.stages import Alert


def refresh_alerts(m: CaseMemory, now: datetime) -> list[str]:
    """Bring deadlines and alerts up to `now`; the alerts newly raised, in order (each becomes an event)."""
    dl.mark_missed(m.deadlines, now)
    alerts = {str(a) for a in dl.alerts_at(m.deadlines, now)}
    if m.failed:
        alerts.add(Alert.DELIVERY_FAILED)
    if m.breach_unanswered:
        alerts.add(Alert.BREACH_REPORTED)
    raised = sorted(alerts - m.alerts)
    m.alerts = alerts
    m.alerts_seen |= alerts
    return raised


def decision_due(m: CaseMemory) -> datetime | None:
    """The watched decision date (Art 12(1), or the date of an Art 12(2) notice) while it is open or missed."""
    d = m.deadline(dl.DECISION)
    return d.due if d and d.status in ("open", "missed") else None


def view(m: CaseMemory) -> bytes:
    """What the projection shows, to tell whether anything changed since it was last written: a digest of it
    as JSON, which a cached case keeps between wake-ups (the JSON itself was 1 KiB a case, a tuple of dicts
    several times that)."""
    shown = to_json((m.stage, m.outcome, decision_due(m), m.deadlines, sorted(m.alerts), sorted(m.alerts_seen),
                     m.closed))
    return hashlib.blake2b(shown, digest_size=16).digest()


def projection(m: CaseMemory, case_id: str, events: list[TimelineEvent], now: datetime) -> CaseProjection:
    return CaseProjection(case_id=case_id, revision=m.revision, stage=m.stage, outcome=m.outcome,
                          decision_due=decision_due(m), deadlines=m.deadlines, alerts=sorted(m.alerts),
                          alerts_seen=sorted(m.alerts_seen), closed_at=now if m.closed else None, events=events)
