"""Rendering the annexes for people (HTML, PDF) and exporting them for machines (JSON, XML).

One Jinja2 template per annex, laid out like the official form; labels come from the catalogue
of the target language. Every value is escaped (autoescape), and free text written in another
language than the rendering is marked as needing translation (Art 21 requires the certificate in
a language the executing State accepts; the labels alone do not make it so).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from pydantic import BaseModel

from forms import annex1, law
from forms.annex1 import Certificate
from forms.annex2 import BreachReport
from forms.documents import DocumentKind, SeparateChannel
from forms.labels import RENDER_LANGUAGES, Catalogue, Section, catalogue
from forms.pdf import html_to_pdf
from forms.pdfa import AssociatedFile, DocumentInfo
from forms.states import load_state

Format = Literal["html", "pdf"]

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every template, whatever its file name: markup in a field must stay inert
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_ENUMS: dict[str, type[StrEnum]] = {
    "AuthorityKind": annex1.AuthorityKind,
    "Sex": annex1.Sex,
    "IdentityDocumentKind": annex1.IdentityDocumentKind,
    "ForwardingBasis": annex1.ForwardingBasis,
    "MoveReason": annex1.MoveReason,
    "AbsentiaException": annex1.AbsentiaException,
    "RetrialResponse": annex1.RetrialResponse,
    "ConditionalSentenceKind": annex1.ConditionalSentenceKind,
    "JudgmentType": law.JudgmentType,
    "MeasureCategory": law.MeasureCategory,
    "ListOffence": law.ListOffence,
    "DocumentKind": DocumentKind,
    "SeparateChannel": SeparateChannel,
}

XML_NAMESPACES = {
    "Certificate": "urn:probatio:fd2008-947:annex-i:1",
    "BreachReport": "urn:probatio:fd2008-947:annex-ii:1",
}


def _helpers(labels: Catalogue, section: Section, source_lang: str, issuing: str,
             executing: str) -> dict[str, Any]:
    """The functions the templates call; each returns plain text (escaped later) or safe Markup."""
    issuing_profile = load_state(issuing)
    executing_profile = load_state(executing)

    def t(key: str) -> str:
        return labels.field(section, key)

    def text(value: str | None) -> Markup | str | None:
        # Free text is the one thing the labels cannot translate: flag it when it is in another language.
        if value is None or source_lang == labels.lang:
            return value
        note = labels.phrase("translation_needed", language=labels.language(source_lang))
        return Markup(
            '<span class="translation-note">{}</span><span class="needs-translation" lang="{}">{}</span>'
        ).format(note, source_lang, value)

    def fmt_date(value: date | None) -> str | None:
        # Day, month in words, year, as the language writes a date (CLDR): unambiguous across the Union.
        return None if value is None else labels.date(value)

    def count(key: str) -> Any:
        return lambda n: None if n is None else labels.count(key, n)

    def enum(name: str, value: str | None) -> str | None:
        return None if value is None else labels.enum(name, str(value))

    def yesno(value: bool | None) -> str | None:
        return None if value is None else labels.phrase("yes" if value else "no")

    def decision_name(decision_id: str | None) -> str | None:
        if decision_id is None:
            return None
        decision = issuing_profile.decision(decision_id)
        if decision is None:
            return decision_id.replace("_", " ")
        # The reader's words only: an internal code such as `sursis_probatoire` means nothing to the other State.
        return str(decision.name.get(labels.lang) or decision.name.get("en") or decision_id.replace("_", " "))

    def measure_name(measure_id: str | None) -> str | None:
        if measure_id is None:
            return None
        measure = issuing_profile.national_measure(measure_id)
        if measure is None:
            return measure_id.replace("_", " ")
        return str(measure.name.get(labels.lang) or measure.name.get("en") or measure_id.replace("_", " "))

    def notified_name(measure_id: str | None) -> str | None:
        # Art 4(2): the executing State's notification, in its words, never the id probatio files it under.
        if measure_id is None:
            return None
        notified = executing_profile.notified_measure(measure_id)
        return measure_id.replace("_", " ") if notified is None else notified.description

    return {
        "t": t,
        "text": text,
        "date": fmt_date,
        "days": count("days"),
        "hours": count("hours"),
        "months": count("months"),
        "enum": enum,
        "enums": _ENUMS,
        "yesno": yesno,
        "country": labels.country,
        "countries": lambda codes: ", ".join(labels.country(c) for c in codes),
        "language_name": labels.language,
        "languages": lambda codes: ", ".join(labels.language(c) for c in codes),
        "decision_name": decision_name,
        "measure_name": measure_name,
        "notified_name": notified_name,
        "lang": labels.lang,
    }


def _document_info(doc: Certificate | BreachReport, issued_at: datetime | None) -> DocumentInfo:
    """The PDF's metadata: the issuing authority, the article, the time the document was issued (the
    approval, where there was one; else the day the authority signed box (l) / (f)), the JSON attached."""
    created = issued_at or datetime.combine(doc.signature.signed_on, time(0), tzinfo=UTC)
    route = f"{doc.issuing_state} → {doc.executing_state}"
    if isinstance(doc, Certificate):
        return DocumentInfo(
            title="", author=doc.contact_authority.name, created=created,
            subject="Certificate referred to in Article 6 of Council Framework Decision 2008/947/JHA (Annex I)",
            keywords=("FD 2008/947/JHA", "Annex I", "certificate", route),
            files=(AssociatedFile("certificate.json", export_json(doc), "application/json",
                                  "The certificate as data (probatio's Annex I JSON)"),))
    return DocumentInfo(
        title="", author=doc.supervising_authority.name, created=created,
        subject="Form referred to in Article 17 of Council Framework Decision 2008/947/JHA (Annex II)",
        keywords=("FD 2008/947/JHA", "Annex II", "breach report", route),
        files=(AssociatedFile("breach-report.json", export_json(doc), "application/json",
                              "The report as data (probatio's Annex II JSON)"),))


def _render(template: str, doc: Certificate | BreachReport, section: Section, lang: str, fmt: Format,
            issued_at: datetime | None) -> bytes:
    if fmt not in ("html", "pdf"):
        raise ValueError(f"unsupported format {fmt!r}: html or pdf")
    labels = catalogue(lang)  # raises ValueError naming the languages we have
    html = _ENV.get_template(template).render(doc=doc, **_helpers(labels, section, doc.language, doc.issuing_state,
                                                                     doc.executing_state))
    if fmt == "html":
        return html.encode("utf-8")
    return html_to_pdf(html, labels.lang, document=_document_info(doc, issued_at))


def render_certificate(cert: Certificate, lang: str, fmt: Format, issued_at: datetime | None = None) -> bytes:
    """Annex I in `lang` (one of RENDER_LANGUAGES) as HTML or PDF (PDF/A-3b, its JSON attached).
    `issued_at` (the approval) is the PDF's creation date; the same inputs give the same bytes."""
    return _render("annex1.html.j2", cert, "annex1", lang, fmt, issued_at)


