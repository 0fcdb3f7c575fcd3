"""Art 6(1): the judgment (and the probation decision) travels with the certificate. Attached at LU through
the API, it is listed and downloadable at BE with the same sha256; box (k) says what is attached; `approve`
without a judgment is refused unless the body says how it is sent separately, which both sides show.
Two real nodes (real Temporal dev server, real PostgreSQL) linked by the node link over HTTP."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from adapters.envelope import DOCUMENTS_HEADER, MAX_ENVELOPE_BYTES, Envelope, seal
from adapters.keys import load_or_create_private_key
from forms.documents import MAX_DOCUMENT_BYTES
from forms.examples import EXAMPLE_JUDGMENT_FILENAME, example_certificate, example_judgment_pdf
from forms.messages import MessageType
from probatio.harness import LocalNodes, attach_example_judgment, start_nodes
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def nodes(temporal_client: Client, pg_server: str, tmp_path: Path) -> AsyncIterator[LocalNodes]:
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="documents_")
    try:
        yield local
    finally:
        await local.stop()


async def _new_transfer(http: httpx.AsyncClient, nodes: LocalNodes) -> str:
    r = await http.post(f"{nodes['LU'].url}/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                        json={"executing_state": "BE",
                              "certificate": fresh_certificate("LU", "BE")})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _upload(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str, content: bytes, *,
                  kind: str = "judgment", language: str = "fr", filename: str = "judgment.pdf",
                  role: str = "officer") -> httpx.Response:
    return await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/documents",
                           headers=bearer(nodes, "LU", role), data={"kind": kind, "language": language},
                           files={"file": (filename, content, "application/pdf")})


async def _act(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str, action: str, role: str,
               body: dict[str, Any] | None = None) -> httpx.Response:
    return await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/actions/{action}", json=body or {},
                           headers=bearer(nodes, "LU", role))


async def _at_be(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
        return dict(r.json()) if r.status_code == 200 else {}

    case = await wait_for(fetch, lambda c: c.get("stage") == "under_decision", timeout=60)
    assert case.get("stage") == "under_decision", case
    return dict(case)


def _pdf_of(size: int) -> bytes:
    """A file that starts like a PDF, `size` bytes long (random, so nothing compresses it on the way)."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


