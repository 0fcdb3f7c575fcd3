"""The Annex II breach page in a real browser, at 1366 and 390 px: the BE officer goes from the case page to the
form, ticks a breached measure, previews the report as LU will receive it (a sandboxed frame styled by the form's
own stylesheet, nothing else allowed), and sends it. Markup typed into a field never runs. The form, the preview
and the sent case page each pass axe-core with no violation and do not scroll sideways (axe-core is injected with
the page's CSP bypassed, so the walk that checks what the CSP blocks is a walk of its own). Screenshots go to
test-artifacts/browser/breach/."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from probatio.harness import LocalNodes, attach_example_judgment
from tests.browser.chromium import WIDTHS, check_page, shot, sign_in
from tests.support import bearer, fresh_certificate, wait_for
from web.pages_wizard import field_id

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "breach"
MARKUP = "Muller<script>alert(1)</script><img src=x onerror=alert(2)>"
WHAT = "Ne s'est pas présenté au rendez-vous."


async def _supervised_case(nodes: LocalNodes) -> str:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE",
                                  "certificate": fresh_certificate("LU", "BE")})
        case_id = str(r.json()["id"])
        assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
        for role, action in (("officer", "submit"), ("prosecutor", "approve")):
            await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/{action}", headers=bearer(nodes, "LU", role))

        async def be_stage() -> str:
            r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
            return str(r.json().get("stage")) if r.status_code == 200 else ""

        assert await wait_for(be_stage, lambda s: s == "under_decision") == "under_decision"
        await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=bearer(nodes, "BE", "prosecutor"))
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/start_supervision",
                            headers=bearer(nodes, "BE", "officer"))
        assert r.json()["stage"] == "supervising", r.text
    return case_id


async def _walk(page: Page, be: str, case_id: str, name: str, *, axe: bool) -> None:
    """From the case page to the sent report; `axe`: check_page on the form, the preview and the sent page."""
    async def look(step: str) -> None:
        await (check_page(page, FOLDER, f"{name}-{step}") if axe else shot(page, FOLDER, f"{name}-{step}"))

    await page.goto(f"{be}/cases/incoming/{case_id}")
    await page.get_by_role("link", name="Report a breach").click()
    await page.wait_for_url("**/breach")
    await expect(page.locator(f"#{field_id('person.surname')}")).to_have_value("Muller")

    async def fill(path: str, value: str) -> None:
        await page.locator(f"#{field_id(path)}").fill(value)

    await fill("supervising_authority.name", "Maison de justice d'Arlon")
    for prefix in ("supervising_authority", "contact"):
        await fill(f"{prefix}.address.street", "Place Schalbert 1")
        await fill(f"{prefix}.address.city", "Arlon")
        await fill(f"{prefix}.phone", "+32 63 00 00 00")
    await fill("signature.post", "Assistante de justice")
    await page.locator(f"#{field_id('rows[1].ticked')}").check()
    when = date.today() - timedelta(days=3)  # the GOV.UK date input: day, month, year
    await fill("rows[1].occurred_on", str(when.day))
    await page.locator(f"#{field_id('rows[1].occurred_on')}-month").fill(str(when.month))
    await page.locator(f"#{field_id('rows[1].occurred_on')}-year").fill(str(when.year))
    await fill("rows[1].place", MARKUP)
    await fill("rows[1].description", WHAT)
    await look("01-form")
    await page.get_by_role("button", name="Check and preview the report").click()
    await page.wait_for_load_state()

    frame = page.frame_locator("iframe.preview")
    await expect(frame.locator("#box-a")).to_contain_text("Muller")
    await expect(frame.locator("#box-d")).to_contain_text("<script>alert(1)</script>")  # shown as text
    await expect(frame.locator("#box-d")).to_contain_text(WHAT)
    # The day it happened, as the form writes a date (day, month, year), never the ISO date typed into three boxes.
    await expect(frame.locator("#box-d")).not_to_contain_text(when.isoformat())
    await expect(page.get_by_role("button", name="Send the report to Luxembourg")).to_be_visible()
    # The form's own stylesheet applies inside the frame (under the page's CSP, its hash is allowed).
    border = await frame.locator("section.box").first.evaluate("e => getComputedStyle(e).borderTopStyle")
    assert border == "solid"
    await look("02-preview")

    # Headless Chromium may route a click wrongly while an isolated (sandboxed, opaque-origin) frame is on
    # the page and the target has not been scrolled to first; scrolled to, the click lands as a user's does.
    send = page.get_by_role("button", name="Send the report to Luxembourg")
    await send.scroll_into_view_if_needed()
    await send.bounding_box()
    async with page.expect_navigation():
        await send.click()
    assert "?done=report_breach:supervising" in page.url, (await page.locator("main").inner_text())[:600]
    await expect(page.get_by_role("status")).to_contain_text("Report a breach")
    await expect(page.locator(".timeline")).to_contain_text("breach reported")
    # What was sent stays readable on the case page: the report in the conversation, its Annex II form beside it.
    sent = page.locator("section.conversation li.message.sent").filter(
        has=page.get_by_role("heading", name="Sent to Luxembourg: Report of a breach (Annex II)"))
    await expect(sent).to_have_count(1)
    await expect(sent.frame_locator("iframe[title='The breach report, Annex II']").locator("#box-d")
                 ).to_contain_text(WHAT)
    await look("03-sent")


async def test_breach_report_at_both_widths(browser: Browser, nodes: LocalNodes) -> None:
    be = nodes["BE"].url
    for width in WIDTHS:
        case_id = await _supervised_case(nodes)
        page = await sign_in(browser, be, "officer", width, for_axe=True)
        await _walk(page, be, case_id, str(width), axe=True)
        await page.context.close()


async def test_breach_report_under_the_pages_csp(browser: Browser, nodes: LocalNodes) -> None:
    """The same walk with the page's Content Security Policy in force: the form's own stylesheet applies in
    the preview frame (its hash is allowed), nothing is blocked that the page needs, no script typed runs."""
    be = nodes["BE"].url
    case_id = await _supervised_case(nodes)
    page = await sign_in(browser, be, "officer", WIDTHS[0])
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    await _walk(page, be, case_id, f"csp-{WIDTHS[0]}", axe=False)
    assert not blocked, blocked
    await page.context.close()
