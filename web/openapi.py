"""The OpenAPI document tells the truth about errors: every operation may answer the JSON error of
CONTRACT §2 (`{"error": CODE, "detail": …}`), never FastAPI's default validation shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class Problem(BaseModel):
    path: str = Field(description="JSON path of the field, e.g. certificate.person.surname")
    reason: str


class ApiErrorBody(BaseModel):
    error: str = Field(description="unauthorized, forbidden, not_found, conflict, too_large, invalid, unavailable")
    detail: str | list[Problem] | dict[str, Any] | None = Field(
        default=None, description="why; for 422 one entry per problem, naming the field")


ERRORS = {
    "401": "no or bad credentials",
    "403": "role or authority not allowed",
    "404": "no such case or action",
    "409": "not allowed in the current stage; detail says why",
    "413": "too large",
    "422": "invalid input; detail lists JSON paths and reasons",
}


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        body = ApiErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ApiError"] = body
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in ERRORS.items():
                    responses[code] = {"description": description, "content": error}
        app.openapi_schema = doc
        return doc

    app.openapi = schema  # type: ignore[method-assign]
