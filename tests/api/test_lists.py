"""A list shows each case as its own page shows it: the same fields, the same timestamps; it comes in
pages with a total and a `Link` header naming the neighbouring pages."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate, wait_for
from web.api import CaseView, _summaries
from web.cases import SUMMARY_FIELDS, summary


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "0b8f", "direction": "outgoing", "stage": "sent", "outcome": None, "issuing_state": "LU",
        "executing_state": "BE", "authority": "LU", "decision_due": None, "alerts": ["decision_due_soon"],
        "updated_at": datetime(2026, 11, 23, 9, 5, 1, 250, tzinfo=UTC), "closed_at": None,
    }
    return row | changes


@pytest.mark.parametrize("changes", [
    {},
    {"decision_due": datetime(2027, 1, 2, tzinfo=UTC)},  # no microseconds: isoformat leaves them out
    {"updated_at": datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Luxembourg"))},
    {"updated_at": datetime(2026, 6, 1, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))},
])
def test_a_list_row_is_the_summary(changes: dict[str, object]) -> None:
    row = _row(**changes)
    listed = json.loads(orjson.dumps(_summaries([row])))
    assert listed == [json.loads(json.dumps(summary(row)))]
    assert list(listed[0]) == list(SUMMARY_FIELDS)


@pytest.mark.integration
async def test_the_list_agrees_with_the_case(nodes: LocalNodes) -> None:
    cert = fresh_certificate("LU", "BE")
    officer = bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=officer)
        assert r.status_code in (200, 201), r.text
        case_id = r.json()["id"]

        async def case_now() -> dict[str, Any]:
            return dict((await http.get(f"/api/v1/transfers/{case_id}", headers=officer)).json())

        # The workflow writes the case's first projection just after the answer: compare once it has.
        await wait_for(case_now, lambda c: any(e["type"] == "created" for e in c["timeline"]))
        listed = {c["id"]: c for c in (await http.get("/api/v1/transfers", headers=officer)).json()["items"]}
        case = await case_now()
    assert case_id in listed
    assert listed[case_id] == {k: case[k] for k in SUMMARY_FIELDS}
    # The answers are what the OpenAPI document says they are.
    CaseView.model_validate(case, strict=False)
    assert set(case) <= set(CaseView.model_fields)
    assert datetime.fromisoformat(listed[case_id]["updated_at"]).tzinfo is not None


@pytest.mark.integration
async def test_a_list_comes_in_pages_with_a_total_and_links(nodes: LocalNodes) -> None:
    cert = fresh_certificate("LU", "BE")
    officer = bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        for _ in range(3):
            # Three judgments: a judgment goes to one executing state at a time (Art 6(5)).
            r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                                headers=officer)
            cert = fresh_certificate("LU", "BE")
            assert r.status_code == 201, r.text
        # Each new case's workflow writes its first view a moment later, which moves it in the list's
        # order (newest first): page only once the list has settled.
        async def listing() -> list[object]:
            listed = (await http.get("/api/v1/transfers", headers=officer)).json()["items"]
            await asyncio.sleep(0.5)
            again = (await http.get("/api/v1/transfers", headers=officer)).json()["items"]
            return [listed, again]

        await wait_for(listing, lambda pair: pair[0] == pair[1])
        everything = (await http.get("/api/v1/transfers", headers=officer)).json()
        total = everything["total"]
        assert total >= 3 and len(everything["items"]) == total

        first = await http.get("/api/v1/transfers", params={"limit": 2, "stage": "draft"}, headers=officer)
        page = first.json()
        drafts = page["total"]
        assert drafts >= 3 and len(page["items"]) == 2 and (page["limit"], page["offset"]) == (2, 0)
        links = first.links
        assert "prev" not in links and links["first"]["url"].endswith("offset=0")
        assert "stage=draft" in links["next"]["url"] and "offset=2" in links["next"]["url"]
        last_offset = (drafts - 1) // 2 * 2
        assert links["last"]["url"].endswith(f"offset={last_offset}")

        second = await http.get(links["next"]["url"], headers=officer)
        assert second.status_code == 200
        assert not {c["id"] for c in second.json()["items"]} & {c["id"] for c in page["items"]}
        assert "prev" in second.links

        r = await http.get("/api/v1/incoming", headers=bearer(nodes, "LU", "officer"))
        assert r.json() == {"items": [], "total": 0, "limit": 200, "offset": 0}
