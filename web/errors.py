"""Errors as CONTRACT §2 says: JSON `{"error": CODE, "detail": …}`; never a traceback, never a 5xx by design."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "invalid", 503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, detail: Any, code: str | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.code = code or CODES.get(status, "error")


def problems(*lines: tuple[str, str]) -> list[dict[str, str]]:
    """422 detail: one entry per problem, naming the JSON path and the reason."""
    return [{"path": path, "reason": reason} for path, reason in lines]


def _path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": CODES.get(exc.status_code, "error"), "detail": exc.detail},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = problems(*((_path(tuple(e.get("loc", ()))), str(e.get("msg", "invalid"))) for e in exc.errors()))
        return JSONResponse({"error": "invalid", "detail": detail}, status_code=422)

    @app.exception_handler(psycopg.DataError)
    async def _data_error(request: Request, exc: psycopg.DataError) -> Any:
        # Input PostgreSQL cannot store (a NUL character, a number out of range): the caller's mistake, a 422.
        # Handed to whatever answers ApiError now, so pages get a page and the API gets JSON.
        log.info("input refused by the database: %s", type(exc).__name__)
        error = ApiError(422, problems(("body", "contains a character or value that cannot be stored "
                                                "(such as a NUL character or a number out of range)")))
        return await request.app.exception_handlers[ApiError](request, error)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A bug: logged with its traceback for the operator, never shown to the user.
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse({"error": "internal", "detail": "an unexpected error occurred; it has been logged"},
                            status_code=500)
