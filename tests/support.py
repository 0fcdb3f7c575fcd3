"""Helpers shared by the tests that drive nodes over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from probatio.harness import LocalNodes


def bearer(nodes: LocalNodes, state: str, role: str) -> dict[str, str]:
    """The Authorization header of the demo user with this role on the node of `state`."""
    return {"Authorization": f"Bearer {nodes[state].tokens[role]}"}


async def wait_for(fetch: Any, predicate: Any, timeout: float = 30.0) -> Any:
    """Poll until the projection shows what we expect: messages cross the link asynchronously."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fetch()
        if predicate(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)
