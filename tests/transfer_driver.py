"""One transfer LU → BE driven through the API, waiting at each step for the message to cross: the driver of
the tests that read every message of the conversation (tests/web/test_conversation_words.py over httpx,
tests/browser/test_every_message_in_browser.py in Chromium)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from probatio.harness import LocalNodes, attach_example_judgment
from tests.support import bearer, fresh_certificate, wait_for

# Actions of the executing side that are the officer's (the others there are the prosecutor's).
BE_OFFICER_ACTIONS = frozenset({"start_supervision", "report_breach", "end_supervision"})


async def act(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
              ) -> None:
    r = await http.post(url, headers=headers, json=body or {})
    assert r.status_code == 200, (url, r.text)


async def detail(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    r = await http.get(url, headers=headers)
    return dict(r.json()) if r.status_code == 200 else {}


def got(case: dict[str, Any], kind: str, way: str = "received") -> bool:
    return any(m["type"] == kind and m["way"] == way for m in case.get("conversation", []))


class Transfer:
    """A transfer through the API. Waits read as each node's supervisor, who oversees every case: a closed
    case is no one else's own work, and its read would ask why."""

    def __init__(self, nodes: LocalNodes, http: httpx.AsyncClient) -> None:
        self.nodes, self.http = nodes, http
        self.lu_p, self.be_p = bearer(nodes, "LU", "prosecutor"), bearer(nodes, "BE", "prosecutor")
        self.lu_o, self.be_o = bearer(nodes, "LU", "officer"), bearer(nodes, "BE", "officer")
        self.lu_s, self.be_s = bearer(nodes, "LU", "supervisor"), bearer(nodes, "BE", "supervisor")
        self.id = ""
        self.certificate: dict[str, Any] = {}
        self.due: date | None = None

    @property
    def lu(self) -> str:
        return f"{self.nodes['LU'].url}/api/v1/transfers/{self.id}"

    @property
    def be(self) -> str:
        return f"{self.nodes['BE'].url}/api/v1/incoming/{self.id}"

    async def start(self, **approve: Any) -> Transfer:
        """Created, its judgment attached, submitted and approved at LU; under decision at BE."""
        self.certificate = fresh_certificate("LU", "BE")
        r = await self.http.post(f"{self.nodes['LU'].url}/api/v1/transfers", headers=self.lu_o,
                                 json={"executing_state": "BE", "certificate": self.certificate})
        assert r.status_code == 201, r.text
        self.id = str(r.json()["id"])
        assert (await attach_example_judgment(self.http, self.nodes["LU"].url, self.id, self.lu_o)).status_code == 201
        await act(self.http, f"{self.lu}/actions/submit", self.lu_o)
        await act(self.http, f"{self.lu}/actions/approve", self.lu_p, approve)
        await self.wait("BE", lambda c: c.get("stage") == "under_decision")
        return self

    async def wait(self, state: str, predicate: Any) -> dict[str, Any]:
        url, who = (self.lu, self.lu_s) if state == "LU" else (self.be, self.be_s)
        return dict(await wait_for(lambda: detail(self.http, url, who), predicate, 90))

    async def supervise(self) -> None:
        """BE's officer starts the supervision once it may (after LU's answer to an adaptation, Art 9(4))."""
        await wait_for(lambda: detail(self.http, self.be, self.be_o),
                       lambda c: "start_supervision" in c.get("actions", []), 90)
        await self.be_does("start_supervision", arrives="supervision_started")

    async def lu_does(self, action: str, body: dict[str, Any] | None = None, *, arrives: str = "") -> None:
        await act(self.http, f"{self.lu}/actions/{action}", self.lu_o if action == "complete" else self.lu_p, body)
        if arrives:
            await self.wait("BE", lambda c: got(c, arrives))

    async def be_does(self, action: str, body: dict[str, Any] | None = None, *, arrives: str = "") -> None:
        officer = action in BE_OFFICER_ACTIONS
        await act(self.http, f"{self.be}/actions/{action}", self.be_o if officer else self.be_p, body)
        if arrives:
            await self.wait("LU", lambda c: got(c, arrives))


async def submitted_transfer(nodes: LocalNodes, http: httpx.AsyncClient, *, surname: str, born: str,
                             reference: str | None = None) -> str:
    """A transfer of the named person submitted by LU's officer: it waits in LU's prosecutor's queue."""
    lu, officer = nodes["LU"].url, bearer(nodes, "LU", "officer")
    cert = fresh_certificate("LU", "BE")
    cert["person"] = {**cert["person"], "surname": surname, "date_of_birth": born}
    if reference is not None:
        cert["judgment"] = {**cert["judgment"], "reference": reference}
    r = await http.post(f"{lu}/api/v1/transfers", headers=officer, json={"executing_state": "BE", "certificate": cert})
    assert r.status_code == 201, r.text
    case_id = str(r.json()["id"])
    assert (await attach_example_judgment(http, lu, case_id, officer)).status_code == 201
    await act(http, f"{lu}/api/v1/transfers/{case_id}/actions/submit", officer)
    return case_id