async def test_judgment_attached_at_lu_is_downloadable_at_be_with_the_same_sha256(nodes: LocalNodes) -> None:
    judgment = example_judgment_pdf()
    decision = _pdf_of(30_000)
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(http, nodes)
        r = await attach_example_judgment(http, nodes["LU"].url, case_id, bearer(nodes, "LU", "officer"))
        assert r.status_code == 201, r.text
        attached = r.json()
        assert attached == {"id": attached["id"], "kind": "judgment", "filename": EXAMPLE_JUDGMENT_FILENAME,
                            "sha256": hashlib.sha256(judgment).hexdigest(), "size": len(judgment), "language": "fr"}
        r = await _upload(http, nodes, case_id, decision, kind="probation_decision", language="de",
                          filename="../Bewährungsbeschluss.pdf")
        assert r.status_code == 201, r.text
        assert r.json()["filename"] == "Bewährungsbeschluss.pdf"  # no path ever leaves with a name

        r = await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/documents",
                           headers=bearer(nodes, "LU", "officer"))
        assert [d["kind"] for d in r.json()["items"]] == ["judgment", "probation_decision"]
        assert r.json()["total"] == 2
        # A draft is not yet the prosecutor's work: reading its documents, like the case, asks why.
        r = await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/documents",
                           headers=bearer(nodes, "LU", "prosecutor"))
        assert r.status_code == 428, r.text
        # Box (k) of the certificate as it would be sent lists them.
        html = (await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/certificate.html?lang=en",
                               headers=bearer(nodes, "LU", "officer"))).text
        assert EXAMPLE_JUDGMENT_FILENAME in html and "Bewährungsbeschluss.pdf" in html

        assert (await _act(http, nodes, case_id, "submit", "officer")).status_code == 200
        assert (await _act(http, nodes, case_id, "approve", "prosecutor")).status_code == 200
        # Once the certificate has left, nothing more can be attached: it would not travel.
        r = await _upload(http, nodes, case_id, decision, kind="other")
        assert r.status_code == 409 and "sent" in r.json()["detail"]

        await _at_be(http, nodes, case_id)
        be, be_prosecutor = nodes["BE"].url, bearer(nodes, "BE", "prosecutor")
        r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents", headers=be_prosecutor)
        assert r.status_code == 200, r.text
        listed = {d["kind"]: d for d in r.json()["items"]}
        assert listed["judgment"]["id"] == attached["id"]
        assert listed["judgment"]["sha256"] == attached["sha256"]
        assert listed["probation_decision"]["sha256"] == hashlib.sha256(decision).hexdigest()
        r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents/{attached['id']}", headers=be_prosecutor)
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == attached["sha256"]
        assert r.headers["content-type"] == "application/pdf"
        assert EXAMPLE_JUDGMENT_FILENAME in r.headers["content-disposition"]
        assert r.headers["cache-control"] == "no-store"
        # BE's certificate (box (k)) says which documents came with it.
        html = (await http.get(f"{be}/api/v1/incoming/{case_id}/certificate.html?lang=fr",
                               headers=be_prosecutor)).text
        assert EXAMPLE_JUDGMENT_FILENAME in html and attached["sha256"] in html

        # A user of another authority neither lists nor downloads them; the reads are audited.
        r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents/{uuid.uuid4()}", headers=be_prosecutor)
        assert r.status_code == 404
        r = await http.get(f"{be}/api/v1/audit", params={"case": case_id}, headers=bearer(nodes, "BE", "auditor"))
        assert {"read_documents", "read_document"} <= {a["action"] for a in r.json()["items"]}
        # The judgment is the case's personal data: read outside one's own work (an auditor), it needs a reason,
        # as the case does, and the reason is kept with the read.
        auditor = bearer(nodes, "BE", "auditor")
        for path in (f"/documents/{attached['id']}", "/documents"):
            r = await http.get(f"{be}/api/v1/incoming/{case_id}{path}", headers=auditor)
            assert r.status_code == 428 and r.json()["error"] == "reason_required", (path, r.text)
        r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents/{attached['id']}",
                           headers={**auditor, "X-Probatio-Reason": "complaint 2026-17 of the person"})
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == attached["sha256"]
        r = await http.get(f"{be}/api/v1/audit", params={"case": case_id}, headers=auditor)
        reads = [a for a in r.json()["items"] if a["action"] == "read_document" and a["user_name"] == "auditor"]
        assert reads and reads[0]["reason"] == "complaint 2026-17 of the person", reads

    # The inbox keeps the message without the documents' bytes: they are stored once, in the documents table.
    async with nodes["BE"].node.pool.connection() as conn:
        cur = await conn.execute("SELECT envelope FROM inbox WHERE conversation_id = %s AND type = 'certificate'",
                                 (case_id,))
        row = await cur.fetchone()
        assert row is not None and all("content" not in d for d in row["envelope"]["payload"]["documents"])


