"""The node's PAdES seal on a certificate PDF and its check by the receiving node: what a prosecutor is
told for a sound, a foreign, a changed, an extended and an unsealed document; and that sealing keeps
the PDF/A document intact (the sealed revision is the rendered document, byte for byte)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from adapters.seal import NodeSeal, SealStatus, load_certificates, seal_pdf, verify_seal
from forms.examples import example_certificate
from forms.pdfa import pdfa_findings
from forms.render import render_certificate

APPROVED = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seals")


@pytest.fixture(scope="module")
def lu_seal(keys: Path) -> NodeSeal:
    return NodeSeal.from_files("LU", keys / "LU-seal.key", keys / "LU-seal.crt")


@pytest.fixture(scope="module")
def be_seal(keys: Path) -> NodeSeal:
    return NodeSeal.from_files("BE", keys / "BE-seal.key", keys / "BE-seal.crt")


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_certificate(example_certificate("LU", "BE"), "fr", "pdf", issued_at=APPROVED)


@pytest.fixture(scope="module")
async def sealed(rendered: bytes, lu_seal: NodeSeal) -> bytes:
    return await seal_pdf(rendered, lu_seal, reason="approved", location="LU")


async def test_a_sound_seal_of_a_trusted_node_is_valid(sealed: bytes, lu_seal: NodeSeal) -> None:
    check = await verify_seal(sealed, load_certificates([lu_seal.certificate_pem]))
    assert check.status == SealStatus.VALID
    assert check.signer is not None and "probatio seal LU" in check.signer
    assert check.signed_at is not None and abs(check.signed_at - datetime.now(UTC)) < timedelta(minutes=5)


async def test_a_seal_the_directory_does_not_trust_is_untrusted(sealed: bytes, be_seal: NodeSeal) -> None:
    assert (await verify_seal(sealed, load_certificates([be_seal.certificate_pem]))).status == SealStatus.UNTRUSTED
    assert (await verify_seal(sealed, [])).status == SealStatus.UNTRUSTED


async def test_a_changed_byte_makes_it_invalid(sealed: bytes, lu_seal: NodeSeal) -> None:
    # A byte inside the first page's content stream, which the seal covers.
    where = sealed.index(b"stream", 1000) + 20
    changed = sealed[:where] + bytes([sealed[where] ^ 0x01]) + sealed[where + 1:]
    check = await verify_seal(changed, load_certificates([lu_seal.certificate_pem]))
    assert check.status == SealStatus.INVALID
    assert "changed after sealing" in check.detail


async def test_a_document_extended_after_sealing_is_invalid(sealed: bytes, lu_seal: NodeSeal) -> None:
    with pikepdf.open(io.BytesIO(sealed)) as pdf:
        pdf.docinfo[Name.Title] = "something else"
        out = io.BytesIO()
        pdf.save(out)  # a full rewrite
    rewritten = await verify_seal(out.getvalue(), load_certificates([lu_seal.certificate_pem]))
    assert rewritten.status == SealStatus.INVALID
    # An incremental update after the seal (what an editor's "save" adds): the sealed bytes are intact.
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    info = writer.trailer["/Info"]
    info["/Title"] = generic.TextStringObject("something else")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(sealed)
    appended = await verify_seal(out.getvalue(), load_certificates([lu_seal.certificate_pem]))
    assert appended.status == SealStatus.INVALID
    assert "extended" in appended.detail


async def test_unsealed_and_unreadable_documents(rendered: bytes) -> None:
    assert (await verify_seal(rendered, [])).status == SealStatus.UNSIGNED
    broken = await verify_seal(b"%PDF-1.7\nnot a document", [])
    assert broken.status == SealStatus.INVALID
    assert "cannot be read" in broken.detail


async def test_sealing_appends_and_keeps_the_pdfa_document(rendered: bytes, sealed: bytes) -> None:
    # The sealed revision is the rendered PDF/A-3b document exactly; the seal is an incremental update.
    assert sealed.startswith(rendered)
    assert pdfa_findings(rendered) == []
    with pikepdf.open(io.BytesIO(sealed)) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "3B"  # still declared after pyHanko rewrote the XMP packet
        # PDF/A: the document information and the XMP packet say the same.
        assert str(pdf.docinfo.Producer) == meta["pdf:Producer"]
        assert pikepdf.models.metadata.decode_pdf_date(str(pdf.docinfo.ModDate)) == datetime.fromisoformat(
            meta["xmp:ModifyDate"])
        assert pdf.pdf_version <= "1.7"  # PDF/A-3 is PDF 1.7: RSA, not ECDSA (which means PDF 2.0)
        (field,) = pdf.Root.AcroForm.Fields
        assert field.FT == Name.Sig and field.V.SubFilter == Name("/ETSI.CAdES.detached")  # PAdES
        assert int(field.F) & 4  # printable, as PDF/A requires of every annotation
        assert [float(v) for v in field.Rect] == [0, 0, 0, 0]  # invisible
        assert len(pdf.Root.AF) == 1  # the certificate's JSON is still attached


def test_a_dev_seal_is_created_once_and_kept(tmp_path: Path) -> None:
    first = NodeSeal.from_files("LU", tmp_path / "k.key", tmp_path / "k.crt")
    again = NodeSeal.from_files("LU", tmp_path / "k.key", tmp_path / "k.crt")
    assert first.certificate_pem == again.certificate_pem
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600


def test_the_directory_carries_each_states_seal_anchors_and_refuses_a_broken_one(lu_seal: NodeSeal) -> None:
    from adapters.directory import Directory

    route = {"code": "LU", "name": "node LU", "adapter": "post", "options": {}}
    directory = Directory.from_dict({"states": {"LU": {"seal_trust_anchors": [lu_seal.certificate_pem],
                                                       "authorities": [route]}}})
    assert directory.seal_trust_anchors("LU") == [lu_seal.certificate_pem]
    assert directory.seal_trust_anchors("BE") == []
    with pytest.raises(ValueError, match=r"seal trust anchor 1 is not a PEM X\.509 certificate"):
        Directory.from_dict({"states": {"LU": {"seal_trust_anchors": ["-----BEGIN CERTIFICATE-----\nnope"],
                                               "authorities": [route]}}})
