"""No delivery evidence within 24 h: the case says so (`delivery_unconfirmed`), on the time-skipping test
server, for a certificate sent by post that nobody confirmed."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from probatio.harness import start_nodes
from probatio.simulate import TestServer, skip_until
from tests.support import create_and_approve, outgoing_case, wait_for

pytestmark = pytest.mark.integration


async def test_delivery_unconfirmed_after_24_hours(pg_server: str, tmp_path: Path) -> None:
    server = await TestServer.start(tmp_path / "test-server")
    route = {"adapter": "post", "options": {"address": ["Parquet général", "1000 Bruxelles"],
                                            "print_queue": str(tmp_path / "print")}}
    nodes = await start_nodes(server.client, pg_server, ["LU", "BE"], tmp_path, db_prefix="evidence_timeout_",
                              routes={"BE": route})
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await create_and_approve(http, nodes)

            case = functools.partial(outgoing_case, http, nodes, case_id)

            def waiting(c: dict[str, Any]) -> bool:
                return any(str(d["name"]).startswith("delivery:") for d in c["deadlines"])

            assert waiting(await wait_for(case, waiting))
            assert "delivery_unconfirmed" not in (await case())["alerts"]

            await skip_until(server, await server.now() + timedelta(hours=23))
            await asyncio.sleep(1)  # a second for a wrongly early alert to reach the projection
            assert "delivery_unconfirmed" not in (await case())["alerts"]
            await skip_until(server, await server.now() + timedelta(hours=2))
            after = await wait_for(case, lambda c: "delivery_unconfirmed" in c["alerts"])
            assert "delivery_unconfirmed" in after["alerts"]
    finally:
        await nodes.stop()
        server.close()
