"""Bounded input and uncached answers (issue 15, items 6 and 4): a 400 MB chunked upload is refused
without the web process growing, JSON nested 1,000 deep answers 422 not 500, every answer carrying
personal data says `Cache-Control: no-store`; and a read outside one's own work needs a reason."""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.envelope import MAX_ENVELOPE_BYTES, MAX_ENVELOPE_WITH_DOCUMENTS_BYTES
from forms.examples import example_certificate
from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate
from web.guard import MAX_JSON_DEPTH, json_depth_exceeds

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def rss_bytes() -> int:
    """This process's resident memory now (the nodes' web apps run in it)."""
    return _status("VmRSS")


def reset_peak() -> int:
    """Start measuring the peak afresh: Linux's peak resident memory (VmHWM) is set back to what is resident
    now (proc(5), clear_refs "5"); the answer is that starting point."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmHWM")


def peak_bytes() -> int:
    """The most this process held resident since `reset_peak`: a body read whole, even if freed at once,
    shows here where the resident memory after the request would not."""
    return _status("VmHWM")


async def test_a_400_mb_chunked_upload_is_refused_without_growing(nodes: LocalNodes) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        block = b"x" * MiB
        for _ in range(400):
            sent += len(block)
            yield block

    before = reset_peak()
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=120) as http:
        # No Content-Length: the body is chunked, so only counting as it streams can stop it.
        r = await http.post("/api/v1/inbox", content=chunks(),
                            headers={"Content-Type": "application/json", "Probatio-Documents": "1"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert str(MAX_ENVELOPE_WITH_DOCUMENTS_BYTES) in r.json()["detail"]  # the inbox takes documents too
    assert sent == 400 * MiB  # the client got its whole body out: the server discarded it as it came
    # Never held more than a little at any moment while the 400 MB streamed in (the peak, not what is left).
    assert peak_bytes() - before < 64 * MiB, f"the peak grew by {(peak_bytes() - before) // MiB} MiB"


async def test_a_chunked_envelope_without_documents_is_held_to_its_own_limit(nodes: LocalNodes) -> None:
    """An envelope that says it carries no documents may be MAX_ENVELOPE_BYTES, sent with its length or not."""
    async def ten_mib() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * MiB

    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=120) as http:
        r = await http.post("/api/v1/inbox", content=ten_mib(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert str(MAX_ENVELOPE_BYTES) in r.json()["detail"]


async def test_every_route_caps_its_body(nodes: LocalNodes) -> None:
    cap = nodes["LU"].node.settings.max_body_bytes

    async def two_caps() -> AsyncIterator[bytes]:
        yield b'{"executing_state": "BE", "certificate": {"x": "'
        for _ in range(2 * cap // 65536):
            yield b"y" * 65536
        yield b'"}}'

    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        for path in ("/api/v1/transfers", "/api/v1/person-data", "/login"):
            r = await http.post(path, content=two_caps(), headers=bearer(nodes, "LU", "officer"))
            assert r.status_code == 413, (path, r.status_code)
        declared = await http.post("/api/v1/transfers", content=b"x" * (cap + 1),
                                   headers=bearer(nodes, "LU", "officer"))
        assert declared.status_code == 413


async def test_deep_json_is_a_422_not_a_500(nodes: LocalNodes) -> None:
    deep = "[" * 1000 + "]" * 1000
    nested_certificate = '{"executing_state": "BE", "certificate": {"person": ' + deep + "}}"
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        # Also behind a byte-order mark or in UTF-16, which JSON readers take as well (RFC 8259 §8.1).
        for path, body in (("/api/v1/transfers", nested_certificate), ("/api/v1/transfers/x/actions/submit", deep),
                           ("/api/v1/person-data", deep),
                           ("/api/v1/transfers/x/actions/submit", codecs.BOM_UTF8 + ("[" * 3000).encode()),
                           ("/api/v1/transfers/x/actions/submit", ("[" * 3000 + "]" * 3000).encode("utf-16-be"))):
            r = await http.post(path, content=body, headers={**bearer(nodes, "LU", "officer"),
                                                             "Content-Type": "application/json"})
            assert r.status_code == 422, (path, r.status_code, r.text[:200])
            assert r.json()["errors"][0]["path"] == "body" and "nested" in r.json()["errors"][0]["reason"]
    # Brackets inside strings do not count; a real certificate is far from the limit.
    assert not json_depth_exceeds(json.dumps({"note": "[" * 500}).encode())
    assert not json_depth_exceeds(example_certificate("LU", "BE").model_dump_json().encode())
    assert json_depth_exceeds(("[" * (MAX_JSON_DEPTH + 1)).encode())


async def test_personal_data_is_never_cached_and_a_reason_is_asked(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        r = await http.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                            json={"executing_state": "BE",
                                  "certificate": fresh_certificate("LU", "BE")})
        case_id = r.json()["id"]
        for path in (f"/api/v1/transfers/{case_id}", f"/api/v1/transfers/{case_id}/certificate.pdf",
                     f"/api/v1/transfers/{case_id}/certificate.html", "/api/v1/transfers", "/api/v1/dashboard"):
            r = await http.get(path, headers=bearer(nodes, "LU", "officer"))
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
        assert "no-store" not in (await http.get("/static/probatio.css")).headers.get("cache-control", "")

        # The auditor has no case of their own: reading one needs a reason, kept with the purpose.
        r = await http.get(f"/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "auditor"))
        assert r.status_code == 428 and r.json()["error"] == "reason_required"
        assert "X-Probatio-Reason" in r.json()["detail"]
        r = await http.get(f"/api/v1/transfers/{case_id}", headers={
            **bearer(nodes, "LU", "auditor"), "X-Probatio-Reason": "complaint 2026-17"})
        assert r.status_code == 200
        r = await http.get(f"/api/v1/transfers/{case_id}", headers={
            **bearer(nodes, "LU", "supervisor"), "X-Probatio-Purpose": "gossip"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "purpose"
        r = await http.get("/api/v1/audit", params={"case": case_id, "action": "read"},
                           headers=bearer(nodes, "LU", "auditor"))
        reads = {(e["user_name"], e["purpose"], e["reason"]) for e in r.json()["items"]}
        assert ("auditor", "audit", "complaint 2026-17") in reads and ("officer", "case_work", None) in reads


async def test_no_large_body_is_read_before_credentials_are_shown(nodes: LocalNodes) -> None:
    """A document upload (20 MB) or an e-mail's upload is read only from someone who shows a token or a
    session: without, 401 before the body, however large it says it is."""
    async def ten_mib() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * MiB

    before = reset_peak()
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        for path in ("/api/v1/transfers/00000000-0000-0000-0000-000000000000/documents", "/api/v1/inbox/upload"):
            r = await http.post(path, content=ten_mib(), headers={"Content-Type": "multipart/form-data; boundary=x"})
            assert r.status_code == 401 and r.json()["error"] == "unauthorized", (path, r.status_code, r.text)
        # With a token the route reads it (and refuses what is not a multipart upload of a case it knows).
        r = await http.post("/api/v1/transfers/00000000-0000-0000-0000-000000000000/documents", content=b"x",
                            headers={**bearer(nodes, "LU", "officer"),
                                     "Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code != 401, r.text
    assert peak_bytes() - before < 32 * MiB, f"the peak grew by {(peak_bytes() - before) // MiB} MiB"


@pytest.mark.parametrize(("headers", "pulled"), [
    ([], 0),  # nothing shown: refused before a byte of the body is read
    ([(b"authorization", b"Bearer made-up")], 0),  # shown, but no such token: refused all the same
    ([(b"authorization", b"Bearer good")], 3),
    ([(b"cookie", b"theme=dark; probatio_session_lu=good")], 3),
])
async def test_the_guard_reads_a_large_body_only_after_credentials(headers: list[tuple[bytes, bytes]],
                                                                   pulled: int) -> None:
    from web.guard import GuardedRequests

    reached: list[bytes] = []
    chunks = 0

    async def route(scope: Any, receive: Any, send: Any) -> None:
        reached.append((await receive())["body"])

    async def receive() -> dict[str, Any]:
        nonlocal chunks
        chunks += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": chunks < 3}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def authenticate(scope: Any) -> bool:
        return any(b"good" in value for _, value in scope["headers"])

    guard = GuardedRequests(route, default_cap=lambda: 1024 * 1024, session_cookie="probatio_session_lu",
                            authenticate=authenticate)
    await guard({"type": "http", "method": "POST", "path": "/api/v1/transfers/c-1/documents", "headers": headers},
                receive, send)
    assert chunks == pulled
    assert (sent[0]["status"] if sent else None) == (401 if pulled == 0 else None)
    assert reached == ([] if pulled == 0 else [b"x" * 3000])


async def test_the_inbox_holds_few_large_bodies_at_once(nodes: LocalNodes) -> None:
    """The inbox must read a whole body to check its signature: past the size of a message without documents,
    only LARGE_INBOX_BODIES are held at once; one more is told to come back later (503, Retry-After), which a
    sending node does with back-off."""
    from web.guard import LARGE_INBOX_BODIES

    release = asyncio.Event()
    passed = [asyncio.Event() for _ in range(LARGE_INBOX_BODIES)]

    async def held(n: int) -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"x" * MiB
        passed[n].set()  # past MAX_ENVELOPE_BYTES: the guard holds it
        await release.wait()
        yield b"x"

    async def six_mib() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b"x" * MiB

    headers = {"Content-Type": "application/json", "Probatio-Documents": "1"}
    async with httpx.AsyncClient(base_url=nodes["LU"].url, timeout=60) as http:
        holding = [asyncio.create_task(http.post("/api/v1/inbox", content=held(n), headers=headers))
                   for n in range(LARGE_INBOX_BODIES)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in passed)), 30)
        await asyncio.sleep(0.2)  # the last chunk reaches the guard
        r = await http.post("/api/v1/inbox", content=six_mib(), headers=headers)
        assert r.status_code == 503 and r.headers["retry-after"] == "30", (r.status_code, r.text)
        release.set()
        answers = await asyncio.gather(*holding)
        assert all(a.status_code == 401 for a in answers), [(a.status_code, a.text[:200]) for a in answers]
        # Once they are done, the next one is read again (and refused as what it is: no signed envelope).
        r = await http.post("/api/v1/inbox", content=six_mib(), headers=headers)
        assert r.status_code == 401, r.status_code
