"""Issue 14 in Chromium, as people would do it, at 1366 and 390 px: the LU prosecutor reads on the case page what
BE asked and decided (the consultation, the adaptation beside the original measures, the breach report as its
Annex II form with its alert); the BE prosecutor reads LU's answer; the LU officer reads why the prosecutor
returned a transfer, corrects it in the wizard and submits it again, and the prosecutor approves it through the
confirmation step. Each page passes axe-core with no violation and does not scroll sideways. Screenshots go to
test-artifacts/browser/conversation/."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from forms.examples import example_breach
from probatio.harness import LocalNodes, attach_example_judgment
from tests.browser.chromium import WIDTHS, check_page, sign_in
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "conversation"
QUESTION = "Was the person present at the trial that led to the judgment?"
ANSWER = "Yes: present and defended by counsel, see page 2 of the judgment."
REASONS = "Community service is capped at 100 hours in Belgium."
RETURN_REASON = "Box (e): the Belgian address lacks its postcode."


async def _api(http: httpx.AsyncClient, method: str, url: str, headers: dict[str, str],
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await http.request(method, url, headers=headers, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _stage(http: httpx.AsyncClient, url: str, headers: dict[str, str], stage: str) -> None:
    async def fetch() -> str:
        r = await http.get(url, headers=headers)
        return str(r.json().get("stage")) if r.status_code == 200 else ""
    await wait_for(fetch, lambda s: s == stage, 60)


async def _transfer(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    lu = nodes["LU"].url
    made = await _api(http, "POST", f"{lu}/api/v1/transfers", bearer(nodes, "LU", "officer"),
                      {"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
    case_id = str(made["id"])
    assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
    await _api(http, "POST", f"{lu}/api/v1/transfers/{case_id}/actions/submit", bearer(nodes, "LU", "officer"))
    return case_id


async def _conversation_case(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """LU → BE with a consultation and its answer, an adaptation, supervision and a breach report."""
    lu, be = nodes["LU"].url, nodes["BE"].url
    lu_p, be_p, be_o = bearer(nodes, "LU", "prosecutor"), bearer(nodes, "BE", "prosecutor"), bearer(nodes, "BE",
                                                                                                    "officer")
    case_id = await _transfer(nodes, http)
    lu_case, be_case = f"{lu}/api/v1/transfers/{case_id}", f"{be}/api/v1/incoming/{case_id}"
    await _api(http, "POST", f"{lu_case}/actions/approve", lu_p)
    await _stage(http, be_case, be_p, "under_decision")
    await _api(http, "POST", f"{be_case}/actions/consult", be_p, {"ground": "h", "question": QUESTION})
    await _stage(http, lu_case, lu_p, "consultation")
    await _api(http, "POST", f"{lu_case}/actions/reply", lu_p, {"text": ANSWER})

    async def answered() -> dict[str, Any]:
        return dict((await http.get(be_case, headers=be_p)).json())
    await wait_for(answered, lambda c: any(m["type"] == "consultation_reply" for m in c["conversation"]), 60)
    await _api(http, "POST", f"{be_case}/actions/decide", be_p,
               {"outcome": "adapted", "measures": [{"measure": 4, "hours": 100}], "reasons": REASONS})
    await _stage(http, lu_case, lu_p, "adapted")
    await _api(http, "POST", f"{lu_case}/actions/confirm_no_withdrawal", lu_p)

    async def startable() -> list[str]:
        return list((await http.get(be_case, headers=be_o)).json().get("actions", []))
    await wait_for(startable, lambda a: "start_supervision" in a, 60)
    await _api(http, "POST", f"{be_case}/actions/start_supervision", be_o)
    await _api(http, "POST", f"{be_case}/actions/report_breach", be_o,
               {"breach": example_breach("LU", "BE").model_dump(mode="json", exclude_none=True)})

    async def reported() -> dict[str, Any]:
        return dict((await http.get(lu_case, headers=lu_p)).json())
    await wait_for(reported, lambda c: any(m["type"] == "breach_report" for m in c["conversation"]), 60)
    return case_id


async def test_the_conversation_read_on_both_sides(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _conversation_case(nodes, http)
    for width in WIDTHS:
        prosecutor = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
        await prosecutor.goto(f"{lu}/queue")
        await expect(prosecutor.get_by_text("Read the breach report and decide what follows (Art 17)")
                     ).to_be_visible()
        await check_page(prosecutor, FOLDER, f"{width}-01-lu-queue-breach-task")
        await prosecutor.goto(f"{lu}/cases/outgoing/{case_id}")
        panel = prosecutor.locator("section.conversation")
        await expect(panel.get_by_role("heading", name="Conversation with Belgium")).to_be_visible()
        await expect(prosecutor.get_by_role("alert").filter(has_text="A breach was reported (Art 17).")).to_be_visible()
        for words in (QUESTION, ANSWER, REASONS):
            await expect(panel.get_by_text(words)).to_be_visible()
        await expect(panel.get_by_role("heading", name="Received from Belgium: Consultation before a refusal")
                     ).to_be_visible()
        side_by_side = panel.locator("table.side-by-side")
        await expect(side_by_side).to_contain_text("100 hours")
        await expect(side_by_side.get_by_role("columnheader", name="As certified")).to_be_visible()
        form = prosecutor.frame_locator("iframe[title='The breach report, Annex II']")
        await expect(form.locator("body")).to_contain_text("Article 17")
        async with prosecutor.expect_download() as download:
            await panel.get_by_role("link", name="The breach report, Annex II (PDF)").click()
        assert (await download.value).suggested_filename.startswith("breach-report-")
        await check_page(prosecutor, FOLDER, f"{width}-02-lu-case-conversation")
        # A form sent without its required text: GOV.UK's error summary on top, focused, linking to the field.
        ask = prosecutor.locator("form[action$='/actions/request_information']")
        await ask.get_by_role("button", name="Ask the executing State for information").click()
        summary = prosecutor.locator(".error-summary")
        await expect(summary).to_be_focused()
        await summary.get_by_role("link", name="Question").click()
        await expect(prosecutor.locator("#request_information-question")).to_be_focused()
        await check_page(prosecutor, FOLDER, f"{width}-02b-lu-error-summary")
        await prosecutor.context.close()

        be_prosecutor = await sign_in(browser, be, "prosecutor", width, for_axe=True)
        await be_prosecutor.goto(f"{be}/cases/incoming/{case_id}")
        panel = be_prosecutor.locator("section.conversation")
        await expect(panel.get_by_role("heading", name="Received from Luxembourg: Answer to the consultation")
                     ).to_be_visible()
        await expect(panel.get_by_text(ANSWER)).to_be_visible()
        await expect(panel.get_by_role("heading", name="Sent to Luxembourg: Report of a breach (Annex II)")
                     ).to_be_visible()
        await check_page(be_prosecutor, FOLDER, f"{width}-03-be-case-conversation")
        await be_prosecutor.context.close()


async def _returned(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """A transfer the LU prosecutor returned to the officer, with the reason why (Art 6(3))."""
    lu = nodes["LU"].url
    case_id = await _transfer(nodes, http)
    await _api(http, "POST", f"{lu}/api/v1/transfers/{case_id}/actions/return", bearer(nodes, "LU", "prosecutor"),
               {"reason": RETURN_REASON})
    await _stage(http, f"{lu}/api/v1/transfers/{case_id}", bearer(nodes, "LU", "officer"), "draft")
    return case_id


async def test_a_returned_transfer_corrected_and_approved_in_the_browser(browser: Browser, nodes: LocalNodes) -> None:
    """At each width, the whole walk: the officer reads why it was returned, corrects box (e) in the wizard,
    checks and submits it again and finds it in the list of cases by the person's name; the prosecutor signs
    and sends it through the confirmation step, and the certificate sent carries the correction."""
    lu = nodes["LU"].url
    async with httpx.AsyncClient(timeout=60) as http:
        returned_cases = await asyncio.gather(*(_returned(nodes, http) for _ in WIDTHS))

    for width, case_id in zip(WIDTHS, returned_cases, strict=True):
        forenames = f"Jean-Corrigé {width}"
        officer = await sign_in(browser, lu, "officer", width, for_axe=True)
        await officer.goto(f"{lu}/cases/outgoing/{case_id}")
        returned = officer.locator(".alert.returned")
        await expect(returned).to_contain_text("The prosecutor returned the transfer")
        await expect(returned).to_contain_text(RETURN_REASON)
        await check_page(officer, FOLDER, f"{width}-04-lu-returned")
        # The officer corrects it: the wizard opens on the certificate, then submits it again.
        await officer.get_by_role("button", name="Correct the certificate in the wizard").click()
        await officer.wait_for_url("**/transfers/drafts/*/a")
        await expect(officer.locator(".alert.returned")).to_contain_text(RETURN_REASON)
        draft_url = officer.url.rsplit("/", 1)[0]
        await officer.goto(f"{draft_url}/e")  # box (e): the person
        if width == WIDTHS[-1]:
            # At phone width the step starts with its form; the list of boxes comes after it.
            form_top = (await officer.locator("section.step").bounding_box() or {}).get("y", 0)
            list_top = (await officer.locator("nav.tasklist").bounding_box() or {}).get("y", 0)
            assert form_top < list_top, (form_top, list_top)
        await check_page(officer, FOLDER, f"{width}-04b-lu-wizard-box-e")
        await officer.locator("#f-person-forenames").fill(forenames)
        await officer.locator(".buttons button[name=go]").first.click()
        await officer.wait_for_load_state()
        await officer.goto(f"{draft_url}/review")
        await expect(officer.locator(".alert.ok")).to_contain_text(
            "Submitting it replaces the transfer's certificate and sends it to the prosecutor again")
        await check_page(officer, FOLDER, f"{width}-05-lu-correction-review")
        await officer.get_by_role("button", name="Submit the corrected certificate for approval").click()
        await officer.wait_for_url("**/cases/outgoing/*")
        await expect(officer.get_by_role("status")).to_contain_text("Awaiting approval")
        await expect(officer.locator(".alert.returned")).to_have_count(0)
        await check_page(officer, FOLDER, f"{width}-05b-lu-resubmitted")
        # The list finds it by the person's name, accents and case aside.
        await officer.goto(f"{lu}/cases")
        await officer.get_by_label("Find a case by the person's name, the case number or a reference").fill("MULLER")
        await officer.get_by_role("button", name="Search").click()
        await expect(officer.get_by_role("link", name=case_id[:8])).to_be_visible()
        await check_page(officer, FOLDER, f"{width}-07-lu-case-list-search")
        await officer.context.close()

        prosecutor = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
        await prosecutor.goto(f"{lu}/cases/outgoing/{case_id}")
        await expect(prosecutor.locator("main")).to_contain_text(forenames)
        await prosecutor.get_by_role("button", name="Sign and send to the executing State").click()
        await expect(prosecutor.get_by_role("heading", level=1)).to_contain_text("Check before you go on")
        await expect(prosecutor.locator(".confirm-what")).to_contain_text("to Belgium")
        await check_page(prosecutor, FOLDER, f"{width}-06-lu-confirm-approval")
        await prosecutor.get_by_role("button", name="Yes: Sign and send to the executing State").click()
        await expect(prosecutor.get_by_role("status")).to_contain_text("Sent")
        await check_page(prosecutor, FOLDER, f"{width}-06b-lu-approved-and-sent")
        await prosecutor.goto(f"{lu}/cases/outgoing/{case_id}/certificate.html")
        await expect(prosecutor.locator("body")).to_contain_text(forenames)
        await prosecutor.context.close()
