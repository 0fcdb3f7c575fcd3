"""Art 9: adapting measures to the executing State's law, and checking an adaptation someone proposes.

Two rules bound every adaptation, and both live here once:
- Art 9(3): never more severe or longer than originally imposed;
- Art 9(2): where the cause is a maximum exceeded, not below that maximum.
So a measure that exceeds the executing State's maximum is cut back to exactly that maximum, and
one that falls short of its minimum cannot be lengthened (that is a case for refusal or
consultation, not adaptation).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from forms.annex1 import Certificate
from forms.states import StateProfile
from forms.validation import Problem

AdaptedField = Literal["duration_days", "hours", "probation_period_days"]


class MeasureChange(BaseModel):
    """A change to one measure of the certificate (CONTRACT §4): any key but `measure` may be left out."""

    model_config = ConfigDict(extra="forbid")

    measure: int = Field(description="index into the certificate's list of measures")
    duration_days: int | None = Field(default=None, ge=0)
    hours: int | None = Field(default=None, ge=0)
    description: str | None = Field(default=None, min_length=1, max_length=20_000)


class Adaptation(BaseModel):
    """One proposed change, with the reason a prosecutor can copy into the Art 18(5) notice."""

    model_config = ConfigDict(frozen=True)

    measure: int | None = Field(description="index of the measure; None for the probation period")
    field: AdaptedField
    original: int
    proposed: int
    explanation: str
    article: str = "9(2)"


def as_changes(adaptations: list[Adaptation]) -> list[MeasureChange]:
    """The proposals as the `decide` body's measure changes, one per measure (CONTRACT §4).

    The probation period is not a measure change; it travels separately in the decision.
    """
    merged: dict[int, dict[str, int]] = {}
    for adaptation in adaptations:
        if adaptation.measure is not None:
            merged.setdefault(adaptation.measure, {})[adaptation.field] = adaptation.proposed
    return [
        MeasureChange(measure=index, duration_days=fields.get("duration_days"), hours=fields.get("hours"))
        for index, fields in sorted(merged.items())
    ]


def _cut_to_maximum(original: int, maximum: int) -> int:
    """Art 9(2) and 9(3) together: not longer than the original, not shorter than the maximum."""
    return min(original, maximum)


def propose_adaptation(cert: Certificate, executing: StateProfile) -> list[Adaptation]:
    """What the executing State's law forces to change, each change explained; empty when nothing does."""
    proposals: list[Adaptation] = []
    code = executing.code
    period_limits = executing.adaptation_limits.probation_period
    period = cert.probation_period_days()
    if period_limits is not None and period is not None:
        maximum = period_limits.max_days()
        if maximum is not None and period > maximum:
            proposals.append(
                Adaptation(
                    measure=None,
                    field="probation_period_days",
                    original=period,
                    proposed=_cut_to_maximum(period, maximum),
                    explanation=(
                        f"The probation period of {period} days exceeds the maximum of {code} law "
                        f"({period_limits.max}, {maximum} days); it is reduced to that maximum and no further "
                        "(Art 9(2)-(3))."
                    ),
                )
            )
    for index, measure in enumerate(cert.measures):
        limit = executing.measure_limit(measure.category)
        if limit is None:
            continue
        max_hours = limit.hours.max if limit.hours is not None else None
        if max_hours is not None and measure.hours is not None and measure.hours > max_hours:
            proposals.append(
                Adaptation(
                    measure=index,
                    field="hours",
                    original=measure.hours,
                    proposed=_cut_to_maximum(measure.hours, max_hours),
                    explanation=(
                        f"{measure.hours} hours of community service exceed the maximum of {max_hours} hours "
                        f"under {code} law; reduced to that maximum and no further (Art 9(2)-(3))."
                    ),
                )
            )
        duration = limit.duration
        max_days = duration.max_days() if duration is not None else None
        if (
            duration is not None
            and max_days is not None
            and measure.duration_days is not None
            and (measure.duration_days > max_days)
        ):
            proposals.append(
                Adaptation(
                    measure=index,
                    field="duration_days",
                    original=measure.duration_days,
                    proposed=_cut_to_maximum(measure.duration_days, max_days),
                    explanation=(
                        f"The duration of {measure.duration_days} days exceeds the maximum of {code} law "
                        f"({duration.max}, {max_days} days); reduced to that maximum and no further "
                        "(Art 9(2)-(3))."
                    ),
                )
            )
    return proposals


