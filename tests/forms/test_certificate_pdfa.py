"""The certificate PDF as an archival document: PDF/A-3b by pikepdf's validator, and each requirement we
implement checked in the file itself (XMP identification, output intent, embedded fonts, no encryption,
the JSON as associated file), the metadata a reader sees, and the same bytes for the same inputs."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import pikepdf
import pytest
from pikepdf import Name
from pikepdf.models.metadata import decode_pdf_date

from forms.annex1 import Certificate
from forms.annex2 import BreachReport
from forms.examples import example_breach, example_certificate
from forms.pdfa import attached_file, pdfa_findings
from forms.render import render_breach, render_certificate

APPROVED = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


@pytest.fixture(scope="module")
def certificate() -> Certificate:
    return example_certificate("LU", "BE")


@pytest.fixture(scope="module")
def printed(certificate: Certificate) -> bytes:
    return render_certificate(certificate, "fr", "pdf", issued_at=APPROVED)


def test_the_validator_approves_it_as_pdfa_3b(printed: bytes) -> None:
    assert pdfa_findings(printed) == []


def test_the_validator_is_not_blind(printed: bytes) -> None:
    """The same document with an encryption dictionary or without its output intent is refused."""
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        del pdf.Root[Name.OutputIntents]
        out = io.BytesIO()
        pdf.save(out)
    assert pdfa_findings(out.getvalue()) != []
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user=""))
    assert pdfa_findings(out.getvalue()) != []


def test_xmp_declares_pdfa_3b_and_repeats_the_document_information(printed: bytes, certificate: Certificate
                                                                   ) -> None:
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert meta.pdfa_status == "3B"
        assert meta["dc:title"] == "CERTIFICAT"  # the French form's own title
        assert meta["dc:creator"] == [certificate.contact_authority.name]  # the issuing authority
        assert "Article 6" in meta["dc:description"] and "2008/947/JHA" in meta["dc:description"]
        assert meta["xmp:CreateDate"] == APPROVED.isoformat()
        info = pdf.docinfo
        assert str(info.Title) == "CERTIFICAT"
        assert str(info.Author) == certificate.contact_authority.name
        assert decode_pdf_date(str(info.CreationDate)) == APPROVED
        assert str(info.Producer) == meta["pdf:Producer"]
        assert pdf.Root.Lang == "fr"


def test_srgb_output_intent_with_an_icc_profile(printed: bytes) -> None:
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == Name.GTS_PDFA1
        assert intent.OutputConditionIdentifier == "sRGB"
        profile = intent.DestOutputProfile.read_bytes()
        assert profile[36:40] == b"acsp" and profile[16:20] == b"RGB "  # an ICC profile of an RGB space


def test_every_font_is_embedded_and_nothing_is_encrypted(printed: bytes) -> None:
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        assert not pdf.is_encrypted
        fonts = {}
        for page in pdf.pages:
            for name, font in page.Resources.Font.items():
                fonts[(name, font.BaseFont)] = font
        assert fonts
        for font in fonts.values():
            assert Name.FontFile2 in font.FontDescriptor, font.BaseFont  # the TrueType program is in the file
            assert "DejaVu" in str(font.BaseFont)


def test_the_certificate_json_travels_inside_as_associated_file(printed: bytes, certificate: Certificate) -> None:
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        (spec,) = pdf.Root.AF
        assert spec.AFRelationship == Name.Source
        assert spec.UF == "certificate.json"
        assert spec.EF.F.Subtype == Name("/application/json")
    content = attached_file(printed, "certificate.json")
    assert content is not None
    assert Certificate.model_validate_json(content) == certificate  # read back without retyping


def test_same_inputs_same_bytes_and_the_approval_time_counts(certificate: Certificate, printed: bytes) -> None:
    assert render_certificate(certificate, "fr", "pdf", issued_at=APPROVED) == printed
    later = render_certificate(certificate, "fr", "pdf", issued_at=datetime(2026, 3, 15, tzinfo=UTC))
    assert later != printed
    with pikepdf.open(io.BytesIO(later)) as pdf:
        assert decode_pdf_date(str(pdf.docinfo.CreationDate)) == datetime(2026, 3, 15, tzinfo=UTC)


def test_without_an_approval_the_signature_date_is_the_creation_date(certificate: Certificate) -> None:
    draft = render_certificate(certificate, "de", "pdf")
    with pikepdf.open(io.BytesIO(draft)) as pdf:
        created = decode_pdf_date(str(pdf.docinfo.CreationDate))
        assert created == datetime.combine(certificate.signature.signed_on, time(0), tzinfo=UTC)
    assert pdfa_findings(draft) == []


def test_the_breach_form_is_pdfa_too_with_its_json() -> None:
    report = example_breach("LU", "BE")
    printed = render_breach(report, "fr", "pdf", issued_at=APPROVED)
    assert pdfa_findings(printed) == []
    content = attached_file(printed, "breach-report.json")
    assert content is not None and BreachReport.model_validate_json(content) == report
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        assert str(pdf.docinfo.Author) == report.supervising_authority.name


def _elements(element: pikepdf.Object) -> list[pikepdf.Object]:
    found = [element]
    for kid in element.K:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == Name.StructElem:
            found.extend(_elements(kid))
    return found


def test_it_is_tagged_a_heading_and_a_section_per_box(printed: bytes, certificate: Certificate) -> None:
    """A screen reader finds the form's title, one section per box (a)–(l) with its heading, and every
    printed word inside the structure; rules and page numbers are artifacts, not content."""
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        tree = pdf.Root.StructTreeRoot
        document = tree.K
        assert document.S == Name.Document
        roles = [str(e.S) for e in _elements(document)]
        assert roles.count("/H1") == 1 and roles.count("/Sect") == roles.count("/H2") >= 12
        parents = dict(zip(tree.ParentTree.Nums[::2], tree.ParentTree.Nums[1::2], strict=True))
        for index, page in enumerate(pdf.pages):
            assert page.StructParents == index
            depth, mcids = 0, []
            for operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                if name in ("BDC", "BMC"):
                    depth += 1
                    if name == "BDC" and operands[0] != Name.Artifact:
                        mcids.append(int(operands[1].MCID))
                elif name == "EMC":
                    depth -= 1
                elif name in ("Tj", "TJ", "'", '"'):
                    assert depth > 0, f"text outside marked content on page {index + 1}"
            assert depth == 0
            assert mcids == list(range(len(mcids))) and len(parents[index]) == len(mcids)
