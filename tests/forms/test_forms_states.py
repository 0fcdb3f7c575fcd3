"""The member-state data: all 27 load, Luxembourg's catalogue maps to Art 4(1) as its notification says."""

from __future__ import annotations

import pytest

from forms.law import EU_LANGUAGES, MEMBER_STATES, Confidence, JudgmentType, MeasureCategory
from forms.states import all_states, certificate_language, duration_days, load_state


@pytest.mark.parametrize("code", MEMBER_STATES)
def test_every_state_has_a_usable_profile(code: str) -> None:
    state = load_state(code)
    assert state.code == code
    assert state.official_languages
    assert state.accepted_languages
    # Art 21: only official EU languages can be accepted for the certificate.
    assert set(state.accepted_languages) <= EU_LANGUAGES
    # Without a known declaration, the official languages are assumed, and say so.
    if state.certificate_languages.confidence is Confidence.UNVERIFIED:
        assert state.certificate_languages.source


def test_all_states_are_the_27() -> None:
    assert all_states() == list(MEMBER_STATES)
    assert len(all_states()) == 27
    with pytest.raises(KeyError):
        load_state("UK")


def test_belgium_accepts_its_languages_and_english() -> None:
    be = load_state("BE")
    assert {"fr", "nl", "de", "en"} <= set(be.accepted_languages)
    assert not be.supervises(MeasureCategory.OTHER)  # no Art 4(2) notification known
    assert be.supervises(MeasureCategory.COMMUNITY_SERVICE)


def test_certificate_language_picks_the_first_accepted_in_our_order() -> None:
    assert certificate_language("BE", ["de", "en", "fr"]) == "de"
    assert certificate_language("LU", ["en", "fr"]) == "fr"
    assert certificate_language("PL", ["en", "fr", "de"]) is None


def test_netherlands_declarations() -> None:
    nl = load_state("NL")
    assert nl.art_14_3_declaration.made is True
    assert nl.notified_measure("electronic_monitoring") is not None
    assert nl.supervises(MeasureCategory.OTHER)


# Luxembourg's notification, point 1: the four decisions and their limits.
def test_luxembourg_decisions() -> None:
    lu = load_state("LU")
    decisions = {d.id: d for d in lu.decisions}
    assert set(decisions) == {
        "sursis_probatoire",
        "travail_interet_general",
        "suspension_probatoire",
        "liberation_conditionnelle",
    }
    sursis = decisions["sursis_probatoire"]
    assert sursis.judgment_type is JudgmentType.SUSPENDED_SENTENCE
    assert (sursis.probation_period.min, sursis.probation_period.max) == ("3y", "5y")  # type: ignore[union-attr]
    assert any("26 July 1986" in basis for basis in sursis.legal_basis)
    tig = decisions["travail_interet_general"]
    assert tig.judgment_type is JudgmentType.ALTERNATIVE_SANCTION
    assert (tig.hours.min, tig.hours.max) == (40, 240)  # type: ignore[union-attr]
    assert tig.completion_within == "18m"
    assert any("13 June 1994" in basis for basis in tig.legal_basis)
    suspension = decisions["suspension_probatoire"]
    assert suspension.judgment_type is JudgmentType.CONDITIONAL_SENTENCE
    assert (suspension.probation_period.min, suspension.probation_period.max) == ("1y", "5y")  # type: ignore[union-attr]
    release = decisions["liberation_conditionnelle"]
    assert release.judgment_type is JudgmentType.CONDITIONAL_RELEASE
    assert release.legal_basis == ("Article 100 of the Penal Code",)
    for decision in decisions.values():
        assert decision.conditions and decision.confidence is Confidence.VERIFIED
        assert all(lu.national_measure(m) is not None for m in decision.measures)


# Point 2(a): the letter under which the notification's table explains each measure.
LU_TABLE = {
    "justify_change_of_job_or_residence": "a",
    "inform_scas_of_residence": "a",
    "not_enter_places": "b",
    "not_leave_territory": "c",
    "work_study_training": "d",
    "residence_in_specific_place": "d",
    "find_work": "d",
    "no_drugs_or_alcohol": "d",
    "no_contact_with_victim": "d",
    "violence_training": "d",
    "report_to_probation_officer": "e",
    "avoid_contact_persons": "f",
    "avoid_objects": "g",
    "pay_damages": "h",
    "community_service": "i",
    "reply_to_instructions": "j",
    "receive_visits": "j",
    "detoxification_care": "k",
    "therapeutic_treatment": "k",
    "electronic_monitoring": None,
    "professional_activity_ban": None,
    "family_expenses_alimony": None,
}


def test_luxembourg_measures_map_to_art_4_1_as_notified() -> None:
    lu = load_state("LU")
    mapping = {m.id: (m.category.value if m.category else None) for m in lu.measures}
    assert mapping == LU_TABLE
    # Every Art 4(1) letter is reflected in Luxembourg's law or practice (point 2(a)).
    assert {c for c in LU_TABLE.values() if c} == {c.value for c in MeasureCategory if c is not MeasureCategory.OTHER}


def test_luxembourg_judge_imposed_measures_are_marked() -> None:
    lu = load_state("LU")
    for measure_id in (
        "not_enter_places",
        "not_leave_territory",
        "no_drugs_or_alcohol",
        "no_contact_with_victim",
        "violence_training",
    ):
        measure = lu.national_measure(measure_id)
        assert measure is not None and measure.imposed_by == "judge", measure_id
    assert lu.national_measure("not_enter_places").controlled_by == "Police"  # type: ignore[union-attr]
    assert "outside Art 4(1)" in lu.national_measure("electronic_monitoring").note  # type: ignore[union-attr]


def test_luxembourg_adaptation_limits() -> None:
    limit = load_state("LU").measure_limit(MeasureCategory.COMMUNITY_SERVICE)
    assert limit is not None and limit.hours is not None
    assert (limit.hours.min, limit.hours.max) == (40, 240)


def test_legal_durations_round_in_the_persons_favour() -> None:
    # Five years may span two leap days: 1827 days is still "5 years" as a maximum.
    assert duration_days("5y", bound="max") == 1827
    assert duration_days("3y", bound="min") == 1095
    assert duration_days("18m", bound="max") == 548
    with pytest.raises(ValueError):
        duration_days("five years", bound="max")
