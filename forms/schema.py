"""The JSON Schemas of the certificate and the breach form, with every code named in words.

Pydantic writes an enum as a bare list of codes ("32", "k"). An integrator needs to read that "32" is
sabotage and "k" therapeutic treatment without the PDF: each coded list becomes `oneOf` of `const` plus
`title` (JSON Schema's own way), the words taken from the English label catalogue of the forms, or for the
grounds of refusal from Art 11(1)'s wording in forms/law.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from forms.labels import catalogue
from forms.law import ART_11_1_WORDING


def _titles() -> dict[str, dict[str, str]]:
    return {"RefusalGround": {k.value: v for k, v in ART_11_1_WORDING.items()}, **catalogue("en").enums()}


def titled(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each enum definition it holds written as oneOf const/title, where words are known."""
    titles = _titles()
    for name, definition in (schema.get("$defs") or {}).items():
        words = titles.get(name)
        codes = definition.get("enum")
        if not words or not isinstance(codes, list) or not all(str(c) in words for c in codes):
            continue
        definition["oneOf"] = [{"const": code, "title": words[str(code)]} for code in codes]
        del definition["enum"]
    return schema


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its codes named in words."""
    return titled(model.model_json_schema())
