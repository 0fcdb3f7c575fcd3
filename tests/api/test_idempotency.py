"""`Idempotency-Key` on POST /api/v1/transfers: a client that lost the answer and retries gets the first
answer again and no second transfer; the same key for another body is refused, naming the header."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate

pytestmark = pytest.mark.integration


async def test_a_retry_with_the_same_key_creates_one_transfer(nodes: LocalNodes) -> None:
    cert = fresh_certificate("LU", "BE")
    body = {"executing_state": "BE", "certificate": cert}
    key = str(uuid.uuid4())
    officer = bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        first = await http.post("/api/v1/transfers", json=body, headers={**officer, "Idempotency-Key": key})
        assert first.status_code == 201, first.text
        again = await http.post("/api/v1/transfers", json=body, headers={**officer, "Idempotency-Key": key})
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        listed = (await http.get("/api/v1/transfers", headers=officer)).json()
        assert [c["id"] for c in listed["items"]].count(first.json()["id"]) == 1 and listed["total"] == 1

        other = {"executing_state": "BE", "certificate": {**cert, "person": {**cert["person"], "surname": "Other"}}}
        reused = await http.post("/api/v1/transfers", json=other, headers={**officer, "Idempotency-Key": key})
        assert reused.status_code == 422
        assert reused.headers["content-type"] == "application/problem+json"
        problem = reused.json()
        assert problem["error"] == "idempotency_key_reused" and problem["errors"][0]["path"] == "Idempotency-Key"
        assert "different request" in problem["detail"]

        # Without a key, or with a new one, each request is a new transfer.
        # (each of another judgment: one executing state at a time for a judgment, Art 6(5))
        fresh = await http.post("/api/v1/transfers", json={**body, "certificate": fresh_certificate("LU", "BE")},
                                headers={**officer, "Idempotency-Key": "k-2"})
        plain = await http.post("/api/v1/transfers", json={**body, "certificate": fresh_certificate("LU", "BE")},
                                headers=officer)
        assert len({first.json()["id"], fresh.json()["id"], plain.json()["id"]}) == 3
        assert (await http.get("/api/v1/transfers", headers=officer)).json()["total"] == 3

        # A key is printable ASCII (a UUID, say); anything else is named as the problem.
        bad = await http.post("/api/v1/transfers", json=body, headers={**officer, "Idempotency-Key": "two words"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "Idempotency-Key"


async def test_two_requests_racing_with_one_key_make_one_transfer(nodes: LocalNodes) -> None:
    """A retry sent while the first attempt is still being served waits for it, then gets its answer."""
    body = {"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")}
    headers = {**bearer(nodes, "LU", "officer"), "Idempotency-Key": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        before = (await http.get("/api/v1/transfers", headers=headers)).json()["total"]
        answers = await asyncio.gather(*(http.post("/api/v1/transfers", json=body, headers=headers)
                                         for _ in range(3)))
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["id"] for r in answers}) == 1
        assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 2
        assert (await http.get("/api/v1/transfers", headers=headers)).json()["total"] == before + 1


async def test_errors_are_problem_details_keeping_the_short_code(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.get("/api/v1/transfers")
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert r.json() == {"type": "urn:probatio:problem:unauthorized", "title": "Sign-in required", "status": 401,
                            "detail": "sign in: send Authorization: Bearer <token>", "error": "unauthorized"}
        r = await http.post("/api/v1/transfers", json={"executing_state": "lu", "certificate": {}},
                            headers=bearer(nodes, "LU", "officer"))
        problem = r.json()
        assert r.status_code == 422 and problem["status"] == 422 and problem["error"] == "invalid"
        assert problem["errors"][0]["path"] == "executing_state"
        assert problem["detail"].startswith("executing_state: ")
