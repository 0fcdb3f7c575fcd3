"""Delivery by other channels than the node link: an officer takes in what came by e-mail or post,
records dispatch and receipt of what we sent by post or e-mail, and resends what could not be delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from adapters.envelope import SENDER_HEADER, SIGNATURE_HEADER, EnvelopeRejected
from adapters.mail import MAX_EMAIL_BYTES
from intake import HandOverPending, IntakeRefused, accept_sealed
from intake.evidence import bind_evidence, tell_case
from store import audit, cases
from store.users import User
from web.auth import current_user
from web.cases import DIRECTION, act, visible_case
from web.errors import ApiError, problems
from web.openapi import INTAKE_ANSWER, errors
from workflows.delivery import DeliveryEvidence
from workflows.stages import Side

router = APIRouter(prefix="/api/v1", tags=["delivery"])
CurrentUser = Annotated[User, Depends(current_user)]

# Paper and e-mail take days: replay protection for them rests on the message id, not the clock.
MANUAL_INTAKE_WINDOW = timedelta(days=365)
INTAKE_ROLES = ("officer", "prosecutor", "admin")


@router.post("/inbox/upload", responses={200: {"content": {"application/json": {"example": INTAKE_ANSWER}}},
                                         **errors(403, 413, 422)},
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"example": {
                 "file": "(the .eml file, or the envelope file of a print pack)",
                 "signature": "(with an envelope file: its .signature.json)"}}}}})
async def upload(request: Request, user: CurrentUser, file: Annotated[UploadFile, File()],
                 signature: Annotated[UploadFile | None, File()] = None) -> dict[str, Any]:
    """Take in a message that came by e-mail (the .eml file) or by post (the envelope file and its
    signature file from the print pack). The sender's signature is verified as for the node link."""
    if user.role not in INTAKE_ROLES:
        raise ApiError(403, f"taking in messages is for the officer or prosecutor, not the {user.role}")
    node = request.app.state.node
    # An e-mail carries its documents twice (inline in the signed envelope, and as attachments to read).
    limit = MAX_EMAIL_BYTES
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, f"a message may be at most {limit} bytes")
    body, headers = _unpack(raw, await signature.read(64_000) if signature else None)
    try:
        answer = await accept_sealed(node, body, headers, window=MANUAL_INTAKE_WINDOW, channel="upload")
    except HandOverPending as err:
        raise ApiError(503, f"{err} (upload the same file again in a moment)") from err
    except EnvelopeRejected as err:
        if not isinstance(err, IntakeRefused):  # the intake records its own refusals, with the message's ids
            async with node.pool.connection() as conn:
                await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                                   case_id=None, action="manual_intake_rejected", reason=err.reason,
                                   detail={"status": err.status, "file": file.filename})
        raise ApiError(err.status, problems(("file", err.reason))) from err
    async with node.pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                           case_id=None, action="manual_intake",
                           detail={"message_id": answer.get("message_id"), "file": file.filename})
    return answer


def _unpack(raw: bytes, signature: bytes | None) -> tuple[bytes, dict[str, str]]:
    """An e-mail carries envelope and signature inside; a posted file comes with its signature file."""
    stripped = raw.lstrip()
    if not stripped.startswith(b"{"):
        from adapters.mail import NoEnvelopeInEmail, parse_email

        try:
            received = parse_email(raw)
        except (NoEnvelopeInEmail, ValueError) as err:
            raise ApiError(422, problems(("file", f"neither a probatio envelope nor an e-mail carrying one: {err}"))
                           ) from err
        return received.body, received.headers
    if signature is None:
        raise ApiError(422, problems(("signature", "required with an envelope file: the .signature.json of the pack")))
    try:
        headers = json.loads(signature)
    except ValueError as err:
        raise ApiError(422, problems(("signature", "is not JSON"))) from err
    if not isinstance(headers, dict) or not {SIGNATURE_HEADER, SENDER_HEADER} <= set(headers):
        raise ApiError(422, problems(("signature", f"must hold {SIGNATURE_HEADER} and {SENDER_HEADER}")))
    return raw, {str(k): str(v) for k, v in headers.items()}


class EvidenceIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"message_id": "5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f", "kind": "delivered", "at": "2026-11-23T09:05:01Z",
         "channel": "post"}]})

    message_id: str = Field(min_length=1, max_length=200)
    kind: Literal["dispatched", "delivered", "rejected"] = Field(
        description="dispatched: posted or e-mailed; delivered: the other authority has it; rejected: it came back")
    at: datetime | None = Field(default=None, description="when it happened; the date of receipt starts Art 12")
    channel: Literal["post", "email", "other"] = "post"


async def _record_evidence(request: Request, user: User, side: Side, case_id: str, ev: EvidenceIn) -> dict[str, Any]:
    if user.role not in INTAKE_ROLES:
        raise ApiError(403, f"recording delivery is for the officer or prosecutor, not the {user.role}")
    node = request.app.state.node
    row = await visible_case(node.pool, user, side, case_id)
    at = ev.at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at > datetime.now(UTC) + timedelta(minutes=5):
        raise ApiError(422, problems(("at", "cannot be in the future")))
    evidence = DeliveryEvidence(message_id=ev.message_id, kind=ev.kind, at=at, channel=ev.channel,
                                recorded_by=user.name)
    # As every arrival (intake/): parsed above, bound to the case (a message this case sent), stored (the
    # audit log), and only then signalled.
    async with node.pool.connection() as conn:
        bound = await bind_evidence(conn, ev.message_id, case_id=case_id)
        if bound is None:
            raise ApiError(422, problems(("message_id", "is not a message this case sent")))
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=case_id,
                           action=f"evidence:{ev.kind}", detail={"message_id": ev.message_id, "channel": ev.channel})
    if (ended := await tell_case(node.client, bound, evidence)) is not None:
        raise ApiError(409, f"the case no longer takes delivery evidence ({ended})")
    return {"id": case_id, "message_id": ev.message_id, "recorded": ev.kind}


_EVIDENCE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": {"id": "0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77",
                                                       "message_id": "5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
                                                       "recorded": "delivered"}}}},
    **errors(403, 404, 409, 422)}


@router.post("/transfers/{case_id}/evidence", responses=_EVIDENCE_ANSWERS)
async def transfer_evidence(request: Request, case_id: str, ev: EvidenceIn, user: CurrentUser) -> dict[str, Any]:
    return await _record_evidence(request, user, Side.ISSUING, case_id, ev)


@router.post("/incoming/{case_id}/evidence", responses=_EVIDENCE_ANSWERS)
async def incoming_evidence(request: Request, case_id: str, ev: EvidenceIn, user: CurrentUser) -> dict[str, Any]:
    return await _record_evidence(request, user, Side.EXECUTING, case_id, ev)


class ResendMany(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"ids": ["0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77"], "reason": "the BE gateway was down on 23 November"}]})

    ids: list[str] = Field(default_factory=list, max_length=1000,
                           description="cases to resend; empty means every case of yours whose delivery failed")
    reason: str = Field(min_length=1, max_length=2000, description="why (kept in the audit log)")


@router.post("/resend", responses={200: {"content": {"application/json": {"example": {"results": {
    "0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77": {"stage": "sent"},
    "6a7b8c9d-0000-4000-8000-000000000002": {"error": "not_found"}}}}}}, **errors(422)})
async def resend_many(request: Request, body: ResendMany, user: CurrentUser) -> dict[str, Any]:
    """Resend failed deliveries for many cases at once, after an outage of a peer or a gateway."""
    node = request.app.state.node
    ids = body.ids or [r["id"] for r in await cases.failed_deliveries(node.pool, user.authorities)]
    results: dict[str, Any] = {}
    for case_id in ids:
        direction = await cases.case_direction(node.pool, case_id)
        if direction is None:
            results[case_id] = {"error": "not_found"}
            continue
        side = Side.ISSUING if direction == DIRECTION[Side.ISSUING] else Side.EXECUTING
        try:
            done = await act(node.pool, node.client, user, side, case_id, "resend", {"reason": body.reason})
            results[case_id] = {"stage": done.stage}
        except ApiError as err:
            results[case_id] = {"error": err.code, "detail": err.detail}
    return {"results": results}
