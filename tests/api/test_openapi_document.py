"""The OpenAPI document as an integrator reads it: valid OpenAPI, readable operation ids, the Bearer scheme,
an example for every body and answer, and on each operation only the errors it can give, as problems."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from probatio.settings import Settings
from web.app import create_app
from web.errors import PROBLEM_JSON


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    doc: dict[str, Any] = create_app(Settings(state="LU")).openapi()
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_operation_ids_read_as_what_an_integrator_does(document: dict[str, Any]) -> None:
    ids = {f"{m.upper()} {p}": op["operationId"] for m, p, op in _operations(document)}
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert ids["POST /api/v1/transfers"] == "createTransfer"
    assert ids["GET /api/v1/incoming"] == "listIncoming"
    assert ids["POST /api/v1/transfers/{case_id}/actions/{action}"] == "runIssuingAction"


def test_api_token_is_the_http_bearer_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {**schemes["HTTPBearer"], "type": "http", "scheme": "bearer"}
    for method, path, op in _operations(document):
        signed_by_peer = path == "/api/v1/inbox" or path == "/healthz"
        assert (op.get("security") == [{"HTTPBearer": []}]) != signed_by_peer, (method, path)
        if not signed_by_peer:
            assert "401" in op["responses"], (method, path)


def test_every_body_and_answer_has_an_example(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        contents = {"request": (op.get("requestBody") or {}).get("content", {})}
        contents.update({code: answer.get("content", {}) for code, answer in op["responses"].items()})
        for where, content in contents.items():
            for media, spec in content.items():
                if "example" not in spec and "examples" not in spec:
                    missing.append(f"{method.upper()} {path} {where} {media}")
    assert not missing, missing


def test_errors_are_problems_and_only_those_an_operation_can_give(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "error"} <= set(problem["required"])
    for method, path, op in _operations(document):
        for code, answer in op["responses"].items():
            if code.startswith("4"):
                assert list(answer["content"]) == [PROBLEM_JSON], (method, path, code)
                example = answer["content"][PROBLEM_JSON]["example"]
                assert example["status"] == int(code) and example["error"]
    codes = {op["operationId"]: set(op["responses"]) for _, _, op in _operations(document)}
    assert codes["listTransfers"] == {"200", "401", "422"}
    assert codes["createTransfer"] == {"201", "401", "403", "422"}
    assert codes["runExecutingAction"] == {"200", "401", "403", "404", "409", "422"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_lists_and_refusal_grounds_are_described(document: dict[str, Any]) -> None:
    lists = document["paths"]["/api/v1/transfers"]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(lists["example"]) == {"items", "total", "limit", "offset"}
    action = document["paths"]["/api/v1/incoming/{case_id}/actions/{action}"]["post"]["requestBody"]
    # Each action's body is its model in the catalogue; `decide` names every refusal ground in words.
    assert {"$ref": "#/components/schemas/Decide"} in action["content"]["application/json"]["schema"]["anyOf"]
    grounds = document["components"]["schemas"]["Decide"]["properties"]["grounds"]["items"]["oneOf"]
    assert {"const": "j", "title": "the probation measure or alternative sanction lasts less than six months"} \
        in grounds
    # A case's documents are a list like the others: the same parameters, a page with a total, a Link header.
    for path, operation_id in (("/api/v1/transfers/{case_id}/documents", "listTransferDocuments"),
                               ("/api/v1/incoming/{case_id}/documents", "listIncomingDocuments")):
        listed = document["paths"][path]["get"]
        assert listed["operationId"] == operation_id
        assert {"limit", "offset"} <= {p["name"] for p in listed["parameters"]}
        answer = listed["responses"]["200"]
        assert set(answer["content"]["application/json"]["example"]) == {"items", "total", "limit", "offset"}
        assert "Link" in answer["headers"]
    created = document["paths"]["/api/v1/transfers"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in created["parameters"])


def test_the_forms_an_action_carries_are_typed_and_their_examples_valid(document: dict[str, Any]) -> None:
    """`complete` carries the Annex I certificate and `report_breach` the Annex II form: an integrator reads
    each box's fields and types from the schema (not an untyped object), and the example body validates."""
    import jsonschema

    schemas = document["components"]["schemas"]
    for action, field, form, box in (("Complete", "certificate", "CompletedCertificate", "judgment"),
                                     ("ReportBreach", "breach", "BreachReport", "breaches")):
        assert schemas[action]["properties"][field]["$ref"] == f"#/components/schemas/{form}", schemas[action]
        assert box in schemas[form]["properties"], schemas[form]
    issuing = document["paths"]["/api/v1/transfers/{case_id}/actions/{action}"]["post"]["requestBody"]
    executing = document["paths"]["/api/v1/incoming/{case_id}/actions/{action}"]["post"]["requestBody"]
    for body, action, name in ((issuing, "Complete", "complete"), (executing, "ReportBreach", "report_breach")):
        example = body["content"]["application/json"]["examples"][name]["value"]
        resolver = {"$ref": f"#/components/schemas/{action}", "components": document["components"]}
        jsonschema.validate(example, resolver)
