"""What a certificate or a completion brings besides the certificate (Art 6(1)): the judgment and other
documents, inline in the signed payload, each checked against its sha256 and size before anything is kept."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from adapters.envelope import Envelope
from forms.documents import AttachedDocument, pdf_problem, safe_filename
from forms.messages import MESSAGES, Message
from store import documents as store

# The messages that carry documents: those whose model in the catalogue has a `documents` field.
DOCUMENT_MESSAGES = frozenset(t for t, m in MESSAGES.items() if "documents" in m.model_fields)


class DocumentRefused(ValueError):
    """A document that does not match what the sender said of it: the path and the reason."""


class ReceivedDocument(AttachedDocument):
    content: bytes


def received_documents(envelope: Envelope, message: Message) -> list[ReceivedDocument]:
    """The documents inline in a certificate or completion (typed by the catalogue when the message was parsed:
    at most MAX_DOCUMENTS, each as box (k) lists it with its content in base64), each checked against its sha256
    and size and that it is a PDF; anything else refuses the whole message (422), so nothing of it is kept."""
    if envelope.payload.get("documents") is None:
        return []
    if envelope.type not in DOCUMENT_MESSAGES:
        raise DocumentRefused("payload.documents: documents travel only with a certificate or a completion")
    out: list[ReceivedDocument] = []
    for n, doc in enumerate(getattr(message, "documents", None) or []):
        where = f"payload.documents[{n}]"
        try:
            content = base64.b64decode(doc.content, validate=True)
        except (binascii.Error, ValueError) as err:
            raise DocumentRefused(f"{where}.content: is not base64") from err
        if hashlib.sha256(content).hexdigest() != doc.sha256 or len(content) != doc.size:
            raise DocumentRefused(f"{where}: its sha256 or size does not match its content ({doc.filename})")
        if (problem := pdf_problem(content[:8])) is not None:
            raise DocumentRefused(f"{where}: {problem}")
        out.append(ReceivedDocument(**doc.model_dump(exclude={"content"}), content=content))
    return out


async def keep_received(conn: Any, envelope: Envelope, documents: list[ReceivedDocument]) -> None:
    """Store the documents a certificate or completion brought, under the case the message opened or joined."""
    for doc in documents:
        await store.keep_received(conn, case_id=envelope.conversation_id, doc_id=doc.id, kind=doc.kind,
                                  filename=safe_filename(doc.filename, doc.kind), language=doc.language,
                                  sha256=doc.sha256, content=doc.content, sender=f"peer:{envelope.from_state}")


def without_document_content(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope as the inbox keeps it: the documents' bytes are in the documents table, once."""
    payload = envelope.get("payload") or {}
    if not isinstance(payload.get("documents"), list):
        return envelope
    kept = [{k: v for k, v in d.items() if k != "content"} if isinstance(d, dict) else d
            for d in payload["documents"]]
    return {**envelope, "payload": {**payload, "documents": kept}}
