"""A user only ever sees the cases of their own authorities (CONTRACT §2; issue 15, item 1).

The sweep takes every route the LU app serves (enumerated from `app.routes`, so an endpoint added later —
the documents, an export — is swept without anyone remembering to add it) and calls it as a user of every
role of another authority on the same node, through the API with a token and through the pages with a
session. Nothing of LU's case or draft may come back: not its id in a successful answer, and never the
person's data in any answer. Then what an auditor may see: their authorities' rows only, unless made
node-wide on purpose; the admin does not read the audit log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from psycopg.types.json import Jsonb
from starlette.routing import Route

from forms.messages import ACTIONS
from forms.stages import Side
from probatio.harness import LocalNodes, attach_example_judgment
from store.users import ROLES, create_user
from tests.support import bearer, fresh_certificate, wait_for
from tests.web.webhelp import csrf_of, signed_in

pytestmark = pytest.mark.integration

OTHER = "LU-OTHER"
# Routes that are not a user's: the node link's signed inbox, signing in and out, the OpenAPI documents.
NOT_A_USERS = {"/api/v1/inbox", "/login", "/logout", "/login/oidc", "/login/oidc/callback", "/healthz",
               "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics"}


@dataclass
class Secrets:
    case_id: str
    draft_id: str
    marker: str
    surname: str
    # An incoming case of LU (a transfer BE -> LU): without one every /incoming/{id} route only answers 404.
    incoming_id: str = ""
    incoming_marker: str = ""
    incoming_doc: str = ""

    def leaked(self, text: str, status: int) -> list[str]:
        # A filter field showing back the id the caller typed is not a leak, nor is the language picker's
        # way back to the page asked for (its own address, query included); anything else is.
        for case_id in filter(None, (self.case_id, self.incoming_id)):
            text = text.replace(f'value="{case_id}"', "")
        text = re.sub(r'<input type="hidden" name="next" value="[^"]*">', "", text)
        found = [name for name, value in (("person's data", self.marker),
                                          ("incoming person's data", self.incoming_marker)) if value and value in text]
        if 200 <= status < 300:
            found += [name for name, value in (("case id", self.case_id), ("draft id", self.draft_id),
                                               ("incoming case id", self.incoming_id)) if value and value in text]
        return found


def app_of(nodes: LocalNodes, state: str) -> FastAPI:
    app = nodes[state].server.config.app
    assert isinstance(app, FastAPI)
    return app


async def _lu_case_and_draft(nodes: LocalNodes) -> Secrets:
    marker = f"Marker{uuid.uuid4().hex[:10]}"
    surname = f"Scoped{uuid.uuid4().hex[:6]}"
    cert = fresh_certificate("LU", "BE")
    cert["person"]["place_of_birth"] = marker
    cert["person"]["surname"] = surname
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE", "certificate": cert})
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
    officer = await signed_in(nodes["LU"].url, "officer")
    page = await officer.get("/transfers/new")
    r = await officer.post("/transfers/new", data={"csrf_token": csrf_of(page.text), "start": "example"})
    assert r.status_code == 303
    draft_id = re.search(r"/transfers/drafts/([^/]+)/", r.headers["location"]).group(1)  # type: ignore[union-attr]
    await officer.aclose()
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        conn.execute("UPDATE transfer_drafts SET certificate = certificate || %s WHERE id = %s",
                     (Jsonb({"person": {**cert["person"]}}), draft_id))
    return Secrets(case_id=case_id, draft_id=draft_id, marker=marker, surname=surname)


async def _lu_incoming_case(nodes: LocalNodes, secrets: Secrets) -> Secrets:
    """A transfer BE -> LU with the judgment attached, taken in by LU's intake: an incoming case of LU's own
    authority that exists, so that the incoming routes are swept with an id that answers."""
    marker = f"Incoming{uuid.uuid4().hex[:10]}"
    cert = fresh_certificate("BE", "LU")
    cert["person"]["place_of_birth"] = marker
    async with httpx.AsyncClient(base_url=nodes["BE"].url, timeout=30) as http:
        r = await http.post("/api/v1/transfers", headers=bearer(nodes, "BE", "officer"),
                            json={"executing_state": "LU", "certificate": cert})
        assert r.status_code == 201, r.text
        case_id = str(r.json()["id"])
        r = await attach_example_judgment(http, nodes["BE"].url, case_id, bearer(nodes, "BE", "officer"))
        assert r.status_code == 201, r.text
        for role, action in (("officer", "submit"), ("prosecutor", "approve")):
            r = await http.post(f"/api/v1/transfers/{case_id}/actions/{action}", headers=bearer(nodes, "BE", role))
            assert r.status_code == 200, r.text
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        async def at_lu() -> dict[str, Any]:
            r = await http.get(f"/api/v1/incoming/{case_id}", headers=bearer(nodes, "LU", "prosecutor"))
            return dict(r.json()) if r.status_code == 200 else {}

        case = await wait_for(at_lu, lambda c: c.get("stage") == "under_decision")
        assert case["stage"] == "under_decision", "LU never took in BE's certificate"
        r = await http.get(f"/api/v1/incoming/{case_id}/documents", headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 200, r.text
        [doc] = r.json()["items"]
    return dataclasses.replace(secrets, incoming_id=case_id, incoming_marker=marker, incoming_doc=str(doc["id"]))


def _incoming_state(nodes: LocalNodes, case_id: str) -> tuple[Any, ...]:
    """What an action of the other authority on LU's incoming case would change."""
    with psycopg.connect(nodes["LU"].owner_url) as conn:
        row = conn.execute("SELECT authority, stage, outcome, revision, certificate, deadlines FROM cases"
                           " WHERE id = %s AND direction = 'incoming'", (case_id,)).fetchone()
        timeline = conn.execute("SELECT count(*) FROM timeline WHERE case_id = %s", (case_id,)).fetchone()
        documents = conn.execute("SELECT count(*) FROM documents WHERE case_id = %s", (case_id,)).fetchone()
    assert row is not None
    return (*row, timeline, documents)


