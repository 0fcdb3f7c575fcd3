"""Issue 14 (4): what a person types and reads on the pages, outside the wizard too. Durations are asked as
years, months and days, as the certificate wizard asks them, and sent in days as it converts them: the
custody of Art 16(2), the adapted measures of the decide page, the measures a subsequent decision modifies
(fields, never JSON); the original measures read in years, months and days. Dates are asked as the wizard asks
them (day, month, year): the decision expected by a delay notice. Forward asks for a code only when the
directory names no other competent authority. The breach report names countries and languages in the page's
language, with the codes as values. A completion's "what changed, box by box" reads in words and dates, as the
certificate does."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from webhelp import csrf_of, form_fields, signed_in

from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for
from web.pages_wizard import duration_to_days

pytestmark = pytest.mark.integration


async def _sent_case(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """A transfer LU → BE, submitted and approved, under decision in BE."""
    lu = nodes["LU"].url
    r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                        json={"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
    for role, action in (("officer", "submit"), ("prosecutor", "approve")):
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/{action}", headers=bearer(nodes, "LU", role))
        assert r.status_code == 200, r.text
    await _wait_stage(nodes, http, case_id, "under_decision")
    return case_id


async def _detail(nodes: LocalNodes, http: httpx.AsyncClient, state: str, case_id: str) -> dict[str, Any]:
    url = f"{nodes[state].url}/api/v1/{'transfers' if state == 'LU' else 'incoming'}/{case_id}"
    r = await http.get(url, headers=bearer(nodes, state, "prosecutor"))
    return dict(r.json()) if r.status_code == 200 else {}


async def _wait_stage(nodes: LocalNodes, http: httpx.AsyncClient, case_id: str, stage: str) -> None:
    found = await wait_for(lambda: _detail(nodes, http, "BE", case_id), lambda c: c.get("stage") == stage)
    assert found.get("stage") == stage, found.get("stage")


def _said(case: dict[str, Any], kind: str, way: str) -> dict[str, Any]:
    return next((m for m in case.get("conversation", []) if m["type"] == kind and m["way"] == way), {})


def _duration_inputs(html: str, name: str) -> bool:
    """The three inputs of the wizard's duration question, and no single box in days."""
    return all(f'name="{name}-{part}"' in html for part in ("years", "months", "days")) \
        and f'name="{name}"' not in html


def _form(html: str, action: str) -> str:
    """The HTML of the form posting to `action`."""
    start = html.index(f'action="{action}"')
    return html[start:html.index("</form>", start)]


def _cells(html: str, caption: str) -> str:
    """The text of the table with `caption`, tags removed."""
    found = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


