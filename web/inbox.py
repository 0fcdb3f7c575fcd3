"""The node link's receiving end (CONTRACT §5): the HTTP face of the intake (`intake/`), which verifies,
de-duplicates, parses, binds, stores and only then signals. A repeated message id gets its first answer."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.envelope import EnvelopeRejected, envelope_limit
from intake import HandOverPending, IntakeRefused, accept_sealed
from store import audit
from web.errors import problem_response
from web.openapi import INBOX_ANSWERS

router = APIRouter(prefix="/api/v1")
log = logging.getLogger(__name__)


def _reject(status: int, reason: str) -> JSONResponse:
    return problem_response(status, reason)


async def _audit_rejection(request: Request, status: int, reason: str, sender: str | None) -> None:
    async with request.app.state.node.pool.connection() as conn:
        await audit.record(conn, user_name=f"peer:{sender or 'unknown'}", role="peer",
                           authority=request.app.state.node.settings.node_authority, case_id=None,
                           action="inbox_rejected", reason=reason, detail={"status": status})


@router.post("/inbox", include_in_schema=True, responses=INBOX_ANSWERS)
async def inbox(request: Request) -> JSONResponse:
    node = request.app.state.node
    declared, limit = request.headers.get("content-length"), envelope_limit(request.headers)
    if declared and declared.isdigit() and int(declared) > limit:
        await _audit_rejection(request, 413, "envelope too large", request.headers.get("probatio-sender"))
        return _reject(413, f"an envelope may be at most {limit} bytes")
    # A body sent without its length (chunked) is held to the same limit as it streams in: no more is read.
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _audit_rejection(request, 413, "envelope too large", request.headers.get("probatio-sender"))
            return _reject(413, f"an envelope may be at most {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        answer = await accept_sealed(node, body, request.headers)
    except HandOverPending as err:
        # Kept, not yet told to its case: the sender's retry (with back-off) hands it over, once.
        return problem_response(503, str(err), code="busy", headers={"Retry-After": "5"})
    except EnvelopeRejected as err:
        if not isinstance(err, IntakeRefused):  # the intake records its own refusals, with the message's ids
            await _audit_rejection(request, err.status, err.reason, request.headers.get("probatio-sender"))
        return _reject(err.status, err.reason)
    return JSONResponse(answer)
