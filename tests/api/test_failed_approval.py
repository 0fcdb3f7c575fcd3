"""An approval or a completion that fails changes nothing (issue 13 item 2): boxes (k) and (l), the rendering
and the seal are one step, stored together once all of it succeeded. Before, box (k) was written by the web
before the workflow was asked and box (l) before the certificate was rendered, so a rendering that failed left a
draft listing documents and signed by a prosecutor who never approved it; a completion was stored before it was
rendered."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from temporalio.exceptions import ApplicationError

import activities.node
from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration


async def test_a_failed_approval_leaves_the_certificate_as_it_was(nodes: LocalNodes,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    lu = nodes["LU"].url
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"{lu}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
        assert r.status_code == 201, r.text
        case_id = str(r.json()["id"])
        assert (await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))).status_code == 201
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text

        async def certificate() -> dict[str, Any]:
            # As stored: what the API shows and the approval sends are made from it.
            async with await psycopg.AsyncConnection.connect(nodes["LU"].owner_url) as conn:
                row = await (await conn.execute("SELECT certificate FROM cases WHERE id = %s", (case_id,))).fetchone()
            assert row is not None
            return dict(row[0])

        before = await certificate()

        async def broken(*args: Any) -> bytes:
            raise ApplicationError("the renderer is out of order", type="invalid", non_retryable=True)

        monkeypatch.setattr(activities.node, "render_certificate_pdf", broken)
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve",
                            headers=bearer(nodes, "LU", "prosecutor"), json={"post": "Procureur d'État adjoint"})
        assert r.status_code == 422, r.text
        assert "out of order" in r.text
        after = await certificate()
        assert after["signature"] == before["signature"]  # box (l): not the prosecutor who did not approve
        assert after["other_circumstances"] == before["other_circumstances"]  # box (k)
        r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "prosecutor"))
        assert r.json()["stage"] == "awaiting_approval"

        monkeypatch.undo()
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve",
                            headers=bearer(nodes, "LU", "prosecutor"), json={"post": "Procureur d'État adjoint"})
        assert r.status_code == 200, r.text
        approved = await certificate()
        assert approved["signature"]["name"] == "prosecutor"
        assert approved["signature"]["post"] == "Procureur d'État adjoint"
        assert approved["other_circumstances"]["judgment_attached"] is True
        assert [d["kind"] for d in approved["other_circumstances"]["documents"]] == ["judgment"]

        # BE asks for a completion (Art 8(2)); LU's completion fails at rendering: the certificate stays as sent.
        be = nodes["BE"].url

        async def lu_stage() -> str:
            r = await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
            return str(r.json()["stage"])

        async def asked() -> int:
            r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/request_completion",
                                json={"missing": "box (e): identity number", "due_days": 10},
                                headers=bearer(nodes, "BE", "prosecutor"))
            return r.status_code

        await wait_for(asked, lambda status: status == 200)
        await wait_for(lu_stage, lambda stage: stage == "completion_requested")
        corrected = {**approved, "person": {**approved["person"], "identity_number": "1985 0312 123"}}
        monkeypatch.setattr(activities.node, "render_certificate_pdf", broken)
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/complete", json={"certificate": corrected},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 422 and "out of order" in r.text, r.text
        assert await certificate() == approved
        assert await lu_stage() == "completion_requested"
        monkeypatch.undo()
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/complete", json={"certificate": corrected},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text
        completed = await certificate()
        assert completed["person"]["identity_number"] == "1985 0312 123"
        assert completed["signature"] == approved["signature"]  # box (l) stays the approving prosecutor's
        assert completed["other_circumstances"]["judgment_attached"] is True  # box (k) still lists the judgment
