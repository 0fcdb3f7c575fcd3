"""Art 6(1): a judgment of exactly MAX_DOCUMENT_BYTES (20 MB) goes with the certificate over e-CODEX, e-mail and
post, and arrives whole: the receiving node (BE) takes the message in through the arrival path of the channel
(the e-CODEX poll, an officer's upload of the e-mail or of the posted envelope file), stores the judgment, and
lists and serves it with the sha256 the sending node (LU) gave. The node link is proved in
tests/api/test_documents.py (`test_a_20_mb_judgment_passes_the_node_link`).

The certificate message is built as the send activity builds it (activities/node.py `send_message`): the documents
inline in the signed payload (forms.documents.outgoing_documents) and as attachments for people, sealed with LU's
node key. Real Temporal dev server, real PostgreSQL, BE's real intake; two fake connector clients
(tests/adapters/fake_connector.py) relaying to each other; an SMTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from temporalio.client import Client

from activities.ecodex import poll_once
from adapters.base import Attachment, DeliveryError, OutboundMessage, adapter_for
from adapters.envelope import DOCUMENTS_HEADER, Envelope, seal
from adapters.keys import load_or_create_private_key
from adapters.mail import ENVELOPE_FILENAME, MAX_EMAIL_BYTES
from adapters.post import SIGNATURE_FILENAME
from forms.documents import MAX_DOCUMENT_BYTES, Art6_1Documents, AttachedDocument, outgoing_documents
from forms.messages import MessageType
from probatio.embedded import free_port
from probatio.harness import LocalNodes, start_nodes
from tests.adapters.fake_connector import FakeConnector
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration

JUDGMENT_FILENAME = "jugement-2026-17.pdf"


def _pdf_of(size: int) -> bytes:
    """A file that starts like a PDF, `size` bytes long (random, so nothing compresses it on the way)."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


@pytest.fixture(scope="module")
def judgment() -> bytes:
    return _pdf_of(MAX_DOCUMENT_BYTES)


@pytest.fixture(scope="module")
def connectors() -> Iterator[tuple[FakeConnector, FakeConnector]]:
    with FakeConnector(party_id="LU-GW") as lu, FakeConnector(party_id="BE-GW") as be:
        lu.link(be)
        yield lu, be


def ecodex_routes(lu: FakeConnector, be: FakeConnector) -> dict[str, dict[str, Any]]:
    """LU reaches BE through LU's connector client, BE reaches LU through BE's (one shared directory), as in
    tests/delivery/test_ecodex_transfer.py: BE's poll then reads BE's connector client."""
    return {
        "BE": {"adapter": "ecodex", "options": {"connector_url": lu.url, "to_party_id": be.party_id,
                                                "original_sender": "LU-PG", "final_recipient": "BE-PG"}},
        "LU": {"adapter": "ecodex", "options": {"connector_url": be.url, "to_party_id": lu.party_id,
                                                "original_sender": "BE-PG", "final_recipient": "LU-PG"}},
    }


@pytest.fixture(scope="module")
async def linked(temporal_client: Client, pg_server: str, tmp_path_factory: pytest.TempPathFactory,
                 connectors: tuple[FakeConnector, FakeConnector]) -> AsyncIterator[LocalNodes]:
    local = await start_nodes(temporal_client, pg_server, ["LU", "BE"], tmp_path_factory.mktemp("large"),
                              db_prefix="large_judgment_", routes=ecodex_routes(*connectors))
    try:
        yield local
    finally:
        await local.stop()


def certificate_with(nodes: LocalNodes, judgment: bytes) -> OutboundMessage:
    """LU's certificate for BE carrying the judgment, as the send activity seals and hands it to an adapter."""
    doc = {"id": str(uuid.uuid4()), "kind": "judgment", "filename": JUDGMENT_FILENAME, "language": "fr",
           "sha256": hashlib.sha256(judgment).hexdigest(), "size": len(judgment), "content": judgment}
    # Box (k) lists the attached judgment, as at approval.
    certificate = Art6_1Documents(attached=[AttachedDocument.of_listed(doc)]).box_k(fresh_certificate("LU", "BE"))
    envelope = Envelope(message_id=str(uuid.uuid4()), conversation_id=str(uuid.uuid4()),
                        type=MessageType.CERTIFICATE, from_state="LU", to_state="BE", sent_at=datetime.now(UTC),
                        payload={"certificate": certificate, "documents": outgoing_documents([doc])})
    key = load_or_create_private_key(nodes["LU"].node.settings.effective_signing_key_file)
    sealed = seal(envelope, key)
    assert sealed.headers[DOCUMENTS_HEADER] == "1"
    return OutboundMessage(sealed, [Attachment(JUDGMENT_FILENAME, "application/pdf", judgment)])


