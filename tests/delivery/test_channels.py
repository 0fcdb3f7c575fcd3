"""A transfer goes LU → BE over each way of reaching an authority: e-mail and post here, e-CODEX in
test_ecodex_transfer.py (the node link is the walking skeleton's path). BE's decision comes back over the node
link. Real Temporal dev server, real PostgreSQL and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import io
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from temporalio.client import Client

from forms.examples import EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf
from probatio.embedded import free_port
from probatio.harness import LocalNodes, start_nodes
from tests.support import bearer, create_and_approve, outgoing_case, wait_for

pytestmark = pytest.mark.integration



async def certificate_message_id(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> str:
    async def sent() -> str | None:
        for e in (await outgoing_case(http, nodes, case_id))["timeline"]:
            if e["type"] == "message_sent" and e["detail"]["type"] == "certificate":
                return str(e["detail"]["message_id"])
        return None

    message_id = await wait_for(sent, bool)
    assert message_id, "the certificate was never handed to the adapter"
    return str(message_id)


async def recognise_at_be(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> None:
    be = nodes["BE"].url

    async def under_decision() -> bool:
        # A case taken in from an upload is `received` until its facts are read (the inbox writes the row
        # as the workflow starts; its first read may come before the row and is retried a second later).
        r = await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text
        return bool(r.json()["stage"] == "under_decision")

    assert await wait_for(under_decision, bool)
    r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=bearer(nodes, "BE", "prosecutor"))
    assert r.status_code == 200, r.text

    async def transferred() -> bool:
        return (await outgoing_case(http, nodes, case_id))["stage"] == "transferred"

    assert await wait_for(transferred, bool)


async def judgment_at_be(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> None:
    """Art 6(1): the judgment came with the certificate, whatever the channel, and BE serves the same bytes."""
    be, headers = nodes["BE"].url, bearer(nodes, "BE", "prosecutor")
    r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents", headers=headers)
    assert r.status_code == 200, r.text
    [judgment] = r.json()["items"]
    assert judgment["kind"] == "judgment"
    assert judgment["sha256"] == hashlib.sha256(example_judgment_pdf()).hexdigest()
    r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents/{judgment['id']}", headers=headers)
    assert r.status_code == 200 and r.content == example_judgment_pdf()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


async def test_over_email(temporal_client: Client, pg_server: str, tmp_path: Path) -> None:
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    route = {"adapter": "email", "options": {"smtp_host": "127.0.0.1", "smtp_port": port, "starttls": False,
                                             "from_address": "probation@justice.lu",
                                             "to_address": "parquet@just.fgov.be"}}
    nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="email_",
                              routes={"BE": route})
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            message_id = await certificate_message_id(http, nodes, case_id)
            assert await wait_for(lambda: asyncio.sleep(0, result=bool(mailbox.messages)), bool)
            raw = mailbox.messages[0]
            mail = BytesParser(policy=policy.default).parsebytes(raw)
            attached = {part.get_filename(): part.get_payload(decode=True) for part in mail.iter_attachments()}
            assert attached[EXAMPLE_JUDGMENT_FILENAME] == example_judgment_pdf()  # for the person who reads it

            # At BE an officer takes the e-mail in; a second upload of the same e-mail changes nothing.
            for _ in range(2):
                r = await http.post(f"{nodes['BE'].url}/api/v1/inbox/upload", headers=bearer(nodes, "BE", "officer"),
                                    files={"file": ("transfer.eml", raw, "message/rfc822")})
                assert r.status_code == 200, r.text
                assert r.json()["message_id"] == message_id
            await judgment_at_be(http, nodes, case_id)

            # Evidence for a message this case never sent is refused, naming the field, and changes nothing.
            r = await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/evidence",
                                json={"message_id": "not-sent-by-this-case", "kind": "delivered", "channel": "email"},
                                headers=bearer(nodes, "LU", "officer"))
            assert r.status_code == 422 and r.json()["errors"][0]["path"] == "message_id", r.text
            # LU's officer notes that BE confirmed receipt.
            r = await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/evidence",
                                json={"message_id": message_id, "kind": "delivered", "channel": "email"},
                                headers=bearer(nodes, "LU", "officer"))
            assert r.status_code == 200, r.text
            await recognise_at_be(http, nodes, case_id)
            r = await http.get(f"{nodes['BE'].url}/api/v1/incoming", headers=bearer(nodes, "BE", "officer"))
            assert [c["id"] for c in r.json()["items"]] == [case_id]
    finally:
        await nodes.stop()
        smtp.stop()


async def test_over_post(temporal_client: Client, pg_server: str, tmp_path: Path) -> None:
    queue = tmp_path / "print"
    route = {"adapter": "post", "options": {"address": ["Parquet général", "Rue de la Régence 4", "1000 Bruxelles"],
                                            "language": "fr", "print_queue": str(queue)}}
    nodes = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path, db_prefix="post_",
                              routes={"BE": route})
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            message_id = await certificate_message_id(http, nodes, case_id)
            folder = queue / message_id
            letter = (folder / "00-cover-letter.pdf").read_bytes()
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(letter)).pages)
            assert EXAMPLE_JUDGMENT_FILENAME in text.replace("\n", ""), "the cover letter lists the judgment"
            assert (folder / f"02-{EXAMPLE_JUDGMENT_FILENAME}").read_bytes() == example_judgment_pdf()

            # Until someone records receipt, LU waits for the evidence (alert after 24 h).
            case = await outgoing_case(http, nodes, case_id)
            assert any(d["name"] == f"delivery:{message_id}" and d["status"] == "open" for d in case["deadlines"])

            # A forged file is refused; the real one, with its signature file, is taken in at BE.
            envelope = (folder / "probatio-envelope.json").read_bytes()
            signature = (folder / "probatio-envelope.signature.json").read_bytes()
            forged = envelope.replace(b'"BE"', b'"BE" ', 1)
            r = await http.post(f"{nodes['BE'].url}/api/v1/inbox/upload", headers=bearer(nodes, "BE", "officer"),
                                files={"file": ("e.json", forged), "signature": ("s.json", signature)})
            assert r.status_code == 401
            r = await http.post(f"{nodes['BE'].url}/api/v1/inbox/upload", headers=bearer(nodes, "BE", "officer"),
                                files={"file": ("e.json", envelope), "signature": ("s.json", signature)})
            assert r.status_code == 200, r.text
            await judgment_at_be(http, nodes, case_id)

            for kind in ("dispatched", "delivered"):
                r = await http.post(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/evidence",
                                    json={"message_id": message_id, "kind": kind, "channel": "post"},
                                    headers=bearer(nodes, "LU", "officer"))
                assert r.status_code == 200, r.text

            async def settled() -> bool:
                case = await outgoing_case(http, nodes, case_id)
                return any(d["name"] == f"delivery:{message_id}" and d["status"] == "met" for d in case["deadlines"])

            assert await wait_for(settled, bool)
            await recognise_at_be(http, nodes, case_id)
    finally:
        await nodes.stop()
