"""The enums of the Framework Decision, and the facts a workflow may see of a certificate."""

from __future__ import annotations

import json

from forms.annex1 import CertificateFacts, MeasureFacts
from forms.examples import example_certificate
from forms.law import (
    ART_4_1_WORDING,
    CONSULTATION_REQUIRED,
    JudgmentType,
    ListOffence,
    MeasureCategory,
    RefusalGround,
)


def test_art_4_1_letters_and_art_4_2() -> None:
    assert [c.value for c in MeasureCategory] == [*"abcdefghijk", "other"]
    assert set(ART_4_1_WORDING) == set(MeasureCategory)


def test_thirty_two_list_offences() -> None:
    assert [o.value for o in ListOffence] == [str(n) for n in range(1, 33)]


def test_refusal_grounds_and_consultation() -> None:
    assert [g.value for g in RefusalGround] == list("abcdefghijk")
    assert {g.value for g in CONSULTATION_REQUIRED} == set("abchijk")


def test_judgment_types() -> None:
    assert {t.value for t in JudgmentType} == {
        "suspended_sentence",
        "conditional_sentence",
        "alternative_sanction",
        "conditional_release",
    }


def test_facts_are_computed_and_free_of_personal_data() -> None:
    cert = example_certificate()
    facts = cert.facts()
    assert facts.issuing_state == "LU" and facts.executing_state == "BE"
    assert facts.judgment_type is JudgmentType.SUSPENDED_SENTENCE
    assert facts.probation_period_days == 1096
    assert facts.supervision_start == cert.judgment.final_on
    assert facts.probation_end is not None
    assert (facts.probation_end - facts.supervision_start).days == 1096
    assert facts.measures[4] == MeasureFacts(
        index=4, category=MeasureCategory.COMMUNITY_SERVICE, duration_days=365, hours=120
    )
    assert facts.in_absentia is False
    forbidden = {"surname", "forenames", "date_of_birth", "birth_year", "sex", "address", "addresses", "person"}
    assert not forbidden & set(CertificateFacts.model_fields)
    dumped = json.dumps(facts.model_dump(mode="json"))
    for personal in ("Muller", "1990", "Arlon", "Esch", cert.person.identity_number or "-"):
        assert personal not in dumped


def test_facts_prefer_the_stated_start() -> None:
    cert = example_certificate()
    cert.supervision.starts_on = cert.judgment.final_on.replace(year=cert.judgment.final_on.year + 1)
    facts = cert.facts()
    assert facts.supervision_start == cert.supervision.starts_on
