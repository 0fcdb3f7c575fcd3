"""A whole transfer in a real browser (Debian's Chromium through Playwright) on two nodes, at 1366 and 390 px:
the LU officer fills the wizard box by box, the LU prosecutor approves, the BE prosecutor recognises, both
dashboards show it, and the auditor sees who looked. Every page passes axe-core with no violation and does not
scroll sideways. Screenshots go to test-artifacts/browser/transfer/ for a human eye."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from forms.examples import EXAMPLE_JUDGMENT_FILENAME, example_certificate, example_judgment_pdf
from probatio.harness import LocalNodes
from tests.browser.chromium import WIDTHS, check_page, sign_in
from web.pages_wizard import STEPS, field_id, get_path, step_fields

pytestmark = [pytest.mark.browser, pytest.mark.integration]

MARKUP = "Muller<script>alert(1)</script><img src=x onerror=alert(2)>"


FOLDER = "transfer"


async def fill_field(page: Page, f: Any, value: Any) -> None:
    if value is None or value == [] or f.path.endswith("national_measure"):
        return
    target = page.locator(f"#{field_id(f.path)}")
    if f.kind == "check":
        if value:
            await target.check()
    elif f.kind == "multi":
        for v in value:
            await page.locator(f"#{field_id(f.path)}-{str(v).replace('.', '-')}").check()
    elif f.kind in ("select", "country", "language"):
        await target.select_option(str(value))
    elif f.kind in ("countries", "languages"):
        # One picker per value, by name; the page offers empty ones to pick more.
        for n, v in enumerate(value, start=1):
            await page.locator(f"#{field_id(f.path)}" + ("" if n == 1 else f"-{n}")).select_option(str(v))
    elif f.kind == "date":
        year, month, day = str(value).split("-")
        await target.fill(str(int(day)))
        await page.locator(f"#{field_id(f.path)}-month").fill(str(int(month)))
        await page.locator(f"#{field_id(f.path)}-year").fill(year)
    elif f.kind == "duration":
        # The example holds days; a person might well give "0 years, 0 months, 1096 days".
        await page.locator(f"#{field_id(f.path)}-days").fill(str(value))
    elif f.kind == "yesno":
        await target.select_option("true" if value else "false")
    elif f.kind == "codes":
        await target.fill(", ".join(value))
    else:
        await target.fill(str(value))


@pytest.mark.parametrize("width", WIDTHS)
async def test_transfer_from_wizard_to_recognition(browser: Browser, nodes: LocalNodes, width: int) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    example = example_certificate("LU", "BE").model_dump(mode="json", exclude_none=True)
    example["person"]["surname"] = MARKUP
    # A judgment goes to one executing State at a time (Art 6(5)): each width transfers a judgment of its own.
    example["judgment"]["reference"] = f"LCRI {width}/2025"

    officer = await sign_in(browser, lu, "officer", width, for_axe=True)
    await officer.goto(f"{lu}/transfers/new")
    await officer.get_by_role("button", name="Start with an empty certificate").click()
    await officer.wait_for_url("**/transfers/drafts/*/a")
    for step in STEPS:
        if step.key == "j":
            # One row is there; add the others with the button, as an officer would.
            for _ in range(len(example["measures"]) - 1):
                await officer.get_by_role("button", name="Add another measure").click()
                await officer.wait_for_load_state()
            doc = {"measures": example["measures"]}
            # The picker: pick the national measure, whose label names its Art 4(1) category and BE's answer.
            picker = officer.locator(f"#{field_id('measures[0].national_measure')}")
            await expect(picker.locator("option", has_text="BE supervises it").first).to_be_attached()
            for i, m in enumerate(example["measures"]):
                if m.get("national_measure"):
                    await officer.locator(f"#{field_id(f'measures[{i}].national_measure')}").select_option(
                        m["national_measure"])
        else:
            doc = example
        for f in step_fields(step, doc):
            await fill_field(officer, f, get_path(example, f.path))
        await check_page(officer, FOLDER, f"{width}-01-wizard-{step.key}")
        await officer.locator(".buttons button[name=go]").first.click()
        await officer.wait_for_load_state()
    await expect(officer.get_by_text("The certificate is complete")).to_be_visible()
    await check_page(officer, FOLDER, f"{width}-02-wizard-review")
    await officer.get_by_role("button", name="Start the transfer and submit it for approval").click()
    # The wizard's last step: the judgment that goes with the certificate (Art 6(1)).
    await officer.wait_for_url("**/cases/outgoing/*/documents")
    await officer.locator("#a-kind").select_option("judgment")
    await officer.locator("#a-language").select_option("fr")
    await officer.locator("#a-file").set_input_files(files=[{
        "name": EXAMPLE_JUDGMENT_FILENAME, "mimeType": "application/pdf", "buffer": example_judgment_pdf()}])
    await officer.get_by_role("button", name="Attach").click()
    await expect(officer.get_by_role("link", name=EXAMPLE_JUDGMENT_FILENAME)).to_be_visible()
    await check_page(officer, FOLDER, f"{width}-02-wizard-documents")
    await officer.get_by_role("link", name="Continue to the case").click()
    await officer.wait_for_url("**/cases/outgoing/*")
    case_id = officer.url.split("?")[0].rsplit("/", 1)[-1]
    await expect(officer.get_by_role("heading", level=1)).to_contain_text("<script>alert(1)</script>")
    await expect(officer.locator(".tag.stage-awaiting_approval").first).to_be_visible()
    assert await officer.locator("form[action$='/actions/approve']").count() == 0  # only what is allowed now
    await check_page(officer, FOLDER, f"{width}-03-case-awaiting-approval")

    prosecutor = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
    await expect(prosecutor.get_by_role("cell", name="Approve and sign the certificate (Art 6(3))")).to_be_visible()
    await check_page(prosecutor, FOLDER, f"{width}-04-lu-prosecutor-queue")
    await prosecutor.get_by_role("link", name=case_id[:8]).click()
    await prosecutor.get_by_role("button", name="Sign and send to the executing State").click()
    # A serious step: the page says what is sent to whom before anything goes.
    await expect(prosecutor.get_by_role("heading", level=1)).to_contain_text("Check before you go on")
    await prosecutor.get_by_role("button", name="Yes: Sign and send to the executing State").click()
    await expect(prosecutor.get_by_role("status")).to_contain_text("Sent")
    await check_page(prosecutor, FOLDER, f"{width}-05-lu-approved")

    be_prosecutor = await sign_in(browser, be, "prosecutor", width, for_axe=True)
    for _ in range(100):
        if await be_prosecutor.get_by_role("link", name=case_id[:8]).count():
            break
        await asyncio.sleep(0.3)
        await be_prosecutor.reload()
    await check_page(be_prosecutor, FOLDER, f"{width}-06-be-prosecutor-queue")
    await be_prosecutor.get_by_role("link", name=case_id[:8]).click()
    await be_prosecutor.wait_for_url("**/decide")
    await expect(be_prosecutor.get_by_text("consult the issuing State first (Art 11(3))").first).to_be_visible()
    await check_page(be_prosecutor, FOLDER, f"{width}-07-be-decision-page")
    await be_prosecutor.get_by_label("Recognise the judgment and take over supervision").check()
    await be_prosecutor.get_by_role("button", name="Record the decision").click()
    await be_prosecutor.get_by_role("button", name="Yes: Decide on recognition").click()
    await expect(be_prosecutor.get_by_role("status")).to_contain_text("Recognised")
    await check_page(be_prosecutor, FOLDER, f"{width}-08-be-recognised")

    for _ in range(100):
        await officer.goto(f"{lu}/cases/outgoing/{case_id}")
        if await officer.locator(".tag.stage-transferred").count():
            break
        await asyncio.sleep(0.3)
    await expect(officer.locator(".tag.stage-transferred").first).to_be_visible()
    await officer.get_by_text("Preview of the certificate").click()
    await check_page(officer, FOLDER, f"{width}-09-lu-transferred")

    for url, state in ((lu, "LU"), (be, "BE")):
        supervisor = await sign_in(browser, url, "supervisor", width, for_axe=True)
        await expect(supervisor.get_by_role("heading", name="Cases by stage")).to_be_visible()
        assert await supervisor.locator("svg.chart").count() == 4
        stage = "outgoing: Transferred" if state == "LU" else "incoming: Recognised"
        # (One transfer per width: the module's nodes count the other width's too.)
        await expect(supervisor.locator("svg.chart desc").first).to_contain_text(re.compile(f"{stage}: [12]\\b"))
        await check_page(supervisor, FOLDER, f"{width}-10-dashboard-{state}")

    auditor = await sign_in(browser, lu, "auditor", width, for_axe=True)
    await auditor.goto(f"{lu}/audit?case={case_id}")
    await expect(auditor.get_by_role("cell", name="prosecutor", exact=True).first).to_be_visible()
    await expect(auditor.get_by_role("cell", name="read", exact=True).first).to_be_visible()
    await check_page(auditor, FOLDER, f"{width}-11-audit-of-the-case")
