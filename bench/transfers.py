"""Driving probatio transfers over its HTTP API, as people would: create, submit, approve on the issuing
node; decide (and optionally start supervision) on the executing node once the certificate arrived."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from probatio.harness import attach_example_judgment


class Endpoint(Protocol):
    """A node as the driver sees it: its URL and a bearer token per role (LocalNode, or a dev-stack node)."""

    @property
    def url(self) -> str: ...

    @property
    def tokens(self) -> dict[str, str]: ...


class Nodes(Protocol):
    """Nodes by state: a dict of endpoints, or probatio.harness.LocalNodes."""

    def __getitem__(self, state: str, /) -> Endpoint: ...

# How often a waiting client looks again: four times a second, like a page that refreshes itself quickly.
# The baseline of `lifecycle` polls its executing workflow at the same rate.
POLL_SECONDS = 0.25


def _auth(nodes: Nodes, state: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {nodes[state].tokens[role]}"}


async def _until(fetch: Any, wanted: Any, timeout: float, what: str) -> Any:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await fetch()
        if r.status_code == 200 and wanted(r.json()):
            return r.json()
        if loop.time() > deadline:
            raise TimeoutError(f"{what}: still {r.status_code} {r.text[:200]}")
        await asyncio.sleep(POLL_SECONDS)


async def transfer(http: httpx.AsyncClient, nodes: Nodes, certificate: dict[str, Any], *,
                   issuing: str = "LU", executing: str = "BE", supervise: bool = False,
                   timeout: float = 300) -> str:  # noqa: ASYNC109
    """One transfer from the officer's draft to `recognised` on both sides (and `supervising`)."""
    src, dst = nodes[issuing].url, nodes[executing].url
    # A judgment of its own for each transfer: one judgment goes to one executing state at a time (Art 6(5)).
    judgment = certificate["judgment"]
    reference = f"{judgment['reference']}-{uuid.uuid4().hex[:8]}"
    certificate = {**certificate, "judgment": {**judgment, "reference": reference}}
    r = await http.post(f"{src}/api/v1/transfers", json={"executing_state": executing, "certificate": certificate},
                        headers=_auth(nodes, issuing, "officer"))
    r.raise_for_status()
    case_id = str(r.json()["id"])
    (await attach_example_judgment(http, src, case_id, _auth(nodes, issuing, "officer"))).raise_for_status()
    for action, role in (("submit", "officer"), ("approve", "prosecutor")):
        r = await http.post(f"{src}/api/v1/transfers/{case_id}/actions/{action}", headers=_auth(nodes, issuing, role))
        r.raise_for_status()
    await _until(lambda: http.get(f"{dst}/api/v1/incoming/{case_id}", headers=_auth(nodes, executing, "prosecutor")),
                 lambda j: j["stage"] == "under_decision", timeout, f"{case_id} at {executing}")
    r = await http.post(f"{dst}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=_auth(nodes, executing, "prosecutor"))
    r.raise_for_status()
    await _until(lambda: http.get(f"{src}/api/v1/transfers/{case_id}", headers=_auth(nodes, issuing, "officer")),
                 lambda j: j["stage"] == "transferred", timeout, f"{case_id} at {issuing}")
    if supervise:
        r = await http.post(f"{dst}/api/v1/incoming/{case_id}/actions/start_supervision",
                            headers=_auth(nodes, executing, "officer"))
        r.raise_for_status()
    return case_id


async def many(nodes: Nodes, certificate: dict[str, Any], n: int, concurrency: int, *,
               done: Callable[[], None] | None = None, **kw: Any) -> list[str]:
    """`n` transfers, `concurrency` at a time; `done` is told of each as it reaches `recognised` (a progress bar)."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=4 * concurrency)) as http:

        async def one() -> str:
            async with limit:
                case_id = await transfer(http, nodes, certificate, **kw)
            if done is not None:
                done()
            return case_id

        return list(await asyncio.gather(*(one() for _ in range(n))))


async def history_counts(client: Client, workflow_id: str) -> Counter[str]:
    """Updates, signals and activities (and sends, and local activities) in a workflow's history."""
    counts: Counter[str] = Counter()
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts["activities"] += 1
            if event.activity_task_scheduled_event_attributes.activity_type.name == "send_message":
                counts["sends"] += 1
        elif (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
              and event.marker_recorded_event_attributes.marker_name == "core_local_activity"):
            counts["local_activities"] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            counts["signals"] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts["updates"] += 1
    return counts
