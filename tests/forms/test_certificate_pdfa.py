"""The certificate PDF as an archival document: PDF/A-3b by pikepdf's validator, and each requirement we
implement checked in the file itself (XMP identification, output intent, embedded fonts, no encryption,
the JSON as associated file), the metadata a reader sees, and the same bytes for the same inputs.

The same as the receiving node keeps it: sealed by the issuing node (adapters/seal.py, a PAdES signature in
an incremental update), checked as a whole file, the seal's field, signature and appended bytes included."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name, pdfa
from pikepdf.models.metadata import decode_pdf_date
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from adapters.seal import NodeSeal, seal_pdf
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


@pytest.fixture(scope="module")
async def sealed(printed: bytes, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The certificate as LU's node sends it and BE's keeps it: sealed at approval."""
    keys: Path = tmp_path_factory.mktemp("seal")
    seal = NodeSeal.from_files("LU", keys / "LU-seal.key", keys / "LU-seal.crt")
    return await seal_pdf(printed, seal, reason="approved", location="LU")


@pytest.fixture(params=["printed", "sealed"])
def document(request: pytest.FixtureRequest) -> bytes:
    """Each check of the file, on the rendered certificate and on the sealed one as a whole."""
    found: bytes = request.getfixturevalue(request.param)
    return found


def test_the_validator_approves_it_as_pdfa_3b(printed: bytes) -> None:
    assert pdfa_findings(printed) == []


def test_the_sealed_certificate_is_pdfa_3b_as_a_whole(printed: bytes, sealed: bytes) -> None:
    """The seal is an incremental update: the sealed revision is the approved document, and the whole file
    (the seal's field, widget and signature, the XMP and document information pyHanko rewrote, the bytes it
    appended) is still PDF/A-3b."""
    assert sealed.startswith(printed) and len(sealed) > len(printed)
    assert pdfa_findings(sealed) == []
    # Why forms.pdfa checks a sealed file in parts: pikepdf's validator alone leaves the seal's form field and
    # the file's embedded files (which it then no longer reaches) unsupported; it finds no violation.
    alone = pdfa.validate_written(io.BytesIO(sealed), "3b")
    assert all(finding.kind == "unsupported" for finding in alone.findings), alone.findings


def _updated(sealed: bytes, change: str) -> bytes:
    """An incremental update after the seal, as an editor's save would add."""
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    root = writer.root
    if change == "need_appearances":
        form = root["/AcroForm"]
        form["/NeedAppearances"] = generic.BooleanObject(True)
        widget = form["/Fields"][0].get_object()
        widget["/F"] = generic.NumberObject(2)  # hidden, not printed
        writer.update_container(form)
        writer.update_container(widget)
    elif change == "no_output_intent":
        del root["/OutputIntents"]
        writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_sealed_file_checks_are_not_blind(sealed: bytes) -> None:
    """What the checks of a sealed file find: a form that asks for appearances and a hidden widget (and the
    seal then no longer covering the file), an output intent gone from the last revision (the validator's
    part), bytes after the end of the file, a stream whose Length is wrong in the appended bytes."""
    found = "\n".join(pdfa_findings(_updated(sealed, "need_appearances")))
    assert "6.4.1-3" in found and "6.3.2-2" in found and "6.4.3-1" in found
    found = "\n".join(pdfa_findings(_updated(sealed, "no_output_intent")))
    assert "pikepdf:output-intent" in found and "DeviceRGB used with OutputIntent colour space None" in found
    assert any("6.1.3-3" in f for f in pdfa_findings(sealed + b"trailing"))
    first_end = sealed.index(b"%%EOF") + len(b"%%EOF")
    length = sealed.index(b"/Length ", first_end)
    digits = sealed[length + 8:sealed.index(b"\n", length)]
    wrong = sealed[:length + 8] + str(int(digits) + 1).rjust(len(digits), "0").encode() + sealed[length + 8
                                                                                                + len(digits):]
    assert len(wrong) == len(sealed)
    assert any("6.1.7.1-1" in f for f in pdfa_findings(wrong)), pdfa_findings(wrong)


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


def test_xmp_declares_pdfa_3b_and_repeats_the_document_information(document: bytes, certificate: Certificate
                                                                   ) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
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


def test_srgb_output_intent_with_an_icc_profile(document: bytes) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == Name.GTS_PDFA1
        assert intent.OutputConditionIdentifier == "sRGB"
        profile = intent.DestOutputProfile.read_bytes()
        assert profile[36:40] == b"acsp" and profile[16:20] == b"RGB "  # an ICC profile of an RGB space


def test_every_font_is_embedded_and_nothing_is_encrypted(document: bytes) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
        assert not pdf.is_encrypted
        fonts = {}
        for page in pdf.pages:
            for name, font in page.Resources.Font.items():
                fonts[(name, font.BaseFont)] = font
        assert fonts
        for font in fonts.values():
            assert Name.FontFile2 in font.FontDescriptor, font.BaseFont  # the TrueType program is in the file
            assert "DejaVu" in str(font.BaseFont)


def test_the_certificate_json_travels_inside_as_associated_file(document: bytes, certificate: Certificate) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
        (spec,) = pdf.Root.AF
        assert spec.AFRelationship == Name.Source
        assert spec.UF == "certificate.json"
        assert spec.EF.F.Subtype == Name("/application/json")
    content = attached_file(document, "certificate.json")
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