async def test_durations_in_years_months_days_and_completion_in_words(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _sent_case(nodes, http)
        prosecutor = await signed_in(be, "prosecutor")
        case_url = f"/cases/incoming/{case_id}"

        # Art 16(2): the maximum custody is asked as the wizard asks a duration, and sent in days.
        page = (await prosecutor.get(case_url)).text
        assert _duration_inputs(page, "max_custody_days") and "Maximum custody (days)" not in page
        action = f"{case_url}/actions/give_max_custody"
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "max_custody_days-years": "a year"})
        assert r.status_code == 422 and "years, months and days must be whole numbers" in r.text
        assert 'value="a year"' in r.text  # what was typed stays in its box
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "max_custody_days-years": "1",
                                                "max_custody_days-months": "6", "max_custody_days-days": "2"})
        assert r.status_code == 303, r.text
        sent = _said(await _detail(nodes, http, "BE", case_id), "max_custody_info", "sent")
        assert sent["fields"]["max_custody_days"] == duration_to_days(1, 6, 2) == 550

        # Art 12(2): the expected date is asked as the wizard asks a date (day, month, year), never a browser
        # date box; a date that cannot be read, does not exist or has passed is named beside it, as typed.
        page = (await prosecutor.get(case_url)).text
        delay = _form(page, f"{case_url}/actions/notify_delay")
        assert all(f'name="expected_by-{part}"' in delay for part in ("day", "month", "year"))
        assert 'type="date"' not in delay and 'name="expected_by"' not in delay
        assert "Decision expected by" in delay and ">Day</label>" in delay
        action = f"{case_url}/actions/notify_delay"
        for day, month, year, said in (("31", "2", "2027", "must be a real date"),
                                       ("15", "June", "2027", "must be a real date"),
                                       ("2", "1", "2020", "must be in the future")):
            r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "reasons": "An expert opinion.",
                                                    "expected_by-day": day, "expected_by-month": month,
                                                    "expected_by-year": year})
            assert r.status_code == 422, r.text[:300]
            beside = re.search(r'<p class="field-error" id="notify_delay-expected_by-error">(.*?)</p>', r.text, re.S)
            assert beside and said in beside.group(1), r.text[:2000]
            kept = _form(r.text, action)
            assert f'value="{day}"' in kept and f'value="{month}"' in kept and f'value="{year}"' in kept
            assert 'href="#notify_delay-expected_by"' in r.text  # the error summary links to the field
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "reasons": "An expert opinion.",
                                                "expected_by-day": "5", "expected_by-month": "7",
                                                "expected_by-year": "2027"})
        assert r.status_code == 303, r.text[:2000]
        sent = await wait_for(lambda: _detail(nodes, http, "BE", case_id),
                              lambda c: bool(_said(c, "delay_notice", "sent")))
        assert str(_said(sent, "delay_notice", "sent")["fields"]["expected_by"]).startswith("2027-07-05")

        # Art 6(7): BE's directory lists no competent authority but the one holding the case: the code is
        # asked in a one-line box, with a hint that says why.
        forward = _form(page, f"{case_url}/actions/forward")
        assert re.search(r'<input id="forward-authority" name="authority" type="text"', forward), forward
        assert "lists no other competent authority here" in forward and "Competent authority (code)" not in forward

        # BE asks for a completed certificate; LU sends one with other boxes (the API's way).
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/request_completion",
                            headers=bearer(nodes, "BE", "prosecutor"), json={"missing": "box (e)", "due_days": 10})
        assert r.status_code == 200, r.text
        lu_case = f"{lu}/api/v1/transfers/{case_id}"
        await wait_for(lambda: _detail(nodes, http, "LU", case_id), lambda c: c.get("stage") == "completion_requested")
        cert = fresh_certificate("LU", "BE")
        cert["person"] = {**cert["person"], "date_of_birth": "1991-01-02", "sex": "female",
                          "nationality": ["FR"]}
        r = await http.post(f"{lu_case}/actions/complete", headers=bearer(nodes, "LU", "officer"),
                            json={"certificate": cert})
        assert r.status_code == 200, r.text
        await wait_for(lambda: _detail(nodes, http, "BE", case_id),
                       lambda c: bool(_said(c, "completion", "received")))

        # What changed, box by box, reads as the certificate does: words for codes, dates written out.
        caption = "What changed in the certificate"
        for state, who, url in (("BE", prosecutor, case_url), ("LU", None, f"/cases/outgoing/{case_id}")):
            reader = who or await signed_in(lu, "officer")
            changes = _cells((await reader.get(url)).text, caption)
            for words in ("2 June 1990", "2 January 1991", "Male", "Female", "Luxembourg", "France"):
                assert words in changes, (state, words, changes)
            for code in ("1990-06-02", "1991-01-02", "female", " FR "):
                assert code not in changes, (state, code, changes)
            if who is None:
                await reader.aclose()
        french = _cells((await prosecutor.get(case_url, headers={"Accept-Language": "fr"})).text,
                        "Ce qui a changé dans le certificat")
        assert "2 juin 1990" in french and "Féminin" in french, french

        # Art 9: the adapted measures' durations, in years, months and days; sent in days after confirming.
        await _wait_stage(nodes, http, case_id, "under_decision")
        decide_url = f"{case_url}/decide"
        page = (await prosecutor.get(decide_url)).text
        assert _duration_inputs(page, "measures[3].duration_days") and "Duration (days)" not in page
        # The original measures' durations read in years, months and days, in the page's language.
        originals = _cells(page, "Box (j) of the certificate beside the adaptation")
        assert "Duration: 1 year ·" in originals and "Duration: 8 months and 27 days (270 days)" in originals
        assert "365 days" not in originals, originals
        french = re.sub(r"\s+", " ", (await prosecutor.get(decide_url, headers={"Accept-Language": "fr"})).text)
        assert "Durée : 1 an ·" in french and "8 mois et 27 jours (270 jours)" in french and "365 jours" not in french
        assert "1 year" in _cells((await prosecutor.get(case_url)).text, "Measures (box (j))")
        fields = form_fields(page, decide_url)
        fields.update({"outcome": "adapted", "reasons": "Shorter here (Art 9(1)).",
                       "measures[3].duration_days-months": "6"})
        r = await prosecutor.post(decide_url, data={**fields, "measures[5].duration_days-days": "-3"})
        assert r.status_code == 422 and "years, months and days must be whole numbers" in r.text
        r = await prosecutor.post(decide_url, data=fields)
        assert r.status_code == 200 and "Check before you go on" in r.text, r.text[:500]
        assert "Measure 4: 183 days" in r.text  # what is sent, said before it is
        r = await prosecutor.post(decide_url, data={**form_fields(r.text, decide_url), "confirmed": "1"})
        assert r.status_code == 303, r.text
        decision = _said(await _detail(nodes, http, "BE", case_id), "decision", "sent")
        assert [m["changed"] for m in decision["measures"]] == [{"duration_days": duration_to_days(0, 6, 0)}]
        assert decision["measures"][0]["number"] == 4
        await prosecutor.aclose()


