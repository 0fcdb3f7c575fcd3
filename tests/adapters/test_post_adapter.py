"""The post adapter: a print pack for the officer, and the officer's records as evidence."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from adapters.base import Attachment, OutboundMessage, adapter_for
from adapters.envelope import Envelope, seal
from adapters.evidence import EvidenceOutcome, EvidenceType, decisive_evidence, receipt_time
from adapters.post import PostOptions, compose_letter, record_dispatch, record_receipt

PDF = b"%PDF-1.7\n% certificate\n%%EOF\n"
ADDRESS = ["Office of the Attorney General", "The Palace", "Valletta VLT 1190", "Malta"]


@pytest.fixture
def message(lu_key: Ed25519PrivateKey, envelope: Envelope) -> OutboundMessage:
    return OutboundMessage(
        sealed=seal(envelope, lu_key),
        attachments=[
            Attachment("certificate-en.pdf", "application/pdf", PDF),
            Attachment("../judgment.pdf", "application/pdf", b"%PDF judgment"),
        ],
    )


async def test_deliver_prepares_a_print_pack_and_is_not_a_delivery(message: OutboundMessage, tmp_path: Path) -> None:
    adapter = adapter_for("post", {"address": ADDRESS, "print_queue": str(tmp_path)})
    result = await adapter.deliver(message)
    assert result.delivered is False
    assert result.reference == "post:msg-0001"
    folder = Path(str(result.response["print_folder"]))
    assert folder.parent == tmp_path
    assert listing(folder) == [
        "00-cover-letter.pdf", "01-certificate-en.pdf", "02-judgment.pdf", "probatio-envelope.json",
        "probatio-envelope.signature.json",
    ]  # fmt: skip
    assert (folder / "01-certificate-en.pdf").read_bytes() == PDF
    assert (folder / "probatio-envelope.json").read_bytes() == message.sealed.body
    # The signature travels with the file, so the receiving node can verify what was posted.
    assert json.loads((folder / "probatio-envelope.signature.json").read_text()) == message.sealed.headers
    # A retry writes the same pack again, it does not add a second letter.
    await adapter.deliver(message)
    assert len(listing(folder)) == 5


def test_cover_letter_names_the_reference_and_the_enclosures(message: OutboundMessage) -> None:
    options = PostOptions(address=ADDRESS, sender_address=["Parquet général", "L-2080 Luxembourg"], language="fr")
    pack = compose_letter(message, options, today=date(2026, 3, 2))
    assert "Notre référence" in pack.cover_letter_html
    assert "msg-0001" in pack.cover_letter_html
    text = "".join(page.extract_text() for page in PdfReader(_as_file(pack.cover_letter_pdf)).pages)
    assert "msg-0001" in text and "Valletta" in text and "certificate-en.pdf" in text
    assert "2026-03-02" in text


def test_address_is_escaped(message: OutboundMessage) -> None:
    pack = compose_letter(message, PostOptions(address=["<script>alert(1)</script>"]))
    assert "<script>" not in pack.cover_letter_html


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _as_file(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_officer_records_become_evidence() -> None:
    posted = record_dispatch(
        "msg-0001", at=datetime(2026, 3, 2, 15, tzinfo=UTC), recorded_by="officer.lu", registered_mail_number="RR123"
    )
    assert (posted.type, posted.outcome, posted.channel) == (EvidenceType.SUBMISSION, EvidenceOutcome.POSITIVE, "post")
    assert not posted.confirms_receipt

    arrived = datetime(2026, 3, 5, tzinfo=UTC)
    card = record_receipt("msg-0001", at=arrived, recorded_by="officer.lu", registered_mail_number="RR123")
    assert card.confirms_receipt
    assert receipt_time([posted, card]) == arrived
    assert decisive_evidence([posted, card]) == card

    returned = record_receipt(
        "msg-0001", at=arrived, recorded_by="officer.lu", received=False, reason="addressee unknown"
    )
    assert returned.is_failure and returned.source_type == "RETURNED"
    assert decisive_evidence([posted, returned]) == returned
