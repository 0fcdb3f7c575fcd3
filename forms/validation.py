"""Checks of a certificate (Annex I) and a breach report (Annex II), each naming a JSON path and why.

Two layers: the pydantic models reject what is structurally wrong (missing boxes, wrong types,
over-long text), and the rules below - one function per article or box, in `CERTIFICATE_RULES` -
check what needs the law and the States' declarations. Errors stop a certificate from leaving;
warnings point at a refusal ground the executing State *may* invoke (Art 11 grounds are optional).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from forms.annex1 import (
    AbsentiaException,
    AuthorityKind,
    Certificate,
    ForwardingBasis,
    MoveReason,
)
from forms.annex2 import BreachReport
from forms.labels import RENDER_LANGUAGES
from forms.law import (
    ART_10_1_MIN_MAXIMUM_YEARS,
    ART_11_1_J_MIN_MONTHS,
    DAYS_PER_MONTH,
    JudgmentType,
    MeasureCategory,
)
from forms.states import StateProfile, duration_days, load_state

Severity = Literal["error", "warning"]
ROOT_PATH = "(document)"

# Art 11(1)(j): "less than six months", in days, rounded down so that a six-month measure that
# happens to span February is not reported.
ART_11_1_J_MIN_DAYS = int(ART_11_1_J_MIN_MONTHS * DAYS_PER_MONTH)


@dataclass(frozen=True)
class Problem:
    """One finding: where in the JSON document (`person.surname`, `measures[0].hours`) and why."""

    path: str
    message: str
    severity: Severity = "error"
    # The wording before its values went in (`{name}` placeholders) and those values: what the pages translate
    # (web/i18n.py, extracted by babel.cfg); `message` is the English text the API and the CLI show.
    template: str = field(default="", compare=False)
    values: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CertificateInvalid(ValueError):
    """A certificate with at least one error; `problems` holds every finding, warnings included."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems if p.severity == "error"))


class BreachReportInvalid(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems if p.severity == "error"))


