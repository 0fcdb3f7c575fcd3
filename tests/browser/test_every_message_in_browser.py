"""Issue 14 (1) in Chromium, as people would do it, at 1366 and 390 px: every kind of message of the conversation
is read, in words, on the case page of the State that RECEIVED it. At each width the LU officer reads Belgium's
request for a completed certificate (what is missing, and by when, as a date), corrects box (e) in the wizard and
sends it; the BE prosecutor reads what changed, box by box. Four more transfers LU → BE are driven through the API
(as tests/web/test_conversation_words.py does); then the LU prosecutor reads what Belgium sent (the delay notice:
its reasons and the expected date; the maximum custody; the decision with its reasons and the adapted measure
beside the certified one; the answer to an information request; the subsequent decision; the answer to a request
for the supervision back; the end of the supervision) and the BE prosecutor what Luxembourg sent (the completed
certificate; the information request; the request for the supervision back; the review of the judgment; the
amnesty or pardon; the withdrawal). Each page passes axe-core with no violation and does not scroll sideways.
Screenshots go to test-artifacts/browser/every-message/."""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from probatio.harness import LocalNodes
from tests.browser.chromium import WIDTHS, check_page, sign_in
from tests.support import wait_for
from tests.transfer_driver import Transfer, detail, got
from web.i18n import translator
from web.pages_wizard import field_id

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "every-message"
MISSING = "Box (e): the postcode of the Belgian address."
DELAY_REASONS = "An expert opinion on the person's fitness is awaited."
ADAPT_REASONS = "Community service is capped at 100 hours in Belgium (Art 9(1))."
QUESTION = "On which dates did the person miss the appointments?"
INFORMATION = "On 3 and 17 May, without an excuse."
MODIFY_REASONS = "A shorter course of reporting suffices."
MODIFIED = "Report to the probation officer twice a month."
BACK_REASON = "New criminal proceedings against the person here."
DECLINED = "The supervision goes well in Arlon."
REVIEW_REASONS = "The Court of Appeal reduced the sentence."
AMNESTY_REASONS = "Pardoned by grand-ducal decree of 2 June 2026."
WITHDRAW_REASON = "The person moved to France."
NEW_STREET = "Rue de l'Exemple 7, boîte 2"
NEW_POSTCODE = "6701"
# A closed case is outside a reader's own work: the page asks why it is opened (web/why.py).
WHY = "Checking the conversation of a closed case."


async def _full(t: Transfer) -> None:
    """Completion asked for and sent, a delay, the maximum custody, an adaptation, supervision, information asked
    for and given, a modification, the supervision asked back and declined, then ended."""
    await t.start()
    await t.be_does("request_completion", {"missing": MISSING, "due_days": 10}, arrives="completion_request")
    await _note_due(t)
    completed = copy.deepcopy(t.certificate)
    completed["person"]["addresses"]["in_executing_state"].update(street=NEW_STREET, postcode=NEW_POSTCODE)
    await t.lu_does("complete", {"certificate": completed}, arrives="completion")
    await t.be_does("notify_delay", {"reasons": DELAY_REASONS, "expected_by": "2027-07-05"}, arrives="delay_notice")
    await t.be_does("give_max_custody", {"max_custody_days": 90}, arrives="max_custody_info")
    await t.be_does("decide", {"outcome": "adapted", "measures": [{"measure": 4, "hours": 100}],
                               "reasons": ADAPT_REASONS}, arrives="decision")
    await t.lu_does("confirm_no_withdrawal", arrives="no_withdrawal")
    await wait_for(lambda: detail(t.http, t.be, t.be_o), lambda c: "start_supervision" in c.get("actions", []), 60)
    await t.be_does("start_supervision", arrives="supervision_started")
    await t.lu_does("request_information", {"question": QUESTION}, arrives="information_request")
    await t.be_does("answer_information", {"text": INFORMATION}, arrives="information")
    await t.be_does("decide_subsequent", {"decision": "modify", "reasons": MODIFY_REASONS,
                                          "measures": [{"measure": 1, "description": MODIFIED}]},
                    arrives="subsequent_decision")
    await t.lu_does("request_transfer_back", {"reason": BACK_REASON}, arrives="transfer_back_request")
    await t.be_does("answer_transfer_back", {"agree": False, "reasons": DECLINED}, arrives="transfer_back_declined")
    await t.be_does("end_supervision", arrives="supervision_ended")


