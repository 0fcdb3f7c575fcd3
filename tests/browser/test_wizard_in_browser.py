"""The wizard's box (j) in Chromium at 1366 and 390 px, as an officer types: Enter in a measure's field saves
the box and moves on, and never removes a measure (the form's first submit button is the save, not "Remove
measure 1"); a date, a duration and a country are given as a person gives them. axe-core: no violation.
Screenshots go to test-artifacts/browser/wizard/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from probatio.harness import LocalNodes
from store import drafts
from tests.browser.chromium import WIDTHS, check_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.mark.parametrize("width", WIDTHS)
async def test_enter_in_a_measure_field_saves_and_keeps_every_measure(
        nodes: LocalNodes, browser: Browser, width: int) -> None:
    page = await sign_in(browser, nodes["LU"].url, "officer", width, for_axe=True)
    await page.goto(f"{nodes['LU'].url}/transfers/new")
    await page.get_by_role("button", name="Start from the training example").click()
    await page.wait_for_load_state()
    draft_id = page.url.rstrip("/").split("/")[-2]
    before = await drafts.get_draft(nodes["LU"].node.pool, draft_id)
    assert before is not None
    count = len(before["certificate"]["measures"])
    assert count > 1, "the example has several measures, each with a Remove button"

    await page.goto(f"{nodes['LU'].url}/transfers/drafts/{draft_id}/j")
    await check_page(page, "wizard", f"box-j-{width}")
    description = page.locator("#f-measures-0-description")
    await page.locator("#f-measures-0-duration-days").fill("1")  # measure 1's duration: years
    await page.locator("#f-measures-0-duration-days-months").fill("0")
    await page.locator("#f-measures-0-duration-days-days").fill("0")
    await page.locator("#f-measures-0-duration-days-days").press("Enter")
    await page.wait_for_load_state()
    # Saved and moved on to box (k): Enter pressed "Save and continue", not "Remove measure 1".
    await expect(page.locator("h1")).to_contain_text("(k)")
    after = await drafts.get_draft(nodes["LU"].node.pool, draft_id)
    assert after is not None
    assert len(after["certificate"]["measures"]) == count
    assert await description.count() == 0  # we left the page
    assert after["certificate"]["measures"][0]["duration_days"] == round(365.2425)

    # Box (b): the judgment's date as day, month and year; a date in the future is refused on saving the box.
    await page.goto(f"{nodes['LU'].url}/transfers/drafts/{draft_id}/b")
    await page.locator("#f-judgment-delivered-on-year").fill("2099")
    await page.get_by_role("button", name="Save and continue").click()
    await page.wait_for_load_state()
    summary = page.locator(".error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("in the future")
    await check_page(page, "wizard", f"box-b-error-{width}")
