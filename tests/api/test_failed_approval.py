"""An approval that fails changes nothing (issue 13 item 2): boxes (k) and (l), the rendering and the seal are
one step, stored together once all of it succeeded. Before, box (k) was written by the web before the workflow
was asked and box (l) before the certificate was rendered, so a rendering that failed left a draft listing
documents and signed by a prosecutor who never approved it."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from temporalio.exceptions import ApplicationError

import activities.node
from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate

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
