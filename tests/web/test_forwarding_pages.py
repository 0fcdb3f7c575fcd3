"""Art 6(7), 18(1): after the executing side forwards a case, the issuing side's officer reads on the case
page which authority of the executing state now holds it, and the prosecutor of the authority that forwarded
it can no longer see it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from probatio.harness import LocalNodes, start_nodes
from tests.support import bearer, create_and_approve, outgoing_case, wait_for
from tests.web.webhelp import signed_in


@pytest.fixture(scope="module")
async def nodes_with_liege(temporal_client: Client, pg_server: str,
                           tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalNodes]:
    home: Path = tmp_path_factory.mktemp("forwarding")
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], home, db_prefix="fwdpages_",
                              authorities={"BE": ["BE-LIEGE"]})
    try:
        yield local
    finally:
        await local.stop()


async def test_the_issuing_side_reads_who_holds_a_forwarded_case(nodes_with_liege: LocalNodes) -> None:
    nodes = nodes_with_liege
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await create_and_approve(http, nodes)
        incoming = f"{nodes['BE'].url}/api/v1/incoming/{case_id}"
        await wait_for(lambda: http.get(incoming, headers=bearer(nodes, "BE", "prosecutor")),
                       lambda r: r.status_code == 200 and r.json()["stage"] == "under_decision")
        r = await http.post(f"{incoming}/actions/forward", json={"authority": "BE-LIEGE"},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        view = await wait_for(lambda: outgoing_case(http, nodes, case_id),
                              lambda v: v.get("executing_authority") == "BE-LIEGE")
        assert view["stage"] == "under_decision"
        r = await http.get(incoming, headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 403, "the authority that forwarded the case no longer sees it"

    officer = await signed_in(nodes["LU"].url, "officer")
    try:
        page = (await officer.get(f"/cases/outgoing/{case_id}")).text
    finally:
        await officer.aclose()
    holder = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "The case is held in Belgium by BE-LIEGE (served by node BE) (BE-LIEGE)" in holder, holder[:3000]
