"""The web process: JSON API, node-link inbox, health; pages are added by web.pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection
from starlette.types import Scope

from adapters.envelope import SENDER_HEADER
from probatio import __version__, telemetry
from probatio.node import Node
from probatio.settings import Settings
from web import api, delivery, documents, errors, guard, inbox, openapi, pages
from web.auth import session_cookie, shows_valid_credentials


async def _audit_inbox_refusal(scope: Scope, status: int, reason: str) -> None:
    """A body the guard refused on the node link's inbox is audited like the inbox's own refusals."""
    if scope.get("path") != "/api/v1/inbox":
        return
    from store import audit

    sender = dict(scope.get("headers") or []).get(SENDER_HEADER.lower().encode(), b"unknown").decode("latin-1")[:50]
    async with scope["app"].state.node.pool.connection() as conn:
        await audit.record(conn, user_name=f"peer:{sender}", role="peer",
                           authority=scope["app"].state.node.settings.node_authority, case_id=None,
                           action="inbox_rejected", reason=reason, detail={"status": status})


def create_app(settings: Settings | None = None, node: Node | None = None) -> FastAPI:
    """The app for one node. Pass `node` to share an already opened one (tests, `probatio dev`)."""
    settings = settings or (node.settings if node else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = node is None
        app.state.node = node or await Node.open(settings)
        # The metrics port (what a cluster scrapes) is served beside the app: the cases gauge is kept fresh here.
        gauge = asyncio.create_task(telemetry.keep_case_gauge(app.state.node)) if settings.metrics_port else None
        try:
            yield
        finally:
            if gauge is not None:
                gauge.cancel()
            if owned:
                await app.state.node.close()

    app = FastAPI(title=f"probatio ({settings.state})", version=__version__, lifespan=lifespan,
                  generate_unique_id_function=openapi.operation_id,
                  description="Transfer of probation supervision under FD 2008/947/JHA. Errors are RFC 9457 "
                              "problem details (`application/problem+json`) with the short code in `error` and, "
                              "for 422, each field's problem in `errors`. Lists are pages: "
                              '`{"items", "total", "limit", "offset"}` with a `Link` header.')
    errors.install(app)
    telemetry.instrument_app(app, settings)
    app.include_router(api.router)
    app.include_router(inbox.router)
    app.include_router(delivery.router)
    app.include_router(documents.router)
    app.state.settings = settings
    pages.install(app)  # after the API: its error handlers stay JSON for /api, pages get HTML
    openapi.install(app)

    async def _valid_credentials(scope: Scope) -> bool:
        """The guard's question before it reads a large body: a token or a session that exists now."""
        return await shows_valid_credentials(HTTPConnection(scope), app.state.node.pool, settings)

    # Outermost: every body is capped (and every answer marked no-store) before any route sees it.
    app.add_middleware(guard.GuardedRequests, default_cap=lambda: settings.max_body_bytes,
                       on_refused=_audit_inbox_refusal, session_cookie=session_cookie(settings),
                       authenticate=_valid_credentials)

    @app.get("/healthz", tags=["operations"], responses={
        200: {"content": {"application/json": {"example": {"status": "ok", "state": "LU", "database": "ok",
                                                           "temporal": "ok"}}}},
        503: {"description": "the database or Temporal does not answer; the answer says which",
              "content": {"application/json": {"example": {"status": "unavailable", "state": "LU",
                                                           "database": "ok",
                                                           "temporal": "unavailable: RPCError"}}}}})
    async def healthz(request: Request) -> JSONResponse:
        """200 when the database and Temporal answer; 503 naming what does not."""
        current: Node = request.app.state.node
        checks: dict[str, Any] = {}
        try:
            async with asyncio.timeout(3):
                async with current.pool.connection() as conn:
                    await conn.execute("SELECT 1")
            checks["database"] = "ok"
        except Exception as err:
            checks["database"] = f"unavailable: {type(err).__name__}"
        try:
            async with asyncio.timeout(3):
                await current.client.service_client.check_health()
            checks["temporal"] = "ok"
        except Exception as err:
            checks["temporal"] = f"unavailable: {type(err).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if healthy else "unavailable", "state": current.settings.state,
                             **checks}, status_code=200 if healthy else 503)

    return app
