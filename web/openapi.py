"""The OpenAPI document as integrators expect it: readable operation ids, the HTTP Bearer scheme, an example
for every body and answer, and on each operation only the error answers it can give, each an RFC 9457
problem (`application/problem+json`, see web/errors.py).

Routes declare their errors with `errors(…)`; this module fills in the problem schema and an example for
each, adds 401 wherever the Bearer scheme applies, and copies the examples of models into the media
types so that tools which only read `example` there (Swagger UI, code generators) show them."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from web.errors import PROBLEM_JSON, problem_body, problems

# Readable ids, verbs first, named after what an integrator does (route function name → operationId).
# A route not listed here gets its function name in camelCase.
OPERATION_IDS = {
    "create_transfer": "createTransfer",
    "list_transfers": "listTransfers",
    "list_incoming": "listIncoming",
    "get_transfer": "getTransfer",
    "get_incoming": "getIncoming",
    "transfer_action": "runIssuingAction",
    "incoming_action": "runExecutingAction",
    "transfer_certificate_pdf": "getTransferCertificatePdf",
    "transfer_certificate_html": "getTransferCertificateHtml",
    "incoming_certificate_pdf": "getIncomingCertificatePdf",
    "incoming_certificate_html": "getIncomingCertificateHtml",
    "dashboard": "getDashboard",
    "audit_log": "listAuditEntries",
    "person_data": "exportPersonData",
    "inbox": "receiveEnvelope",
    "upload": "uploadMessage",
    "transfer_evidence": "recordTransferEvidence",
    "incoming_evidence": "recordIncomingEvidence",
    "resend_many": "resendFailedDeliveries",
    "healthz": "checkHealth",
    "put_certificate": "correctTransferCertificate",
    "delete_transfer": "deleteTransfer",
    "post_document": "attachTransferDocument",
    "transfer_documents": "listTransferDocuments",
    "incoming_documents": "listIncomingDocuments",
    "transfer_document": "getTransferDocument",
    "incoming_document": "getIncomingDocument",
    "delete_document": "deleteTransferDocument",
}


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: the readable id of a route."""
    return OPERATION_IDS.get(route.name) or re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), route.name)


# What each error status means on this API (the description of the answer in the document).
ERROR_DESCRIPTIONS = {
    401: "no or bad credentials",
    403: "the user's role or authority does not allow this",
    404: "no such case, action or document",
    409: "not allowed in the case's current stage; `detail` says why",
    413: "the request is too large",
    422: "invalid input; `errors` names each field (JSON path) and why, `detail` says it in one sentence",
    428: "a read outside the reader's own work: say why (`X-Probatio-Reason`), it is kept in the audit log",
    429: "too many failed sign-ins: wait as `detail` says",
    503: "a dependency (database, Temporal) does not answer",
}

_ERROR_EXAMPLES: dict[int, Any] = {
    401: "sign in: send Authorization: Bearer <token>",
    403: "approve is for the prosecutor, not the officer",
    404: "no outgoing case 0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77",
    409: "approve is not allowed in stage draft",
    413: "an envelope may be at most 2000000 bytes",
    422: problems(("certificate.person.surname", "Field required"),
                  ("certificate.measures[0].hours", "Input should be a valid integer")),
    503: "the database does not answer",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers an operation can give, for a route's `responses=`; their content is filled in here."""
    return {status: {"description": ERROR_DESCRIPTIONS[status]} for status in statuses}


class FieldProblem(BaseModel):
    path: str = Field(description="JSON path of the field, e.g. certificate.person.surname")
    reason: str = Field(description="why it is refused")


class Problem(BaseModel):
    """RFC 9457 problem details, with the extension members `error` (a short code) and `errors`."""

    model_config = ConfigDict(json_schema_extra={"examples": [problem_body(409, _ERROR_EXAMPLES[409])]})

    type: str = Field(description="URI naming the kind of problem, e.g. urn:probatio:problem:conflict")
    title: str = Field(description="short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong this time, for a person to read")
    error: str = Field(description="short code: unauthorized, forbidden, not_found, conflict, too_large, invalid, "
                                   "idempotency_key_reused, unavailable")
    errors: list[FieldProblem] | None = Field(default=None, description="422 only: one entry per field problem")


BEARER = "HTTPBearer"


def _problem_content(status: int) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"},
                           "example": problem_body(status, _ERROR_EXAMPLES.get(status, "why"))}}