async def judgment_served_at_be(http: httpx.AsyncClient, nodes: LocalNodes, message: OutboundMessage,
                                judgment: bytes) -> None:
    """BE lists the judgment under the id and sha256 LU gave, and serves those very bytes."""
    case_id = message.sealed.envelope.conversation_id
    [sent] = message.sealed.envelope.payload["documents"]
    be, headers = nodes["BE"].url, bearer(nodes, "BE", "prosecutor")
    r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents", headers=headers)
    assert r.status_code == 200, r.text
    [listed] = r.json()["items"]
    assert (listed["id"], listed["kind"], listed["filename"], listed["size"], listed["sha256"]) == (
        sent["id"], "judgment", JUDGMENT_FILENAME, MAX_DOCUMENT_BYTES, hashlib.sha256(judgment).hexdigest())
    r = await http.get(f"{be}/api/v1/incoming/{case_id}/documents/{listed['id']}", headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.content) == MAX_DOCUMENT_BYTES and hashlib.sha256(r.content).hexdigest() == listed["sha256"]


async def upload_at_be(http: httpx.AsyncClient, nodes: LocalNodes, files: dict[str, Any]) -> httpx.Response:
    """A BE officer takes in what came by e-mail or post (POST /api/v1/inbox/upload)."""
    return await http.post(f"{nodes['BE'].url}/api/v1/inbox/upload", headers=bearer(nodes, "BE", "officer"),
                           files=files)


# --- e-CODEX -------------------------------------------------------------------------------------------


async def test_a_20_mb_judgment_crosses_two_connectors_and_is_kept_at_be(
    linked: LocalNodes, connectors: tuple[FakeConnector, FakeConnector], judgment: bytes
) -> None:
    lu, be = connectors
    message = certificate_with(linked, judgment)
    message_id, case_id = message.sealed.envelope.message_id, message.sealed.envelope.conversation_id
    try:
        result = await adapter_for("ecodex", ecodex_routes(lu, be)["BE"]["options"]).deliver(message)
        assert result.response["submitted"] is True, result

        # What crossed the gateway: the business content holds the envelope byte for byte, and the judgment
        # rides as the business document a person at BE can open.
        [received] = [m for m in be.received() if m["conversationId"] == case_id]
        files = {f["fileName"]: f for f in received["files"]["files"]}
        assert files[JUDGMENT_FILENAME]["fileType"] == "BUSINESS_DOCUMENT"
        assert base64.b64decode(files[JUDGMENT_FILENAME]["fileContent"]) == judgment

        # BE's poll (the function its schedule runs) fetches it, takes it in and answers DELIVERY, RETRIEVAL.
        async def confirmed() -> list[str]:
            await poll_once(linked["BE"].node)
            sent = lu.by_backend_id(message_id) or {}
            return [e["confirmationType"] for e in sent.get("evidences") or []]

        evidences = await wait_for(confirmed, lambda types: "RETRIEVAL" in types, timeout=45)
        assert evidences == ["SUBMISSION_ACCEPTANCE", "RELAY_REMMD_ACCEPTANCE", "DELIVERY", "RETRIEVAL"]
        assert be.refused_triggers == []
        async with httpx.AsyncClient(timeout=60) as http:
            await judgment_served_at_be(http, linked, message, judgment)
    finally:
        # The fakes keep every message in memory for the module; these two are large.
        for fake in (lu, be):
            fake.messages[:] = [m for m in fake.messages if m.get("conversationId") != case_id]


# --- e-mail --------------------------------------------------------------------------------------------


