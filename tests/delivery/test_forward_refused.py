"""Art 6(7): when the competent authority's node refuses the forwarded certificate, the case stays with the
authority that received it, in its stage, the timeline says the forwarding failed, and its prosecutor can go
on (decide, or forward again). Before, a forward to another node closed the case whatever happened."""

from __future__ import annotations

import httpx
import pytest

from adapters.directory import Authority
from probatio.harness import LocalNodes
from tests.delivery.flaky_peer import FlakyPeer, flaky_peer
from tests.support import bearer, create_and_approve, wait_for

pytestmark = pytest.mark.integration


async def test_a_refused_forward_leaves_the_case_where_it_was(nodes: LocalNodes) -> None:
    refusing = FlakyPeer(target="http://127.0.0.1:9/unused", script=["refuse"])
    with flaky_peer(refusing) as inbox:
        # BE-GENT: a competent authority of BE with a node of its own, which refuses what it is sent.
        nodes["BE"].node.directory.states["BE"].authorities.append(
            Authority(code="BE-GENT", name="Parket Gent", adapter="nodelink", options={"url": inbox}))
        async with httpx.AsyncClient(timeout=60) as http:
            case_id = await create_and_approve(http, nodes)
            incoming = f"{nodes['BE'].url}/api/v1/incoming/{case_id}"
            prosecutor = bearer(nodes, "BE", "prosecutor")

            async def view() -> dict[str, object]:
                r = await http.get(incoming, headers=prosecutor)
                return dict(r.json()) if r.status_code == 200 else {}

            await wait_for(view, lambda v: v.get("stage") == "under_decision")
            r = await http.post(f"{incoming}/actions/forward", json={"authority": "BE-GENT"}, headers=prosecutor)
            assert r.status_code == 200, r.text
            seen = await wait_for(view, lambda v: any(e["type"] == "forwarding_failed" for e in v["timeline"]))
            assert seen["stage"] == "under_decision" and seen["outcome"] is None
            assert refusing.seen == ["refuse"], "the certificate was offered to BE-GENT's node once"
            r = await http.post(f"{incoming}/actions/decide", json={"outcome": "recognised"}, headers=prosecutor)
            assert r.status_code == 200, r.text