async def _reviewed(t: Transfer) -> None:
    """Art 19: the judgment amended on review."""
    await t.start()
    await t.lu_does("notify_review", {"outcome": "amended", "reasons": REVIEW_REASONS}, arrives="judgment_review")


async def _pardoned(t: Transfer) -> None:
    """Art 19(1): an amnesty or pardon granted in Luxembourg."""
    await t.start()
    await t.lu_does("notify_amnesty", {"reasons": AMNESTY_REASONS}, arrives="amnesty_pardon")


async def _withdrawn(t: Transfer) -> None:
    """Art 9(4): the certificate withdrawn before Belgium decided."""
    await t.start()
    await t.lu_does("withdraw", {"reason": WITHDRAW_REASON}, arrives="withdrawal")


async def _open(page: Page, url: str, why_shot: str) -> None:
    """The case page; a closed case outside one's own work first asks why it is opened, and the reader says why."""
    await page.goto(url)
    if await page.get_by_role("heading", level=1, name="Why do you open this case?").count():
        await check_page(page, FOLDER, why_shot)
        await page.get_by_label("Reason").fill(WHY)
        await page.get_by_role("button", name="Open the case").click()
        await page.wait_for_load_state()
    await expect(page.locator("section.conversation")).to_be_visible()


def _message(page: Page, heading: str) -> Locator:
    """The one received message whose heading starts with `heading` (e.g. "Received from Belgium: …")."""
    return page.locator("section.conversation li.message.received").filter(
        has=page.get_by_role("heading", level=3, name=heading))



def _field(message: Locator, label: str) -> Locator:
    """What a message says under `label`: the <dd> after the <dt> that reads exactly so."""
    return message.locator("dl.message-fields > dt").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).locator("xpath=following-sibling::dd[1]")


async def _reads(message: Locator, fields: dict[str, str]) -> None:
    await expect(message).to_have_count(1)
    for label, words in fields.items():
        await expect(_field(message, label)).to_have_text(words)


async def _in_words(page: Page) -> None:
    """The conversation as a person reads it: no ISO date, no code of the API (the people's own words have none)."""
    text = await page.locator("section.conversation").inner_text()
    found = re.findall(r"\d{4}-\d{2}-\d{2}|\b[a-z]+_[a-z_]+\b", text)
    assert not found, found


async def _completion_asked(t: Transfer) -> None:
    """Belgium asks for a completed certificate within 10 days; `t.due` is the day it is due."""
    await t.start()
    await t.be_does("request_completion", {"missing": MISSING, "due_days": 10}, arrives="completion_request")
    await _note_due(t)


async def _note_due(t: Transfer) -> None:
    """`t.due`: the day the completion Belgium asked for within 10 days is due, 10 days after it was asked."""
    case = await detail(t.http, t.lu, t.lu_s)
    asked = next(m for m in case["conversation"] if m["type"] == "completion_request")
    t.due = (datetime.fromisoformat(asked["at"]) + timedelta(days=10)).date()


