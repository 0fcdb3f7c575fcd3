"""A transfer through the pages alone (no script, plain form posts): LU officer's wizard, LU prosecutor's
approval, BE prosecutor's decision; with the refusals a user must see and the audit rows they leave."""

from __future__ import annotations

import psycopg
import pytest
from webhelp import csrf_of, signed_in

from probatio.harness import LocalNodes
from store.users import create_user
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_sign_in_form(nodes: LocalNodes) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=nodes["LU"].url) as http:
        r = await http.get("/cases")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/cases")
        page = await http.get("/login")
        token = csrf_of(page.text)
        r = await http.post("/login", data={"username": "officer", "password": "wrong", "csrf_token": token})
        assert r.status_code == 401 and "not right" in r.text
        # Without the double-submit token the form is refused (login CSRF).
        http.cookies.clear()
        r = await http.post("/login", data={"username": "officer", "password": "demo", "csrf_token": token})
        assert r.status_code == 400
        page = await http.get("/login")
        r = await http.post("/login", data={"username": "officer", "password": "demo",
                                            "csrf_token": csrf_of(page.text), "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/cases"  # no open redirect
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "probatio_session_lu" in v)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert "Secure" not in cookie  # plain http here; https turns it on
        # A form without the session's CSRF token changes nothing.
        r = await http.post("/logout", data={})
        assert r.status_code == 403
        r = await http.get("/cases")
        assert r.status_code == 200
        r = await http.post("/logout", data={"csrf_token": csrf_of(r.text)})
        assert r.status_code == 303
        assert (await http.get("/cases")).status_code == 303


async def test_wizard_to_recognition_through_pages(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    officer = await signed_in(lu, "officer")
    page = await officer.get("/transfers/new")
    r = await officer.post("/transfers/new", data={"start": "example", "csrf_token": csrf_of(page.text)})
    draft = r.headers["location"].rsplit("/", 1)[0]
    token = csrf_of((await officer.get(f"{draft}/e")).text)

    # A bad value is named beside its field, and the draft keeps what was typed.
    r = await officer.post(f"{draft}/j", data={"csrf_token": token, "supervision.total_duration_days": "three",
                                                "go": "k"})
    assert r.status_code == 422
    assert 'id="f-supervision-total-duration-days-error"' in r.text and "whole number" in r.text

    # Markup typed into a field is kept as text and shown escaped, never as markup.
    r = await officer.post(f"{draft}/e", data={"csrf_token": token, "person.surname": MARKUP, "go": "stay"})
    assert r.status_code == 200
    assert MARKUP not in r.text and "&lt;script&gt;" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]

    # Autosave answers JSON and stores the field.
    r = await officer.post(f"{draft}/e", data={"csrf_token": token, "person.place_of_birth": "Ettelbruck"},
                           headers={"X-Autosave": "1"})
    assert r.json()["saved"] is True
    assert 'value="Ettelbruck"' in (await officer.get(f"{draft}/e")).text

    # The measure picker shows each national measure's Art 4(1) category and whether BE supervises it.
    step_j = (await officer.get(f"{draft}/j")).text
    assert "Art 4(1)(a) — BE supervises it" in step_j

    review = await officer.get(f"{draft}/review")
    assert review.status_code == 200 and "The certificate is complete" in review.text, review.text[-2000:]
    r = await officer.post(f"{draft}/start", data={"csrf_token": token, "submit": "1"})
    assert r.status_code == 303, r.text
    case_url = r.headers["location"].split("?")[0]
    case_id = case_url.rsplit("/", 1)[-1]
    page = await officer.get(r.headers["location"])
    assert "Awaiting approval" in page.text
    assert "&lt;script&gt;" in page.text and MARKUP not in page.text
    # Only the actions allowed now: an officer sees no "approve" button while it awaits approval.
    assert "/actions/approve" not in page.text

    # An officer cannot approve, even by posting the form by hand.
    r = await officer.post(f"{case_url}/actions/approve", data={"csrf_token": token})
    assert r.status_code == 403 and "is for the prosecutor" in r.text

    prosecutor = await signed_in(lu, "prosecutor")
    queue = await prosecutor.get("/queue")
    assert case_id[:8] in queue.text and "Approve and sign" in queue.text
    page = await prosecutor.get(case_url)
    assert "/actions/approve" in page.text
    r = await prosecutor.post(f"{case_url}/actions/return", data={"csrf_token": csrf_of(page.text)})
    # The reason is required: said beside the field in words, not in the API's (the action's code).
    assert r.status_code == 422 and "required: fill this in" in r.text and "required for return" not in r.text
    # Approve is serious: the page says what will be sent to whom, and asks once more.
    r = await prosecutor.post(f"{case_url}/actions/approve", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "Check before you go on" in r.text
    r = await prosecutor.post(f"{case_url}/actions/approve", data={"csrf_token": csrf_of(page.text),
                                                                   "confirmed": "1"})
    assert r.status_code == 303 and "approve:sent" in r.headers["location"]

    be_prosecutor = await signed_in(be, "prosecutor")

    async def be_queue() -> str:
        return (await be_prosecutor.get("/queue")).text

    assert case_id[:8] in await wait_for(be_queue, lambda t: case_id[:8] in t)
    decide_url = f"/cases/incoming/{case_id}/decide"
    page = await be_prosecutor.get(decide_url)
    assert page.status_code == 200
    assert "consult the issuing State first (Art 11(3))" in page.text  # grounds needing consultation are marked
    assert "Original measure" in page.text and "Adapted measure" in page.text
    token_be = csrf_of(page.text)
    r = await be_prosecutor.post(decide_url, data={"csrf_token": token_be, "outcome": "refused", "grounds": "j",
                                                   "reasons": "short", "confirmed": "1"})
    assert r.status_code == 409 and "consultation" in r.text  # refusal on (j) needs a consultation first
    r = await be_prosecutor.post(decide_url, data={"csrf_token": token_be, "outcome": "recognised"})
    assert r.status_code == 200 and "Check before you go on" in r.text  # the decision is confirmed first
    r = await be_prosecutor.post(decide_url, data={"csrf_token": token_be, "outcome": "recognised",
                                                   "confirmed": "1"})
    assert r.status_code == 303, r.text
    assert "decide:recognised" in r.headers["location"]

    async def lu_stage() -> str:
        return (await officer.get(case_url)).text

    assert "Transferred" in await wait_for(lu_stage, lambda t: "<span class=\"tag stage-transferred\">" in t)

    for who in (officer, be_prosecutor):
        dash = await who.get("/dashboard")
        assert dash.status_code == 200 and "<svg" in dash.text and "Cases by partner state" in dash.text

    # Someone of another authority cannot see the case, and the attempt is audited.
    with psycopg.connect(nodes["LU"].node.settings.effective_database_url, autocommit=True) as conn:
        create_user(conn, "officer-north", "officer", ["LU-NORTH"], "demo")
    stranger = await signed_in(lu, "officer-north")
    r = await stranger.get(case_url)
    assert r.status_code == 403 and "another authority" in r.text
    assert case_id[:8] not in (await stranger.get("/cases")).text

    # The auditor's page shows who looked at the case.
    auditor = await signed_in(lu, "auditor")
    audit_page = await auditor.get("/audit", params={"case": case_id})
    assert audit_page.status_code == 200
    for who, what in (("officer", "read"), ("prosecutor", "read"), ("officer-north", "read_denied"),
                      ("officer", "refused:approve")):
        assert f"<td>{who}</td>" in audit_page.text and f"<td><code>{what}</code></td>" in audit_page.text
    r = await officer.get("/audit")
    assert r.status_code == 403

    for client in (officer, prosecutor, be_prosecutor, stranger, auditor):
        await client.aclose()


async def test_every_read_leaves_an_audit_row(nodes: LocalNodes) -> None:
    import httpx


    lu = nodes["LU"].url
    async with httpx.AsyncClient(base_url=lu, timeout=30) as http:
        r = await http.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE",
                                  "certificate": fresh_certificate("LU", "BE")})
        case_id = r.json()["id"]

        async def reads() -> list[dict[str, object]]:
            r = await http.get("/api/v1/audit", params={"case": case_id, "action": "read"},
                               headers=bearer(nodes, "LU", "auditor"))
            assert r.status_code == 200
            return list(r.json()["items"])

        before = len(await reads())
        await http.get(f"/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "supervisor"))
        page_client = await signed_in(lu, "prosecutor")
        # A draft is not in the prosecutor's queue: the page asks why before it shows the case.
        asked = await page_client.get(f"/cases/outgoing/{case_id}")
        assert asked.status_code == 428 and 'name="reason"' in asked.text
        await page_client.get(f"/cases/outgoing/{case_id}", params={"reason": "colleague on leave"})
        await page_client.get(f"/cases/outgoing/{case_id}/certificate.html")
        await page_client.aclose()
        after = await reads()
        assert len(after) == before + 3
        assert {(e["user_name"], e["action"], e["purpose"], e["reason"]) for e in after[:3]} == {
            ("supervisor", "read", "supervision", None), ("prosecutor", "read", "decision", "colleague on leave"),
            ("prosecutor", "read_certificate", "decision", "colleague on leave")}
        assert all(e["role"] and e["authority"] == "LU" and e["at"] for e in after)
        r = await http.get("/api/v1/audit", params={"user": "supervisor"}, headers=bearer(nodes, "LU", "auditor"))
        assert r.json()["items"] and all(e["user_name"] == "supervisor" for e in r.json()["items"])
        r = await http.get("/api/v1/audit", params={"since": "yesterday"}, headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "since"