async def test_subsequent_decision_fields_and_breach_form_names(nodes: LocalNodes) -> None:
    be = nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _sent_case(nodes, http)
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/start_supervision",
                            headers=bearer(nodes, "BE", "officer"))
        assert r.status_code == 200 and r.json()["stage"] == "supervising", r.text
        case_url = f"/cases/incoming/{case_id}"

        # Annex II: countries and languages picked by name in the page's language; the codes are the values.
        officer = await signed_in(be, "officer")
        form_url = f"{case_url}/breach"
        for lang, belgium, french in (("en", "Belgium", "French (fr)"), ("fr", "Belgique", "français (fr)"),
                                      ("de", "Belgien", "Französisch (fr)")):
            page = (await officer.get(form_url, headers={"Accept-Language": lang})).text
            country = re.search(r'<select id="f-supervising-authority-address-country"[^>]*>(.*?)</select>',
                                page, re.DOTALL)
            assert country and f'<option value="BE" selected>{belgium}</option>' in country.group(1), lang
            # One picker per language of the authority (BE's official ones), each showing its choice by name.
            chosen = re.findall(r'<select id="f-supervising-authority-languages[^"]*" name="supervising_authority'
                                r'.languages"[^>]*>.*?<option value="(\w*)" selected>([^<]*)</option>', page, re.DOTALL)
            assert ("fr", french) in chosen, (lang, chosen)
            assert 'name="person.languages_understood"' in page and "<select" in page
            assert "ISO code" not in page and "comma-separated codes" not in page
        fields = form_fields(page, form_url)
        assert fields["person.address.country"] == "BE"
        await officer.aclose()

        # Art 16(1): the measures a subsequent decision modifies, as the decide page asks them; no JSON box.
        prosecutor = await signed_in(be, "prosecutor")
        page = (await prosecutor.get(case_url)).text
        action = f"{case_url}/actions/decide_subsequent"
        form = page[page.index(f'action="{action}"'):]
        form = form[:form.index("</form>")]
        assert _duration_inputs(form, "measures[5].duration_days") and 'name="measures[5].hours"' in form
        assert 'name="measures"' not in form and "JSON" not in form
        assert 'name="measure_count" value="6"' in form
        data = {"csrf_token": csrf_of(page), "decision": "modify", "reasons": "Shorter course.",
                "measure_count": "6", "measures[5].duration_days-months": "4",
                "measures[1].description": "Report twice a month."}
        r = await prosecutor.post(action, data=data)
        assert r.status_code == 200 and "Check before you go on" in r.text, r.text[:500]
        assert "Measure 2: Report twice a month.; Measure 6: 122 days" in r.text
        r = await prosecutor.post(action, data={**form_fields(r.text, action), "confirmed": "1"})
        assert r.status_code == 303, r.text
        said = _said(await _detail(nodes, http, "BE", case_id), "subsequent_decision", "sent")
        assert {m["number"]: m["changed"] for m in said["measures"]} == {
            2: {"description": "Report twice a month."}, 6: {"duration_days": duration_to_days(0, 4, 0)}}
        # A value that is no number is named beside its measure; nothing is sent.
        page = (await prosecutor.get(case_url)).text
        r = await prosecutor.post(action, data={"csrf_token": csrf_of(page), "decision": "modify",
                                                "measure_count": "6", "measures[2].hours": "ten"})
        assert r.status_code == 422 and "must be a whole number" in r.text
        assert 'value="ten"' in r.text
        await prosecutor.aclose()
