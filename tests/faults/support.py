"""Helpers for the fault-injection tests: driving a transfer and checking that each message arrived once.

Every fault is injected on loopback only, in processes these tests start, bounded in time; each test
stops what it started."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg

from probatio.harness import LocalNodes
from tests.support import bearer


async def until(fetch: Any, wanted: Any, timeout: float, what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        try:
            last = await fetch()
            if wanted(last):
                return last
        except (httpx.HTTPError, psycopg.Error) as err:
            last = err
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s; last: {last!r}")


async def stage(http: httpx.AsyncClient, nodes: LocalNodes, state: str, case_id: str) -> str | None:
    path = "transfers" if state == "LU" else "incoming"
    r = await http.get(f"{nodes[state].url}/api/v1/{path}/{case_id}", headers=bearer(nodes, state, "supervisor"))
    return str(r.json()["stage"]) if r.status_code == 200 else None


async def wait_stage(http: httpx.AsyncClient, nodes: LocalNodes, state: str, case_id: str, wanted: str,
                     timeout: float) -> None:
    await until(lambda: stage(http, nodes, state, case_id), lambda s: s == wanted, timeout,
                f"{state} stage {wanted}")


async def decide_and_finish(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str, timeout: float) -> None:
    """BE recognises; LU shows the transfer as transferred."""
    r = await http.post(f"{nodes['BE'].url}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=bearer(nodes, "BE", "prosecutor"))
    assert r.status_code == 200, r.text
    await wait_stage(http, nodes, "LU", case_id, "transferred", timeout)


def received(nodes: LocalNodes, state: str, case_id: str) -> dict[str, int]:
    """How often each message type of the case sits in `state`'s inbox (one row per message id)."""
    url = nodes[state].node.settings.effective_database_url
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT type, count(*) FROM inbox WHERE conversation_id = %s GROUP BY type",
                            (case_id,)).fetchall()
    return {str(t): int(n) for t, n in rows}


def timeline_types(nodes: LocalNodes, state: str, case_id: str) -> list[str]:
    url = nodes[state].node.settings.effective_database_url
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT type FROM timeline WHERE case_id = %s ORDER BY at, id", (case_id,)).fetchall()
    return [str(r[0]) for r in rows]


def assert_each_message_once(nodes: LocalNodes, case_id: str, lu: list[str], be: list[str]) -> None:
    """Each message crossed once: one inbox row per type, and the timelines record each receipt once."""
    at_be, at_lu = received(nodes, "BE", case_id), received(nodes, "LU", case_id)
    assert at_be == dict.fromkeys(be, 1), at_be
    assert at_lu == dict.fromkeys(lu, 1), at_lu
    # The issuing timeline records the executing node's receipt once, however often it was delivered.
    types = timeline_types(nodes, "LU", case_id)
    assert types.count("received_by_executing") == 1, types
