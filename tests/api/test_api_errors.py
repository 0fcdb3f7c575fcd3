"""What a caller of the API sees when something is wrong: 401, 403, 404, 409, 413, 422 — never a 5xx —
and how the inbox treats forged, replayed, malformed and oversized envelopes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.envelope import MAX_ENVELOPE_BYTES, Envelope, seal
from adapters.keys import generate_key, load_or_create_private_key
from forms.examples import example_certificate
from forms.messages import MessageType
from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate

pytestmark = pytest.mark.integration




async def test_sign_in_is_required(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.get("/api/v1/transfers")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        r = await http.get("/api/v1/transfers", headers={"Authorization": "Bearer nonsense"})
        assert r.status_code == 401


async def test_bad_certificate_names_each_field(nodes: LocalNodes) -> None:
    cert = fresh_certificate("LU", "BE")
    del cert["person"]["surname"]
    cert["measures"][0]["hours"] = "many"
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422
        paths = {p["path"] for p in r.json()["errors"]}
        assert "certificate.person.surname" in paths
        assert "certificate.measures[0].hours" in paths
        r = await http.post("/api/v1/transfers", json={"executing_state": "lu", "certificate": {}},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "executing_state"
        r = await http.post("/api/v1/transfers", content=b"{not json", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422
        # Nothing was half-written: the officer has no case.
        r = await http.get("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"))
        assert r.json()["items"] == [] and r.json()["total"] == 0


async def test_roles_stages_and_unknown_things(nodes: LocalNodes) -> None:
    cert = fresh_certificate("LU", "BE")
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 403
        r = await http.post("/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=bearer(nodes, "LU", "officer"))
        case_id = r.json()["id"]
        r = await http.post(f"/api/v1/transfers/{case_id}/actions/approve", headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 409 and "draft" in r.json()["detail"]
        r = await http.post(f"/api/v1/transfers/{case_id}/actions/return", json={},
                            headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code in (409, 422)
        r = await http.post(f"/api/v1/transfers/{case_id}/actions/fly", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 404
        r = await http.get(f"/api/v1/transfers/{uuid.uuid4()}", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 404
        r = await http.get("/api/v1/transfers", params={"due_before": "tomorrow"},
                           headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "due_before"
        r = await http.get("/api/v1/audit", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 403
        r = await http.get("/api/v1/dashboard", headers=bearer(nodes, "LU", "supervisor"))
        assert r.status_code == 200 and {"by_stage", "by_state", "decisions_due_soon", "overdue"} <= set(r.json())


def _sealed(nodes: LocalNodes, tmp: Path, **changes: object) -> tuple[bytes, dict[str, str]]:
    key = load_or_create_private_key(nodes["LU"].node.settings.effective_signing_key_file)
    fields: dict[str, object] = {"message_id": str(uuid.uuid4()), "conversation_id": str(uuid.uuid4()),
                                 "type": MessageType.CERTIFICATE, "from_state": "LU", "to_state": "BE",
                                 "sent_at": datetime.now(UTC),
                                 "payload": {"certificate": example_certificate("LU", "BE").model_dump(mode="json")}}
    fields.update(changes)
    sealed = seal(Envelope.model_validate(fields), key)
    return sealed.body, sealed.headers


async def test_inbox_refuses_forged_replayed_malformed_and_oversized(nodes: LocalNodes, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=nodes["BE"].url, timeout=30) as http:
        body, headers = _sealed(nodes, tmp_path)
        first = await http.post("/api/v1/inbox", content=body, headers=headers)
        assert first.status_code == 200
        again = await http.post("/api/v1/inbox", content=body, headers=headers)
        assert again.status_code == 200 and again.json() == first.json()  # the first answer, nothing twice

        tampered = body.replace(b'"LU"', b'"LU" ', 1)
        assert (await http.post("/api/v1/inbox", content=tampered, headers=headers)).status_code == 401
        stranger = seal(Envelope.model_validate_json(body), generate_key())
        assert (await http.post("/api/v1/inbox", content=stranger.body, headers=stranger.headers)).status_code == 401
        assert (await http.post("/api/v1/inbox", content=b"{}", headers=headers)).status_code == 401
        stale_body, stale_headers = _sealed(nodes, tmp_path, sent_at=datetime.now(UTC) - timedelta(hours=2))
        assert (await http.post("/api/v1/inbox", content=stale_body, headers=stale_headers)).status_code == 422
        huge = b"x" * (MAX_ENVELOPE_BYTES + 1)
        assert (await http.post("/api/v1/inbox", content=huge, headers=headers)).status_code == 413

    # Each refusal left an audit row and nothing else.
    async with nodes["BE"].node.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM audit WHERE action = 'inbox_rejected'")
        assert (await cur.fetchone())["n"] >= 5
        cur = await conn.execute("SELECT count(*) AS n FROM inbox")
        assert (await cur.fetchone())["n"] == 1
        cur = await conn.execute("SELECT count(*) AS n FROM cases")
        assert (await cur.fetchone())["n"] == 1  # the one certificate taken in opened its case


async def test_adaptation_more_severe_than_the_original_is_refused(nodes: LocalNodes) -> None:
    cert = example_certificate("LU", "BE")
    longest = max((m.duration_days or 0) for m in cert.measures)
    lu, be = nodes["LU"].url, nodes["BE"].url
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": cert.model_dump(mode="json")})
        case_id = r.json()["id"]
        assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
        await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve",
                            headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 200, r.text
        for _ in range(150):
            r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
            if r.status_code == 200 and r.json()["stage"] == "under_decision":
                break
            await asyncio.sleep(0.2)
        index = next(i for i, m in enumerate(cert.measures) if m.duration_days)
        longer = {"outcome": "adapted", "reasons": "r", "measures": [{"measure": index, "duration_days": longest * 2}]}
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json=longer,
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 422, r.text
        assert any(p["path"].startswith(f"measures[{index}]") for p in r.json()["errors"])
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide",
                            json={"outcome": "adapted", "reasons": "r", "measures": [{"measure": 99, "hours": 1}]},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "measures[99]"

        shorter = {"outcome": "adapted", "reasons": "r",
                   "measures": [{"measure": index, "duration_days": cert.measures[index].duration_days // 2}]}
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json=shorter,
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        for _ in range(150):
            r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
            if r.json()["stage"] == "adapted":
                break
            await asyncio.sleep(0.2)
        assert r.json()["stage"] == "adapted"
        assert "withdrawal_window_open" in r.json()["alerts"]


async def test_pages_carry_a_content_security_policy_and_the_api_does_not(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        page = await http.get("/login")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        api = await http.get("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"))
        assert "content-security-policy" not in api.headers


async def test_input_the_database_cannot_store_is_a_422(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.post("/api/v1/resend", json={"ids": ["a\u0000b"], "reason": "x"},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422 and r.json()["error"] == "invalid"
        r = await http.get("/api/v1/transfers/a%00b", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422


def test_a_breach_report_with_gaps_is_refused_before_anything_happens() -> None:
    from forms.examples import example_breach, example_certificate
    from web.cases import _check_breach_report
    from web.errors import ApiError

    good = example_breach("LU", "BE").model_dump(mode="json")
    certificate = example_certificate("LU", "BE").model_dump(mode="json")
    _check_breach_report(good, certificate)  # the example is complete, and about the example's case
    broken = {**good, "person": {**good["person"], "surname": ""}}
    try:
        _check_breach_report(broken, certificate)
    except ApiError as err:
        assert err.status == 422
        assert any(p["path"].startswith("breach.person") for p in err.detail)
    else:
        raise AssertionError("an incomplete Annex II form was accepted")
