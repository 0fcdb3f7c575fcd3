"""A certificate PDF that arrives with a `certificate` or `completion` message: kept exactly as received,
checked against the digest the sender gave, its electronic seal checked against the sending state's trust
anchors and the result stored beside it (shown to the prosecutor: a bad seal is recorded, not hidden).

Called by the intake in the receipt's transaction, once the case exists and the message is bound to it; for a
completion, once the case's workflow accepted it (activities/node.py `accept_completion`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from typing import Any

from adapters.directory import Directory
from adapters.seal import load_certificates, verify_seal
from forms.messages import DocumentInfo
from intake.documents import DocumentRefused
from store import seals

log = logging.getLogger(__name__)


def checked_pdf(pdf: DocumentInfo) -> tuple[bytes, str]:
    """The PDF's bytes and digest, checked against the digest the sender gave (DocumentRefused otherwise)."""
    try:
        content = base64.b64decode(pdf.content, validate=True)
    except (binascii.Error, ValueError) as err:
        raise DocumentRefused("payload.certificate_pdf.content: is not base64") from err
    digest = hashlib.sha256(content).hexdigest()
    if pdf.sha256 and pdf.sha256 != digest:
        raise DocumentRefused("payload.certificate_pdf.sha256: does not match the document's bytes")
    return content, digest


async def keep_received_certificate(conn: Any, directory: Directory, *, case_id: str, from_state: str,
                                    message_id: str, pdf: DocumentInfo | None) -> None:
    if pdf is None:
        return
    content, digest = checked_pdf(pdf)
    await conn.execute(
        "INSERT INTO documents (case_id, kind, lang, media_type, sha256, content) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING", (case_id, "certificate", pdf.lang or "und", "application/pdf", digest, content))
    check = await verify_seal(content, load_certificates(directory.seal_trust_anchors(from_state)))
    await seals.record(conn, case_id=case_id, sha256=digest, status=check.status, signer=check.signer,
                       signed_at=check.signed_at, detail=check.detail)
    log.info("message %s (case %s): certificate PDF kept, seal %s", message_id, case_id, check.status)
