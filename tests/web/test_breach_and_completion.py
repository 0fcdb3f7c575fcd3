"""The two actions that used to take JSON, now done on pages as a browser without script would:
the BE officer reports a breach on the Annex II form (prefilled, checked beside each field, previewed,
sent), and the LU officer corrects a certificate the executing State asked to complete (Art 8(2)) with
the same wizard that starts transfers."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from webhelp import csrf_of, date_of, form_fields, signed_in

from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for
from web.pages_wizard import field_id

pytestmark = pytest.mark.integration

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _sent_case(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """A transfer LU → BE, submitted and approved, under decision in BE."""
    lu, be = nodes["LU"].url, nodes["BE"].url
    r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                        json={"executing_state": "BE",
                              "certificate": fresh_certificate("LU", "BE")})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
    for role, action in (("officer", "submit"), ("prosecutor", "approve")):
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/{action}", headers=bearer(nodes, "LU", role))
        assert r.status_code == 200, r.text

    async def be_case() -> dict[str, Any]:
        r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
        return dict(r.json()) if r.status_code == 200 else {}

    assert (await wait_for(be_case, lambda c: c.get("stage") == "under_decision")).get("stage") == "under_decision"
    return case_id


def _error_beside(html: str, path: str) -> str:
    """The message shown beside the field of `path` (the wizard's id scheme), or ''."""
    fid = "f-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
    found = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">(.*?)</p>', html, re.DOTALL)
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


async def test_breach_report_through_the_annex_ii_page(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await _sent_case(nodes, http)
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/start_supervision",
                            headers=bearer(nodes, "BE", "officer"))
        assert r.status_code == 200 and r.json()["stage"] == "supervising", r.text

        officer = await signed_in(be, "officer")
        case_url = f"/cases/incoming/{case_id}"
        form_url = f"{case_url}/breach"
        page = await officer.get(case_url)
        # The case page leads to the form; no JSON box is left for the breach.
        assert f'href="{form_url}"' in page.text and "Report a breach" in page.text
        assert 'name="breach"' not in page.text

        page = await officer.get(form_url)
        assert page.status_code == 200
        # Boxes (a)-(f), prefilled from the certificate and the signed-in officer.
        for letter in "abcdef":
            assert f'id="box-{letter}"' in page.text
        fields = form_fields(page.text, form_url)
        assert fields["person.surname"] == "Muller" and date_of(fields, "person.date_of_birth") == "1990-06-02"
        assert fields["person.address.city"] == "Arlon"  # the address in the executing State
        assert fields["judgment.judgment_reference"] == "LCRI 1234/2025"
        # Box (l) was signed at approval (Art 6(3)): the certificate was issued today.
        assert date_of(fields, "judgment.certificate_issued_on") == date.today().isoformat()
        assert fields["supervising_authority.address.country"] == "BE"
        assert fields["signature.name"] == "officer"
        assert date_of(fields, "signature.signed_on") == date.today().isoformat()
        assert fields["language"] == "fr"  # BE writes French, which LU accepts (Art 21)
        # Box (d): each measure of the certificate, with its Art 4(1) category, to tick.
        assert "Art 4(1)(e)" in page.text and "rows[1].ticked" in page.text
        assert "rows[1].ticked" not in fields

        # Nothing ticked and no authority name: each problem beside its field, nothing sent.
        token = csrf_of(page.text)
        r = await officer.post(form_url, data={**fields, "go": "preview"})
        assert r.status_code == 422
        assert "at least one breach" in _error_beside(r.text, "breaches")
        assert _error_beside(r.text, "supervising_authority.name")
        assert 'id="h-preview"' not in r.text
        # And an error summary at the top, as GOV.UK does it: each problem linking to its field.
        summary = r.text[r.text.index('class="error-summary"'):r.text.index('class="breach-form"')]
        assert f'href="#{field_id("supervising_authority.name")}"' in summary, summary[:1500]
        assert f'href="#{field_id("rows[0].ticked")}"' in summary and "at least one breach" in summary

        # A date after today is named beside the breach's own date field; the typed values stay.
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        fields.update({"supervising_authority.name": "Maison de justice d'Arlon",
                       "supervising_authority.phone": "+32 63 00 00 00", "contact.phone": "+32 63 00 00 01",
                       "supervising_authority.address.street": "Place Schalbert 1",
                       "supervising_authority.address.city": "Arlon", "contact.address.street": "Place Schalbert 1",
                       "contact.address.city": "Arlon",
                       "signature.post": "Assistante de justice",
                       "rows[1].ticked": "true", "rows[1].occurred_on": tomorrow, "rows[1].place": MARKUP,
                       "rows[1].description": "Ne s'est pas présenté au rendez-vous."})
        r = await officer.post(form_url, data={**fields, "go": "preview"})
        assert r.status_code == 422
        assert "in the future" in _error_beside(r.text, "rows[1].occurred_on")
        kept = form_fields(r.text, form_url)
        assert kept["rows[1].ticked"] == "true" and kept["rows[1].place"] == MARKUP
        assert MARKUP not in r.text  # markup typed into a field is shown as text

        # A clean form is previewed as LU will receive it, in French, in a sandboxed frame.
        fields["rows[1].occurred_on"] = (date.today() - timedelta(days=2)).isoformat()
        fields["other_findings"] = "Pourrait avoir quitté son domicile."
        r = await officer.post(form_url, data={**fields, "go": "preview"})
        assert r.status_code == 200, r.text
        assert 'id="h-preview"' in r.text and "(fr)" in r.text
        frame = re.search(r'<iframe class="preview" title="Preview of the breach report" sandbox srcdoc="([^"]*)"',
                          r.text)
        assert frame, "no sandboxed preview frame"
        assert "Muller" in frame.group(1) and "Maison de justice d&amp;#39;Arlon" in frame.group(1)
        assert "&amp;lt;script&amp;gt;" in frame.group(1) and "<script>alert" not in r.text
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'sha256-" in csp and "unsafe-inline" not in csp
        previewed = form_fields(r.text, form_url)
        assert previewed.get("previewed")

        # Sending something other than what was previewed asks for another look.
        changed = {**previewed, "rows[1].place": "Arlon", "go": "send"}
        r = await officer.post(form_url, data=changed)
        assert r.status_code == 409, re.findall(r"field-error[^>]*>.*?</p>", r.text, re.S)
        assert "changed since the preview" in r.text and 'id="h-preview"' in r.text

        # A prosecutor does not report breaches, even by posting the form.
        prosecutor = await signed_in(be, "prosecutor")
        r = await prosecutor.post(form_url, data={**previewed, "csrf_token": csrf_of((await prosecutor.get(
            case_url)).text), "go": "send"})
        assert r.status_code == 403

        r = await officer.post(form_url, data={**previewed, "csrf_token": token, "go": "send"})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{case_url}?done=report_breach:supervising"
        page = await officer.get(r.headers["location"])
        assert "breach reported" in page.text and "Done: Report a breach" in page.text

        # LU hears of it: the breach is on its timeline, and its officer sees it on the case page.
        async def lu_case() -> dict[str, Any]:
            r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
            return dict(r.json())

        lu_view = await wait_for(lu_case, lambda c: any(e["type"] == "breach_reported" for e in c["timeline"]))
        assert any(e["type"] == "breach_reported" for e in lu_view["timeline"]), lu_view["timeline"]
        lu_officer = await signed_in(lu, "officer")
        assert "breach reported" in (await lu_officer.get(f"/cases/outgoing/{case_id}")).text

        # The next report starts from this authority's boxes (c) and (e).
        again = form_fields((await officer.get(form_url)).text, form_url)
        assert again["supervising_authority.name"] == "Maison de justice d'Arlon"
        assert again["contact.phone"] == "+32 63 00 00 01"
        for client in (officer, prosecutor, lu_officer):
            await client.aclose()


async def test_completing_a_certificate_with_the_wizard(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await _sent_case(nodes, http)
        asked = "Please give the person's identity number. " + MARKUP
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/request_completion",
                            json={"missing": asked, "due_days": 10}, headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text

        officer = await signed_in(lu, "officer")
        case_url = f"/cases/outgoing/{case_id}"

        async def lu_page() -> str:
            return (await officer.get(case_url)).text

        page = await wait_for(lu_page, lambda t: 'class="tag stage-completion_requested"' in t)
        # What BE asked for, as text, and a way to correct the certificate instead of a JSON box.
        assert "asked for a completed certificate" in page
        assert "Please give the person&#39;s identity number." in page and MARKUP not in page
        assert f'action="{case_url}/correct"' in page and 'name="certificate"' not in page
        # The decision's date is marked as waiting with the 60 days (Art 8(2), 12(1)), on both sides.
        assert "the 60 days wait while the completed certificate is awaited (Art 8(2))" in page
        prosecutor_be = await signed_in(be, "prosecutor")
        be_page = (await prosecutor_be.get(f"/cases/incoming/{case_id}")).text
        assert "the 60 days wait while the completed certificate is awaited (Art 8(2))" in be_page
        await prosecutor_be.aclose()

        r = await officer.post(f"{case_url}/correct", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 303
        draft = r.headers["location"].rsplit("/", 1)[0]
        step_a = await officer.get(f"{draft}/a")
        assert "Correcting the certificate of case" in step_a.text
        assert "Please give the person&#39;s identity number." in step_a.text
        assert 'name="executing_state" disabled' in step_a.text  # the addressee stays BE
        token = csrf_of(step_a.text)
        # Clicking again continues the same copy.
        r = await officer.post(f"{case_url}/correct", data={"csrf_token": token})
        assert r.headers["location"].rsplit("/", 1)[0] == draft

        # The copy holds the case's certificate; a problem is named beside its field, as when starting.
        step_e = await officer.get(f"{draft}/e")
        assert form_fields(step_e.text, f"{draft}/e")["person.surname"] == "Muller"
        r = await officer.post(f"{draft}/e", data={"csrf_token": token, "person.date_of_birth": "", "go": "stay"})
        assert r.status_code == 200 and "required" in _error_beside(r.text, "person.date_of_birth")
        fields = form_fields(r.text, f"{draft}/e")
        fields.update({"person.date_of_birth": "1990-06-02", "person.identity_number": "LU-1990-0602-42",
                       "go": "f"})
        r = await officer.post(f"{draft}/e", data=fields)
        assert r.status_code == 303, r.text
        # Posting another executing State by hand changes nothing.
        r = await officer.post(f"{draft}/a", data={"csrf_token": token, "executing_state": "FR", "go": "review"})
        assert r.status_code == 303

        review = await officer.get(f"{draft}/review")
        assert "The certificate is complete" in review.text, review.text[-3000:]
        assert "Send the corrected certificate" in review.text and "Start the transfer" not in review.text
        r = await officer.post(f"{draft}/start", data={"csrf_token": token, "complete": "1"})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"{case_url}?done=complete:under_decision"
        page = (await officer.get(r.headers["location"])).text
        assert 'class="tag stage-under_decision"' in page and "completed certificate" in page

        # BE receives the corrected certificate and decides on it.
        async def be_case() -> dict[str, Any]:
            r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
            return dict(r.json())

        be_view = await wait_for(be_case, lambda c: any(e["type"] == "completion_received" for e in c["timeline"]))
        assert be_view["stage"] == "under_decision"
        assert any(e["type"] == "completion_received" for e in be_view["timeline"]), be_view["timeline"]
        cert = await http.get(f"{be}/api/v1/incoming/{case_id}/certificate.html",
                              headers=bearer(nodes, "BE", "prosecutor"))
        assert cert.status_code == 200 and "LU-1990-0602-42" in cert.text

        # The copy is spent: it cannot be sent twice, and the case no longer offers a correction.
        assert (await officer.post(f"{draft}/start", data={"csrf_token": token})).headers["location"] == case_url
        r = await officer.post(f"{case_url}/correct", data={"csrf_token": token})
        assert r.status_code == 409
        await officer.aclose()
