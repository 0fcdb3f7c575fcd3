"""Helpers for driving the pages over HTTP: sign in, read the CSRF token, poll until the projection moves."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from probatio.harness import LocalNodes

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def signed_in(url: str, name: str, password: str = "demo") -> httpx.AsyncClient:
    """A client holding the session cookie of `name` on the node at `url`."""
    http = httpx.AsyncClient(base_url=url, timeout=30)
    page = await http.get("/login")
    r = await http.post("/login", data={"username": name, "password": password, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    return http


def bearer(nodes: LocalNodes, state: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {nodes[state].tokens[role]}"}


async def wait_for(fetch: Any, predicate: Any, timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fetch()
        if predicate(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)
