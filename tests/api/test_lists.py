"""A list shows each case as its own page shows it: the same fields, the same timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from forms.examples import example_certificate
from probatio.harness import LocalNodes
from tests.support import bearer
from web.api import _summaries
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
    listed = json.loads(_summaries([row]).body)
    assert listed == [json.loads(json.dumps(summary(row)))]
    assert list(listed[0]) == list(SUMMARY_FIELDS)


@pytest.mark.integration
async def test_the_list_agrees_with_the_case(nodes: LocalNodes) -> None:
    cert = example_certificate("LU", "BE").model_dump(mode="json")
    officer = bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=officer)
        assert r.status_code in (200, 201), r.text
        case_id = r.json()["id"]
        listed = {c["id"]: c for c in (await http.get("/api/v1/transfers", headers=officer)).json()}
        case = (await http.get(f"/api/v1/transfers/{case_id}", headers=officer)).json()
    assert case_id in listed
    assert listed[case_id] == {k: case[k] for k in SUMMARY_FIELDS}
    assert datetime.fromisoformat(listed[case_id]["updated_at"]).tzinfo is not None
