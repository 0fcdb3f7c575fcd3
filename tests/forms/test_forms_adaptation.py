"""Art 9: proposals never exceed the original (9(3)) nor undercut a maximum that caused them (9(2))."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forms.adaptation import MeasureChange, as_changes, check_adaptation, propose_adaptation
from forms.annex1 import Certificate
from forms.examples import example_certificate
from forms.law import MeasureCategory
from forms.states import AdaptationLimits, DurationRange, HoursRange, MeasureLimit, StateProfile, load_state

SERVICE = 4  # index of the community service in the example certificate
_EXAMPLE = example_certificate()


def _certificate(hours: int, service_days: int, period_days: int) -> Certificate:
    cert = _EXAMPLE.model_copy(deep=True)
    cert.measures[SERVICE].hours = hours
    cert.measures[SERVICE].duration_days = min(service_days, period_days)
    cert.judgment_nature.probation_period_days = period_days
    cert.supervision.total_duration_days = period_days
    return cert


def _executing(max_hours: int, max_service_months: int, max_period_years: int) -> StateProfile:
    limits = AdaptationLimits(
        probation_period=DurationRange(max=f"{max_period_years}y"),
        measures={
            MeasureCategory.COMMUNITY_SERVICE: MeasureLimit(
                hours=HoursRange(max=max_hours), duration=DurationRange(max=f"{max_service_months}m")
            )
        },
    )
    return load_state("BE").model_copy(update={"adaptation_limits": limits})


@settings(max_examples=300, deadline=None)
@given(
    hours=st.integers(1, 2000),
    service_days=st.integers(1, 4000),
    period_days=st.integers(30, 7000),
    max_hours=st.integers(1, 1000),
    max_months=st.integers(1, 60),
    max_years=st.integers(1, 12),
)
def test_proposals_respect_art_9_2_and_9_3(
    hours: int, service_days: int, period_days: int, max_hours: int, max_months: int, max_years: int
) -> None:
    cert = _certificate(hours, service_days, period_days)
    executing = _executing(max_hours, max_months, max_years)
    limits = executing.adaptation_limits
    maxima = {
        (SERVICE, "hours"): max_hours,
        (SERVICE, "duration_days"): limits.measures[MeasureCategory.COMMUNITY_SERVICE].duration.max_days(),  # type: ignore[union-attr]
        (None, "probation_period_days"): limits.probation_period.max_days(),  # type: ignore[union-attr]
    }
    originals = {
        (SERVICE, "hours"): cert.measures[SERVICE].hours,
        (SERVICE, "duration_days"): cert.measures[SERVICE].duration_days,
        (None, "probation_period_days"): period_days,
    }
    proposals = propose_adaptation(cert, executing)
    for proposal in proposals:
        key = (proposal.measure, proposal.field)
        assert proposal.original == originals[key]
        assert proposal.proposed <= proposal.original, "Art 9(3): never longer or more"
        assert proposal.proposed >= maxima[key], "Art 9(2): not below the maximum that caused it"  # type: ignore[operator]
        assert str(proposal.proposed) in proposal.explanation and "Art 9" in proposal.explanation
    # A change is proposed exactly where the original exceeds the executing State's maximum.
    expected = {key for key, original in originals.items() if original > maxima[key]}  # type: ignore[operator]
    assert {(p.measure, p.field) for p in proposals} == expected
    # What we propose, the checker accepts.
    changes = as_changes(proposals)
    assert len(changes) == len({p.measure for p in proposals if p.measure is not None})
    assert [p for p in check_adaptation(cert, changes, executing=executing) if p.severity == "error"] == []


@settings(max_examples=200, deadline=None)
@given(original=st.integers(1, 1000), proposed=st.integers(0, 2000))
def test_checker_refuses_more_hours_than_imposed(original: int, proposed: int) -> None:
    cert = _certificate(original, 300, 1096)
    problems = check_adaptation(cert, [MeasureChange(measure=SERVICE, hours=proposed)])
    flagged = any(p.path == f"measures[{SERVICE}].hours" and p.severity == "error" for p in problems)
    assert flagged == (proposed > original)


@settings(max_examples=200, deadline=None)
@given(original=st.integers(1, 1000), proposed=st.integers(0, 3000))
def test_checker_refuses_longer_durations(original: int, proposed: int) -> None:
    cert = _certificate(100, original, 1096)
    problems = check_adaptation(cert, [MeasureChange(measure=SERVICE, duration_days=proposed)])
    flagged = any(p.path == f"measures[{SERVICE}].duration_days" for p in problems)
    assert flagged == (proposed > cert.measures[SERVICE].duration_days)  # type: ignore[operator]


def test_example_needs_no_adaptation_for_belgium() -> None:
    assert propose_adaptation(example_certificate(), load_state("BE")) == []


def test_belgian_maximum_of_300_hours() -> None:
    cert = _certificate(360, 365, 1096)
    (proposal,) = propose_adaptation(cert, load_state("BE"))
    assert (proposal.measure, proposal.field, proposal.original, proposal.proposed) == (SERVICE, "hours", 360, 300)
    assert "BE" in proposal.explanation


def test_below_the_minimum_is_not_lengthened() -> None:
    # 30 hours is under the Netherlands' minimum of 80; lengthening it would breach Art 9(3).
    cert = _certificate(30, 365, 730)
    assert propose_adaptation(cert, load_state("NL")) == []


def test_checker_names_a_missing_measure() -> None:
    problems = check_adaptation(_EXAMPLE, [MeasureChange(measure=9, hours=1), MeasureChange(measure=-1)])
    assert [p.path for p in problems] == ["measures[9]", "measures[-1]"]
    assert all(p.severity == "error" for p in problems)


def test_checker_refuses_adding_hours() -> None:
    (problem,) = check_adaptation(_EXAMPLE, [MeasureChange(measure=0, hours=10)])
    assert problem.path == "measures[0].hours" and "9(3)" in problem.message


def test_checker_uses_the_probation_period_for_measures_without_own_duration() -> None:
    period = _EXAMPLE.probation_period_days()
    assert period is not None
    assert check_adaptation(_EXAMPLE, [MeasureChange(measure=0, duration_days=period)]) == []
    (problem,) = check_adaptation(_EXAMPLE, [MeasureChange(measure=0, duration_days=period + 1)])
    assert problem.path == "measures[0].duration_days"


def test_checker_warns_on_a_new_description_and_twice_changed_measures() -> None:
    problems = check_adaptation(
        _EXAMPLE,
        [MeasureChange(measure=2, description="No contact with the victim within 200 m."), MeasureChange(measure=2)],
    )
    assert [(p.path, p.severity) for p in problems] == [
        ("measures[2].description", "warning"),
        ("measures[2]", "error"),
    ]


def test_checker_applies_art_9_2_with_the_executing_profile() -> None:
    cert = _certificate(360, 365, 1096)
    be = load_state("BE")
    (problem,) = check_adaptation(cert, [MeasureChange(measure=SERVICE, hours=250)], executing=be)
    assert problem.path == f"measures[{SERVICE}].hours" and "9(2)" in problem.message
    assert check_adaptation(cert, [MeasureChange(measure=SERVICE, hours=300)], executing=be) == []
