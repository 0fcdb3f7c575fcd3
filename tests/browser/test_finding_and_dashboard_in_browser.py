"""Issue 14 (6) and (7) in Chromium, as the people who use them would, at 1366 and 390 px.

(6) Finding: the LU officer searches the list of cases by name, ignoring case and accents ("MULLER" finds
"Müller-Gonçalves", not "Dupont"), by the case number the pages show and by the judgment's reference; the LU
prosecutor searches the queue the same way; the auditor filters the audit log by the short case id; the
person-data search finds "Müller-Gonçalves" typed "MULLER-GONCALVES" and downloads what is held.

(7) The dashboard: the list of what is due soon names duties (LU's duty to reply to Belgium's consultation,
Art 11(3)); the CSV exports, downloaded as a person downloads them, open as tables with named columns and one
row per case or per group.

Every page passes axe-core with no violation and does not scroll sideways. Screenshots go to
test-artifacts/browser/finding/."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from probatio.harness import LocalNodes
from store.statistics import CASE_COLUMNS
from tests.browser.chromium import WIDTHS, check_page, sign_in
from tests.support import bearer, create_and_approve, wait_for
from tests.transfer_driver import submitted_transfer

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FOLDER = "finding"
SURNAME = "Müller-Gonçalves"
REFERENCE = "LCRI 777/2025"
BORN = "1990-06-02"
SEARCH = "Find a case by the person's name, the case number or a reference"


async def _mine_and_other(nodes: LocalNodes) -> tuple[str, str]:
    """Two submitted transfers at LU: the one searched for (SURNAME, REFERENCE) and another that must not show."""
    async with httpx.AsyncClient(timeout=60) as http:
        mine = await submitted_transfer(nodes, http, surname=SURNAME, born=BORN, reference=REFERENCE)
        other = await submitted_transfer(nodes, http, surname="Dupont", born=BORN, reference="LCRI 888/2025")
    return mine, other


async def _search(page: Page, query: str) -> None:
    await page.get_by_label(SEARCH).fill(query)
    await page.get_by_role("search").get_by_role("button", name="Search").click()
    await page.wait_for_load_state()


async def _downloaded(page: Page, link: str) -> tuple[str, str]:
    """The file behind the link, downloaded as a person downloads it: its name and its text."""
    async with page.expect_download() as download:
        await page.get_by_role("link", name=link, exact=True).click()
    got = await download.value
    text = await asyncio.to_thread(Path(await got.path()).read_text, encoding="utf-8")
    return got.suggested_filename, text


async def test_finding_a_case_by_name_number_and_reference(browser: Browser, nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    mine, other = await _mine_and_other(nodes)
    for width in WIDTHS:
        # The officer's list of cases: by name without regard to case or accents, by number, by reference.
        officer = await sign_in(browser, lu, "officer", width, for_axe=True)
        await officer.goto(f"{lu}/cases")
        outgoing = officer.locator("table").filter(has_text="Outgoing transfers")
        await expect(outgoing.get_by_role("link", name=other[:8])).to_be_visible()
        for query in ("MULLER", "muller goncalves", mine[:8], REFERENCE.lower()):
            await _search(officer, query)
            await expect(officer.get_by_label(SEARCH)).to_have_value(query)
            await expect(outgoing.get_by_role("link", name=mine[:8])).to_be_visible()
            await expect(outgoing.get_by_role("link", name=other[:8])).to_have_count(0)
            row = outgoing.locator("tr").filter(has=officer.get_by_role("link", name=mine[:8]))
            await expect(row).to_contain_text(f"{SURNAME}, Jean Paul")
            await expect(row).to_contain_text(REFERENCE)
            await expect(row).to_contain_text("Belgium")
        await check_page(officer, FOLDER, f"{width}-01-lu-cases-found-by-reference")
        await _search(officer, "Nobody-Of-That-Name")
        await expect(outgoing.get_by_role("link", name=mine[:8])).to_have_count(0)
        await expect(outgoing).to_contain_text("None.")
        await officer.get_by_role("link", name="Show all").click()
        await expect(outgoing.get_by_role("link", name=other[:8])).to_be_visible()
        await officer.context.close()

        # The prosecutor's queue: the same search.
        prosecutor = await sign_in(browser, lu, "prosecutor", width, for_axe=True)
        await prosecutor.goto(f"{lu}/queue")
        await expect(prosecutor.get_by_role("link", name=mine[:8])).to_be_visible()
        await _search(prosecutor, "MÜLLER-GONCALVES")
        await expect(prosecutor.get_by_role("link", name=mine[:8])).to_be_visible()
        await expect(prosecutor.get_by_role("link", name=other[:8])).to_have_count(0)
        row = prosecutor.locator("tbody tr").filter(has=prosecutor.get_by_role("link", name=mine[:8]))
        await expect(row).to_contain_text("Approve and sign the certificate (Art 6(3))")
        await expect(row).to_contain_text(SURNAME)
        await expect(row).to_contain_text("Belgium")
        await check_page(prosecutor, FOLDER, f"{width}-02-lu-queue-found-by-name")
        await _search(prosecutor, "Nobody-Of-That-Name")
        await expect(prosecutor.get_by_text("No task matches this search.")).to_be_visible()
        await prosecutor.context.close()


async def test_the_auditor_finds_a_case_and_a_person(browser: Browser, nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    mine, other = await _mine_and_other(nodes)
    for width in WIDTHS:
        auditor = await sign_in(browser, lu, "auditor", width, for_axe=True)
        # The audit log filtered by the short case id the pages show, typed in capitals.
        await auditor.goto(f"{lu}/audit")
        await expect(auditor.get_by_role("link", name=other[:8]).first).to_be_visible()
        await auditor.get_by_label("Case id").fill(mine[:8].upper())
        await auditor.get_by_role("button", name="Filter").click()
        await auditor.wait_for_load_state()
        await expect(auditor.locator(".error-summary")).to_have_count(0)
        log = auditor.locator("table.audit-log")
        await expect(log.get_by_role("link", name=mine[:8]).first).to_be_visible()
        await expect(log.get_by_role("link", name=other[:8])).to_have_count(0)
        cases = await log.locator("tbody tr td:nth-child(5)").all_inner_texts()
        assert cases and set(cases) == {mine[:8]}, cases
        await expect(log.get_by_role("cell", name="create", exact=True).first).to_be_visible()
        await check_page(auditor, FOLDER, f"{width}-10-lu-audit-by-short-id")

        # Everything held about one person: the surname in capitals and without accents finds the case.
        await auditor.goto(f"{lu}/audit/person")
        await auditor.get_by_label("Surname").fill("MULLER-GONCALVES")
        await auditor.locator("#a-date_of_birth").fill("2")
        await auditor.locator("#a-date_of_birth-month").fill("6")
        await auditor.locator("#a-date_of_birth-year").fill("1990")
        await check_page(auditor, FOLDER, f"{width}-11-lu-person-search")
        async with auditor.expect_download() as download:
            await auditor.get_by_role("button", name="Download the data (JSON)").click()
        got = await download.value
        assert got.suggested_filename == "person-data.json"
        found: dict[str, Any] = json.loads(await asyncio.to_thread(Path(await got.path()).read_text))
        found_ids = [c["id"] for c in found["cases"]]
        assert mine in found_ids and other not in found_ids, found_ids  # (the first test's namesake too)
        assert {c["certificate"]["person"]["surname"] for c in found["cases"]} == {SURNAME}
        await auditor.context.close()


async def test_the_dashboard_names_duties_and_exports_tables(browser: Browser, nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        be_case = f"{be}/api/v1/incoming/{case_id}"
        be_p = bearer(nodes, "BE", "prosecutor")
        await wait_for(lambda: http.get(be_case, headers=be_p), lambda r: r.json().get("stage") == "under_decision",
                       60)
        # Belgium consults Luxembourg (Art 11(3)): LU's duty to reply is due soon at LU.
        r = await http.post(f"{be_case}/actions/consult", headers=be_p,
                            json={"ground": "h", "question": "Is the judgment final?"})
        assert r.status_code == 200, r.text
        await wait_for(lambda: http.get(f"{lu}/api/v1/dashboard", headers=bearer(nodes, "LU", "supervisor")),
                       lambda r: any(x["id"] == case_id and x["due_name"] == "duty:reply"
                                     for x in r.json()["decisions_due_soon"]), 60)
    for width in WIDTHS:
        supervisor = await sign_in(browser, lu, "supervisor", width, for_axe=True)
        await supervisor.goto(f"{lu}/dashboard")
        due = supervisor.locator("table").filter(has_text="Decisions and duties due within 15 days")
        row = due.locator("tbody tr").filter(has=supervisor.get_by_role("link", name=case_id[:8]))
        await expect(row).to_contain_text("Duty: reply")
        await expect(row).to_contain_text("LU → BE")
        await check_page(supervisor, FOLDER, f"{width}-20-lu-dashboard-duty-due")

        # The CSV of the cases: named columns, one row per case.
        name, text = await _downloaded(supervisor, "CSV, one row per case")
        assert name.endswith(".csv"), name
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and tuple(rows[0]) == CASE_COLUMNS, text[:300]
        ids = [r["case"] for r in rows]
        assert len(ids) == len(set(ids)), ids
        mine = next(r for r in rows if r["case"] == case_id)
        assert (mine["direction"], mine["partner_state"], mine["stage"]) == ("outgoing", "BE", "consultation"), mine
        assert "Muller" not in text  # statistics, not personal data

        # One table: what is due soon, one row per duty; and the partner States, one row per group.
        name, text = await _downloaded(supervisor, "CSV decisions and duties due soon")
        header, *lines = list(csv.reader(io.StringIO(text)))
        assert {"id", "due_name", "due"} <= set(header), header
        assert any(case_id in line and "duty:reply" in line for line in lines), lines
        name, text = await _downloaded(supervisor, "CSV by partner State")
        groups = list(csv.DictReader(io.StringIO(text)))
        assert groups and {"direction", "state", "total"} <= set(groups[0]), text[:300]
        keys = [(g["direction"], g["state"]) for g in groups]
        assert len(keys) == len(set(keys)), keys
        assert any(g["direction"] == "outgoing" and g["state"] == "BE" and int(g["total"]) >= 1 for g in groups)
        await supervisor.context.close()
