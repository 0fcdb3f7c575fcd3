"""Helpers for driving the pages over HTTP: sign in, read the CSRF token, poll until the projection moves."""

from __future__ import annotations

import re

import httpx

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


