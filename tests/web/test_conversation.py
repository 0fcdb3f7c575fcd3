"""People see what the other authority said, and can act on it (issue 14): on two linked nodes, a transfer with
a consultation, its answer, an adaptation and a breach report; each message is readable in words on the other
State's case page and in the API detail. A returned transfer is corrected (API and pages) and approved after
the confirmation step; a transfer never submitted is deleted, a submitted one cannot be."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from webhelp import csrf_of, signed_in

from forms.examples import example_breach, example_certificate
from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration

QUESTION = "Is the judgment final, and was the person present at the trial?"
ANSWER = "Final since 3 March 2025; the person was present and defended."
REASONS = "Community service is capped at 100 hours here (Art 9(1))."
RETURN_REASON = "Box (e): the address in Belgium lacks its postcode."


async def _new_transfer(nodes: LocalNodes, http: httpx.AsyncClient, *, submit: bool = True) -> str:
    lu = nodes["LU"].url
    r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                        json={"executing_state": "BE",
                              "certificate": fresh_certificate("LU", "BE")})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
    if submit:
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text
    return case_id


async def _act(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    r = await http.post(url, headers=headers, json=body or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _detail(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    r = await http.get(url, headers=headers)
    return dict(r.json()) if r.status_code == 200 else {}


def _said(case: dict[str, Any], kind: str, way: str) -> dict[str, Any]:
    return next((m for m in case.get("conversation", []) if m["type"] == kind and m["way"] == way), {})


async def test_each_message_reads_in_words_on_the_other_side(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    lu_p, be_p = bearer(nodes, "LU", "prosecutor"), bearer(nodes, "BE", "prosecutor")
    be_o = bearer(nodes, "BE", "officer")
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(nodes, http)
        await _act(http, f"{lu}/api/v1/transfers/{case_id}/actions/approve", lu_p)
        be_case, lu_case = f"{be}/api/v1/incoming/{case_id}", f"{lu}/api/v1/transfers/{case_id}"
        await wait_for(lambda: _detail(http, be_case, be_p), lambda c: c.get("stage") == "under_decision")

        # BE consults before refusing on (h); LU's prosecutor reads the question and answers it.
        await _act(http, f"{be_case}/actions/consult", be_p, {"ground": "h", "question": QUESTION})
        seen = await wait_for(lambda: _detail(http, lu_case, lu_p),
                              lambda c: bool(_said(c, "consultation", "received")))
        asked = _said(seen, "consultation", "received")
        assert asked["texts"]["question"] == QUESTION and asked["fields"]["ground"] == "h", asked
        await _act(http, f"{lu_case}/actions/reply", lu_p, {"text": ANSWER})
        seen = await wait_for(lambda: _detail(http, be_case, be_p),
                              lambda c: bool(_said(c, "consultation_reply", "received")))
        assert _said(seen, "consultation_reply", "received")["texts"]["text"] == ANSWER

        # BE adapts measure 5 (community service, Art 9); LU sees original and adapted side by side.
        await _act(http, f"{be_case}/actions/decide", be_p,
                   {"outcome": "adapted", "measures": [{"measure": 4, "hours": 100}], "reasons": REASONS})
        seen = await wait_for(lambda: _detail(http, lu_case, lu_p), lambda c: bool(_said(c, "decision", "received")))
        decision = _said(seen, "decision", "received")
        assert decision["texts"]["reasons"] == REASONS
        original_hours = example_certificate("LU", "BE").measures[4].hours
        assert decision["measures"] == [{"number": 5, "category": decision["measures"][0]["category"],
                                         "original": decision["measures"][0]["original"], "changed": {"hours": 100}}]
        assert decision["measures"][0]["original"].get("hours") == original_hours
        # BE's own page shows what it sent, in the same words.
        sent = _said(await _detail(http, be_case, be_p), "decision", "sent")
        assert sent["texts"]["reasons"] == REASONS and sent["measures"][0]["changed"] == {"hours": 100}
        be_pages = await signed_in(be, "prosecutor")
        be_page = (await be_pages.get(f"/cases/incoming/{case_id}")).text
        for words in (REASONS, "As certified", "As changed", "100"):
            assert words in be_page, words

        lu_pages = await signed_in(lu, "prosecutor")
        page = (await lu_pages.get(f"/cases/outgoing/{case_id}")).text
        for words in (QUESTION, ANSWER, REASONS, "Decision on recognition", "As certified", "As changed"):
            assert words in page, words

        # LU lets supervision start; BE supervises and reports a breach (Annex II).
        await _act(http, f"{lu_case}/actions/confirm_no_withdrawal", lu_p)
        await wait_for(lambda: _detail(http, be_case, be_o), lambda c: "start_supervision" in c.get("actions", []))
        await _act(http, f"{be_case}/actions/start_supervision", be_o)
        await _act(http, f"{be_case}/actions/report_breach", be_o,
                   {"breach": example_breach("LU", "BE").model_dump(mode="json", exclude_none=True)})
        seen = await wait_for(lambda: _detail(http, lu_case, lu_p),
                              lambda c: bool(_said(c, "breach_report", "received")))
        breach = _said(seen, "breach_report", "received")
        assert breach["breach_form"] is True and breach["label"] == "Report of a breach (Annex II)"
        # The API carries the form itself, box by box, for other systems to show.
        sent_form = example_breach("LU", "BE")
        assert breach["breach"]["person"]["surname"] == sent_form.person.surname
        assert [b["description"] for b in breach["breach"]["breaches"]] == [b.description for b in sent_form.breaches]

        # The competent prosecutor is told: an alert on the case page, a task in the queue, the form itself.
        page = (await lu_pages.get(f"/cases/outgoing/{case_id}")).text
        assert "A breach was reported (Art 17)." in page
        queue = (await lu_pages.get("/queue")).text
        assert "Read the breach report and decide what follows (Art 17)" in queue and case_id[:8] in queue
        form = await lu_pages.get(f"/cases/outgoing/{case_id}/messages/{breach['message_id']}/breach.html")
        assert form.status_code == 200 and "Article 17" in form.text, form.text[:300]
        french = await lu_pages.get(f"/cases/outgoing/{case_id}/messages/{breach['message_id']}/breach.html",
                                    headers={"Accept-Language": "fr"})
        assert "article 17" in french.text.lower() and french.text != form.text
        pdf = await lu_pages.get(f"/cases/outgoing/{case_id}/messages/{breach['message_id']}/breach.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        # The case carries the alert, and the dashboard lists it among the breach reports to decide on.
        alerted = await wait_for(lambda: _detail(http, lu_case, lu_p),
                                 lambda c: "breach_reported" in c.get("alerts", []))
        assert "breach_reported" in alerted["alerts"], alerted["alerts"]
        dashboard = (await http.get(f"{lu}/api/v1/dashboard", headers=lu_p)).json()
        assert [r["id"] for r in dashboard["breach_reports"]] == [case_id], dashboard["breach_reports"]
        board = (await lu_pages.get("/dashboard")).text
        assert "Breach reports to decide on (Art 17)" in board and f"/cases/outgoing/{case_id}" in board
        assert "breach report to decide on (Art 17)" in (await lu_pages.get(f"/cases/outgoing/{case_id}")).text
        # BE re-opens the report it sent, from its own case page.
        sent_breach = _said(await _detail(http, be_case, be_o), "breach_report", "sent")
        form_url = f"/cases/incoming/{case_id}/messages/{sent_breach['message_id']}/breach.html"
        assert f'href="{form_url}"' in (await be_pages.get(f"/cases/incoming/{case_id}")).text
        reopened = await be_pages.get(form_url)
        assert reopened.status_code == 200 and "Article 17" in reopened.text, reopened.text[:300]
        await be_pages.aclose()
        # Once LU answers (a request for information), the task leaves the queue and the alert the case.
        await _act(http, f"{lu_case}/actions/request_information", lu_p, {"question": "When exactly?"})
        assert await wait_for(lambda: lu_pages.get("/queue"), lambda r: case_id[:8] not in r.text)
        answered = await wait_for(lambda: _detail(http, lu_case, lu_p),
                                  lambda c: "breach_reported" not in c.get("alerts", ["breach_reported"]))
        assert "breach_reported" not in answered["alerts"]
        dashboard = (await http.get(f"{lu}/api/v1/dashboard", headers=lu_p)).json()
        assert dashboard["breach_reports"] == []
        await lu_pages.aclose()


async def test_a_returned_transfer_is_corrected_and_approved(nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    officer_h, prosecutor_h = bearer(nodes, "LU", "officer"), bearer(nodes, "LU", "prosecutor")
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(nodes, http)
        case_url = f"{lu}/api/v1/transfers/{case_id}"
        await _act(http, f"{case_url}/actions/return", prosecutor_h, {"reason": RETURN_REASON})
        await wait_for(lambda: _detail(http, case_url, officer_h), lambda c: c.get("stage") == "draft")

        # The API: 422 naming the field, nothing stored; the prosecutor may not; then a real correction.
        cert = fresh_certificate("LU", "BE")
        bad = {**cert, "person": {**cert["person"], "date_of_birth": "not-a-date"}}
        r = await http.put(f"{case_url}/certificate", headers=officer_h, json={"certificate": bad})
        assert r.status_code == 422 and any(e["path"].startswith("certificate.person.date_of_birth")
                                            for e in r.json()["errors"]), r.text
        html = (await http.get(f"{case_url}/certificate.html", headers=officer_h)).text
        assert "1990" in html  # the stored certificate is unchanged
        r = await http.put(f"{case_url}/certificate", headers=prosecutor_h, json={"certificate": cert})
        assert r.status_code == 403, r.text
        corrected = {**cert, "person": {**cert["person"], "forenames": "Jean-Corrigé"}}
        r = await http.put(f"{case_url}/certificate", headers=officer_h, json={"certificate": corrected})
        assert r.status_code == 200, r.text
        assert "Jean-Corrigé" in (await http.get(f"{case_url}/certificate.html", headers=officer_h)).text

        # The pages: the officer reads why it came back and corrects it in the wizard, which submits it again.
        # (A submit without the reason the prosecutor must give is answered by GOV.UK's error summary.)
        officer = await signed_in(lu, "officer")
        page = await officer.get(f"/cases/outgoing/{case_id}")
        assert RETURN_REASON in page.text and "The prosecutor returned the transfer" in page.text
        r = await officer.post(f"/cases/outgoing/{case_id}/correct", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 303 and "/transfers/drafts/" in r.headers["location"], r.text
        draft = r.headers["location"].split("/")[3]
        review = await officer.get(f"/transfers/drafts/{draft}/review")
        r = await officer.post(f"/transfers/drafts/{draft}/start", data={"csrf_token": csrf_of(review.text)})
        assert r.status_code == 303 and "done=submit:awaiting_approval" in r.headers["location"], r.text
        assert RETURN_REASON in (await officer.get(f"/cases/outgoing/{case_id}")).text  # kept in the timeline

        # Approve is serious: a confirmation step says what is sent to whom; only the second post sends it.
        prosecutor = await signed_in(lu, "prosecutor")
        page = await prosecutor.get(f"/cases/outgoing/{case_id}")
        r = await prosecutor.post(f"/cases/outgoing/{case_id}/actions/approve",
                                  data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and "Check before you go on" in r.text and "Belgium" in r.text, r.text[:500]
        assert (await _detail(http, case_url, officer_h))["stage"] == "awaiting_approval"
        r = await prosecutor.post(f"/cases/outgoing/{case_id}/actions/approve",
                                  data={"csrf_token": csrf_of(r.text), "confirmed": "1"})
        assert r.status_code == 303 and "done=approve:" in r.headers["location"], r.text
        r = await http.put(f"{case_url}/certificate", headers=officer_h, json={"certificate": cert})
        assert r.status_code == 409, r.text
        await officer.aclose()
        await prosecutor.aclose()


async def test_only_a_transfer_never_submitted_can_be_deleted(nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    officer_h = bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(timeout=60) as http:
        kept = await _new_transfer(nodes, http)
        r = await http.delete(f"{lu}/api/v1/transfers/{kept}", headers=officer_h)
        assert r.status_code == 409, r.text
        fresh = await _new_transfer(nodes, http, submit=False)
        r = await http.delete(f"{lu}/api/v1/transfers/{fresh}", headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 403, r.text
        officer = await signed_in(lu, "officer")
        page = await officer.get(f"/cases/outgoing/{fresh}")
        assert "Delete this transfer" in page.text
        # Never submitted, never returned: nothing was corrected yet, nothing goes "again".
        assert "submits the certificate to the prosecutor for approval" in page.text
        assert "corrected certificate" not in page.text
        r = await officer.post(f"/cases/outgoing/{fresh}/delete", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and "Check before you go on" in r.text
        r = await officer.post(f"/cases/outgoing/{fresh}/delete", data={"csrf_token": csrf_of(r.text),
                                                                       "confirmed": "1"})
        assert r.status_code == 303, r.text
        assert (await http.get(f"{lu}/api/v1/transfers/{fresh}", headers=officer_h)).status_code == 404
        audit = await http.get(f"{lu}/api/v1/audit", params={"case": fresh},
                               headers=bearer(nodes, "LU", "auditor"))
        assert "transfer_deleted" in audit.text, audit.text[:500]
        # A draft certificate (not yet a transfer) goes from the list of cases.
        page = await officer.get("/transfers/new")
        r = await officer.post("/transfers/new", data={"start": "example", "csrf_token": csrf_of(page.text)})
        draft = r.headers["location"].split("/")[3]
        cases = await officer.get("/cases")
        assert f"/transfers/drafts/{draft}/delete" in cases.text
        # After the confirmation step, as the transfer (tests/web/test_draft_delete_asks_first.py says how).
        asked = await officer.get(f"/transfers/drafts/{draft}/delete")
        assert "Check before you go on" in asked.text
        r = await officer.post(f"/transfers/drafts/{draft}/delete", data={"csrf_token": csrf_of(asked.text),
                                                                         "confirmed": "1"})
        assert r.status_code == 303
        assert f"/transfers/drafts/{draft}/a" not in (await officer.get("/cases")).text
        await officer.aclose()


async def test_the_list_finds_a_case_by_name_reference_or_number(nodes: LocalNodes) -> None:
    """Issue 14 (6): the list shows the person's name, the partner State and what is due; the search ignores
    case and accents, and finds the case number and the judgment's reference too."""
    lu = nodes["LU"].url
    cert = fresh_certificate("LU", "BE")
    cert["person"] = {**cert["person"], "surname": "Müller-Gonçalves"}
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": cert})
        assert r.status_code == 201, r.text
        case_id = str(r.json()["id"])
    officer = await signed_in(lu, "officer")
    for query in ("MULLER-GONCALVES", "muller goncalves", case_id[:8], "LCRI 1234/2025"):
        page = await officer.get("/cases", params={"q": query})
        assert page.status_code == 200 and f"/cases/outgoing/{case_id}" in page.text, query
        assert "Müller-Gonçalves" in page.text and "Belgium" in page.text
    page = await officer.get("/cases", params={"q": "Nobody-Of-That-Name"})
    assert f"/cases/outgoing/{case_id}" not in page.text
    await officer.aclose()