def render_breach(report: BreachReport, lang: str, fmt: Format, issued_at: datetime | None = None) -> bytes:
    """Annex II in `lang` (one of RENDER_LANGUAGES) as HTML or PDF (PDF/A-3b, its JSON attached)."""
    return _render("annex2.html.j2", report, "annex2", lang, fmt, issued_at)


# --- machine-readable exports ---------------------------------------------------------------


def export_json(model: BaseModel) -> bytes:
    """The document as JSON, exactly what `Certificate.model_validate` reads back."""
    return model.model_dump_json(indent=2, exclude_none=True).encode("utf-8")


def _to_xml(parent: ET.Element, name: str, value: object) -> None:
    if isinstance(value, list):
        holder = ET.SubElement(parent, name)
        for item in value:
            _to_xml(holder, "item", item)
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, sub in value.items():
            if sub is not None:
                _to_xml(element, key, sub)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def export_xml(model: BaseModel) -> bytes:
    """The document as XML: one element per JSON key, lists as repeated <item>, in a versioned namespace."""
    kind = type(model).__name__
    root = ET.Element(kind[0].lower() + kind[1:], {"xmlns": XML_NAMESPACES.get(kind, "urn:probatio:forms:1")})
    for key, value in model.model_dump(mode="json", exclude_none=True).items():
        _to_xml(root, key, value)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def rendering_language(doc: Certificate | BreachReport) -> str | None:
    """The language to render in for the receiving State (Art 21), or None if we have no catalogue it takes.

    The language the free text is written in comes first, so nothing needs translating; then the
    receiving State's accepted languages in the order its declaration lists them. A certificate goes
    to the executing State, a breach report back to the issuing State.
    """
    receiving = doc.executing_state if isinstance(doc, Certificate) else doc.issuing_state
    accepted = load_state(receiving).accepted_languages
    for lang in (doc.language, *accepted):
        if lang in accepted and lang in RENDER_LANGUAGES:
            return lang
    return None


__all__ = [
    "RENDER_LANGUAGES",
    "export_json",
    "export_xml",
    "render_breach",
    "render_certificate",
    "rendering_language",
]