def _component(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = doc["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
        return found
    return schema


def _fill_examples(doc: dict[str, Any], content: dict[str, Any]) -> None:
    """Give a media type without an example the first example of its schema (or of the listed item)."""
    for media in content.values():
        if "example" in media or "examples" in media:
            continue
        schema = _component(doc, media.get("schema") or {})
        if schema.get("examples"):
            media["example"] = schema["examples"][0]
        elif schema.get("type") == "array" and _component(doc, schema.get("items") or {}).get("examples"):
            media["example"] = [_component(doc, schema["items"])["examples"][0]]


@cache
def _certificate_example(issuing: str, executing: str) -> dict[str, Any]:
    from forms.examples import example_certificate

    return example_certificate(issuing, executing).model_dump(mode="json")


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    schemas.update(action_schemas())
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http", "scheme": "bearer",
        "description": "an API token from `probatio users create` (pages sign in with a session cookie instead)"}
    state = getattr(getattr(app.state, "settings", None), "state", "LU")
    peer = "BE" if state != "BE" else "LU"
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if any(BEARER in requirement for requirement in operation.get("security", [])):
                responses.setdefault("401", {"description": ERROR_DESCRIPTIONS[401]})
            for code, answer in responses.items():
                fastapis = "HTTPValidationError" in str(answer.get("content"))  # its own 422, in its own shape
                if code[0] in "45" and ("content" not in answer or fastapis):
                    answer["content"] = _problem_content(int(code))
                    if fastapis or not answer.get("description"):
                        answer["description"] = ERROR_DESCRIPTIONS.get(int(code), "")
                else:
                    _fill_examples(doc, answer.get("content") or {})
            body = operation.get("requestBody")
            if body:
                _fill_examples(doc, body.get("content") or {})
            if operation.get("operationId") == "createTransfer":
                body["content"]["application/json"]["example"] = {
                    "executing_state": peer, "certificate": _certificate_example(state, peer)}
            if operation.get("operationId") == "correctTransferCertificate":
                body["content"]["application/json"]["example"] = {"certificate": _certificate_example(state, peer)}
    return doc


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


# --- examples of answers that are not models --------------------------------------------------------------

DASHBOARD_EXAMPLE: dict[str, Any] = {
    "by_stage": [{"direction": "outgoing", "stage": "under_decision", "n": 3}],
    "by_state": [{"direction": "outgoing", "state": "BE", "n": 3}],
    "decisions_due_soon": [{"id": "0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77", "stage": "under_decision",
                            "outcome": None, "issuing_state": "LU", "executing_state": "BE", "authority": "LU",
                            "decision_due": "2027-01-22T09:05:01+00:00", "alerts": ["decision_due_soon"],
                            "updated_at": "2026-11-23T09:05:01+00:00",
                            "due": "2027-01-22T09:05:01+00:00", "due_name": "decision"}],
    "overdue": [],
    "breach_reports": [],
    "totals": {"open": 3, "closed": 0},
    "statistics": {"by_state": [], "by_month": [], "by_sex_and_age": []},
}

INTAKE_ANSWER: dict[str, Any] = {"accepted": True, "message_id": "5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f",
                                 "received_at": "2026-11-23T09:05:01.250000+00:00"}

# The node link's receiving end: a peer node, authenticated by the envelope's Ed25519 signature (CONTRACT §5).
INBOX_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "taken in (or taken in before: the first answer again)",
          "content": {"application/json": {"example": INTAKE_ANSWER}}},
    401: {"description": "the signature does not verify, or the sender is not in the directory"},
    403: {"description": "the sender is not a party to the case the message names"},
    404: {"description": "the message refers to a case this node does not hold"},
    409: {"description": "the message is not acceptable in the case's current stage, or a certificate names a "
                         "conversation that already exists"},
    413: {"description": ERROR_DESCRIPTIONS[413]},
    422: {"description": "the envelope or its payload does not match the message's model in the catalogue, or is "
                         "outside its time window"},
    503: {"description": "busy: other messages with documents are being received, or the message is kept and its "
                         "case could not be told now; send the same message again after `Retry-After` seconds"},
}

