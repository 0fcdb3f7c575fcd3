"""The wizard as an officer fills it (plain form posts): rules checked when a box is saved, messages in plain
words in en/fr/de, dates as day/month/year, durations as years/months/days, countries and languages picked
by name, and every box the certificate prints fillable and printed."""

from __future__ import annotations

import re

import httpx
import pytest
from webhelp import csrf_of, draft_certificate, example_draft, form_fields, signed_in

from forms.annex1 import Certificate
from forms.render import render_certificate
from probatio.harness import LocalNodes

pytestmark = pytest.mark.integration

# What must never reach a person's eyes in a wizard message: a JSON path, a pattern, pydantic's wording.
TECHNICAL = re.compile(r"measures\[\d+\]|\w+\.\w+_\w+|\^\[|\$'|Field required|should match|Input should|"
                       r"type=|sursis_probatoire|\bLU\b|\bBE\b")


def _errors(html: str) -> list[str]:
    """The error summary's lines and the messages beside fields, as text."""
    found = re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', html, re.S)
    found += re.findall(r'<div class="error-summary".*?</div>', html, re.S)
    found += re.findall(r'<div class="alert error".*?</div>', html, re.S)
    return [re.sub(r"<[^>]+>", " ", f) for f in found]


async def test_rules_are_checked_when_the_box_is_saved_in_plain_words(nodes: LocalNodes) -> None:
    officer = await signed_in(nodes["LU"].url, "officer")
    draft = await example_draft(officer)
    for lang, future, order, unsupervised, shorter in (
        ("en", "in the future", "before the judgment was delivered", "Belgium notified no measure",
         "shorter than Luxembourg law allows"),
        ("fr", "dans le futur", "avant", "Belgique", "Luxembourg"),
        ("de", "in der Zukunft", "vor Erlass", "Belgien", "Luxemburg"),
    ):
        officer.cookies.set("probatio_lang_lu", lang)
        page = await officer.get(f"{draft}/b")
        fields = form_fields(page.text, f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}/b")
        # Box (b): a judgment delivered in the future and final before it was delivered, refused on "Save and
        # continue" (not first on the review page), the officer staying on the box with the summary on top.
        fields.update({"judgment.delivered_on-day": "1", "judgment.delivered_on-month": "1",
                       "judgment.delivered_on-year": "2099", "go": "d"})
        r = await officer.post(f"{draft}/b", data=fields)
        assert r.status_code == 422, r.text[-1500:]
        assert 'class="error-summary"' in r.text and 'href="#f-judgment-delivered-on"' in r.text
        assert future in r.text and order in r.text, _errors(r.text)
        # Box (j): a measure of category "other" BE does not supervise, named "Measure 1".
        page = await officer.get(f"{draft}/j")
        fields = form_fields(page.text, f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}/j")
        fields.update({"measures[0].category": "other", "go": "k"})
        r = await officer.post(f"{draft}/j", data=fields)
        assert r.status_code == 422
        assert unsupervised in r.text
        summary = re.search(r'<div class="error-summary".*?</div>', r.text, re.S)
        assert summary and re.search(r"(Measure|Mesure|Maßnahme) 1", summary.group(0))
        # Box (i): a probation period shorter than the issuing State's law allows for the decision.
        page = await officer.get(f"{draft}/i")
        fields = form_fields(page.text, f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}/i")
        fields.update({"judgment_nature.probation_period_days-years": "0",
                       "judgment_nature.probation_period_days-months": "2",
                       "judgment_nature.probation_period_days-days": "0", "go": "j"})
        r = await officer.post(f"{draft}/i", data=fields)
        assert r.status_code == 422
        assert shorter in r.text
        # A value pydantic cannot read is reworded too: never a pattern, a path or a code.
        page = await officer.get(f"{draft}/e")
        fields = form_fields(page.text, f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}/e")
        fields.update({"person.date_of_birth-day": "31", "person.date_of_birth-month": "2",
                       "person.date_of_birth-year": "1990", "go": "stay"})
        r = await officer.post(f"{draft}/e", data=fields)
        assert r.status_code == 422
        for shown in (*_errors(r.text),):
            assert not TECHNICAL.search(shown), (lang, shown)
        for step in ("b", "i", "j"):
            r = await officer.get(f"{draft}/{step}?check=1")
            for shown in _errors(r.text):
                assert not TECHNICAL.search(shown), (lang, step, shown)
        # The review page names each problem's box and field as the form does, never by its JSON path.
        review = (await officer.get(f"{draft}/review")).text
        listed = re.sub(r"<[^>]+>", " ", "".join(re.findall(r"<li class=\"(?:error|warning)\">.*?</li>", review, re.S)))
        assert listed.strip() and not re.search(r"measures\[\d+\]|\w+\.\w+_\w+", listed), (lang, listed)
        # Put the example's values back for the next language.
        await _reset(officer, draft)


