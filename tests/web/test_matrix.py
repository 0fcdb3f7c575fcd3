"""The role × action matrix of CONTRACT §3 (workflows/rules.py), exhaustively through the API: every
action, by every role, at each stage a real transfer passes through on its way to recognition. A role the
rule does not name gets 403; a named role in a stage the rule does not list gets 409."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from forms.examples import example_breach, example_certificate
from forms.messages import ACTIONS
from probatio.harness import LocalNodes, attach_example_judgment
from store.users import ROLES
from tests.support import bearer, wait_for
from workflows.stages import Side

pytestmark = pytest.mark.integration

# A body with every required field, so a refusal is about role or stage, never about the body.
FULL_BODY: dict[str, Any] = {
    "reason": "matrix test", "text": "matrix test", "outcome": "matrix test", "authority": "BE-X",
    "missing": "box (e)", "due_days": 10, "ground": "a", "question": "matrix test", "reasons": "matrix test",
    "expected_by": "2030-01-01", "max_custody_days": 30, "decision": "modify",
    # Valid documents: `complete` checks the certificate before the stage, so an empty one would be a 422.
    "certificate": example_certificate("LU", "BE").model_dump(mode="json"),
    "breach": example_breach("LU", "BE").model_dump(mode="json"),
}


OUTCOME_OF = {"decide": "recognised", "notify_review": "confirmed"}


async def sweep(http: httpx.AsyncClient, nodes: LocalNodes, state: str, side: Side, case_id: str,
                stage: str) -> int:
    checked = 0
    base = f"/api/v1/{'transfers' if side == Side.ISSUING else 'incoming'}/{case_id}/actions"
    for name, rule in ACTIONS[side].items():
        for role in ROLES:
            if role in rule.roles and stage in rule.stages:
                continue  # allowed: doing it would move the case on; the flow tests cover these
            # Each action's own fields (its model in the catalogue refuses any other), all valid.
            body = {k: v for k, v in FULL_BODY.items() if k in rule.model_fields}
            if "outcome" in body:
                body["outcome"] = OUTCOME_OF.get(name, "completed")
            if name == "transfer_back":
                body["reason"] = "absconded"
            r = await http.post(f"{base}/{name}", json=body, headers=bearer(nodes, state, role))
            expected = 403 if role not in rule.roles else 409
            assert r.status_code == expected, (side, stage, name, role, r.status_code, r.text)
            assert r.json()["error"] == ("forbidden" if expected == 403 else "conflict")
            checked += 1
    return checked


async def test_role_action_matrix(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    checked = 0
    async with httpx.AsyncClient(base_url=lu, timeout=30) as http_lu, \
            httpx.AsyncClient(base_url=be, timeout=30) as http_be:
        r = await http_lu.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                               json={"executing_state": "BE",
                                     "certificate": example_certificate("LU", "BE").model_dump(mode="json")})
        case_id = r.json()["id"]
        r = await attach_example_judgment(http_lu, lu, case_id, bearer(nodes, "LU", "officer"))
        assert r.status_code == 201, r.text
        checked += await sweep(http_lu, nodes, "LU", Side.ISSUING, case_id, "draft")
        r = await http_lu.post(f"/api/v1/transfers/{case_id}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        assert r.json()["stage"] == "awaiting_approval"
        checked += await sweep(http_lu, nodes, "LU", Side.ISSUING, case_id, "awaiting_approval")
        r = await http_lu.post(f"/api/v1/transfers/{case_id}/actions/approve",
                               headers=bearer(nodes, "LU", "prosecutor"))
        assert r.json()["stage"] == "sent"

        async def be_stage() -> str:
            r = await http_be.get(f"/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "supervisor"))
            return str(r.json().get("stage")) if r.status_code == 200 else ""

        assert await wait_for(be_stage, lambda s: s == "under_decision") == "under_decision"
        checked += await sweep(http_be, nodes, "BE", Side.EXECUTING, case_id, "under_decision")
        r = await http_be.post(f"/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                               headers=bearer(nodes, "BE", "prosecutor"))
        assert r.json()["stage"] == "recognised"
        checked += await sweep(http_be, nodes, "BE", Side.EXECUTING, case_id, "recognised")

        async def lu_stage() -> str:
            r = await http_lu.get(f"/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "supervisor"))
            return str(r.json()["stage"])

        stage = await wait_for(lu_stage, lambda s: s == "transferred")
        checked += await sweep(http_lu, nodes, "LU", Side.ISSUING, case_id, stage)
    assert checked > 250


async def test_unknown_action_and_bad_token(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.post("/api/v1/transfers/nope/actions/fly", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 404
        r = await http.post("/api/v1/transfers/nope/actions/approve", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
