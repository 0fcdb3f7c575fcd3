"""What a certificate or a completion brings besides the certificate (Art 6(1)): the judgment and other
documents, inline in the signed payload, each checked against its sha256 and size before anything is kept."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from pydantic import ValidationError

from adapters.envelope import Envelope
from forms.documents import MAX_DOCUMENTS, AttachedDocument, pdf_problem, safe_filename
from forms.messages import MESSAGES
from store import documents as store

# The messages that carry documents: those whose model in the catalogue has a `documents` field.
DOCUMENT_MESSAGES = frozenset(t for t, m in MESSAGES.items() if "documents" in m.model_fields)


class DocumentRefused(ValueError):
    """A document that does not match what the sender said of it: the path and the reason."""


class ReceivedDocument(AttachedDocument):
    content: bytes


def received_documents(envelope: Envelope) -> list[ReceivedDocument]:
    """The documents inline in a certificate or completion, each checked against its sha256 and size;
    anything else refuses the whole message (422), so nothing of it is kept."""
    raw = envelope.payload.get("documents")
    if raw is None:
        return []
    if envelope.type not in DOCUMENT_MESSAGES:
        raise DocumentRefused("payload.documents: documents travel only with a certificate or a completion")
    if not isinstance(raw, list) or len(raw) > MAX_DOCUMENTS:
        raise DocumentRefused(f"payload.documents: must be a list of at most {MAX_DOCUMENTS} documents")
    out: list[ReceivedDocument] = []
    for n, item in enumerate(raw):
        where = f"payload.documents[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise DocumentRefused(f"{where}: must be a document with its content in base64")
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError) as err:
            raise DocumentRefused(f"{where}.content: is not base64") from err
        try:
            doc = ReceivedDocument.model_validate({**item, "content": content})
        except ValidationError as err:
            first = err.errors()[0]
            raise DocumentRefused(f"{where}.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from err
        if hashlib.sha256(content).hexdigest() != doc.sha256 or len(content) != doc.size:
            raise DocumentRefused(f"{where}: its sha256 or size does not match its content ({doc.filename})")
        if (problem := pdf_problem(content[:8])) is not None:
            raise DocumentRefused(f"{where}: {problem}")
        out.append(doc)
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
