"""The node link's receiving end (CONTRACT §5): verify, de-duplicate, store, and hand to the workflow.

A repeated message id gets the first answer again and changes nothing. The message is stored and the
workflow signalled in one database transaction: if signalling fails, nothing is kept and the sender's
retry starts afresh; if the commit fails after signalling, the workflow drops the repeated signal.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.envelope import MAX_ENVELOPE_BYTES, Envelope, EnvelopeRejected, open_envelope
from store import audit, cases, messages
from web.errors import problem_response
from web.openapi import INBOX_ANSWERS
from workflows.model import LinkMessage, TransferInput, signal_body

router = APIRouter(prefix="/api/v1")
log = logging.getLogger(__name__)


def _reject(status: int, reason: str) -> JSONResponse:
    return problem_response(status, reason)


async def _audit_rejection(request: Request, status: int, reason: str, sender: str | None) -> None:
    async with request.app.state.node.pool.connection() as conn:
        await audit.record(conn, user_name=f"peer:{sender or 'unknown'}", role="peer", authority=None, case_id=None,
                           action="inbox_rejected", reason=reason, detail={"status": status})


@router.post("/inbox", include_in_schema=True, responses=INBOX_ANSWERS)
async def inbox(request: Request) -> JSONResponse:
    node = request.app.state.node
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_ENVELOPE_BYTES:
        await _audit_rejection(request, 413, "envelope too large", request.headers.get("probatio-sender"))
        return _reject(413, f"an envelope may be at most {MAX_ENVELOPE_BYTES} bytes")
    body = await request.body()
    try:
        answer = await accept_sealed(node, body, request.headers)
    except EnvelopeRejected as err:
        await _audit_rejection(request, err.status, err.reason, request.headers.get("probatio-sender"))
        return _reject(err.status, err.reason)
    return JSONResponse(answer)


async def accept_sealed(node: Any, body: bytes, headers: Mapping[str, str], *,
                        window: timedelta | None = None) -> dict[str, Any]:
    """Verify a sealed envelope (from the node link, an e-mail, e-CODEX or an officer's upload) and take it
    in; raises EnvelopeRejected. Whatever the channel, a message id is acted on once."""
    now = datetime.now(UTC)
    envelope = open_envelope(body, headers, public_key_for=node.directory.public_key,
                             own_state=node.settings.state, now=now,
                             window=window or timedelta(seconds=node.settings.envelope_window_seconds))
    return await receive(node, envelope, now)


async def receive(node: Any, envelope: Envelope, now: datetime) -> dict[str, Any]:
    answer = {"accepted": True, "message_id": envelope.message_id, "received_at": now.isoformat()}
    client: Client = node.client
    async with node.pool.connection() as conn, conn.transaction():
        # Serialise concurrent deliveries of the same id (a retry racing a slow first attempt).
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (envelope.message_id,))
        first = await messages.inbox_answer(conn, envelope.message_id)
        if first is not None:
            return first
        direction = await _direction(conn, envelope)
        msg = LinkMessage(message_id=envelope.message_id, type=envelope.type, from_state=envelope.from_state,
                          sent_at=envelope.sent_at, received_at=now, body=signal_body(envelope.type, envelope.payload))
        if direction == "outgoing":
            await _update_certificate_if_completed(conn, envelope)
            await _signal(client, f"transfer-{envelope.conversation_id}", msg, answer)
        elif envelope.type == "certificate":
            await _open_incoming_case(node, conn, envelope)
            await client.start_workflow(
                "IncomingTransfer",
                TransferInput(case_id=envelope.conversation_id, issuing_state=envelope.from_state,
                              executing_state=node.settings.state, authority=node.settings.node_authority,
                              created_by=f"peer:{envelope.from_state}",
                              duty_working_days=node.settings.duty_working_days,
                              delivery_retry_hours=node.settings.delivery_retry_hours),
                id=f"incoming-{envelope.conversation_id}", task_queue=node.settings.task_queue,
                start_signal="receive", start_signal_args=[msg],
            )
        else:
            await _update_certificate_if_completed(conn, envelope)
            await _signal(client, f"incoming-{envelope.conversation_id}", msg, answer)
        stored = envelope.model_dump(mode="json")
        await messages.inbox_record(conn, message_id=envelope.message_id, conversation_id=envelope.conversation_id,
                                    type_=envelope.type, from_state=envelope.from_state, envelope=stored,
                                    response=answer)
    return answer


async def _direction(conn: Any, envelope: Envelope) -> str:
    cur = await conn.execute("SELECT direction FROM cases WHERE id = %s", (envelope.conversation_id,))
    row = await cur.fetchone()
    return str(row["direction"]) if row else "incoming"


async def _open_incoming_case(node: Any, conn: Any, envelope: Envelope) -> None:
    from forms.annex1 import Certificate

    certificate = envelope.payload.get("certificate")
    facts = None
    if isinstance(certificate, dict):
        try:
            facts = Certificate.model_validate(certificate).facts().model_dump(mode="json")
        except ValueError:
            # An incomplete certificate is still received: Art 8(2) lets the prosecutor ask for completion.
            facts = None
    await cases.insert_case(conn, case_id=envelope.conversation_id, direction="incoming",
                            authority=node.settings.node_authority, issuing_state=envelope.from_state,
                            executing_state=node.settings.state, stage="received",
                            certificate=certificate if isinstance(certificate, dict) else None, facts=facts,
                            created_by=f"peer:{envelope.from_state}")
    pdf = envelope.payload.get("certificate_pdf")
    if isinstance(pdf, dict) and isinstance(pdf.get("content"), str):
        await conn.execute(
            "INSERT INTO documents (case_id, kind, lang, media_type, sha256, content) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (envelope.conversation_id, "certificate", str(pdf.get("lang", "und")), "application/pdf",
             str(pdf.get("sha256", "")), base64.b64decode(pdf["content"])),
        )


async def _update_certificate_if_completed(conn: Any, envelope: Envelope) -> None:
    certificate = envelope.payload.get("certificate")
    if envelope.type == "completion" and isinstance(certificate, dict):
        await conn.execute("UPDATE cases SET certificate = %s, updated_at = now() WHERE id = %s",
                           (Jsonb(certificate), envelope.conversation_id))


async def _signal(client: Client, workflow_id: str, msg: LinkMessage, answer: dict[str, Any]) -> None:
    """Hand a message to the case's workflow. A message for a case that has ended is kept, not acted on."""
    try:
        await client.get_workflow_handle(workflow_id).signal("receive", msg)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        answer["note"] = "the case has ended here; the message was kept but changes nothing"
