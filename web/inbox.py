"""The node link's receiving end (CONTRACT §5): the HTTP face of the intake (`intake/`), which verifies,
de-duplicates, parses, binds, stores and only then signals. A repeated message id gets its first answer."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.envelope import EnvelopeRejected
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
    # The guard (web/guard.py, outermost) held the body to the envelope's limit as it streamed in, and
    # refused and audited what was larger: what reaches here is within it.
    body = await request.body()
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