def check_adaptation(
    cert: Certificate, changes: list[MeasureChange], *, executing: StateProfile | None = None
) -> list[Problem]:
    """Problems with an adaptation a prosecutor proposes: errors for Art 9(3) and unknown measures.

    With the executing State's profile, also Art 9(2): a measure cut below the maximum that made
    the adaptation necessary.
    """
    problems: list[Problem] = []
    seen: set[int] = set()
    for n, change in enumerate(changes):
        if not 0 <= change.measure < len(cert.measures):
            problems.append(
                Problem(
                    f"measures[{change.measure}]",
                    f"the certificate has no such measure (it has {len(cert.measures)}); change #{n + 1}",
                )
            )
            continue
        if change.measure in seen:
            problems.append(Problem(f"measures[{change.measure}]", "changed twice in one adaptation"))
        seen.add(change.measure)
        original = cert.measures[change.measure]
        path = f"measures[{change.measure}]"
        # A measure without its own duration runs for the whole probation period (box (j)).
        original_days = original.duration_days if original.duration_days is not None else cert.probation_period_days()
        if change.duration_days is not None and original_days is not None and change.duration_days > original_days:
            problems.append(
                Problem(
                    f"{path}.duration_days",
                    f"{change.duration_days} days is longer than the {original_days} days imposed (Art 9(3))",
                )
            )
        if change.hours is not None:
            if original.hours is None:
                problems.append(
                    Problem(f"{path}.hours", "adds hours of community service the judgment did not impose (Art 9(3))")
                )
            elif change.hours > original.hours:
                problems.append(
                    Problem(
                        f"{path}.hours",
                        f"{change.hours} hours is more than the {original.hours} hours imposed (Art 9(3))",
                    )
                )
        if change.description is not None and change.description != original.description:
            problems.append(
                Problem(
                    f"{path}.description",
                    "the nature of the measure changes: check by hand that it is no more severe (Art 9(3)) and "
                    "corresponds as far as possible to the original (Art 9(1))",
                    "warning",
                )
            )
        if executing is not None:
            problems.extend(_below_maximum(cert, change, executing))
    return problems


def _below_maximum(cert: Certificate, change: MeasureChange, executing: StateProfile) -> list[Problem]:
    """Art 9(2): where the original exceeded the maximum, the adapted value must not fall below it."""
    problems: list[Problem] = []
    original = cert.measures[change.measure]
    limit = executing.measure_limit(original.category)
    if limit is None:
        return problems
    path = f"measures[{change.measure}]"
    max_hours = limit.hours.max if limit.hours is not None else None
    if (
        max_hours is not None
        and original.hours is not None
        and original.hours > max_hours
        and change.hours is not None
        and change.hours < max_hours
    ):
        problems.append(
            Problem(
                f"{path}.hours",
                f"{change.hours} hours is below the {executing.code} maximum of {max_hours} hours that made the "
                "adaptation necessary (Art 9(2))",
            )
        )
    max_days = limit.duration.max_days() if limit.duration is not None else None
    if (
        max_days is not None
        and original.duration_days is not None
        and original.duration_days > max_days
        and change.duration_days is not None
        and change.duration_days < max_days
    ):
        problems.append(
            Problem(
                f"{path}.duration_days",
                f"{change.duration_days} days is below the {executing.code} maximum of {max_days} days that made "
                "the adaptation necessary (Art 9(2))",
            )
        )
    return problems


__all__ = ["Adaptation", "MeasureChange", "as_changes", "check_adaptation", "propose_adaptation"]
