"""Member-state profiles: declarations, national catalogues and adaptation limits, as data.

One YAML file per state (`forms/states/<cc>.yaml`); a new state is a new file, not new code.
Every declaration carries the confidence tag of design/fd947.md, so an unverified guess (for
most states we only know the official languages) is visibly a guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from forms.law import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    MEMBER_STATES,
    Art14_3Case,
    Confidence,
    JudgmentType,
    MeasureCategory,
)

_DIR = Path(__file__).parent
_DURATION = re.compile(r"^(\d+)([ymwd])$")


def _duration(text: str) -> str:
    if not _DURATION.match(text):
        raise ValueError("a duration is a whole number and a unit: 5y, 18m, 2w, 30d")
    return text


# Durations are written as the law writes them ("5y", "18m") and converted to days only when
# compared with a certificate, so the data files read like the statutes they come from.
DurationText = Annotated[str, AfterValidator(_duration)]


def duration_days(text: str, *, bound: Literal["min", "max"]) -> int:
    """Days in a legal duration; a minimum rounds down, a maximum up (see law.DAYS_PER_YEAR)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"bad duration {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    per_unit = {"y": DAYS_PER_YEAR, "m": DAYS_PER_MONTH, "w": 7.0, "d": 1.0}[unit]
    days = count * per_unit
    return math.floor(days) if bound == "min" else math.ceil(days)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Data):
    confidence: Confidence = Confidence.UNVERIFIED
    source: str = ""


class LanguageDeclaration(Sourced):
    """Art 21: languages accepted for the certificate (official ones, or others by declaration)."""

    languages: tuple[str, ...]
    note: str = ""


class Declaration(Sourced):
    """A declaration to the Council's General Secretariat; `made` is None where we do not know."""

    made: bool | None = None
    text: str = ""


class Art14_3Declaration(Declaration):
    cases: tuple[Art14_3Case, ...] = ()


class NotifiedMeasure(Sourced):
    """Art 4(2): a measure beyond Art 4(1) that the State is prepared to supervise."""

    id: str
    description: str


class DurationRange(Sourced):
    min: DurationText | None = None
    max: DurationText | None = None
    note: str = ""

    def min_days(self) -> int | None:
        return None if self.min is None else duration_days(self.min, bound="min")

    def max_days(self) -> int | None:
        return None if self.max is None else duration_days(self.max, bound="max")


class HoursRange(Sourced):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    note: str = ""


class MeasureLimit(Sourced):
    """What the State's law allows for one Art 4(1) category: used for adaptation (Art 9)."""

    duration: DurationRange | None = None
    hours: HoursRange | None = None
    note: str = ""


class AdaptationLimits(_Data):
    probation_period: DurationRange | None = None
    measures: dict[MeasureCategory, MeasureLimit] = Field(default_factory=dict)


class NationalMeasure(Sourced):
    """A measure of the State's own law, mapped to Art 4(1); `category` None = outside Art 4(1)."""

    id: str
    name: dict[str, str]
    category: MeasureCategory | None
    legal_basis: str = ""
    imposed_by: Literal["law", "judge"] = "law"
    controlled_by: str = ""
    note: str = ""


class NationalDecision(Sourced):
    """A judgment or probation decision of the State's law within Art 2 (its notification, point 1)."""

    id: str
    name: dict[str, str]
    judgment_type: JudgmentType
    legal_basis: tuple[str, ...]
    definition: str = ""
    conditions: tuple[str, ...] = ()
    probation_period: DurationRange | None = None
    hours: HoursRange | None = None
    completion_within: DurationText | None = None
    custody_in_default: DurationRange | None = None
    measures: tuple[str, ...] = ()
    decided_by: str = ""
    supervised_by: str = ""
    on_breach: str = ""


class StateProfile(_Data):
    code: str
    name: str
    official_languages: tuple[str, ...]
    certificate_languages: LanguageDeclaration
    art_4_2_measures: tuple[NotifiedMeasure, ...] = ()
    art_4_2_confidence: Confidence = Confidence.UNVERIFIED
    art_5_4_declaration: Declaration = Field(default_factory=Declaration)
    art_10_4_declaration: Declaration = Field(default_factory=Declaration)
    art_14_3_declaration: Art14_3Declaration = Field(default_factory=Art14_3Declaration)
    adaptation_limits: AdaptationLimits = Field(default_factory=AdaptationLimits)
    decisions: tuple[NationalDecision, ...] = ()
    measures: tuple[NationalMeasure, ...] = ()

    @property
    def accepted_languages(self) -> tuple[str, ...]:
        """Languages the State accepts a certificate in (Art 21)."""
        return self.certificate_languages.languages

    def supervises(self, category: MeasureCategory) -> bool:
        """Art 4(1) categories always; "other" only where the State notified Art 4(2) measures."""
        return category is not MeasureCategory.OTHER or bool(self.art_4_2_measures)

    def notified_measure(self, measure_id: str) -> NotifiedMeasure | None:
        return next((m for m in self.art_4_2_measures if m.id == measure_id), None)

    def national_measure(self, measure_id: str) -> NationalMeasure | None:
        return next((m for m in self.measures if m.id == measure_id), None)

    def decision(self, decision_id: str) -> NationalDecision | None:
        return next((d for d in self.decisions if d.id == decision_id), None)

    def measure_limit(self, category: MeasureCategory) -> MeasureLimit | None:
        return self.adaptation_limits.measures.get(category)


@cache
def load_state(code: str) -> StateProfile:
    """The profile of one member state; raises KeyError for a code that is not one."""
    if code not in MEMBER_STATES:
        raise KeyError(f"no member state {code!r}")
    with (_DIR / f"{code.lower()}.yaml").open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    profile = StateProfile.model_validate(raw)
    if profile.code != code:
        raise ValueError(f"{code.lower()}.yaml describes {profile.code}")
    return profile


def all_states() -> list[str]:
    return list(MEMBER_STATES)


def certificate_language(executing: str, available: Sequence[str]) -> str | None:
    """The first language the executing State accepts for the certificate among those we can render."""
    accepted = load_state(executing).accepted_languages
    return next((lang for lang in available if lang in accepted), None)


__all__ = [
    "AdaptationLimits",
    "Art14_3Declaration",
    "Declaration",
    "DurationRange",
    "HoursRange",
    "LanguageDeclaration",
    "MeasureLimit",
    "NationalDecision",
    "NationalMeasure",
    "NotifiedMeasure",
    "StateProfile",
    "all_states",
    "certificate_language",
    "duration_days",
    "load_state",
]
