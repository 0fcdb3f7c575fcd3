"""A certificate PDF that arrives with a `certificate` or `completion` message: kept exactly as received,
its electronic seal checked against the sending state's trust anchors and the result stored beside it.

Called from the receipt path (web/inbox.py today, intake/ tomorrow) in the receipt's transaction, after
the case exists. Never raises on what the peer sent: a PDF that cannot be decoded is not kept (the JSON
certificate still is), a bad seal is recorded as such and shown to the prosecutor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from typing import Any

from adapters.directory import Directory
from adapters.envelope import Envelope
from adapters.seal import load_certificates, verify_seal
from store import seals

log = logging.getLogger(__name__)

MESSAGES_WITH_CERTIFICATE = frozenset({"certificate", "completion"})


async def keep_received_certificate(conn: Any, directory: Directory, envelope: Envelope) -> None:
    if str(envelope.type) not in MESSAGES_WITH_CERTIFICATE:
        return
    attached = envelope.payload.get("certificate_pdf")
    if not isinstance(attached, dict) or not isinstance(attached.get("content"), str):
        return
    case = await (await conn.execute("SELECT 1 FROM cases WHERE id = %s AND direction = 'incoming'",
                                     (envelope.conversation_id,))).fetchone()
    if case is None:
        return
    try:
        content = base64.b64decode(attached["content"], validate=True)
    except (binascii.Error, ValueError):
        log.warning("message %s: the certificate PDF is not base64; only the JSON certificate is kept",
                    envelope.message_id)
        return
    # Our own digest of the bytes kept: the sender's claim is not what identifies the document here.
    digest = hashlib.sha256(content).hexdigest()
    lang = str(attached.get("lang") or "und")[:16]
    await conn.execute(
        "INSERT INTO documents (case_id, kind, lang, media_type, sha256, content) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (envelope.conversation_id, "certificate", lang, "application/pdf", digest, content))
    check = await verify_seal(content, load_certificates(directory.seal_trust_anchors(envelope.from_state)))
    await seals.record(conn, case_id=envelope.conversation_id, sha256=digest, status=check.status,
                       signer=check.signer, signed_at=check.signed_at, detail=check.detail)
    log.info("message %s (case %s): certificate PDF kept, seal %s", envelope.message_id,
             envelope.conversation_id, check.status)


async def seal_view(pool: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """The seal check of the certificate PDF an incoming case holds, for the API detail and the case page:
    `{"status": valid|invalid|untrusted|unsigned, "signer", "signed_at", "detail", "checked_at"}`; None
    for an outgoing case or one that received no PDF."""
    if row.get("direction") != "incoming":
        return None
    found = await seals.latest(pool, row["id"])
    if found is None:
        return None
    return {"status": found["status"], "signer": found["signer"],
            "signed_at": found["signed_at"].isoformat() if found["signed_at"] else None,
            "detail": found["detail"], "checked_at": found["checked_at"].isoformat()}
