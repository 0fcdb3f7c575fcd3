"""Building blocks shared by Annex I and Annex II: text types, addresses, contacts, signatures.

Fields whose existence or wording on the official form is not verified carry a `confidence`
entry in their JSON Schema (see `tagged`), so the schema itself says what to re-key from the OJ.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from forms.law import EU_LANGUAGES, MEMBER_STATES, Confidence

# Upper bounds keep a hostile or broken file from producing megabytes of PDF; the longest real
# box (g) summaries run to a few pages.
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LONG_TEXT_MAX)]

# XML 1.0 cannot carry C0 control characters other than tab, newline and carriage return; refusing
# them here keeps the JSON, XML and PDF renditions of one certificate identical.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# The errors of the boxes' own checks have a type of their own and their words as a template, so that the
# pages can show them in the reader's language (forms/validation.py); the API says the English.
def _member_state(code: str) -> str:
    if code not in MEMBER_STATES:
        raise PydanticCustomError("member_state", "not an EU member state code (expected one of {states})",
                                  {"states": ", ".join(MEMBER_STATES)})
    return code


def _language(code: str) -> str:
    if code not in EU_LANGUAGES:
        raise PydanticCustomError("eu_language", "not an official EU language (ISO 639-1 code such as fr, de, en)")
    return code


MemberStateCode = Annotated[str, AfterValidator(_member_state)]
LanguageCode = Annotated[str, AfterValidator(_language)]
# Nationality may be any country, not only a member state: ISO 3166-1 alpha-2.
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Days = Annotated[int, Field(ge=0, le=36_600)]  # up to a century: life sentences are given in days too
Hours = Annotated[int, Field(ge=0, le=10_000)]


def tagged(confidence: Confidence, note: str = "", **kwargs: Any) -> Any:
    """A `Field` whose schema records how sure we are that the official form has it (fd947.md tags)."""
    extra: dict[str, Any] = {"confidence": confidence.value}
    if note:
        extra["confidence_note"] = note
    return Field(json_schema_extra=extra, **kwargs)


def _no_control_chars(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL_CHARS.search(value):
        raise PydanticCustomError("control_characters", "contains control characters")
    if isinstance(value, list):
        for item in value:
            _no_control_chars(item)
    return value


class FormModel(BaseModel):
    """Base of every box: unknown keys are errors (a typo must not silently drop a field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        return _no_control_chars(value)


class Address(FormModel):
    street: ShortText
    postcode: ShortText | None = None
    city: ShortText
    country: CountryCode


class ContactPerson(FormModel):
    """Box (d): a contact person for supervision questions, if different from the authority."""

    name: ShortText
    post: ShortText | None = Field(default=None, description="title/grade")
    phone: ShortText | None = None
    fax: ShortText | None = None
    email: ShortText | None = None
    languages: list[LanguageCode] = Field(default_factory=list)


class Signature(FormModel):
    """Annex I box (l) / Annex II box (f): the issuing authority certifies the content as accurate (Art 6(3))."""

    name: ShortText
    post: ShortText = Field(description="post held (title/grade)")
    signed_on: date
    file_reference: ShortText | None = None
    official_stamp: bool = False
    # Under Reg 2023/2844 an electronic signature or seal replaces the hand signature; we keep a
    # reference to it (the signature itself travels in the e-CODEX envelope, not in the JSON).
    electronic_signature: ShortText | None = tagged(
        Confidence.UNVERIFIED, "form of the signature under Reg 2023/2844", default=None
    )
