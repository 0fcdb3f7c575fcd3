"""Helpers shared by the tests that drive nodes over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from forms.examples import example_certificate
from probatio.harness import LocalNodes, attach_example_judgment


def bearer(nodes: LocalNodes, state: str, role: str) -> dict[str, str]:
    """The Authorization header of the demo user with this role on the node of `state`."""
    return {"Authorization": f"Bearer {nodes[state].tokens[role]}"}


class NeverHappened(AssertionError):
    """What a test waited for did not happen in time: the last value is in the message."""


async def wait_for(fetch: Any, predicate: Any, timeout: float = 30.0) -> Any:
    """Poll until the projection shows what we expect (messages cross the link asynchronously); fail,
    showing the last value seen, when it does not within `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fetch()
        if predicate(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise NeverHappened(f"not within {timeout} s; last seen: {str(value)[:2000]}")
        await asyncio.sleep(0.2)


def fresh_certificate(issuing: str = "LU", executing: str = "BE") -> dict[str, Any]:
    """The example certificate for a judgment of its own: a judgment goes to one executing state at a time
    (Art 6(5)), so every transfer a test creates beside others needs its own judgment. Its court's name is
    made unique (box (b)); the reference and dates stay the example's, which the example breach report names."""
    cert = example_certificate(issuing, executing).model_dump(mode="json")
    cert["judgment"]["court"] = f"{cert['judgment']['court']} ({uuid.uuid4().hex[:8]})"
    return cert


async def create_and_approve(http: httpx.AsyncClient, nodes: LocalNodes, issuing: str = "LU",
                             executing: str = "BE") -> str:
    """A transfer with the example certificate and judgment, created and submitted by the officer and approved by the
    prosecutor of `issuing` through the API: what sends the certificate on its way. Returns the case id."""
    url = nodes[issuing].url
    cert = fresh_certificate(issuing, executing)
    r = await http.post(f"{url}/api/v1/transfers", json={"executing_state": executing, "certificate": cert},
                        headers=bearer(nodes, issuing, "officer"))
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    r = await attach_example_judgment(http, url, case_id, bearer(nodes, issuing, "officer"))
    assert r.status_code == 201, r.text
    for role, action in (("officer", "submit"), ("prosecutor", "approve")):
        r = await http.post(f"{url}/api/v1/transfers/{case_id}/actions/{action}", headers=bearer(nodes, issuing, role))
        assert r.status_code == 200, r.text
    return case_id


async def outgoing_case(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str, state: str = "LU") -> dict[str, Any]:
    """The issuing side's view of a case, as its officer reads it through the API."""
    r = await http.get(f"{nodes[state].url}/api/v1/transfers/{case_id}", headers=bearer(nodes, state, "officer"))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data
