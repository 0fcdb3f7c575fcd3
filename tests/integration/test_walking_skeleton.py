"""One transfer end to end between two nodes, on a real Temporal dev server and a real PostgreSQL:
LU officer creates and submits, LU prosecutor approves, the certificate travels signed to BE, BE's
prosecutor recognises, the decision travels back — exactly the README's curl path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from probatio.harness import LocalNodes, attach_example_judgment, start_nodes
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def nodes(temporal_client: Client, pg_server: str, tmp_path: Path) -> AsyncIterator[LocalNodes]:
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="skeleton_")
    try:
        yield local
    finally:
        await local.stop()




async def test_transfer_from_lu_is_recognised_by_be(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    cert = fresh_certificate("LU", "BE")
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{lu}/api/v1/transfers", json={"executing_state": "BE", "certificate": cert},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        assert r.json()["stage"] == "draft"
        r = await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))
        assert r.status_code == 201, r.text

        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/submit", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "awaiting_approval"

        # The officer may not approve: the prosecutor signs the certificate (Art 6(3)).
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 403
        assert r.json()["error"] == "forbidden"

        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/approve",
                            headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "sent"

        async def be_case() -> httpx.Response:
            return await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))

        r = await wait_for(be_case, lambda r: r.status_code == 200 and r.json()["stage"] == "under_decision")
        assert r.status_code == 200, r.text
        incoming = r.json()
        assert incoming["stage"] == "under_decision"
        assert incoming["issuing_state"] == "LU"
        assert [d["name"] for d in incoming["deadlines"]] == ["decision"]  # Art 12(1): 60 days

        # The certificate arrived as a PDF the BE prosecutor can open.
        r = await http.get(f"{be}/api/v1/incoming/{case_id}/certificate.pdf", headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200
        assert r.content.startswith(b"%PDF")

        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "recognised"

        async def lu_case() -> httpx.Response:
            return await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))

        r = await wait_for(lu_case, lambda r: r.json()["stage"] == "transferred")
        lu_view = r.json()
        assert lu_view["stage"] == "transferred"
        types = [e["type"] for e in lu_view["timeline"]]
        assert types.index("approved") < types.index("received_by_executing") < types.index("recognised")

        r = await http.get(f"{lu}/api/v1/transfers/{case_id}/certificate.pdf", headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200 and r.content.startswith(b"%PDF")

        r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "supervisor"))
        assert r.json()["stage"] == "recognised"

        # Every read of the case left an audit row that an auditor can see.
        r = await http.get(f"{lu}/api/v1/audit", params={"case": case_id}, headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 200
        actions = [e["action"] for e in r.json()["items"]]
        assert "read" in actions and "create" in actions and "refused:approve" in actions

        r = await http.get(f"{lu}/healthz")
        assert r.status_code == 200 and r.json()["status"] == "ok"