async def test_a_completion_asked_for_is_sent_from_the_wizard_and_read_box_by_box(browser: Browser,
                                                                                  nodes: LocalNodes) -> None:
    """Art 8(2): the LU officer reads what Belgium finds missing and by when, corrects box (e) in the wizard and
    sends the completed certificate; the BE prosecutor reads what changed, box by box."""
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        asked = [Transfer(nodes, http) for _ in WIDTHS]
        await asyncio.gather(*(_completion_asked(t) for t in asked))
        for width, t in zip(WIDTHS, asked, strict=True):
            due = translator("en").date(t.due)  # "10 Dec 2026": day, month in words, year
            officer = await sign_in(browser, lu, "officer", width, for_axe=True)
            await officer.goto(f"{lu}/cases/outgoing/{t.id}")
            request = officer.locator(".alert.completion-request")
            await expect(request).to_contain_text(f"to be sent by {due}.")
            await expect(request.locator("blockquote")).to_have_text(MISSING)
            deadline = officer.locator("section[aria-labelledby=h-deadlines] tr").filter(
                has_text="send the completed certificate")
            await expect(deadline).to_contain_text(due)
            await _reads(_message(officer, "Received from Belgium: Request to complete the certificate"),
                         {"what is missing": MISSING, "days given": f"10 days, by {due}"})
            await _in_words(officer)
            await check_page(officer, FOLDER, f"{width}-01-lu-completion-asked")

            await officer.get_by_role("button", name="Correct the certificate").click()
            await officer.wait_for_url("**/transfers/drafts/*/a")
            note = officer.locator(".alert.completion-request")
            await expect(note).to_contain_text(f"Belgium asked (to be sent by {due}):")
            await expect(note.locator("blockquote")).to_have_text(MISSING)
            draft = officer.url.rsplit("/", 1)[0]
            await officer.goto(f"{draft}/e")  # box (e): the person, their address in Belgium
            await officer.locator(f"#{field_id('person.addresses.in_executing_state.street')}").fill(NEW_STREET)
            await officer.locator(f"#{field_id('person.addresses.in_executing_state.postcode')}").fill(NEW_POSTCODE)
            await check_page(officer, FOLDER, f"{width}-02-lu-wizard-box-e")
            await officer.locator(".buttons button[name=go]").first.click()
            await officer.wait_for_load_state()
            await officer.goto(f"{draft}/review")
            await expect(officer.locator(".alert.ok")).to_contain_text(
                "Sending it replaces the certificate of the case and sends it again to Belgium")
            # What the officer changed, before it is sent: the two boxes of the address, and nothing else.
            await expect(officer.locator("table.certificate-changes tbody tr")).to_have_count(2)
            await expect(officer.locator("table.certificate-changes tbody tr").filter(
                has_text="(e) In the executing State: Postcode").locator("td")).to_have_text(
                ["(e) In the executing State: Postcode", "6700", NEW_POSTCODE])
            await check_page(officer, FOLDER, f"{width}-03-lu-completion-review")
            await officer.get_by_role("button", name="Send the corrected certificate").click()
            await officer.wait_for_url("**/cases/outgoing/*")
            await expect(officer.locator(".alert.completion-request")).to_have_count(0)
            await expect(officer.locator("section.conversation li.message.sent").filter(
                has=officer.get_by_role("heading", name="Sent to Belgium: Completed certificate"))).to_have_count(1)
            await check_page(officer, FOLDER, f"{width}-04-lu-completion-sent")
            await officer.context.close()

            await t.wait("BE", lambda c: got(c, "completion"))
            prosecutor = await sign_in(browser, be, "prosecutor", width, for_axe=True)
            await _open(prosecutor, f"{be}/cases/incoming/{t.id}", f"{width}-05a-be-why")
            completed = _message(prosecutor, "Received from Luxembourg: Completed certificate")
            await expect(completed).to_have_count(1)
            changes = completed.locator("table").filter(
                has=prosecutor.locator("caption", has_text="What changed in the certificate"))
            for header in ("Box", "Before", "After"):
                await expect(changes.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
            await expect(changes.locator("tbody tr")).to_have_count(2)
            for box, before, after in (("(e) In the executing State: Postcode", "6700", NEW_POSTCODE),
                                       ("(e) In the executing State: Street and number", "Rue de l'Exemple 7",
                                        NEW_STREET)):
                await expect(changes.locator("tbody tr").filter(has_text=box).locator("td")
                             ).to_have_text([box, before, after])
            await _in_words(prosecutor)
            await check_page(prosecutor, FOLDER, f"{width}-05-be-completion-read")
            await prosecutor.context.close()


async def test_every_message_read_on_the_receiving_page(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        full, reviewed, pardoned, withdrawn = transfers = [Transfer(nodes, http) for _ in range(4)]
        await asyncio.gather(_full(full), _reviewed(reviewed), _pardoned(pardoned), _withdrawn(withdrawn))
    assert all(t.id for t in transfers)
    for width in WIDTHS:
        # Luxembourg reads what Belgium sent.
        page = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
        await _open(page, f"{lu}/cases/outgoing/{full.id}", f"{width}-10a-lu-why")
        await expect(page.get_by_role("heading", level=2, name="Conversation with Belgium")).to_be_visible()
        await _reads(_message(page, "Received from Belgium: Request to complete the certificate"),
                     {"what is missing": MISSING, "days given": f"10 days, by {translator('en').date(full.due)}"})
        await _reads(_message(page, "Received from Belgium: The decision will take longer"),
                     {"reasons": DELAY_REASONS, "expected by": "5 Jul 2027"})
        await _reads(_message(page, "Received from Belgium: Maximum custody on non-compliance"),
                     {"maximum custody": "2 months and 29 days (90 days)"})
        decision = _message(page, "Received from Belgium: Decision on recognition")
        await _reads(decision, {"outcome": "adapted", "reasons": ADAPT_REASONS})
        # The adapted measure beside the certified one, in one row of one table.
        side_by_side = decision.locator("table.side-by-side")
        for header in ("As certified", "As changed"):
            await expect(side_by_side.get_by_role("columnheader", name=header)).to_be_visible()
        await expect(side_by_side.locator("caption")).to_have_text("Measures: as certified, and as changed")
        row = side_by_side.locator("tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("td").nth(0)).to_have_text("5")
        await expect(row.locator("td").nth(1)).to_have_text("(i) obligation to carry out community service")
        await expect(row.locator("td").nth(2)).to_contain_text("120 hours")
        await expect(row.locator("td").nth(2)).to_contain_text("Accomplir 120 heures de travail")
        await expect(row.locator("td").nth(3)).to_have_text("100 hours")
        await _reads(_message(page, "Received from Belgium: Information"), {"answer": INFORMATION})
        subsequent = _message(page, "Received from Belgium: Subsequent decision")
        await _reads(subsequent, {"decision": "modify the measures", "reasons": MODIFY_REASONS})
        modified = subsequent.locator("table.side-by-side tbody tr")
        await expect(modified.locator("td")).to_have_text([
            "2", "(e) obligation to report at specified times to a specific authority",
            "Se présenter une fois par mois à l'agent de probation aux dates fixées par celui-ci.", MODIFIED])
        await _reads(_message(page, "Received from Belgium: Transfer back declined"), {"reasons": DECLINED})
        await _reads(_message(page, "Received from Belgium: Supervision ended"), {"outcome": "completed"})
        await _in_words(page)
        await check_page(page, FOLDER, f"{width}-10-lu-reads-what-belgium-sent")
        await page.context.close()

        # Belgium reads what Luxembourg sent.
        page = await sign_in(browser, be, "prosecutor", width, for_axe=True)
        await _open(page, f"{be}/cases/incoming/{full.id}", f"{width}-11a-be-why")
        await expect(page.get_by_role("heading", level=2, name="Conversation with Luxembourg")).to_be_visible()
        completed = _message(page, "Received from Luxembourg: Completed certificate")
        await expect(completed.locator("table tbody tr").filter(has_text="(e) In the executing State: Postcode")
                     .locator("td")).to_have_text(["(e) In the executing State: Postcode", "6700", NEW_POSTCODE])
        await _reads(_message(page, "Received from Luxembourg: Request for information"), {"question": QUESTION})
        await _reads(_message(page, "Received from Luxembourg: Request to transfer the supervision back"),
                     {"reason": BACK_REASON})
        await _in_words(page)
        await check_page(page, FOLDER, f"{width}-11-be-reads-what-luxembourg-sent")

        for t, heading, fields, name in (
                (reviewed, "Review of the judgment", {"outcome": "amended", "reasons": REVIEW_REASONS}, "review"),
                (pardoned, "Amnesty or pardon", {"reasons": AMNESTY_REASONS}, "amnesty"),
                (withdrawn, "Withdrawal of the certificate", {"reason": WITHDRAW_REASON}, "withdrawal")):
            await _open(page, f"{be}/cases/incoming/{t.id}", f"{width}-12a-be-why-{name}")
            await _reads(_message(page, f"Received from Luxembourg: {heading}"), fields)
            await _in_words(page)
            await check_page(page, FOLDER, f"{width}-12-be-reads-{name}")
        await page.context.close()