async def _settled(nodes: LocalNodes, case_id: str) -> tuple[Any, ...]:
    """The incoming case once its workflow has stopped moving (the receipt it sent, its evidences), so that a
    change seen after the sweep can only come from the sweep."""
    last = _incoming_state(nodes, case_id)
    for _ in range(40):
        await asyncio.sleep(1)
        now = _incoming_state(nodes, case_id)
        if now == last:
            return now
        last = now
    raise AssertionError("LU's incoming case never settled")


def _others(nodes: LocalNodes) -> dict[str, str]:
    """A user of every role in another authority of the LU node; their tokens."""
    tokens = {}
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        for role in ROLES:
            tokens[role] = create_user(conn, f"other-{role}", role, [OTHER], "demo")
    return tokens


def _values(name: str, secrets: Secrets) -> list[str]:
    """What to put in a path parameter: LU's ids wherever an id goes, every variant where there are few."""
    return {
        "case_id": [secrets.case_id, *filter(None, [secrets.incoming_id])], "draft_id": [secrets.draft_id],
        "direction": ["outgoing", "incoming"],
        "fmt": ["pdf", "html", "csv", "json", "xlsx"], "step_key": ["a", "person", "review"],
        "action": ["submit", "approve", "withdraw", "decide"],
        "doc_id": ["1", *filter(None, [secrets.incoming_doc])],
    }.get(name, [secrets.case_id, *filter(None, [secrets.incoming_id])])


def every_route(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route the app serves, routers included at any depth."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI ≥ 0.16x keeps included routers nested
    except ImportError:  # pragma: no cover - older FastAPI flattens them into app.routes
        return [(r.path, set(r.methods or ())) for r in app.routes if isinstance(r, (APIRoute, Route))]
    return [(str(c.path), set(getattr(c.original_route, "methods", None) or ()))
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, (APIRoute, Route)) and c.path]


def _paths(app: FastAPI, secrets: Secrets) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for template, methods in every_route(app):
        if template in NOT_A_USERS:
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", template)
        for combo in itertools.product(*(_values(n, secrets) for n in names)):
            path = template
            for n, v in zip(names, combo, strict=True):
                path = re.sub(r"{" + n + r"(?::\w+)?}", v, path)
            for method in sorted(methods):
                if method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    out.append((method, path))
    return out


def _query(secrets: Secrets) -> dict[str, str]:
    # Every filter a read endpoint might take, pointed at LU's case; and a reason, so nothing is held
    # back for want of one.
    return {"case": secrets.case_id, "reason": "scoping sweep", "lang": "en"}


def _person(secrets: Secrets) -> dict[str, str]:
    return {"surname": secrets.surname, "date_of_birth": "1990-06-02"}


