"""Annex II: report of a breach of a probation measure or alternative sanction, or of any other
finding (Art 17(2)), box by box (design/fd947.md §5, [R]).

The executing State sends it to the issuing State, in a language of the issuing State (Art 21), so
`issuing_state` is the addressee here and `executing_state` the sender.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from forms.annex1 import Certificate, Sex
from forms.common import (
    Address,
    CountryCode,
    FormModel,
    LanguageCode,
    LongText,
    MemberStateCode,
    ShortText,
    Signature,
)
from forms.law import MeasureCategory


class BreachPerson(FormModel):
    """Box (a): identity of the sentenced person under supervision (as Annex I box (e))."""

    surname: ShortText
    forenames: ShortText
    maiden_name: ShortText | None = None
    aliases: list[ShortText] = Field(default_factory=list)
    sex: Sex
    nationality: list[CountryCode] = Field(min_length=1)
    identity_number: ShortText | None = None
    date_of_birth: date
    place_of_birth: ShortText
    address: Address
    languages_understood: list[LanguageCode] = Field(default_factory=list)


class NamedAuthority(FormModel):
    name: ShortText = Field(description="official name")
    address: Address | None = None


class JudgmentReference(FormModel):
    """Box (b): the judgment, any probation decision, and the certificate they travelled with."""

    judgment_delivered_on: date
    judgment_reference: ShortText | None = None
    court: NamedAuthority
    probation_decision_delivered_on: date | None = None
    probation_decision_reference: ShortText | None = None
    probation_decision_authority: NamedAuthority | None = None
    certificate_issued_on: date
    certificate_authority: ShortText = Field(description="official name of the authority that issued it")
    certificate_reference: ShortText | None = None


class SupervisingAuthority(FormModel):
    """Box (c): the authority responsible for supervising the measures or sanctions."""

    name: ShortText
    contact_person: ShortText
    post: ShortText | None = Field(default=None, description="title/grade")
    address: Address
    phone: ShortText
    fax: ShortText | None = None
    email: ShortText | None = None
    languages: list[LanguageCode] = Field(min_length=1)


class Breach(FormModel):
    """Box (d): one breached obligation or instruction, with place, date and circumstances."""

    category: MeasureCategory
    measure: int | None = Field(
        default=None, ge=0, description="not a box of the form: index of the measure in the certificate"
    )
    occurred_on: date
    place: ShortText
    description: LongText


class BreachContact(FormModel):
    """Box (e): person to contact for additional information about the breach."""

    name: ShortText
    address: Address
    phone: ShortText
    fax: ShortText | None = None
    email: ShortText | None = None


class BreachReport(FormModel):
    """FORM referred to in Article 17 of FD 2008/947/JHA (Annex II)."""

    form_version: str = Field(default="2008/947", description="the text of Annex II this follows")
    issuing_state: MemberStateCode = Field(description="the State that issued the judgment: the addressee")
    executing_state: MemberStateCode = Field(description="the State that supervises: the sender")
    language: LanguageCode = Field(description="the language the free text of this report is written in")
    person: BreachPerson  # (a)
    judgment: JudgmentReference  # (b)
    supervising_authority: SupervisingAuthority  # (c)
    breaches: list[Breach] = Field(default_factory=list, max_length=100)  # (d)
    other_findings: LongText | None = Field(
        default=None, description="(d) other findings that could lead to a subsequent decision"
    )
    contact: BreachContact  # (e)
    signature: Signature  # (f)


def _same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def art_17_belongs_to(report: BreachReport, certificate: Certificate) -> list[tuple[str, str]]:
    """Art 17: a breach report concerns the person, the judgment and the measures of its case. Each mismatch
    with the case's certificate as a `(path, reason)` pair: box (a) person, box (b) judgment, box (d) measures."""
    found: list[tuple[str, str]] = []
    person, named = certificate.person, report.person
    for field in ("surname", "forenames"):
        if not _same(getattr(named, field), getattr(person, field)):
            found.append((f"person.{field}", f"is not the {field} of the sentenced person of this case"))
    if named.date_of_birth != person.date_of_birth:
        found.append(("person.date_of_birth", "is not the date of birth of the sentenced person of this case"))
    judgment = certificate.judgment
    if report.judgment.judgment_delivered_on != judgment.delivered_on:
        found.append(("judgment.judgment_delivered_on",
                      f"the judgment of this case was delivered on {judgment.delivered_on.isoformat()}"))
    if (report.judgment.judgment_reference and judgment.reference
            and not _same(report.judgment.judgment_reference, judgment.reference)):
        found.append(("judgment.judgment_reference", f"the judgment of this case is {judgment.reference}"))
    if report.issuing_state != certificate.issuing_state or report.executing_state != certificate.executing_state:
        found.append(("issuing_state", "the states are not those of this case "
                      f"({certificate.issuing_state} to {certificate.executing_state})"))
    for i, breach in enumerate(report.breaches):
        if breach.measure is None:
            if all(m.category != breach.category for m in certificate.measures):
                found.append((f"breaches[{i}].category", f"no measure of this case is of category ({breach.category})"))
            continue
        if breach.measure >= len(certificate.measures):
            found.append((f"breaches[{i}].measure", f"this case has no measure {breach.measure} "
                                                    f"(0 to {len(certificate.measures) - 1})"))
        elif certificate.measures[breach.measure].category != breach.category:
            found.append((f"breaches[{i}].category", f"measure {breach.measure} of this case is of category "
                                                     f"({certificate.measures[breach.measure].category}), "
                                                     f"not ({breach.category})"))
    return found
