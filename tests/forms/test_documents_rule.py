"""Art 6(1) as data: the judgment goes with the certificate, or the certificate says how it is sent; what an
attached file must be; the example judgment is a PDF, the same bytes every time."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from forms.annex1 import Certificate
from forms.documents import (
    Art6_1Documents,
    AttachedDocument,
    DocumentKind,
    SeparateChannel,
    pdf_problem,
    safe_filename,
)
from forms.examples import example_certificate, example_judgment_pdf
from forms.render import render_certificate


def _doc(kind: DocumentKind) -> AttachedDocument:
    return AttachedDocument(id="d", kind=kind, filename="x.pdf", language="fr", sha256="0" * 64, size=10)


def test_art_6_1_wants_the_judgment_or_how_it_is_sent() -> None:
    assert Art6_1Documents().refusal() is not None
    assert Art6_1Documents(attached=[_doc(DocumentKind.PROBATION_DECISION)]).refusal() is not None
    assert Art6_1Documents(attached=[_doc(DocumentKind.JUDGMENT)]).refusal() is None
    assert Art6_1Documents(judgment_sent_separately=SeparateChannel.POST).refusal() is None
    with pytest.raises(ValidationError):
        Art6_1Documents.model_validate({"judgment_sent_separately": "fax"})


def test_what_an_attached_file_is() -> None:
    assert pdf_problem(b"%PDF-1.7") is None
    assert pdf_problem(b"GIF89a") == "is not a PDF (a PDF file starts with %PDF-)"
    assert safe_filename("C:\\scans\\../Urteil 12.pdf", DocumentKind.JUDGMENT) == "Urteil 12.pdf"
    assert safe_filename("", DocumentKind.PROBATION_DECISION) == "probation_decision.pdf"
    assert safe_filename('a"b\r\n.txt', DocumentKind.OTHER) == "a_b_.txt.pdf"
    with pytest.raises(ValidationError):
        AttachedDocument(id="d", kind=DocumentKind.JUDGMENT, filename="x.pdf", language="xx", sha256="0" * 64,
                         size=10)


def test_box_k_lists_the_documents_or_says_how_the_judgment_goes() -> None:
    data = example_certificate().model_dump(mode="json")
    pdf = example_judgment_pdf()
    data["other_circumstances"]["documents"] = [{
        "id": "1f0c", "kind": "judgment", "filename": "jugement.pdf", "language": "fr",
        "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)}]
    html = render_certificate(Certificate.model_validate(data), "en", "html").decode()
    assert "jugement.pdf" in html and hashlib.sha256(pdf).hexdigest() in html and "Judgment" in html
    data["other_circumstances"].update(documents=[], judgment_attached=False, judgment_sent_separately="ecodex")
    html = render_certificate(Certificate.model_validate(data), "fr", "html").decode()
    assert "pas joint, il est transmis" in html and "par e-CODEX" in html


def test_the_example_judgment_is_a_small_deterministic_pdf() -> None:
    example_judgment_pdf.cache_clear()
    first = example_judgment_pdf()
    example_judgment_pdf.cache_clear()
    assert first == example_judgment_pdf() and first.startswith(b"%PDF-") and len(first) < 200_000
