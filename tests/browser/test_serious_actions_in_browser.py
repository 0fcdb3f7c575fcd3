"""Issue 14 (3) in Chromium, as people would do it, at 1366 and 390 px: the serious actions. The LU officer deletes
a transfer never submitted (and a draft certificate from the list of cases); the LU prosecutor withdraws a
certificate and tells Belgium of a review (its three outcomes radios); the BE prosecutor refuses recognition,
transfers the supervision back and revokes the suspension; the BE officer ends the supervision. Each destructive
step is a red `warning` button (never the green one), opens a confirmation that says what will happen and to
whom, and "No, go back to the case" changes nothing. Each page passes axe-core with no violation and does not
scroll sideways. Screenshots go to test-artifacts/browser/serious/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from probatio.harness import LocalNodes
from tests.browser.chromium import WIDTHS, check_page, sign_in
from tests.support import bearer, create_and_approve, fresh_certificate, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "serious"
CONFIRM = "Check before you go on"
FOR_GOOD = "This ends or hands over the transfer for good."
CANNOT_TAKE_BACK = "Once sent, it cannot be taken back."
BACK = "No, go back to the case"
RED = "rgb(177, 14, 30)"  # button.warning in probatio.css


async def _api(http: httpx.AsyncClient, url: str, headers: dict[str, str],
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await http.post(url, headers=headers, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _stage_of(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    r = await http.get(url, headers=headers)
    return str(r.json().get("stage")) if r.status_code == 200 else f"HTTP {r.status_code}"


async def _wait_stage(http: httpx.AsyncClient, url: str, headers: dict[str, str], stage: str) -> None:
    assert await wait_for(lambda: _stage_of(http, url, headers), lambda s: s == stage, 60) == stage


async def _never_submitted(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    made = await _api(http, f"{nodes['LU'].url}/api/v1/transfers", bearer(nodes, "LU", "officer"),
                      {"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
    return str(made["id"])


async def _under_decision(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    case_id = await create_and_approve(http, nodes)
    await _wait_stage(http, f"{nodes['BE'].url}/api/v1/incoming/{case_id}", bearer(nodes, "BE", "prosecutor"),
                      "under_decision")
    return case_id


async def _supervising(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    case_id = await _under_decision(nodes, http)
    be_case = f"{nodes['BE'].url}/api/v1/incoming/{case_id}"
    await _api(http, f"{be_case}/actions/decide", bearer(nodes, "BE", "prosecutor"), {"outcome": "recognised"})

    async def startable() -> list[str]:
        return list((await http.get(be_case, headers=bearer(nodes, "BE", "officer"))).json().get("actions", []))
    await wait_for(startable, lambda a: "start_supervision" in a, 60)
    await _api(http, f"{be_case}/actions/start_supervision", bearer(nodes, "BE", "officer"))
    await _wait_stage(http, be_case, bearer(nodes, "BE", "officer"), "supervising")
    return case_id


def _stage_tag(page: Page) -> Locator:
    return page.locator("main p.meta .tag").first


async def _marked_destructive(button: Locator) -> None:
    """A destructive step's button: the red warning, never the green primary."""
    await expect(button).to_have_class("warning")
    assert await button.evaluate("b => getComputedStyle(b).backgroundColor") == RED


async def _not_the_first_green(page: Page, label: str) -> None:
    """On the case page the green (primary) button, if any, is the expected step, not the destructive one."""
    greens = page.locator("section[aria-labelledby=h-actions] .primary")
    if await greens.count():
        assert label not in await greens.first.inner_text(), await greens.first.inner_text()


async def _confirmation(page: Page, title: str, *, to: str | None, says: list[str], name: str) -> None:
    """The confirmation step of a destructive action: says what will happen and to whom, its one button red."""
    await page.wait_for_load_state()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"{CONFIRM}: {title}")
    what = page.locator(".confirm-what")
    await expect(what).to_have_class("alert error confirm-what")
    if to is not None:
        await expect(what).to_contain_text(f"to {to}. {CANNOT_TAKE_BACK}")
        await expect(what).to_contain_text(FOR_GOOD)
    for words in says:
        await expect(page.locator("main")).to_contain_text(words)
    yes = page.get_by_role("button", name=f"Yes: {title}")
    await _marked_destructive(yes)
    assert await page.locator("main .primary").count() == 0, "a green button on a destructive confirmation"
    await expect(page.get_by_role("link", name=BACK)).to_be_visible()
    await check_page(page, FOLDER, name)


