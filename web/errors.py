"""Errors as RFC 9457 problem details (`application/problem+json`): `type`, `title`, `status`, `detail`,
plus the extension members `error` (the short code clients of CONTRACT §2 already read) and, for 422,
`errors` (one entry per problem, naming the JSON path and the reason). Never a traceback, never a 5xx by
design."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "invalid", 500: "internal", 503: "unavailable"}

# The problem types' short, fixed titles (RFC 9457 §3.1.3: the same for every occurrence of the type).
TITLES = {"bad_request": "Bad request", "unauthorized": "Sign-in required", "forbidden": "Not allowed",
          "not_found": "Not found", "method_not_allowed": "Method not allowed",
          "conflict": "Not allowed in the case's current stage", "too_large": "Too large",
          "invalid": "Invalid input", "internal": "Internal error", "unavailable": "Unavailable",
          "idempotency_key_reused": "Idempotency-Key reused with another request"}


def problem_type(code: str) -> str:
    """A stable URI naming the kind of problem (a URN: it identifies, nobody is meant to fetch it)."""
    return f"urn:probatio:problem:{code}"


class ApiError(Exception):
    def __init__(self, status: int, detail: Any, code: str | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.code = code or CODES.get(status, "error")


def problems(*lines: tuple[str, str]) -> list[dict[str, str]]:
    """422 detail: one entry per problem, naming the JSON path and the reason."""
    return [{"path": path, "reason": reason} for path, reason in lines]


def problem_body(status: int, detail: Any, code: str | None = None) -> dict[str, Any]:
    """The problem details object. A list of field problems becomes `errors`, and `detail` says them in
    one sentence, so a person reading only `detail` learns every field and reason."""
    code = code or CODES.get(status, "error")
    body: dict[str, Any] = {"type": problem_type(code), "title": TITLES.get(code, "Error"), "status": status}
    if isinstance(detail, list):
        body["detail"] = "; ".join(f"{p.get('path')}: {p.get('reason')}" if isinstance(p, dict) else str(p)
                                   for p in detail)
        body["errors"] = detail
    elif isinstance(detail, dict):
        body["detail"] = str(detail.get("detail") or TITLES.get(code, "Error"))
        body.update({k: v for k, v in detail.items() if k not in body})
    else:
        body["detail"] = str(detail) if detail is not None else TITLES.get(code, "Error")
    body["error"] = code
    return body


def problem_response(status: int, detail: Any, code: str | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, code), status_code=status, headers=headers,
                        media_type=PROBLEM_JSON)


def _path(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        found = problems(*((_path(tuple(e.get("loc", ()))), str(e.get("msg", "invalid"))) for e in exc.errors()))
        return problem_response(422, found)

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
        return problem_response(500, "an unexpected error occurred; it has been logged")