def errors(problems: Sequence[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


# --- structural problems from pydantic ------------------------------------------------------


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")


def json_path(loc: Sequence[int | str]) -> str:
    """('measures', 0, 'hours') -> 'measures[0].hours'.

    An unknown key is user data: anything but a short identifier is quoted and cut, so a problem
    stays one readable line whatever the file holds.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(part):
            path += f".{part}" if path else part
        else:
            quoted = json.dumps(part[:40] + ("…" if len(part) > 40 else ""), ensure_ascii=True)
            path += f"[{quoted}]"
    return path or ROOT_PATH


def wording(text: str) -> str:
    """Marks a message's wording for the pages' translation where it is not written in an `_error` call."""
    return text


def _message(error_type: str, msg: str, ctx: dict[str, object], *,
             missing_reason: str) -> tuple[str, dict[str, object]]:
    # Never echo the input: it may be megabytes long or contain markup.
    if error_type == "missing":
        return missing_reason, {}
    if error_type == "extra_forbidden":
        return wording("unknown field (not a box of the form)"), {}
    if error_type == "string_too_short":
        return wording("must not be empty"), {}
    if error_type == "string_too_long":
        return wording("too long (at most {max} characters)"), {"max": ctx.get("max_length")}
    if error_type == "too_short":
        return wording("needs at least {min} item(s)"), {"min": ctx.get("min_length")}
    if error_type == "too_long":
        return wording("too many items (at most {max})"), {"max": ctx.get("max_length")}
    if error_type in {"model_type", "model_attributes_type", "dict_type"}:
        return wording("must be a JSON object"), {}
    if error_type == "value_error":
        return "{text}", {"text": msg.removeprefix("Value error, ")}  # the model's own words: not translated
    # People read these beside a box: pydantic's wording ("String should match pattern '^[A-Z]{2}$'") is
    # for programmers, so each kind of error gets plain, translatable words.
    if error_type in _PLAIN:
        return _PLAIN[error_type], {k: v for k, v in ctx.items() if k in ("ge", "le", "gt", "lt", "states")}
    return wording("is not a value this box takes"), {}


_PLAIN: dict[str, str] = {
    "string_pattern_mismatch": wording("is not written in the form this box takes"),
    "string_type": wording("must be text"),
    "date_parsing": wording("must be a real date (day, month and year)"),
    "date_from_datetime_parsing": wording("must be a real date (day, month and year)"),
    "date_type": wording("must be a real date (day, month and year)"),
    "int_parsing": wording("must be a whole number"),
    "int_type": wording("must be a whole number"),
    "int_from_float": wording("must be a whole number"),
    "bool_parsing": wording("must be yes or no"),
    "bool_type": wording("must be yes or no"),
    "enum": wording("is not one of the choices offered"),
    "literal_error": wording("is not one of the choices offered"),
    "list_type": wording("must be a list of values"),
    "greater_than_equal": wording("must be at least {ge}"),
    "less_than_equal": wording("must be at most {le}"),
    "greater_than": wording("must be more than {gt}"),
    "less_than": wording("must be less than {lt}"),
    # The boxes' own checks (forms/common.py).
    "member_state": wording("not an EU member state code (expected one of {states})"),
    "eu_language": wording("not an official EU language (ISO 639-1 code such as fr, de, en)"),
    "control_characters": wording("contains control characters"),
}


def _structural(exc: ValidationError, *, missing_reason: str) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        template, values = _message(err["type"], err["msg"], dict(err.get("ctx") or {}),
                                    missing_reason=missing_reason)
        out.append(_problem(json_path(err["loc"]), template, "error", values))
    return out


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: object, *, missing_reason: str) -> tuple[M | None, list[Problem]]:
    if isinstance(data, model):
        return data, []
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _structural(exc, missing_reason=missing_reason)


# --- the certificate's rules ----------------------------------------------------------------


@dataclass(frozen=True)
class CertificateCheck:
    cert: Certificate
    issuing: StateProfile
    executing: StateProfile
    today: date


def _problem(path: str, template: str, severity: Severity, values: dict[str, object]) -> Problem:
    shown = {k: str(v) for k, v in values.items()}
    return Problem(path, template.format(**shown), severity, template, tuple(shown.items()))


def _error(path: str, template: str, **values: object) -> Problem:
    """An error whose wording is `template` with `{name}` placeholders for `values`."""
    return _problem(path, template, "error", values)


def _warning(path: str, template: str, **values: object) -> Problem:
    return _problem(path, template, "warning", values)


def box_a_two_states(c: CertificateCheck) -> Iterator[Problem]:
    if c.cert.issuing_state == c.cert.executing_state:
        yield _error("executing_state", "must differ from the issuing State")


def dates_in_order(c: CertificateCheck) -> Iterator[Problem]:
    """Judgment, finality and start of supervision follow each other, and nothing done lies ahead."""
    cert, today = c.cert, c.today
    judgment = cert.judgment
    past: list[tuple[str, date]] = [
        ("judgment.delivered_on", judgment.delivered_on),
        ("judgment.final_on", judgment.final_on),
        ("signature.signed_on", cert.signature.signed_on),
        ("person.date_of_birth", cert.person.date_of_birth),
    ]
    if judgment.final_on < judgment.delivered_on:
        yield _error("judgment.final_on", "before the judgment was delivered")
    if cert.person.date_of_birth >= judgment.delivered_on:
        yield _error("person.date_of_birth", "not before the judgment")
    decision = cert.probation_decision
    if decision is not None:
        past += [
            ("probation_decision.delivered_on", decision.delivered_on),
            ("probation_decision.final_on", decision.final_on),
        ]
        if decision.final_on < decision.delivered_on:
            yield _error("probation_decision.final_on", "before the probation decision was delivered")
        if decision.delivered_on < judgment.delivered_on:
            yield _error("probation_decision.delivered_on", "before the judgment it is based on (Art 2(5))")
    final = max(judgment.final_on, decision.final_on if decision is not None else judgment.final_on)
    if cert.signature.signed_on < final:
        yield _error("signature.signed_on", "before the judgment or probation decision became final (Art 6(1))")
    start = cert.supervision.starts_on
    if start is not None and start < judgment.final_on:
        yield _error("supervision.starts_on", "before the judgment became final")
    for path, day in past:
        if day > today:
            yield _error(path, "in the future (today is {today})", today=today.isoformat())


def art_5_forwarding_basis(c: CertificateCheck) -> Iterator[Problem]:
    """Art 5(1): residence there and a return; Art 5(2): the person's request and the State's consent."""
    ground = c.cert.forwarding_ground
    if ground.basis is ForwardingBasis.ART_5_1:
        if not ground.returned_or_will_return:
            yield _error(
                "forwarding_ground.returned_or_will_return",
                "Art 5(1) applies only where the person has returned or wants to return to the executing State",
            )
        if c.cert.person.addresses.in_executing_state is None:
            yield _error(
                "person.addresses.in_executing_state",
                "required for Art 5(1): the lawful and ordinary residence in the executing State",
            )
        return
    if not ground.reasons:
        yield _error("forwarding_ground.reasons", "Art 5(2) needs the reason(s) for the move (box (f))")
    if MoveReason.OTHER in ground.reasons and ground.other_reason is None:
        yield _error("forwarding_ground.other_reason", "required when 'other reason' is ticked")
    if not ground.person_requested:
        yield _error("forwarding_ground.person_requested", "Art 5(2) forwarding needs the sentenced person's request")
    if not ground.executing_consent:
        declaration = c.executing.art_5_4_declaration
        if declaration.text:
            yield _error(
                "forwarding_ground.executing_consent",
                "Art 5(2) forwarding needs the consent of {state}'s competent authority; {state}'s conditions "
                "(Art 5(4)): {conditions}", state=c.executing.code, conditions=declaration.text,
            )
        else:
            yield _error(
                "forwarding_ground.executing_consent",
                "Art 5(2) forwarding needs the consent of {state}'s competent authority", state=c.executing.code,
            )


def box_d_contact(c: CertificateCheck) -> Iterator[Problem]:
    authority = c.cert.contact_authority
    if authority.kind is AuthorityKind.OTHER and authority.kind_other is None:
        yield _error("contact_authority.kind_other", "required when 'other competent authority' is ticked")


def art_6_4_measures_supervised(c: CertificateCheck) -> Iterator[Problem]:
    """Only Art 4(1) measures, or Art 4(2) measures the executing State notified (Art 6(4))."""
    executing = c.executing
    for i, measure in enumerate(c.cert.measures):
        if measure.category is not MeasureCategory.OTHER:
            continue
        path = f"measures[{i}]"
        if not executing.art_4_2_measures:
            yield _error(
                f"{path}.category",
                "{state} notified no measure under Art 4(2), so only Art 4(1) (a)-(k) may be "
                "certified (Art 6(4)); recognition may be refused (Art 11(1)(b))", state=executing.code,
            )
        elif measure.notified_measure is None or executing.notified_measure(measure.notified_measure) is None:
            known = ", ".join(m.id for m in executing.art_4_2_measures)
            yield _error(
                f"{path}.notified_measure",
                "name the {state} Art 4(2) notification this measure relies on (one of: {known})",
                state=executing.code, known=known,
            )


def national_catalogue(c: CertificateCheck) -> Iterator[Problem]:
    """A national measure id must be in the issuing State's catalogue and certified under its letter."""
    issuing = c.issuing
    for i, measure in enumerate(c.cert.measures):
        if measure.national_measure is None:
            continue
        path = f"measures[{i}]"
        national = issuing.national_measure(measure.national_measure)
        if national is None:
            yield _error(f"{path}.national_measure", "not in {state}'s catalogue of measures", state=issuing.code)
        elif national.category is None and measure.category is not MeasureCategory.OTHER:
            yield _error(
                f"{path}.category",
                "{state}'s '{measure}' lies outside Art 4(1); it can only be certified as an "
                "Art 4(2) measure the executing State notified (Art 6(4))", state=issuing.code, measure=national.id,
            )
        elif national.category is not None and national.category is not measure.category:
            yield _warning(
                f"{path}.category",
                "{state}'s notification places '{measure}' under Art 4(1)({category}), not ({given})",
                state=issuing.code, measure=national.id, category=national.category.value,
                given=measure.category.value,
            )


def box_j_measures(c: CertificateCheck) -> Iterator[Problem]:
    """Hours belong to community service, and no obligation outlasts the whole supervision."""
    total = c.cert.supervision.total_duration_days
    for i, measure in enumerate(c.cert.measures):
        path = f"measures[{i}]"
        if measure.category is MeasureCategory.COMMUNITY_SERVICE and measure.hours is None:
            yield _error(f"{path}.hours", "required for community service (box (j) point 5)")
        if measure.category is not MeasureCategory.COMMUNITY_SERVICE and measure.hours is not None:
            yield _error(f"{path}.hours", "hours are given only for community service (Art 4(1)(i))")
        if measure.duration_days is not None and measure.duration_days > total:
            yield _error(f"{path}.duration_days", "longer than the total duration of supervision (box (j) point 1)")


def _probation_path(cert: Certificate) -> str:
    if cert.supervision.probation_period_days is not None:
        return "supervision.probation_period_days"
    if cert.judgment_nature.probation_period_days is not None:
        return "judgment_nature.probation_period_days"
    return "supervision.total_duration_days"


def issuing_law_limits(c: CertificateCheck) -> Iterator[Problem]:
    """Durations and hours within what the issuing State's law allows for that kind of decision."""
    nature, issuing = c.cert.judgment_nature, c.issuing
    if nature.national_decision is None:
        if issuing.decisions:
            names = ", ".join(d.id for d in issuing.decisions)
            yield _warning(
                "judgment_nature.national_decision",
                "name the {state} decision ({names}) so durations can be checked against its law",
                state=issuing.code, names=names,
            )
        return
    decision = issuing.decision(nature.national_decision)
    if decision is None:
        yield _error("judgment_nature.national_decision", "not a decision in {state}'s catalogue", state=issuing.code)
        return
    if decision.judgment_type is not nature.judgment_type:
        yield _error(
            "judgment_nature.judgment_type", "{state}'s {decision} is a {kind} (Art 2)",
            state=issuing.code, decision=decision.id, kind=decision.judgment_type.value.replace("_", " "),
        )
    period = c.cert.probation_period_days()
    limits = decision.probation_period
    if period is not None and limits is not None:
        low, high = limits.min_days(), limits.max_days()
        if low is not None and period < low:
            yield _error(
                _probation_path(c.cert), "{days} days is shorter than {state} law allows for {decision} ({limit})",
                days=period, state=issuing.code, decision=decision.id, limit=limits.min,
            )
        if high is not None and period > high:
            yield _error(
                _probation_path(c.cert), "{days} days is longer than {state} law allows for {decision} ({limit})",
                days=period, state=issuing.code, decision=decision.id, limit=limits.max,
            )
    for i, measure in enumerate(c.cert.measures):
        if measure.category is not MeasureCategory.COMMUNITY_SERVICE:
            continue
        hours = decision.hours
        if hours is not None and measure.hours is not None:
            if hours.min is not None and measure.hours < hours.min:
                yield _error(f"measures[{i}].hours", "below the {hours} hours {state} law sets",
                             hours=hours.min, state=issuing.code)
            if hours.max is not None and measure.hours > hours.max:
                yield _error(f"measures[{i}].hours", "above the {hours} hours {state} law allows",
                             hours=hours.max, state=issuing.code)
        within = decision.completion_within
        if within is not None and measure.duration_days is not None:
            if measure.duration_days > duration_days(within, bound="max"):
                yield _error(
                    f"measures[{i}].duration_days", "{state} law requires completion within {within} for {decision}",
                    state=issuing.code, within=within, decision=decision.id,
                )


def box_g_art_10_offences(c: CertificateCheck) -> Iterator[Problem]:
    """Art 10(1) list offences need a maximum of at least 3 years; Art 10(3)/(4) need a full description."""
    offences = c.cert.offences
    if offences.list_offences:
        if offences.maximum_custody_months is None:
            yield _error(
                "offences.maximum_custody_months",
                "required when list offences are ticked: Art 10(1) covers them only where the maximum "
                "is at least {years} years", years=ART_10_1_MIN_MAXIMUM_YEARS,
            )
        elif offences.maximum_custody_months < ART_10_1_MIN_MAXIMUM_YEARS * 12:
            yield _error(
                "offences.list_offences",
                "a list offence counts only with a maximum of at least {years} years "
                "(Art 10(1)); describe the offence in full instead (point 3)", years=ART_10_1_MIN_MAXIMUM_YEARS,
            )
        if len(set(offences.list_offences)) != len(offences.list_offences):
            yield _error("offences.list_offences", "an offence is ticked twice")
    if offences.full_description is not None:
        return
    declaration = c.executing.art_10_4_declaration
    if not offences.list_offences:
        yield _error(
            "offences.full_description",
            "required where no list offence applies (box (g) point 3, Art 10(3))",
        )
    elif declaration.made:
        yield _error(
            "offences.full_description",
            "required: {state} declared under Art 10(4) that it checks double criminality", state=c.executing.code,
        )
    elif declaration.made is None:
        yield _warning(
            "offences.full_description",
            "{state}'s Art 10(4) declaration is not known; a full description avoids a request "
            "to complete the certificate", state=c.executing.code,
        )


def box_h_appearance(c: CertificateCheck) -> Iterator[Problem]:
    """Box (h), either version; an in-absentia trial without an exception opens Art 11(1)(h)."""
    cert = c.cert
    if cert.appearance is None and cert.appearance_pre_2009 is None:
        yield _error("appearance", "required (box (h): did the person appear in person at the trial?)")
        return
    if cert.appearance is not None and cert.appearance_pre_2009 is not None:
        yield _error("appearance_pre_2009", "give only one version of box (h)")
        return
    old = cert.appearance_pre_2009
    if old is not None:
        yield _warning("appearance_pre_2009", "the original box (h) was replaced by FD 2009/299")
        if not old.rendered_in_absentia and (
            old.summoned_personally_or_via_representative is not None or old.indicated_not_contesting is not None
        ):
            yield _error("appearance_pre_2009.rendered_in_absentia", "the other answers apply only in absentia")
        if old.rendered_in_absentia and not (
            old.summoned_personally_or_via_representative or old.indicated_not_contesting
        ):
            yield _warning("appearance_pre_2009", "judgment in absentia with neither safeguard: recognition may be "
                           "refused under Art 11(1)(h), after consulting the issuing State (Art 11(3))")
        return
    box = cert.appearance
    if box is None:  # unreachable: one of the two versions is present (checked above)
        return
    details = {
        "exception": box.exception,
        "summoned_on": box.summoned_on,
        "served_on": box.served_on,
        "retrial_response": box.retrial_response,
        "how_met": box.how_met,
    }
    if box.appeared_in_person:
        for name, value in details.items():
            if value is not None:
                yield _error(f"appearance.{name}", "only for a person who did not appear in person")
        return
    if box.exception is None:
        yield _warning("appearance.exception", "none of points 3.1a-3.3 is confirmed: recognition may be refused "
                       "under Art 11(1)(h), after consulting the issuing State (Art 11(3))")
        return
    needed: dict[AbsentiaException, tuple[str, ...]] = {
        AbsentiaException.SUMMONED_IN_PERSON: ("summoned_on",),
        AbsentiaException.INFORMED_BY_OTHER_MEANS: ("how_met",),
        AbsentiaException.DEFENDED_BY_MANDATED_LAWYER: ("how_met",),
        AbsentiaException.SERVED_AND_DID_NOT_CONTEST: ("served_on", "retrial_response", "how_met"),
    }
    for name in needed[box.exception]:
        if details[name] is None:
            yield _error(f"appearance.{name}", "required with point {point} of box (h)", point=box.exception.value)
    for name in ("summoned_on", "served_on", "retrial_response"):
        if details[name] is not None and name not in needed[box.exception]:
            yield _error(f"appearance.{name}", "does not belong to point {point} of box (h)",
                         point=box.exception.value)
    delivered = cert.judgment.delivered_on
    if box.summoned_on is not None and box.summoned_on > delivered:
        yield _error("appearance.summoned_on", "after the judgment was delivered")
    if box.served_on is not None:
        if box.served_on < delivered:
            yield _error("appearance.served_on", "before the judgment was delivered")
        if box.served_on > c.today:
            yield _error("appearance.served_on", "in the future (today is {today})", today=c.today.isoformat())


def box_i_nature(c: CertificateCheck) -> Iterator[Problem]:
    """The sub-choices of box (i) that belong to each kind of judgment (Art 2)."""
    nature = c.cert.judgment_nature
    kind = nature.judgment_type
    if kind is JudgmentType.CONDITIONAL_SENTENCE and nature.conditional_sentence_kind is None:
        yield _error("judgment_nature.conditional_sentence_kind", "required for a conditional sentence (Art 2(3))")
    if kind is not JudgmentType.CONDITIONAL_SENTENCE and nature.conditional_sentence_kind is not None:
        yield _error("judgment_nature.conditional_sentence_kind", "only for a conditional sentence")
    if kind is JudgmentType.ALTERNATIVE_SANCTION and nature.custody_in_default is None:
        yield _error(
            "judgment_nature.custody_in_default",
            "required for an alternative sanction: does the judgment set custody on non-compliance? (Art 14(3)(a))",
        )
    if kind is not JudgmentType.ALTERNATIVE_SANCTION and nature.custody_in_default is not None:
        yield _error("judgment_nature.custody_in_default", "only for an alternative sanction")
    if kind is JudgmentType.SUSPENDED_SENTENCE and nature.suspended_custody_days is None:
        yield _error("judgment_nature.suspended_custody_days", "required for a suspended sentence (box (i) 2.3)")
    if kind is not JudgmentType.CONDITIONAL_RELEASE and nature.custody_served_days is not None:
        yield _error("judgment_nature.custody_served_days", "only for a conditional release (box (i) 2.2)")
    if kind is JudgmentType.CONDITIONAL_RELEASE and nature.custody_served_days is None:
        yield _error("judgment_nature.custody_served_days", "required for a conditional release (box (i) 2.2)")


def art_11_1_j_short_measures(c: CertificateCheck) -> Iterator[Problem]:
    """Less than six months: the executing State may refuse (Art 11(1)(j)), after consulting (11(3))."""
    period = c.cert.probation_period_days()
    if period is not None and period < ART_11_1_J_MIN_DAYS:
        yield _warning(_probation_path(c.cert), "the supervision lasts less than 6 months: recognition may be "
                       "refused under Art 11(1)(j)")
    for i, measure in enumerate(c.cert.measures):
        if measure.duration_days is not None and measure.duration_days < ART_11_1_J_MIN_DAYS:
            yield _warning(f"measures[{i}].duration_days", "the measure lasts less than 6 months: recognition may "
                           "be refused under Art 11(1)(j)")


def art_9_executing_limits(c: CertificateCheck) -> Iterator[Problem]:
    """Beyond the executing State's law: not an error, but the measure will be adapted (Art 9)."""
    executing = c.executing
    period_limits = executing.adaptation_limits.probation_period
    period = c.cert.probation_period_days()
    if period_limits is not None and period is not None:
        high = period_limits.max_days()
        if high is not None and period > high:
            yield _warning(
                _probation_path(c.cert), "longer than {state} law allows ({limit}): it may be adapted (Art 9(1)-(2))",
                state=executing.code, limit=period_limits.max,
            )
    for i, measure in enumerate(c.cert.measures):
        limit = executing.measure_limit(measure.category)
        if limit is None:
            continue
        if limit.hours is not None and limit.hours.max is not None and (measure.hours or 0) > limit.hours.max:
            yield _warning(
                f"measures[{i}].hours", "above the {hours} hours {state} law allows: it may be adapted (Art 9)",
                hours=limit.hours.max, state=executing.code,
            )
        if limit.hours is not None and limit.hours.min is not None and measure.hours is not None:
            if measure.hours < limit.hours.min:
                yield _warning(
                    f"measures[{i}].hours",
                    "below the {hours} hours {state} law requires; it cannot be lengthened "
                    "(Art 9(3)) and recognition may be refused", hours=limit.hours.min, state=executing.code,
                )
        duration = limit.duration
        high = duration.max_days() if duration is not None else None
        if (
            duration is not None
            and high is not None
            and measure.duration_days is not None
            and measure.duration_days > high
        ):
            yield _warning(
                f"measures[{i}].duration_days", "longer than {state} law allows ({limit}): it may be adapted (Art 9)",
                state=executing.code, limit=duration.max,
            )


def art_21_language(c: CertificateCheck) -> Iterator[Problem]:
    """The certificate goes in a language the executing State accepts (Art 21)."""
    accepted = c.executing.accepted_languages
    if c.cert.language not in accepted:
        yield _error(
            "language", "{state} does not accept '{language}' for the certificate (Art 21); accepted: {accepted}",
            state=c.executing.code, language=c.cert.language, accepted=", ".join(accepted),
        )
    if not any(lang in accepted for lang in RENDER_LANGUAGES):
        yield _warning(
            "executing_state",
            "the form cannot yet be rendered in a language {state} accepts ({accepted}): add a label catalogue "
            "in forms/labels/", state=c.executing.code, accepted=", ".join(accepted),
        )


CertificateRule = Callable[[CertificateCheck], Iterator[Problem]]

CERTIFICATE_RULES: tuple[CertificateRule, ...] = (
    box_a_two_states,
    dates_in_order,
    art_5_forwarding_basis,
    box_d_contact,
    box_g_art_10_offences,
    box_h_appearance,
    box_i_nature,
    box_j_measures,
    art_6_4_measures_supervised,
    national_catalogue,
    issuing_law_limits,
    art_11_1_j_short_measures,
    art_9_executing_limits,
    art_21_language,
)

_INCOMPLETE = wording("required (the certificate is incomplete without it: Art 11(1)(a))")


def _check_certificate(
    data: object, executing: str | None, today: date | None
) -> tuple[Certificate | None, list[Problem]]:
    cert, problems = _parse(Certificate, data, missing_reason=_INCOMPLETE)
    if cert is None:
        return None, problems
    if executing is not None and executing != cert.executing_state:
        try:
            load_state(executing)
        except KeyError:
            return cert, [_error("executing_state", "'{code}' is not an EU member state code", code=executing)]
        problems.append(
            _error("executing_state", "the certificate is addressed to {state}, not {asked}",
                   state=cert.executing_state, asked=executing)
        )
    check = CertificateCheck(
        cert=cert,
        issuing=load_state(cert.issuing_state),
        executing=load_state(executing or cert.executing_state),
        today=today or date.today(),
    )
    for rule in CERTIFICATE_RULES:
        problems.extend(rule(check))
    return cert, problems


def validate_certificate(data: object, *, executing: str | None = None, today: date | None = None) -> list[Problem]:
    """Every problem of a certificate given as JSON-ish data (or a `Certificate`); empty when clean.

    `executing` checks against that State's declarations (and that the certificate is addressed to it).
    """
    return _check_certificate(data, executing, today)[1]


def parse_certificate(data: object, *, today: date | None = None) -> Certificate:
    """The certificate, or `CertificateInvalid` listing every problem when any of them is an error."""
    cert, problems = _check_certificate(data, None, today)
    if cert is None or errors(problems):
        raise CertificateInvalid(problems)
    return cert


# --- the breach report ----------------------------------------------------------------------


def _breach_rules(report: BreachReport, today: date) -> Iterator[Problem]:
    if report.issuing_state == report.executing_state:
        yield _error("executing_state", "must differ from the issuing State")
    if not report.breaches and report.other_findings is None:
        yield _error("breaches", "report at least one breach or other finding (box (d))")
    judgment = report.judgment
    past: list[tuple[str, date]] = [
        ("judgment.judgment_delivered_on", judgment.judgment_delivered_on),
        ("judgment.certificate_issued_on", judgment.certificate_issued_on),
        ("signature.signed_on", report.signature.signed_on),
        ("person.date_of_birth", report.person.date_of_birth),
    ]
    if judgment.probation_decision_delivered_on is not None:
        past.append(("judgment.probation_decision_delivered_on", judgment.probation_decision_delivered_on))
        if judgment.probation_decision_delivered_on < judgment.judgment_delivered_on:
            yield _error("judgment.probation_decision_delivered_on", "before the judgment it is based on")
    if judgment.probation_decision_authority is not None and judgment.probation_decision_delivered_on is None:
        yield _error("judgment.probation_decision_delivered_on", "required when a probation decision is named")
    if judgment.certificate_issued_on < judgment.judgment_delivered_on:
        yield _error("judgment.certificate_issued_on", "before the judgment was delivered")
    for i, breach in enumerate(report.breaches):
        past.append((f"breaches[{i}].occurred_on", breach.occurred_on))
        if breach.occurred_on < judgment.judgment_delivered_on:
            yield _error(f"breaches[{i}].occurred_on", "before the judgment was delivered")
        if breach.occurred_on > report.signature.signed_on:
            yield _error(f"breaches[{i}].occurred_on", "after the report was signed")
    for path, day in past:
        if day > today:
            yield _error(path, "in the future (today is {today})", today=today.isoformat())
    issuing = load_state(report.issuing_state)
    if report.language not in issuing.accepted_languages:
        yield _error(
            "language",
            "{state} does not accept '{language}' (Art 21: the form goes in a language of the "
            "issuing State); accepted: {accepted}", state=issuing.code, language=report.language,
            accepted=", ".join(issuing.accepted_languages),
        )


def _check_breach(data: object, today: date | None) -> tuple[BreachReport | None, list[Problem]]:
    report, problems = _parse(BreachReport, data, missing_reason=wording("required (box of the Annex II form)"))
    if report is not None:
        problems.extend(_breach_rules(report, today or date.today()))
    return report, problems


def validate_breach(data: object, *, today: date | None = None) -> list[Problem]:
    """Every problem of a breach report (Annex II) given as JSON-ish data; empty when clean."""
    return _check_breach(data, today)[1]


def parse_breach(data: object, *, today: date | None = None) -> BreachReport:
    report, problems = _check_breach(data, today)
    if report is None or errors(problems):
        raise BreachReportInvalid(problems)
    return report
