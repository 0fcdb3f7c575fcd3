"""Finding things and the dashboard (issue 14, items 6 and 7), as the people who use them would: a prosecutor
searches their queue by name; an auditor filters the audit log by the short case id the pages show and finds
everything about "MULLER-GONCALVES" although the certificate says "Müller-Gonçalves"; a supervisor's period
applies to every chart and table, the due-soon list names duties, and the CSV opens as a table."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from webhelp import csrf_of, signed_in

from probatio.harness import LocalNodes
from store.statistics import CASE_COLUMNS
from tests.support import bearer, create_and_approve, wait_for
from tests.transfer_driver import submitted_transfer

pytestmark = pytest.mark.integration

SURNAME = "Müller-Gonçalves"
BORN = "1990-06-02"


async def _submitted(nodes: LocalNodes, http: httpx.AsyncClient, surname: str = SURNAME) -> str:
    return await submitted_transfer(nodes, http, surname=surname, born=BORN)


async def test_the_prosecutor_finds_a_task_in_the_queue_by_name(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _submitted(nodes, http)
        other = await _submitted(nodes, http, surname="Dupont")
    prosecutor = await signed_in(nodes["LU"].url, "prosecutor")
    queue = await wait_for(lambda: prosecutor.get("/queue"), lambda r: case_id[:8] in r.text and other[:8] in r.text)
    # The queue shows who the task is about and the partner State by name.
    assert SURNAME in queue.text and "Belgium" in queue.text
    for query in ("MULLER-GONCALVES", "goncalves", case_id[:8]):
        page = await prosecutor.get("/queue", params={"q": query})
        assert page.status_code == 200 and case_id[:8] in page.text and other[:8] not in page.text, query
    page = await prosecutor.get("/queue", params={"q": "Nobody-Of-That-Name"})
    assert case_id[:8] not in page.text and "No task matches this search." in page.text
    await prosecutor.aclose()
    # Showing names is a read of personal data: audited.
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(f"{nodes['LU'].url}/api/v1/audit", params={"action": "read_list"},
                           headers=bearer(nodes, "LU", "auditor"))
        assert any(e["detail"].get("via") == "queue" for e in r.json()["items"]), r.text


async def test_the_auditor_filters_by_the_short_case_id(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _submitted(nodes, http)
        other = await _submitted(nodes, http, surname="Dupont")
        short = case_id[:8]
        r = await http.get(f"{nodes['LU'].url}/api/v1/audit", params={"case": short.upper()},
                           headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items and {e["case_id"] for e in items} == {case_id}, items
        assert r.json()["total"] == len(items)
        r = await http.get(f"{nodes['LU'].url}/api/v1/audit", params={"case": case_id},
                           headers=bearer(nodes, "LU", "auditor"))
        assert {e["case_id"] for e in r.json()["items"]} == {case_id}
    auditor = await signed_in(nodes["LU"].url, "auditor")
    page = await auditor.get("/audit", params={"case": short})
    assert page.status_code == 200 and f"/audit?case={case_id}" in page.text
    assert f"/audit?case={other}" not in page.text
    await auditor.aclose()


async def test_the_person_data_search_ignores_case_and_accents(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _submitted(nodes, http)
        for surname in ("MULLER-GONCALVES", "müller-gonçalves", " Muller-Goncalves "):
            r = await http.post(f"{nodes['LU'].url}/api/v1/person-data", headers=bearer(nodes, "LU", "auditor"),
                                json={"surname": surname, "date_of_birth": BORN})
            assert r.status_code == 200, r.text
            assert case_id in [c["id"] for c in r.json()["cases"]], surname
        # A namesake born another day, or another name, is not swept in.
        r = await http.post(f"{nodes['LU'].url}/api/v1/person-data", headers=bearer(nodes, "LU", "auditor"),
                            json={"surname": "MULLER-GONCALVES", "date_of_birth": "1990-06-03"})
        assert case_id not in [c["id"] for c in r.json()["cases"]]
        r = await http.post(f"{nodes['LU'].url}/api/v1/person-data", headers=bearer(nodes, "LU", "auditor"),
                            json={"surname": "MULLER", "date_of_birth": BORN})
        assert case_id not in [c["id"] for c in r.json()["cases"]]
    auditor = await signed_in(nodes["LU"].url, "auditor")
    form = await auditor.get("/audit/person")
    r = await auditor.post("/audit/person", data={"csrf_token": csrf_of(form.text), "surname": "MULLER-GONCALVES",
                                                   "forenames": "", "date_of_birth": BORN})
    assert r.status_code == 200 and case_id in [c["id"] for c in r.json()["cases"]]
    await auditor.aclose()


def _due_soon(data: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    return [r for r in data["decisions_due_soon"] if r["id"] == case_id]


async def test_the_dashboard_period_applies_everywhere_and_duties_are_due(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        be_case = f"{be}/api/v1/incoming/{case_id}"
        be_p = bearer(nodes, "BE", "prosecutor")
        await wait_for(lambda: http.get(be_case, headers=be_p), lambda r: r.json().get("stage") == "under_decision")
        # BE consults LU (Art 11(3)): LU's duty to reply (policy: 2 working days) is due soon at LU.
        r = await http.post(f"{be_case}/actions/consult", headers=be_p,
                            json={"ground": "h", "question": "Is the judgment final?"})
        assert r.status_code == 200, r.text
        supervisor = bearer(nodes, "LU", "supervisor")
        data = (await wait_for(lambda: http.get(f"{lu}/api/v1/dashboard", headers=supervisor),
                               lambda r: any(x["due_name"] == "duty:reply" for x in _due_soon(r.json(), case_id))
                               )).json()
        assert data["totals"]["due_soon"] >= 1
        # A period in which no case started: every table and chart is empty, the due-soon list too.
        r = await http.get(f"{lu}/api/v1/dashboard", headers=supervisor,
                           params={"since": "2001-01-01", "until": "2001-02-01"})
        empty = r.json()
        assert empty["by_stage"] == [] and empty["by_state"] == [] and empty["decisions_due_soon"] == []
        assert empty["overdue"] == [] and empty["totals"]["due_soon"] == 0
        assert all(v == [] for v in empty["statistics"].values())
    page = await signed_in(lu, "supervisor")
    text = (await page.get("/dashboard")).text
    assert "Duty: reply" in text and case_id[:8] in text
    text = (await page.get("/dashboard", params={"since": "2001-01-01", "until": "2001-02-01"})).text
    assert text.count("No cases started in this period.") == 3 and case_id[:8] not in text
    # The default CSV: one row per case, named columns, what a spreadsheet opens as a table.
    r = await page.get("/dashboard/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and tuple(rows[0]) == CASE_COLUMNS
    mine = next(row for row in rows if row["case"] == case_id)
    assert mine["direction"] == "outgoing" and mine["partner_state"] == "BE" and SURNAME not in r.text
    r = await page.get("/dashboard/export.csv", params={"since": "2001-01-01", "until": "2001-02-01"})
    assert r.text.splitlines() == [",".join(CASE_COLUMNS)]
    r = await page.get("/dashboard/export.csv", params={"table": "decisions_due_soon"})
    header, *lines = list(csv.reader(io.StringIO(r.text)))
    assert "due_name" in header and any(case_id in line and "duty:reply" in line for line in lines)
    await page.aclose()