async def test_another_authority_sees_nothing_of_lu(nodes: LocalNodes) -> None:
    secrets = await _lu_incoming_case(nodes, await _lu_case_and_draft(nodes))
    tokens = _others(nodes)
    routes = _paths(app_of(nodes, "LU"), secrets)
    assert any("/audit" in p for _, p in routes) and any("person-data" in p for _, p in routes)
    incoming_routes = [(m, p) for m, p in routes if p.startswith(f"/api/v1/incoming/{secrets.incoming_id}")]
    assert any(p == f"/api/v1/incoming/{secrets.incoming_id}" for _, p in incoming_routes)
    assert any(p == f"/api/v1/incoming/{secrets.incoming_id}/documents/{secrets.incoming_doc}"
               for _, p in incoming_routes)
    before = await _settled(nodes, secrets.incoming_id)
    failures: list[str] = []
    calls = 0
    incoming_answers: dict[str, set[int]] = {}
    for role in ROLES:
        api = httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60,
                                headers={"Authorization": f"Bearer {tokens[role]}"})
        page = await signed_in(nodes["LU"].url, f"other-{role}")
        csrf = csrf_of((await page.get("/cases")).text)
        try:
            for method, path in routes:
                client = api if path.startswith("/api/") else page
                kwargs: dict[str, Any] = {"params": _query(secrets)}
                if method != "GET":
                    if path.startswith("/api/"):
                        kwargs["json"] = _person(secrets) if path.endswith("person-data") else {}
                    else:
                        kwargs["data"] = {"csrf_token": csrf, **_person(secrets)}
                r = await client.request(method, path, **kwargs)
                calls += 1
                if path.startswith(f"/api/v1/incoming/{secrets.incoming_id}"):
                    incoming_answers.setdefault(f"{method} {path}", set()).add(r.status_code)
                if r.status_code >= 500:
                    failures.append(f"{role} {method} {path}: {r.status_code}")
                leaks = secrets.leaked(r.text, r.status_code)
                if leaks:
                    failures.append(f"{role} {method} {path}: {r.status_code} shows LU's {', '.join(leaks)}")
        finally:
            await api.aclose()
            await page.aclose()
    assert calls > 200
    assert not failures, "\n".join(failures)
    # LU's incoming case exists, and its routes refused the other authority (CONTRACT §2: 403, "authority not
    # allowed"), whatever the role. Only what is answered alike for any id is not a 403: an action the
    # executing side does not have (404 before any case is looked up), a body the endpoint cannot parse (422).
    case_free = {f"POST /api/v1/incoming/{secrets.incoming_id}/actions/{a}": {404}
                 for a in _values("action", secrets) if a not in ACTIONS[Side.EXECUTING]}
    case_free[f"POST /api/v1/incoming/{secrets.incoming_id}/evidence"] = {422}
    assert f"POST /api/v1/incoming/{secrets.incoming_id}/actions/decide" in incoming_answers
    wrong = {k: v for k, v in incoming_answers.items() if v != case_free.get(k, {403})}
    assert not wrong, wrong
    # So every action of the executing side, and a well-formed delivery evidence, is tried too: all 403.
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        for role in ROLES:
            other = {"Authorization": f"Bearer {tokens[role]}"}
            for action in ACTIONS[Side.EXECUTING]:
                r = await http.post(f"/api/v1/incoming/{secrets.incoming_id}/actions/{action}", json={},
                                    headers=other)
                if r.status_code != 403 or secrets.leaked(r.text, r.status_code):
                    failures.append(f"{role} {action}: {r.status_code} {r.text[:200]}")
            r = await http.post(f"/api/v1/incoming/{secrets.incoming_id}/evidence", headers=other,
                                json={"message_id": "any", "kind": "delivered", "channel": "post"})
            if r.status_code != 403 or secrets.leaked(r.text, r.status_code):
                failures.append(f"{role} evidence: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    # Nothing the sweep sent changed LU's incoming case; each look at it was refused and recorded for the auditor.
    assert _incoming_state(nodes, secrets.incoming_id) == before
    with psycopg.connect(nodes["LU"].owner_url) as conn:
        denied = {row[0] for row in conn.execute(
            "SELECT user_name FROM audit WHERE action = 'read_denied' AND case_id = %s", (secrets.incoming_id,))}
    assert denied == {f"other-{role}" for role in ROLES}, denied
    # The detector itself: LU's own officer does get the case, and the sweep would have said so.
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.get(f"/api/v1/transfers/{secrets.case_id}/certificate.html",
                           headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200 and secrets.leaked(r.text, r.status_code)
        r = await http.get(f"/api/v1/incoming/{secrets.incoming_id}/certificate.html",
                           headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 200 and "incoming person's data" in secrets.leaked(r.text, r.status_code)


async def test_the_auditor_reads_their_authorities_rows_only(nodes: LocalNodes) -> None:
    secrets = await _lu_case_and_draft(nodes)
    tokens = {r: t for r, t in _others_once(nodes).items()}
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        node_wide = create_user(conn, f"dpo-{uuid.uuid4().hex[:6]}", "auditor", [OTHER], node_wide=True)
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        own = await http.get("/api/v1/audit", params={"case": secrets.case_id}, headers=bearer(nodes, "LU", "auditor"))
        assert own.status_code == 200 and any(e["action"] == "create" for e in own.json()["items"])
        other = await http.get("/api/v1/audit", headers={"Authorization": f"Bearer {tokens['auditor']}"})
        assert other.status_code == 200 and secrets.case_id not in other.text
        wide = await http.get("/api/v1/audit", params={"case": secrets.case_id},
                              headers={"Authorization": f"Bearer {node_wide}"})
        assert wide.status_code == 200 and any(e["action"] == "create" for e in wide.json()["items"])
        # The admin runs the node; reading who looked at what is the auditor's.
        admin = await http.get("/api/v1/audit", headers=bearer(nodes, "LU", "admin"))
        assert admin.status_code == 403
        r = await http.post("/api/v1/person-data", json=_person(secrets), headers=bearer(nodes, "LU", "admin"))
        assert r.status_code == 403
        # The person's data: for LU's auditor, their case; for the other authority's, nothing.
        r = await http.post("/api/v1/person-data", json=_person(secrets), headers=bearer(nodes, "LU", "auditor"))
        assert [c["id"] for c in r.json()["cases"]] == [secrets.case_id]
        r = await http.post("/api/v1/person-data", json=_person(secrets),
                            headers={"Authorization": f"Bearer {tokens['auditor']}"})
        assert r.json()["cases"] == [] and r.json()["drafts"] == [] and secrets.marker not in r.text
        r = await http.post("/api/v1/person-data", json=_person(secrets),
                            headers={"Authorization": f"Bearer {node_wide}"})
        assert [c["id"] for c in r.json()["cases"]] == [secrets.case_id]
        # Reading the audit log is itself audited, and LU's auditor sees that someone read their case's rows.
        r = await http.get("/api/v1/audit", params={"case": secrets.case_id, "action": "audit_log_read"},
                           headers=bearer(nodes, "LU", "auditor"))
        assert {e["user_name"] for e in r.json()["items"]} >= {"auditor", node_wide_name(nodes, node_wide)}


def _others_once(nodes: LocalNodes) -> dict[str, str]:
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM users WHERE name = 'other-auditor'").fetchone():
            from store.users import issue_token

            return {role: issue_token(conn, f"other-{role}") for role in ROLES}
    return _others(nodes)


def node_wide_name(nodes: LocalNodes, token: str) -> str:
    from store.users import token_digest

    with psycopg.connect(nodes["LU"].owner_url) as conn:
        row = conn.execute("SELECT u.name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE token_hash = %s",
                           (token_digest(token),)).fetchone()
    assert row is not None
    return str(row[0])


def test_node_wide_is_only_for_an_auditor(nodes: LocalNodes) -> None:
    with psycopg.connect(nodes["LU"].owner_url, autocommit=True) as conn, pytest.raises(ValueError, match="auditor"):
        create_user(conn, "wide-admin", "admin", ["LU"], node_wide=True)


async def test_draft_reads_are_audited_and_the_audit_page_shows_why(nodes: LocalNodes) -> None:
    secrets = await _lu_case_and_draft(nodes)
    officer = await signed_in(nodes["LU"].url, "officer")
    assert (await officer.get(f"/transfers/drafts/{secrets.draft_id}/a")).status_code == 200
    # A step that does not exist shows nothing of the draft: no read to audit.
    assert (await officer.get(f"/transfers/drafts/{secrets.draft_id}/no-such-step")).status_code == 404
    await officer.aclose()
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=30) as http:
        r = await http.get("/api/v1/audit", params={"action": "read_draft", "user": "officer"},
                           headers=bearer(nodes, "LU", "auditor"))
        drafts = [e for e in r.json()["items"] if e["detail"].get("draft") == secrets.draft_id]
        assert drafts and drafts[0]["purpose"] == "case_work" and drafts[0]["authority"] == "LU"
        assert [e["detail"]["via"] for e in drafts] == ["a"], drafts
        r = await http.get(f"/api/v1/transfers/{secrets.case_id}", headers={
            **bearer(nodes, "LU", "auditor"), "X-Probatio-Reason": "data subject's request 2026/4"})
        assert r.status_code == 200
    auditor = await signed_in(nodes["LU"].url, "auditor")
    page = await auditor.get("/audit", params={"case": secrets.case_id})
    await auditor.aclose()
    assert "<th scope=\"col\">Purpose</th>" in page.text
    assert "<td>audit</td><td>data subject&#39;s request 2026/4</td>" in page.text
