"""The documents a certificate brings (Art 6(1)) are typed by the catalogue (forms/documents.py
`TransmittedDocument`): a malformed one is refused at parsing with the field named, and the intake then checks
each one's bytes against the sha256 and size the sender gave before anything is kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.envelope import Envelope
from forms.documents import outgoing_documents
from forms.examples import example_certificate, example_judgment_pdf
from forms.messages import MessageRefused, parse_message
from intake.documents import DocumentRefused, received_documents

PDF = example_judgment_pdf()


def _payload(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"certificate": example_certificate("LU", "BE").model_dump(mode="json"), "language": "fr",
            "documents": documents}


def _sent() -> list[dict[str, Any]]:
    return outgoing_documents([{"id": "doc-1", "kind": "judgment", "filename": "judgment.pdf", "language": "fr",
                                "sha256": hashlib.sha256(PDF).hexdigest(), "size": len(PDF), "content": PDF}])


def _envelope(payload: dict[str, Any]) -> Envelope:
    return Envelope(message_id="m-1", conversation_id="c-1", type="certificate", from_state="LU", to_state="BE",
                    sent_at=datetime.now(UTC), payload=payload)


def test_what_the_issuing_side_sends_is_what_the_executing_side_keeps() -> None:
    payload = _payload(_sent())
    [doc] = received_documents(_envelope(payload), parse_message("certificate", payload))
    assert (doc.kind, doc.filename, doc.content) == ("judgment", "judgment.pdf", PDF)


@pytest.mark.parametrize(("change", "named"), [
    ({"content": 5}, "payload.documents[0].content"),
    ({"content": "not base64!"}, "payload.documents[0].content"),
    ({"kind": "letter"}, "payload.documents[0].kind"),
    ({"sha256": "x"}, "payload.documents[0].sha256"),
    ({"secret": "extra"}, "payload.documents[0].secret"),
])
def test_a_malformed_document_is_refused_naming_its_field(change: dict[str, Any], named: str) -> None:
    with pytest.raises(MessageRefused) as refused:
        parse_message("certificate", _payload([{**_sent()[0], **change}]))
    assert any(p.startswith(named) for p in refused.value.problems), refused.value.problems


def test_bytes_that_do_not_match_their_digest_refuse_the_message() -> None:
    other = hashlib.sha256(b"another judgment").hexdigest()
    payload = _payload([{**_sent()[0], "sha256": other}])
    with pytest.raises(DocumentRefused, match=r"payload\.documents\[0\]: its sha256 or size does not match"):
        received_documents(_envelope(payload), parse_message("certificate", payload))