async def _cancel(page: Page, case_path: str, stage: str) -> None:
    """"No, go back to the case": the case page as it was, nothing done."""
    await page.get_by_role("link", name=BACK).click()
    await page.wait_for_load_state()
    assert page.url.endswith(case_path), page.url
    await expect(_stage_tag(page)).to_have_text(stage)
    await expect(page.get_by_role("status")).to_have_count(0)


async def _done(page: Page, action: str, stage: str, outcome: str) -> None:
    await page.wait_for_load_state()
    assert "?done=" in page.url, (page.url, (await page.locator("main").inner_text())[:800])
    await expect(page.get_by_role("status")).to_contain_text(f"Done: {action} — the case is now {stage}.")
    await expect(_stage_tag(page)).to_have_text(stage)
    await expect(page.locator("main p.meta").first).to_contain_text(f"outcome {outcome}")


async def test_the_officer_deletes_a_transfer_never_submitted_and_a_draft(browser: Browser, nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    for width in WIDTHS:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await _never_submitted(nodes, http)
        officer = await sign_in(browser, lu, "officer", width, for_axe=True)
        case_path = f"/cases/outgoing/{case_id}"
        await officer.goto(lu + case_path)
        await expect(officer.get_by_text("Never submitted: you may delete it. You will be asked to confirm.")
                     ).to_be_visible()
        delete = officer.get_by_role("button", name="Delete this transfer")
        await _marked_destructive(delete)
        await _not_the_first_green(officer, "Delete")
        await check_page(officer, FOLDER, f"{width}-01-lu-officer-never-submitted")
        await delete.click()
        await _confirmation(officer, "Delete this transfer", to=None, name=f"{width}-02-lu-confirm-delete",
                            says=["The transfer, its certificate and its documents are deleted. It was never "
                                  "submitted, so no one else has seen it"])
        await _cancel(officer, case_path, "Draft")
        await officer.get_by_role("button", name="Delete this transfer").click()
        await officer.get_by_role("button", name="Yes: Delete this transfer").click()
        await officer.wait_for_url("**/cases?done=transfer_deleted")
        await expect(officer.get_by_role("status")).to_contain_text("The transfer was deleted.")
        await expect(officer.get_by_role("link", name=case_id[:8])).to_have_count(0)
        await check_page(officer, FOLDER, f"{width}-03-lu-cases-after-delete")
        async with httpx.AsyncClient(timeout=60) as http:
            r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
            assert r.status_code == 404, r.text

        # A draft certificate, not yet a transfer: deleted from the list of cases by its red button.
        await officer.goto(f"{lu}/transfers/new")
        await officer.get_by_role("button", name="Start from the training example").click()
        await officer.wait_for_url("**/transfers/drafts/*/a")
        draft = officer.url.rsplit("/", 2)[-2]
        await officer.goto(f"{lu}/cases")
        remove = officer.get_by_role("button", name=f"Delete the draft {draft[:8]}")
        await _marked_destructive(remove)
        await check_page(officer, FOLDER, f"{width}-04-lu-cases-with-draft")
        await remove.click()
        # Asked first, as the transfer was (one red button), and the way back is to the list, where it still is.
        await expect(officer.get_by_role("heading", level=1)).to_have_text(f"{CONFIRM}: Delete this draft")
        await expect(officer.locator(".confirm-what")).to_contain_text("This cannot be undone.")
        await _marked_destructive(officer.get_by_role("button", name="Yes: Delete this draft"))
        assert await officer.locator("main .primary").count() == 0, "a green button on a destructive confirmation"
        await check_page(officer, FOLDER, f"{width}-05-lu-confirm-delete-draft")
        await officer.get_by_role("link", name="No, go back to the list of cases").click()
        await officer.wait_for_url("**/cases")
        await remove.click()
        await officer.get_by_role("button", name="Yes: Delete this draft").click()
        await officer.wait_for_url("**/cases?done=draft_deleted")
        await expect(officer.get_by_role("status")).to_contain_text("The draft was deleted.")
        await expect(officer.get_by_role("link", name=draft[:8])).to_have_count(0)
        await officer.context.close()


async def test_the_issuing_prosecutor_withdraws_and_tells_of_a_review(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    for width in WIDTHS:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await _under_decision(nodes, http)
        prosecutor = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
        case_path = f"/cases/outgoing/{case_id}"
        await prosecutor.goto(lu + case_path)
        await expect(_stage_tag(prosecutor)).to_have_text("Under decision")

        # Art 19: the review's three outcomes are three radios under the question, none chosen; not a box to type in.
        review = prosecutor.locator("form[action$='/actions/notify_review']")
        outcome = review.get_by_role("group", name="Outcome of the review")
        radios = outcome.get_by_role("radio")
        assert await radios.evaluate_all("rs => rs.map(r => r.value)") == ["annulled", "amended", "confirmed"]
        for words in ("annulled", "amended", "confirmed"):
            await expect(outcome.get_by_role("radio", name=words, exact=True)).not_to_be_checked()
        assert await review.locator("select, textarea[name=outcome]").count() == 0
        # Submitted with none chosen: GOV.UK's error summary, whose link leads to the first radio, and the error
        # beside the choice, which stays unmade.
        await review.get_by_role("button").click()
        summary = prosecutor.locator(".error-summary")
        await expect(summary.get_by_role("link")).to_have_text(re.compile("^Outcome of the review"))
        first = await outcome.get_by_role("radio", name="annulled", exact=True).get_attribute("id")
        await expect(summary.get_by_role("link")).to_have_attribute("href", f"#{first}")
        await expect(outcome.locator(".field-error")).to_be_visible()
        await expect(outcome.get_by_role("radio").and_(prosecutor.locator(":checked"))).to_have_count(0)
        await check_page(prosecutor, FOLDER, f"{width}-10a-lu-review-outcome-missing")
        await prosecutor.goto(lu + case_path)

        withdraw = prosecutor.locator("form[action$='/actions/withdraw']")
        button = withdraw.get_by_role("button", name="Withdraw the certificate (Art 9(4))")
        await _marked_destructive(button)
        await _not_the_first_green(prosecutor, "Withdraw")
        await check_page(prosecutor, FOLDER, f"{width}-10-lu-prosecutor-case-under-decision")
        await withdraw.get_by_label("Reason").fill("The person moved to France.")
        await button.click()
        await _confirmation(prosecutor, "Withdraw the certificate (Art 9(4))", to="Belgium",
                            says=["The person moved to France."], name=f"{width}-11-lu-confirm-withdraw")
        await _cancel(prosecutor, case_path, "Under decision")
        async with httpx.AsyncClient(timeout=60) as http:
            assert await _stage_of(http, f"{be}/api/v1/incoming/{case_id}",
                                   bearer(nodes, "BE", "prosecutor")) == "under_decision"
        # Now withdrawn for good.
        await withdraw.get_by_label("Reason").fill("The person moved to France.")
        await button.click()
        await prosecutor.get_by_role("button", name="Yes: Withdraw the certificate (Art 9(4))").click()
        await _done(prosecutor, "Withdraw the certificate (Art 9(4))", "Closed", "withdrawn")
        await expect(prosecutor.locator("section.conversation")).to_contain_text("The person moved to France.")
        await check_page(prosecutor, FOLDER, f"{width}-12-lu-withdrawn")
        await prosecutor.context.close()


async def test_the_executing_prosecutor_refuses_recognition(browser: Browser, nodes: LocalNodes) -> None:
    be = nodes["BE"].url
    for width in WIDTHS:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await _under_decision(nodes, http)
        prosecutor = await sign_in(browser, be, "prosecutor", width, for_axe=True)
        case_path = f"/cases/incoming/{case_id}"
        await prosecutor.goto(f"{be}{case_path}/decide")
        await prosecutor.get_by_label("Refuse recognition (Art 11)").check()
        await prosecutor.get_by_label("(f) immunity").check()
        await prosecutor.get_by_label("Reasons (sent to the issuing State").fill("The person enjoys immunity here.")
        await check_page(prosecutor, FOLDER, f"{width}-20-be-decide-refuse")
        await prosecutor.get_by_role("button", name="Record the decision").click()
        await _confirmation(prosecutor, "Decide on recognition", to="Luxembourg",
                            says=["The person enjoys immunity here.", "refused"],
                            name=f"{width}-21-be-confirm-refusal")
        await _cancel(prosecutor, case_path, "Under decision")
        async with httpx.AsyncClient(timeout=60) as http:
            assert await _stage_of(http, f"{be}/api/v1/incoming/{case_id}",
                                   bearer(nodes, "BE", "prosecutor")) == "under_decision"
        # Refused for good, through the same steps.
        await prosecutor.goto(f"{be}{case_path}/decide")
        await prosecutor.get_by_label("Refuse recognition (Art 11)").check()
        await prosecutor.get_by_label("(f) immunity").check()
        await prosecutor.get_by_label("Reasons (sent to the issuing State").fill("The person enjoys immunity here.")
        await prosecutor.get_by_role("button", name="Record the decision").click()
        await prosecutor.get_by_role("button", name="Yes: Decide on recognition").click()
        await _done(prosecutor, "Decide on recognition", "Closed", "refused")
        await check_page(prosecutor, FOLDER, f"{width}-22-be-refused")
        await prosecutor.context.close()


async def test_under_supervision_end_transfer_back_and_revoke(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    for width in WIDTHS:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await _supervising(nodes, http)
        case_path = f"/cases/incoming/{case_id}"

        # Art 16(1)(d): the BE officer ends the supervision; cancelled.
        officer = await sign_in(browser, be, "officer", width, for_axe=True)
        await officer.goto(be + case_path)
        end = officer.locator("form[action$='/actions/end_supervision']").get_by_role("button")
        await _marked_destructive(end)
        await _not_the_first_green(officer, "End the supervision")
        await check_page(officer, FOLDER, f"{width}-30-be-officer-supervising")
        await end.click()
        await _confirmation(officer, "End the supervision: measures complied with (Art 16(1)(d))", to="Luxembourg",
                            says=[], name=f"{width}-31-be-confirm-end-supervision")
        await _cancel(officer, case_path, "Supervising")
        await officer.context.close()

        prosecutor = await sign_in(browser, be, "prosecutor", width, for_axe=True)
        await prosecutor.goto(be + case_path)
        # Art 20: transfer the supervision back; cancelled.
        back = prosecutor.locator("form[action$='/actions/transfer_back']")
        await _marked_destructive(back.get_by_role("button"))
        await _not_the_first_green(prosecutor, "Transfer the supervision back")
        await check_page(prosecutor, FOLDER, f"{width}-32-be-prosecutor-supervising")
        await back.get_by_label("Why").select_option("absconded")
        await back.get_by_role("button").click()
        await _confirmation(prosecutor, "Transfer the supervision back (Art 20)", to="Luxembourg",
                            says=["the person absconded"], name=f"{width}-33-be-confirm-transfer-back")
        await _cancel(prosecutor, case_path, "Supervising")

        # Art 16(1): a subsequent decision that revokes the suspension; cancelled, then confirmed.
        subsequent = prosecutor.locator("form[action$='/actions/decide_subsequent']")
        await _marked_destructive(subsequent.get_by_role("button", name="Take a subsequent decision (Art 16(1))"))
        for confirmed in (False, True):
            await subsequent.locator("#decide_subsequent-decision").select_option("revoke")
            await subsequent.locator("#decide_subsequent-reasons").fill("Repeated breaches.")
            await subsequent.get_by_role("button", name="Take a subsequent decision (Art 16(1))").click()
            if not confirmed:
                await _confirmation(prosecutor, "Take a subsequent decision (Art 16(1))", to="Luxembourg",
                                    says=["revoke the suspension", "Repeated breaches."],
                                    name=f"{width}-34-be-confirm-revoke")
                await _cancel(prosecutor, case_path, "Supervising")
                async with httpx.AsyncClient(timeout=60) as http:
                    assert await _stage_of(http, f"{be}/api/v1/incoming/{case_id}",
                                           bearer(nodes, "BE", "prosecutor")) == "supervising"
        await prosecutor.get_by_role("button", name="Yes: Take a subsequent decision (Art 16(1))").click()
        await _done(prosecutor, "Take a subsequent decision (Art 16(1))", "Closed", "revoked")
        await check_page(prosecutor, FOLDER, f"{width}-35-be-revoked")
        await prosecutor.context.close()

        # Luxembourg reads it.
        async with httpx.AsyncClient(timeout=60) as http:
            async def told(lu_case: str = f"{lu}/api/v1/transfers/{case_id}") -> list[str]:
                r = await http.get(lu_case, headers=bearer(nodes, "LU", "prosecutor"))
                return [m["type"] for m in r.json().get("conversation", [])]
            assert "subsequent_decision" in await wait_for(told, lambda t: "subsequent_decision" in t, 60)