LIST_ANSWER: dict[str, Any] = {
    "description": "one page of the list",
    "headers": {"Link": {"description": "the first, prev, next and last pages (RFC 8288), e.g. "
                                        '`</api/v1/transfers?limit=200&offset=200>; rel="next"`',
                         "schema": {"type": "string"}}},
}

DOCUMENT_ANSWERS: dict[str, dict[str, Any]] = {
    "pdf": {"description": "the certificate as a PDF: as sent where it was sent, else as it would be sent",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"},
                                            "example": "%PDF-1.4 …"}}},
    "html": {"description": "the certificate as an HTML page",
             "content": {"text/html": {"schema": {"type": "string"},
                                       "example": "<!DOCTYPE html><html lang=\"fr\">…</html>"}}},
}


def _action_example(rule: Any) -> dict[str, Any]:
    """A body for one action, built from its rule's required fields (CONTRACT §3)."""
    from forms.examples import example_breach, example_certificate

    samples: dict[str, Any] = {
        "reason": "the person moved back to Luxembourg", "text": "the judgment became final on 3 May 2026",
        "question": "has the community service begun?", "reasons": "see the attached decision",
        "outcome": "confirmed", "decision": "revoke", "authority": "BE-PG-BRU", "missing": "box (h) point 3",
        "due_days": 20, "ground": "j", "expected_by": "2027-03-01", "measures": [],
        # The two forms as the catalogue types them: the project's own examples, valid against their schemas.
        "certificate": example_certificate().model_dump(mode="json", exclude_none=True),
        "breach": example_breach().model_dump(mode="json", exclude_none=True),
    }
    required = sorted(n for n, f in rule.model_fields.items() if f.is_required())
    return {field: samples.get(field, "…") for field in required}


def action_schemas() -> dict[str, Any]:
    """Every action's body, as its model in the catalogue (forms/messages.py) defines it."""
    from pydantic.json_schema import models_json_schema

    from forms.messages import ACTIONS

    models = [m for side in ACTIONS.values() for m in side.values()]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def action_body(side: Any) -> dict[str, Any]:
    """The request body of an action route (read by the route itself, so declared here): one named example per
    action, saying who may take it, in which stages and under which article."""
    from forms.messages import ACTIONS

    examples: dict[str, Any] = {}
    for name, rule in ACTIONS[side].items():
        examples[name] = {"summary": f"{name}: {rule.summary} ({' or '.join(sorted(rule.roles))}; "
                                     f"Art {rule.article})",
                          "value": _action_example(rule)}
    if "decide" in examples:
        examples["decide"]["value"] = {"outcome": "recognised"}
        examples["decide_refused"] = {"summary": "decide: refuse on grounds of Art 11(1) (after consulting, "
                                                 "11(3), where the ground needs it)",
                                      "value": {"outcome": "refused", "grounds": ["j"],
                                                "reasons": "the measure lasts four months"}}
    # The body is the named action's model from the catalogue: one of these, chosen by the path's `action`.
    schema = {"anyOf": [{"$ref": f"#/components/schemas/{rule.__name__}"} for rule in ACTIONS[side].values()],
              "description": "the body of the action named in the path: " + "; ".join(
                  f"{name} → {rule.__name__}" for name, rule in ACTIONS[side].items())}
    return {"requestBody": {"required": False, "description": "the action's fields; none for most",
                            "content": {"application/json": {"schema": schema, "examples": examples}}}}