async def _reset(officer: httpx.AsyncClient, draft: str) -> None:
    token = csrf_of((await officer.get(f"{draft}/b")).text)
    await officer.post(f"{draft}/b", data={"csrf_token": token, "judgment.delivered_on": "2025-03-03",
                                           "judgment.final_on": "2025-04-04", "go": "stay"})
    await officer.post(f"{draft}/j", data={"csrf_token": token, "measures[0].category": "a", "go": "stay"})


async def test_dates_durations_and_names(nodes: LocalNodes) -> None:
    officer = await signed_in(nodes["LU"].url, "officer")
    officer.cookies.set("probatio_lang_lu", "fr")
    draft = await example_draft(officer)
    action = f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}"
    # Durations: 3 years and 2 months is stored in days as the certificate counts them, and shown back so.
    page = await officer.get(f"{draft}/j")
    fields = form_fields(page.text, f"{action}/j")
    fields.update({"supervision.total_duration_days-years": "3", "supervision.total_duration_days-months": "2",
                   "supervision.total_duration_days-days": "0", "go": "stay"})
    r = await officer.post(f"{draft}/j", data=fields)
    assert r.status_code in (200, 422)
    cert = await draft_certificate(nodes, draft)
    assert cert["supervision"]["total_duration_days"] == round(3 * 365.2425 + 2 * 365.2425 / 12)
    shown = form_fields((await officer.get(f"{draft}/j")).text, f"{action}/j")
    assert (shown["supervision.total_duration_days-years"], shown["supervision.total_duration_days-months"],
            shown["supervision.total_duration_days-days"]) == ("3", "2", "0")
    # Dates: day, month, year in three inputs, stored as the certificate's date.
    page = await officer.get(f"{draft}/b")
    assert 'name="judgment.delivered_on-day"' in page.text and "Jour" in page.text
    fields = form_fields(page.text, f"{action}/b")
    fields.update({"judgment.delivered_on-day": "7", "judgment.delivered_on-month": "3",
                   "judgment.delivered_on-year": "2025", "go": "stay"})
    await officer.post(f"{draft}/b", data=fields)
    assert (await draft_certificate(nodes, draft))["judgment"]["delivered_on"] == "2025-03-07"
    fields.update({"judgment.delivered_on-day": "31", "judgment.delivered_on-month": "2", "go": "d"})
    r = await officer.post(f"{draft}/b", data=fields)
    assert r.status_code == 422 and "date" in r.text
    # Countries, nationality and languages by their names in the reader's language.
    page = await officer.get(f"{draft}/e")
    assert '<option value="LU" selected>Luxembourg</option>' in page.text
    assert ">Maroc</option>" in page.text  # a nationality outside the Union, named in French
    assert re.search(r'<option value="de"[^>]*>allemand</option>', page.text)
    fields = form_fields(page.text, f"{action}/e")
    # A second nationality is picked in the next, empty picker.
    r = await officer.post(f"{draft}/e", data={**fields, "person.nationality": [fields["person.nationality"], "MA"],
                                               "go": "stay"})
    assert r.status_code == 200
    assert (await draft_certificate(nodes, draft))["person"]["nationality"] == ["LU", "MA"]
    assert '<option value="MA" selected>Maroc</option>' in r.text
    # Box (a): the certificate's language is one Belgium accepts (Art 21), so only those are offered there,
    # while a person's languages (box (e)) may be any.
    page = (await officer.get(f"{draft}/a")).text
    box_a = re.search(r'<select[^>]*name="language".*?</select>', page, re.DOTALL)
    assert box_a is not None
    assert sorted(re.findall(r'<option value="([a-z]{2})"', box_a.group(0))) == ["de", "en", "fr", "nl"]


