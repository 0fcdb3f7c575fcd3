"""Nothing lost, nothing twice: a peer that times out after storing, answers 500, or receives the same
message twice still ends up with every transfer exactly once (real Temporal dev server and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from probatio.embedded import free_port
from probatio.harness import attach_example_judgment, start_nodes
from tests.delivery.flaky_peer import FlakyPeer, flaky_peer
from tests.support import fresh_certificate

pytestmark = pytest.mark.integration


async def test_every_transfer_arrives_exactly_once(temporal_client: Client, pg_server: str, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="activities.node")
    be_port = free_port()
    peer = FlakyPeer(target=f"http://127.0.0.1:{be_port}/api/v1/inbox",
                     script=["store_then_hang", "500", "twice"], hang_seconds=3.0)
    with flaky_peer(peer) as proxy_url:
        route = {"options": {"url": proxy_url, "timeout_seconds": 1}}
        nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="flaky_",
                                  routes={"BE": route}, ports={"BE": be_port})
        try:
            lu, be = nodes["LU"], nodes["BE"]
            officer = {"Authorization": f"Bearer {lu.tokens['officer']}"}
            prosecutor = {"Authorization": f"Bearer {lu.tokens['prosecutor']}"}
            ids: list[str] = []
            async with httpx.AsyncClient(timeout=30) as http:
                # One after the other, so each meets the next misbehaviour of the script.
                for _ in range(3):
                    # Three judgments: one judgment goes to one executing state at a time (Art 6(5)).
                    r = await http.post(f"{lu.url}/api/v1/transfers", headers=officer,
                                        json={"executing_state": "BE", "certificate": fresh_certificate("LU", "BE")})
                    assert r.status_code == 201, r.text
                    case_id = r.json()["id"]
                    ids.append(case_id)
                    assert (await attach_example_judgment(http, lu.url, case_id, officer)).status_code == 201
                    await http.post(f"{lu.url}/api/v1/transfers/{case_id}/actions/submit", headers=officer)
                    r = await http.post(f"{lu.url}/api/v1/transfers/{case_id}/actions/approve", headers=prosecutor)
                    assert r.status_code == 200, r.text
                    while not peer.seen or len(peer.seen) < len(ids):
                        await asyncio.sleep(0.1)

                async def stages() -> list[str]:
                    out = []
                    for case_id in ids:
                        r = await http.get(f"{lu.url}/api/v1/transfers/{case_id}", headers=officer)
                        out.append(r.json()["stage"])
                    return out

                for _ in range(300):
                    if await stages() == ["under_decision"] * 3:
                        break
                    await asyncio.sleep(0.2)
                assert await stages() == ["under_decision"] * 3
            assert peer.seen[:3] == ["store_then_hang", "500", "twice"]

            async with be.node.pool.connection() as conn:
                cur = await conn.execute("SELECT conversation_id, type, count(*) AS n FROM inbox"
                                         " GROUP BY conversation_id, type ORDER BY conversation_id")
                rows = await cur.fetchall()
                cur = await conn.execute("SELECT case_id, count(*) AS n FROM timeline"
                                         " WHERE type = 'certificate_received' GROUP BY case_id")
                received = {r["case_id"]: r["n"] for r in await cur.fetchall()}
                cur = await conn.execute("SELECT count(*) AS n FROM cases WHERE direction = 'incoming'")
                incoming = (await cur.fetchone())["n"]
            assert sorted(r["conversation_id"] for r in rows) == sorted(ids)
            assert all(r["n"] == 1 and r["type"] == "certificate" for r in rows)
            assert received == dict.fromkeys(ids, 1)
            assert incoming == 3
            # And each acknowledgement reached LU once, though BE's answers were lost or doubled.
            async with lu.node.pool.connection() as conn:
                cur = await conn.execute("SELECT case_id, count(*) AS n FROM timeline"
                                         " WHERE type = 'received_by_executing' GROUP BY case_id")
                acks = {r["case_id"]: r["n"] for r in await cur.fetchall()}
            assert acks == dict.fromkeys(ids, 1)
            # The operator's log: each failed attempt and each delivery, with message type and case id. (The
            # first certificate's retry may still be waiting: BE had stored it, and its acknowledgement came.)
            lines = [r.getMessage() for r in caplog.records if r.name == "activities.node"]

            def logged(case_id: str, outcome: str) -> bool:
                return any(f"(certificate, case {case_id}) to BE over nodelink, {outcome}" in line for line in lines)

            assert logged(ids[0], "attempt 1, not delivered: no answer from"), lines
            assert logged(ids[1], "attempt 1, not delivered: http"), lines
            assert logged(ids[1], "attempt 2: delivered"), lines
            assert logged(ids[2], "attempt 1: delivered"), lines
        finally:
            await nodes.stop()
