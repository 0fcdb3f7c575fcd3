"""Issue 14 (8): no page scrolls sideways at phone width. Every role's pages, the case pages in several stages, the
dashboard, the audit pages, documents, the wizard (its measure picker says whether the executing State supervises
each measure) and the breach form, opened in Chromium at 1366 and 390 px: the document is never wider than the
window (document.scrollingElement), axe-core finds no violation. Screenshots go to test-artifacts/browser/pages/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from probatio.harness import LocalNodes, attach_example_judgment
from tests.browser.chromium import WIDTHS, axe_violations, shot, sign_in
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "pages"


async def look_at(page: Page, url: str, name: str) -> list[str]:
    """Open a page as its user would; what is wrong with it (sideways scrolling, axe-core's violations)."""
    r = await page.goto(url)
    assert r is not None and r.status == 200, f"{name}: {url} answered {r.status if r else None}"
    await shot(page, FOLDER, name)
    wrong: list[str] = []
    wide = await page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    if wide > 0:
        culprits = await page.evaluate(
            "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right >"
            " document.scrollingElement.clientWidth + 1).slice(0, 4).map(e => e.tagName + '.' + e.className)")
        wrong.append(f"{name}: scrolls sideways by {wide} px ({culprits})")
    wrong += [f"{name}: axe {v['id']} {v['nodes']}" for v in await axe_violations(page)]
    return wrong


async def _api(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any] | None = None,
               method: str = "POST") -> dict[str, Any]:
    r = await http.request(method, url, headers=headers, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _stage(http: httpx.AsyncClient, url: str, headers: dict[str, str], stage: str) -> None:
    async def fetch() -> str:
        r = await http.get(url, headers=headers)
        return str(r.json().get("stage")) if r.status_code == 200 else ""
    await wait_for(fetch, lambda s: s == stage, 60)


async def _cases(nodes: LocalNodes, http: httpx.AsyncClient) -> dict[str, str]:
    """A draft, one awaiting approval, one under decision in BE, one supervised in BE: the stages people see."""
    lu, be = nodes["LU"].url, nodes["BE"].url
    officer, prosecutor = bearer(nodes, "LU", "officer"), bearer(nodes, "LU", "prosecutor")
    made: dict[str, str] = {}
    for name in ("draft", "awaiting", "deciding", "supervised"):
        body = {"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")}  # a judgment each (Art 6(5))
        case_id = str((await _api(http, f"{lu}/api/v1/transfers", officer, body))["id"])
        made[name] = case_id
        if name == "draft":
            continue
        assert (await attach_example_judgment(http, lu, case_id, officer)).status_code == 201
        await _api(http, f"{lu}/api/v1/transfers/{case_id}/actions/submit", officer)
        if name == "awaiting":
            continue
        await _api(http, f"{lu}/api/v1/transfers/{case_id}/actions/approve", prosecutor)
        await _stage(http, f"{be}/api/v1/incoming/{case_id}", bearer(nodes, "BE", "prosecutor"), "under_decision")
    be_case = f"{be}/api/v1/incoming/{made['supervised']}"
    await _api(http, f"{be_case}/actions/decide", bearer(nodes, "BE", "prosecutor"), {"outcome": "recognised"})

    async def startable() -> list[str]:
        return list((await http.get(be_case, headers=bearer(nodes, "BE", "officer"))).json().get("actions", []))
    await wait_for(startable, lambda a: "start_supervision" in a, 60)
    await _api(http, f"{be_case}/actions/start_supervision", bearer(nodes, "BE", "officer"))
    await _stage(http, be_case, bearer(nodes, "BE", "officer"), "supervising")
    return made


async def test_no_page_scrolls_sideways_and_axe_finds_nothing(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        c = await _cases(nodes, http)
    # (node, user, path, name of the screenshot)
    pages = [
        (lu, "officer", "/cases", "lu-officer-cases"),
        (lu, "officer", "/cases?q=muller", "lu-officer-cases-search"),
        (lu, "officer", "/transfers/new", "lu-officer-new-transfer"),
        (lu, "officer", f"/cases/outgoing/{c['draft']}", "lu-officer-case-draft"),
        (lu, "officer", f"/cases/outgoing/{c['awaiting']}", "lu-officer-case-awaiting-approval"),
        (lu, "officer", f"/cases/outgoing/{c['awaiting']}/documents", "lu-officer-documents"),
        (lu, "prosecutor", "/queue", "lu-prosecutor-queue"),
        (lu, "prosecutor", f"/cases/outgoing/{c['deciding']}", "lu-prosecutor-case-transferred"),
        (lu, "prosecutor", f"/cases/outgoing/{c['supervised']}", "lu-prosecutor-case-supervised"),
        (be, "prosecutor", "/queue", "be-prosecutor-queue"),
        (be, "prosecutor", f"/cases/incoming/{c['deciding']}", "be-prosecutor-case-under-decision"),
        (be, "prosecutor", f"/cases/incoming/{c['deciding']}/decide", "be-prosecutor-decide"),
        (be, "officer", "/cases", "be-officer-cases"),
        (be, "officer", f"/cases/incoming/{c['supervised']}", "be-officer-case-supervising"),
        (be, "officer", f"/cases/incoming/{c['supervised']}/breach", "be-officer-breach-form"),
        (lu, "supervisor", "/dashboard", "lu-supervisor-dashboard"),
        (lu, "auditor", "/audit", "lu-auditor-audit"),
        (lu, "auditor", "/audit/person", "lu-auditor-person"),
    ]
    wrong: list[str] = []
    for width in WIDTHS:
        signed: dict[tuple[str, str], Page] = {}
        for node, user, path, name in pages:
            if (node, user) not in signed:
                signed[node, user] = await sign_in(browser, node, user, width, for_axe=True)
            wrong += await look_at(signed[node, user], node + path, f"{width}-{name}")
        if width < 700:
            # At phone width a list is stacked rows: the column headers are hidden, each cell says what it is.
            cases = signed[lu, "officer"]
            await cases.goto(f"{lu}/cases")
            row = cases.locator("table.stack tbody tr").first
            assert (await row.bounding_box() or {}).get("width", 0) > width * 0.8
            label = await row.locator("td[data-label]").nth(1).evaluate(
                "td => getComputedStyle(td, '::before').content")
            assert label == '"Person"', label
        # The wizard, as the officer starts a transfer from the training example: its measure picker says
        # whether Belgium supervises each measure.
        officer = signed[lu, "officer"]
        await officer.goto(f"{lu}/transfers/new")
        await officer.get_by_role("button", name="Start from the training example").click()
        await officer.wait_for_url("**/transfers/drafts/*/a")
        draft = officer.url.rsplit("/", 1)[0]
        wrong += await look_at(officer, f"{draft}/a", f"{width}-lu-officer-wizard-a")
        wrong += await look_at(officer, f"{draft}/j", f"{width}-lu-officer-wizard-j-measures")
        await expect(officer.locator("main")).to_contain_text("BE supervises it")
        wrong += await look_at(officer, f"{draft}/review", f"{width}-lu-officer-wizard-review")
        for page in signed.values():
            await page.context.close()
    assert wrong == [], "\n".join(wrong)
