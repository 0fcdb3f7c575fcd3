"""A message the peer refused is not retried blindly: the case shows `delivery_failed`, and an officer's
`resend` (with a reason, audited) sends it again with the same message id — it then arrives once."""

from __future__ import annotations

import functools
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from probatio.embedded import free_port
from probatio.harness import start_nodes
from tests.delivery.flaky_peer import FlakyPeer, flaky_peer
from tests.support import bearer, create_and_approve, outgoing_case, wait_for

pytestmark = pytest.mark.integration


async def test_failed_delivery_is_resent_by_an_officer(temporal_client: Client, pg_server: str,
                                                      tmp_path: Path) -> None:
    be_port = free_port()
    peer = FlakyPeer(target=f"http://127.0.0.1:{be_port}/api/v1/inbox", script=["refuse"])
    with flaky_peer(peer) as proxy_url:
        nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="resend_",
                                  routes={"BE": {"options": {"url": proxy_url, "timeout_seconds": 5}}},
                                  ports={"BE": be_port})
        try:
            lu = nodes["LU"].url
            async with httpx.AsyncClient(timeout=30) as http:
                case_id = await create_and_approve(http, nodes)

                case = functools.partial(outgoing_case, http, nodes, case_id)

                failed = await wait_for(case, lambda c: "delivery_failed" in c["alerts"])
                assert "delivery_failed" in failed["alerts"]
                assert "resend" in failed["actions"]

                # Without a reason, nothing is sent; with one, the same message goes again.
                r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/resend", json={},
                                    headers=bearer(nodes, "LU", "officer"))
                assert r.status_code == 422
                r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/resend",
                                    json={"reason": "BE fixed its directory"}, headers=bearer(nodes, "LU", "officer"))
                assert r.status_code == 200, r.text
                done = await wait_for(case, lambda c: c["stage"] == "under_decision")
                assert done["stage"] == "under_decision"
                assert "delivery_failed" not in done["alerts"]
                assert peer.seen == ["refuse", "pass"]

                r = await http.get(f"{lu}/api/v1/audit", params={"case": case_id, "action": "resend"},
                                   headers=bearer(nodes, "LU", "auditor"))
                assert any(e["action"] == "resend" for e in r.json()["items"])
            async with nodes["BE"].node.pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) AS n FROM inbox WHERE conversation_id = %s", (case_id,))
                assert (await cur.fetchone())["n"] == 1
        finally:
            await nodes.stop()