async def test_the_documents_list_is_paged_like_every_list(nodes: LocalNodes) -> None:
    """Three documents, two a page: the total counts all three, the `Link` header leads from the first page to
    the second and back, and paging through gives each document once, in the order attached."""
    lu, officer = nodes["LU"].url, bearer(nodes, "LU", "officer")
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(http, nodes)
        attached = []
        for kind in ("judgment", "probation_decision", "other"):
            r = await _upload(http, nodes, case_id, _pdf_of(5_000), kind=kind, filename=f"{kind}.pdf")
            assert r.status_code == 201, r.text
            attached.append(r.json()["id"])

        first = await http.get(f"{lu}/api/v1/transfers/{case_id}/documents", params={"limit": 2}, headers=officer)
        assert first.status_code == 200, first.text
        page = first.json()
        assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
        assert [d["id"] for d in page["items"]] == attached[:2]
        assert "prev" not in first.links and first.links["first"]["url"].endswith("limit=2&offset=0")
        assert first.links["next"]["url"].endswith(f"/api/v1/transfers/{case_id}/documents?limit=2&offset=2")
        assert first.links["last"]["url"].endswith("limit=2&offset=2")

        second = await http.get(first.links["next"]["url"], headers=officer)
        assert second.status_code == 200, second.text
        assert second.json() == {**second.json(), "total": 3, "limit": 2, "offset": 2}
        assert [d["id"] for d in second.json()["items"]] == attached[2:]
        assert "next" not in second.links and second.links["prev"]["url"].endswith("limit=2&offset=0")

        # The same parameters as the other lists, refused alike out of bounds.
        r = await http.get(f"{lu}/api/v1/transfers/{case_id}/documents", params={"limit": 0}, headers=officer)
        assert r.status_code == 422 and r.json()["error"] == "invalid", r.text


async def test_a_20_mb_judgment_passes_the_node_link(nodes: LocalNodes) -> None:
    judgment = _pdf_of(MAX_DOCUMENT_BYTES)
    async with httpx.AsyncClient(timeout=120) as http:
        case_id = await _new_transfer(http, nodes)
        r = await _upload(http, nodes, case_id, judgment)
        assert r.status_code == 201, r.text
        assert (await _act(http, nodes, case_id, "submit", "officer")).status_code == 200
        assert (await _act(http, nodes, case_id, "approve", "prosecutor")).status_code == 200
        await _at_be(http, nodes, case_id)
        r = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}/documents",
                           headers=bearer(nodes, "BE", "prosecutor"))
        [doc] = r.json()["items"]
        assert doc["size"] == MAX_DOCUMENT_BYTES and doc["sha256"] == hashlib.sha256(judgment).hexdigest()


async def test_bad_documents_and_approval_without_judgment_are_refused(nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(http, nodes)

        def field_of(r: httpx.Response) -> list[str]:
            assert r.status_code == 422, r.text
            return [p["path"] for p in r.json()["errors"]]

        assert field_of(await _upload(http, nodes, case_id, b"GIF89a not a pdf")) == ["file"]
        assert field_of(await _upload(http, nodes, case_id, example_judgment_pdf(), kind="verdict")) == ["kind"]
        assert field_of(await _upload(http, nodes, case_id, example_judgment_pdf(), language="xx")) == ["language"]
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/documents", headers=bearer(nodes, "LU", "officer"),
                            data={"kind": "judgment", "language": "fr"})
        assert field_of(r) == ["file"]
        # Over 20 MB: refused from the declared length, before the body is read.
        r = await _upload(http, nodes, case_id, _pdf_of(MAX_DOCUMENT_BYTES + 1))
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        assert (await _upload(http, nodes, case_id, example_judgment_pdf(), role="prosecutor")).status_code == 403

        # Nothing of the refused uploads was kept.
        r = await http.get(f"{lu}/api/v1/transfers/{case_id}/documents", headers=bearer(nodes, "LU", "officer"))
        assert r.json() == {"items": [], "total": 0, "limit": 200, "offset": 0}

        # A document attached by mistake is removed while the transfer is a draft.
        r = await _upload(http, nodes, case_id, _pdf_of(5_000), kind="other")
        other = r.json()["id"]
        r = await http.delete(f"{lu}/api/v1/transfers/{case_id}/documents/{other}",
                              headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 204

        assert (await _act(http, nodes, case_id, "submit", "officer")).status_code == 200
        r = await _act(http, nodes, case_id, "approve", "prosecutor")
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["path"] == "judgment_sent_separately"
        assert "no judgment is attached" in r.json()["errors"][0]["reason"]
        r = await _act(http, nodes, case_id, "approve", "prosecutor", {"judgment_sent_separately": "fax"})
        assert field_of(r) == ["judgment_sent_separately"]

        # Attaching is still possible while it awaits approval; removing is not.
        r = await attach_example_judgment(http, lu, case_id, bearer(nodes, "LU", "officer"))
        assert r.status_code == 201
        r = await http.delete(f"{lu}/api/v1/transfers/{case_id}/documents/{r.json()['id']}",
                              headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 409 and "draft" in r.json()["detail"]
        assert (await _act(http, nodes, case_id, "approve", "prosecutor")).status_code == 200


async def test_judgment_sent_separately_is_recorded_and_shown_on_both_sides(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await _new_transfer(http, nodes)
        assert (await _act(http, nodes, case_id, "submit", "officer")).status_code == 200
        r = await _act(http, nodes, case_id, "approve", "prosecutor", {"judgment_sent_separately": "post"})
        assert r.status_code == 200, r.text

        r = await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))
        approved = next(e for e in r.json()["timeline"] if e["type"] == "approved")
        assert approved["detail"]["judgment_sent_separately"] == "post"

        case = await _at_be(http, nodes, case_id)
        received = next(e for e in case["timeline"] if e["type"] == "certificate_received")
        assert received["detail"]["judgment_sent_separately"] == "post"
        html = (await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}/certificate.html?lang=en",
                               headers=bearer(nodes, "BE", "prosecutor"))).text
        assert "Where the judgment is not attached, it is sent" in html and "by post" in html


