"""Deadlines as pure functions (fd947.md §7). Workflows turn them into durable timers.

Periods set by the Framework Decision are `law`; the working days given to "without delay" duties are
`policy` (configurable, labelled as such), since the FD puts no number on them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import TypeAdapter
from pydantic.dataclasses import dataclass

from workflows.stages import Alert

DECISION_PERIOD = timedelta(days=60)  # Art 12(1)
DECISION_DUE_SOON = timedelta(days=15)  # CONTRACT §3: alert when 15 days or less are left
WITHDRAWAL_WINDOW = timedelta(days=10)  # Art 9(4)
DELIVERY_EVIDENCE = timedelta(hours=24)  # e-CODEX connector's default evidence timeout
DEFAULT_DUTY_WORKING_DAYS = 2  # policy, not law

DECISION = "decision"
# Art 12(2) after the 60 days ran out: the date the executing authority gave, beside the missed decision.
DECISION_EXPECTED = "decision_expected"
WITHDRAWAL_WINDOW_NAME = "withdrawal_window"
PROBATION_END = "probation_end"
COMPLETION = "completion"  # Art 8(2): the period the executing side set for the completed certificate
DUTY_PREFIX = "duty:"
MEASURE_PREFIX = "measure:"  # one per measure with a duration: `measure:N`, N counted from 1 as on the form
DELIVERY_PREFIX = "delivery:"  # one per message awaiting its delivery evidence (workflows/delivery.py)


def completion_due(requested_at: datetime, days: int) -> datetime:
    """Art 8(2): when the completed certificate is due: the time the request was made (executing side) or
    received (issuing side), plus the days it gives. Both workflows set their deadline by it; the pages say it."""
    return requested_at + timedelta(days=days)


# A slotted dataclass, not a BaseModel: a cached supervision holds one per watched date, and a model's
# __dict__ and set of fields set cost about 0.6 KiB each (README.md, "Memory of a worker"). Same JSON.
@dataclass(slots=True)
class Deadline:
    name: str
    due: datetime
    basis: Literal["law", "policy"]
    article: str
    # `met_late`: done after it was missed (the record keeps that it was late; its alert ends).
    status: Literal["open", "met", "met_late", "missed", "cancelled"] = "open"
    # Why the date is what it is when it is not the plain period (a code the pages word): `completion_awaited`
    # (Art 8(2): moved by the whole period set while the completion is awaited), `completion_waited` (moved by
    # `moved_days`, the days the decision waited), `after_60_days` (an Art 12(2) date given once the 60 days
    # had run out: policy, not law).
    note: Literal["completion_awaited", "completion_waited", "after_60_days"] | None = None
    moved_days: int | None = None

    @property
    def is_duty(self) -> bool:
        return self.name.startswith(DUTY_PREFIX)


# Deadlines as JSON (the projection's column, activities/node.py record_case).
DEADLINES: TypeAdapter[list[Deadline]] = TypeAdapter(list[Deadline])


def probation_end(end: date | None, period_days: int | None, supervision_began: datetime) -> datetime | None:
    """Art 16(1)(d), 9(3): the probation period ends when the judgment says: from the start in box (j), or
    from the day the judgment became final (CaseFacts.probation_end). Only a certificate that gives neither
    counts the period from the day supervision began."""
    if end is not None:
        return datetime.combine(end, time(0), tzinfo=supervision_began.tzinfo)
    if period_days:
        return supervision_began + timedelta(days=period_days)
    return None


def measure_deadlines(days: list[int | None], hours: list[int | None], start: datetime) -> list[Deadline]:
    """§7 row 25: each measure with a duration, or hours to do within a period, must be carried out by the
    end of it (community service, training, payment of damages, treatment); the certificate gives the period
    (box (j)), the executing State's law governs it (Art 13, 14(2)). A measure with hours and no period of
    its own has no date to watch."""
    out = []
    for n, period in enumerate(days, start=1):
        if period:
            with_hours = n - 1 < len(hours) and hours[n - 1]
            out.append(Deadline(name=f"{MEASURE_PREFIX}{n}", due=start + timedelta(days=period), basis="law",
                                article="4(1)(i), 13, 14(2)" if with_hours else "13, 14(2)"))
    return out


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday to Friday) after `start`; public holidays are a national matter."""
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


def duty(name: str, start: datetime, article: str, working_days: int = DEFAULT_DUTY_WORKING_DAYS) -> Deadline:
    return Deadline(name=DUTY_PREFIX + name, due=add_working_days(start, working_days), basis="policy",
                    article=article)


def alerts_at(deadlines: list[Deadline], now: datetime) -> set[Alert]:
    """The alerts that hold at `now`; a missed deadline keeps alerting until it is met or cancelled."""
    alerts: set[Alert] = set()
    for d in deadlines:
        if d.status not in ("open", "missed"):
            continue
        if d.name == DECISION:
            if now >= d.due:
                alerts.add(Alert.DECISION_OVERDUE)
            elif d.due - now <= DECISION_DUE_SOON:
                alerts.add(Alert.DECISION_DUE_SOON)
        elif d.name == WITHDRAWAL_WINDOW_NAME:
            if now < d.due:
                alerts.add(Alert.WITHDRAWAL_WINDOW_OPEN)
        elif d.name == PROBATION_END:
            if now >= d.due:
                alerts.add(Alert.PROBATION_PERIOD_ENDED)
        elif d.name == COMPLETION:
            if now >= d.due:
                alerts.add(Alert.COMPLETION_OVERDUE)
        elif d.name.startswith(MEASURE_PREFIX):
            if now >= d.due:
                alerts.add(Alert.MEASURE_PERIOD_ENDED)
        elif d.is_duty and now >= d.due:
            alerts.add(Alert.DUTY_OVERDUE)
        elif d.name.startswith(DELIVERY_PREFIX) and now >= d.due:
            alerts.add(Alert.DELIVERY_UNCONFIRMED)
    return alerts


def mark_missed(deadlines: list[Deadline], now: datetime) -> bool:
    """Open deadlines whose time has come become `missed` (the withdrawal window simply closes)."""
    changed = False
    for d in deadlines:
        if d.status == "open" and now >= d.due:
            d.status = "met" if d.name == WITHDRAWAL_WINDOW_NAME else "missed"
            changed = True
    return changed


def next_wakeup(deadlines: list[Deadline], now: datetime) -> datetime | None:
    """The next moment at which an alert can change: a due date, or the start of a decision's last 15 days."""
    moments: list[datetime] = []
    for d in deadlines:
        if d.status != "open":
            continue
        moments.append(d.due)
        if d.name == DECISION:
            moments.append(d.due - DECISION_DUE_SOON)
    future = [m for m in moments if m > now]
    return min(future) if future else None