@dataclass
class Relay:
    """Our SMTP relay: what it received."""

    received: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        assert isinstance(envelope.original_content, bytes)
        self.received.append(envelope.original_content)
        return "250 Message accepted for delivery"


def relay_options(port: int) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "starttls": False,
            "from_address": "probation@justice.example.lu", "to_address": "fd947@just.example.be",
            "timeout_seconds": 60}


# What the relay must take for a 20 MB judgment: the e-mail carries it twice (inline in the signed envelope, and
# as an attachment to read), each in base64 (the envelope's part is base64 of a JSON that holds base64), about
# 64 MiB. The relay here takes what the adapter may write at most, as the receiving node's upload does.
RELAY_SIZE_LIMIT = MAX_EMAIL_BYTES


@pytest.fixture
def relay() -> Iterator[Relay]:
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5,
                            data_size_limit=RELAY_SIZE_LIMIT)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


async def test_a_20_mb_judgment_goes_by_e_mail_and_is_kept_at_be(
    linked: LocalNodes, relay: Relay, judgment: bytes
) -> None:
    message = certificate_with(linked, judgment)
    result = await adapter_for("email", relay_options(relay.port)).deliver(message)
    assert result.response["smtp"] == "accepted" and result.response["refused"] == {}
    [raw] = relay.received
    assert len(raw) < RELAY_SIZE_LIMIT

    # As it arrived: the judgment to read, and the signed envelope byte for byte.
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    attached = {part.get_filename(): part.get_payload(decode=True) for part in mail.iter_attachments()}
    assert attached[JUDGMENT_FILENAME] == judgment
    assert attached[ENVELOPE_FILENAME] == message.sealed.body
    del mail, attached  # 64 MiB of e-mail is enough to hold once

    # A BE officer uploads the .eml; the intake verifies it and keeps the judgment.
    async with httpx.AsyncClient(timeout=120) as http:
        r = await upload_at_be(http, linked, {"file": ("certificate.eml", raw, "message/rfc822")})
        assert r.status_code == 200, r.text
        assert r.json()["message_id"] == message.sealed.envelope.message_id
        await judgment_served_at_be(http, linked, message, judgment)


async def test_a_relay_that_takes_less_refuses_it_for_good_and_says_why(linked: LocalNodes, judgment: bytes) -> None:
    """A relay configured below that size (here aiosmtpd's default, 32 MiB) refuses the e-mail when it is
    announced (SMTP SIZE), before the data is sent: not retried for 48 h, a person must look (send it by
    e-CODEX or post, or have the relay's limit raised)."""
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter_for("email", relay_options(controller.port)).deliver(certificate_with(linked, judgment))
    finally:
        controller.stop()
    assert caught.value.retryable is False
    assert "552" in str(caught.value) and "size" in str(caught.value)
    assert handler.received == []


# --- post ----------------------------------------------------------------------------------------------


async def test_a_20_mb_judgment_goes_by_post_and_is_kept_at_be(
    linked: LocalNodes, judgment: bytes, tmp_path: Path
) -> None:
    message = certificate_with(linked, judgment)
    options = {"address": ["Parquet général", "Rue de la Régence 4", "1000 Bruxelles"], "language": "fr",
               "print_queue": str(tmp_path / "print")}
    result = await adapter_for("post", options).deliver(message)
    folder = Path(str(result.response["print_folder"]))
    # The print pack holds the judgment byte for byte, and the signed envelope (with it inline) for the file.
    printed = (folder / f"01-{JUDGMENT_FILENAME}").read_bytes()
    assert printed == judgment and hashlib.sha256(printed).hexdigest() == hashlib.sha256(judgment).hexdigest()
    envelope_file = (folder / ENVELOPE_FILENAME).read_bytes()
    assert envelope_file == message.sealed.body

    # At BE an officer takes in the posted envelope file with its signature file.
    async with httpx.AsyncClient(timeout=120) as http:
        r = await upload_at_be(http, linked, {"file": ("envelope.json", envelope_file, "application/json"),
                                              "signature": ("signature.json",
                                                            (folder / SIGNATURE_FILENAME).read_bytes())})
        assert r.status_code == 200, r.text
        assert r.json()["message_id"] == message.sealed.envelope.message_id
        await judgment_served_at_be(http, linked, message, judgment)