async def test_every_box_the_pdf_prints_is_fillable_and_printed(nodes: LocalNodes) -> None:
    officer = await signed_in(nodes["LU"].url, "officer")
    draft = await example_draft(officer)
    action = f"/transfers/drafts/{draft.rsplit('/', 1)[-1]}"
    filled = {
        "d": {"contact_authority.fax": "+352 47 11 11", "contact_authority.contact_persons[0].name": "Anne Weber",
              "contact_authority.contact_persons[0].post": "Probation officer",
              "contact_authority.contact_persons[0].phone": "+352 47 22 22",
              "contact_authority.contact_persons[0].email": "anne.weber@example.lu",
              "contact_authority.contact_persons[0].languages": "fr"},
        "e": {"person.addresses.elsewhere.street": "Via Roma 3", "person.addresses.elsewhere.city": "Torino",
              "person.addresses.elsewhere.country": "IT", "person.residence_permit.kind": "residence_permit",
              "person.residence_permit.number": "BE-RP-778",
              "person.photo_or_fingerprints_contact": "Police grand-ducale, service identification"},
        "j": {"supervision.reports_available": "true", "supervision.report_languages": "fr"},
    }
    for step, values in filled.items():
        page = await officer.get(f"{draft}/{step}")
        for name in values:
            assert f'name="{name}"' in page.text, (step, name)
        fields = form_fields(page.text, f"{action}/{step}")
        fields.update({**values, "go": "stay"})
        r = await officer.post(f"{draft}/{step}", data=fields)
        assert r.status_code == 200, r.text[-1500:]
    cert = await draft_certificate(nodes, draft)
    assert cert["contact_authority"]["fax"] == "+352 47 11 11"
    assert cert["contact_authority"]["contact_persons"][0]["name"] == "Anne Weber"
    assert cert["person"]["addresses"]["elsewhere"]["country"] == "IT"
    assert cert["person"]["residence_permit"] == {"kind": "residence_permit", "number": "BE-RP-778"}
    assert cert["supervision"]["reports_available"] is True
    # The step (j) picker offers the Art 4(2) measure only where the executing State notified one.
    assert 'name="measures[0].notified_measure"' in (await officer.get(f"{draft}/j")).text
    printed = Certificate.model_validate({k: v for k, v in cert.items() if not k.startswith("_")})
    for lang in ("en", "fr", "de"):
        html = render_certificate(printed, lang, "html").decode()
        for text in ("+352 47 11 11", "Anne Weber", "Via Roma 3", "BE-RP-778", "Police grand-ducale"):
            assert text in html, (lang, text)
        body = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
        words = re.sub(r"<[^>]+>", " ", body)
        # No internal code shows: no snake_case word, no national decision or measure id.
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", words), (lang, re.findall(r"\b[a-z]+_[a-z_]+\b", words)[:5])


def test_the_art_4_2_measure_prints_in_words() -> None:
    """A measure of category "other" prints the executing State's notification in its words, not its id."""
    from forms.examples import example_certificate
    from forms.states import load_state

    notified = load_state("NL").art_4_2_measures[0]
    cert = example_certificate("LU", "NL").model_dump(mode="json")
    cert["measures"][0].update({"category": "other", "notified_measure": notified.id, "national_measure": None})
    for lang in ("en", "fr", "de"):
        html = render_certificate(Certificate.model_validate(cert), lang, "html").decode()
        assert notified.description in html and f">{notified.id}<" not in html, lang