def _certificate_with(documents: list[dict[str, Any]], nodes: LocalNodes) -> tuple[bytes, dict[str, str]]:
    key = load_or_create_private_key(nodes["LU"].node.settings.effective_signing_key_file)
    envelope = Envelope(message_id=str(uuid.uuid4()), conversation_id=str(uuid.uuid4()),
                        type=MessageType.CERTIFICATE, from_state="LU", to_state="BE", sent_at=datetime.now(UTC),
                        payload={"certificate": example_certificate("LU", "BE").model_dump(mode="json"),
                                 "documents": documents})
    sealed = seal(envelope, key)
    return sealed.body, sealed.headers


async def test_a_document_that_does_not_match_its_sha256_refuses_the_message(nodes: LocalNodes) -> None:
    judgment = example_judgment_pdf()
    doc = {"id": str(uuid.uuid4()), "kind": "judgment", "filename": "j.pdf", "language": "fr",
           "sha256": hashlib.sha256(judgment).hexdigest(), "size": len(judgment),
           "content": base64.b64encode(judgment[:-1] + b"X").decode()}
    async with httpx.AsyncClient(base_url=nodes["BE"].url, timeout=60) as http:
        body, headers = _certificate_with([doc], nodes)
        r = await http.post("/api/v1/inbox", content=body, headers=headers)
        assert r.status_code == 422 and "sha256" in r.json()["detail"]
        # A body over the plain limit that says it carries documents but does not is refused as too large.
        key = load_or_create_private_key(nodes["LU"].node.settings.effective_signing_key_file)
        sealed = seal(Envelope(message_id=str(uuid.uuid4()), conversation_id=str(uuid.uuid4()),
                               type=MessageType.CERTIFICATE, from_state="LU", to_state="BE",
                               sent_at=datetime.now(UTC), payload={"padding": "x" * MAX_ENVELOPE_BYTES}), key)
        r = await http.post("/api/v1/inbox", content=sealed.body, headers={**sealed.headers, DOCUMENTS_HEADER: "1"})
        assert r.status_code == 413, r.text
    async with nodes["BE"].node.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM cases")
        assert (await cur.fetchone())["n"] == 0
        cur = await conn.execute("SELECT count(*) AS n FROM documents")
        assert (await cur.fetchone())["n"] == 0
