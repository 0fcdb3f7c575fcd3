"""The certificate as an official document between two real nodes: LU approves, its node seals the
PDF/A certificate; BE keeps the PDF exactly as received, a PDF/A-3b file as a whole, seal included; BE checks
the seal against the directory and shows the result to its prosecutor (API detail and case page); the JSON
inside reads back as the certificate."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import httpx
import pikepdf
import pytest
from pikepdf import Name

from forms.annex1 import Certificate
from forms.examples import example_certificate
from forms.pdfa import attached_file, pdfa_findings
from probatio.harness import LocalNodes
from tests.support import bearer, create_and_approve, wait_for
from tests.web.webhelp import signed_in

pytestmark = pytest.mark.integration


async def _received(http: httpx.AsyncClient, nodes: LocalNodes, case_id: str) -> dict[str, Any]:
    async def be_case() -> httpx.Response:
        return await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))

    r = await wait_for(be_case, lambda r: r.status_code == 200 and r.json()["stage"] == "under_decision")
    assert r.status_code == 200 and r.json()["stage"] == "under_decision", r.text
    data: dict[str, Any] = r.json()
    return data


async def test_be_receives_the_sealed_pdfa_certificate_as_sent(nodes: LocalNodes) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await create_and_approve(http, nodes)
        incoming = await _received(http, nodes, case_id)

        seal = incoming["certificate_seal"]
        assert seal["status"] == "valid", seal
        assert "probatio seal LU" in seal["signer"]
        assert seal["signed_at"]

        sent = await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}/certificate.pdf",
                              headers=bearer(nodes, "LU", "prosecutor"))
        received = await http.get(f"{nodes['BE'].url}/api/v1/incoming/{case_id}/certificate.pdf",
                                  headers=bearer(nodes, "BE", "prosecutor"))
        assert sent.status_code == received.status_code == 200
        assert received.content == sent.content  # as received, seal intact: never re-rendered

        # The approval is the document's creation date; the file as BE keeps it is PDF/A-3b as a whole (the
        # seal's incremental update included, forms/pdfa.py), and so is the sealed revision alone.
        assert pdfa_findings(received.content) == []
        with pikepdf.open(io.BytesIO(received.content)) as pdf:
            meta = pdf.open_metadata()
            assert meta.pdfa_status == "3B" and str(pdf.docinfo.Producer) == meta["pdf:Producer"]
            created = pikepdf.models.metadata.decode_pdf_date(str(pdf.docinfo.CreationDate))
            (intent,) = pdf.Root.OutputIntents
            assert intent.S == Name.GTS_PDFA1 and intent.DestOutputProfile.read_bytes()[36:40] == b"acsp"
            fonts = [font for page in pdf.pages for font in page.Resources.Font.values()]
            assert fonts and all(Name.FontFile2 in font.FontDescriptor for font in fonts)
            (spec,) = pdf.Root.AF
            assert spec.AFRelationship == Name.Source and spec.UF == "certificate.json"
            (seal_field,) = pdf.Root.AcroForm.Fields
            assert seal_field.V.SubFilter == Name("/ETSI.CAdES.detached")
        approved = [e for e in (await http.get(f"{nodes['LU'].url}/api/v1/transfers/{case_id}",
                                               headers=bearer(nodes, "LU", "officer"))).json()["timeline"]
                    if e["type"] == "approved"]
        assert approved and abs((created - _when(approved[0]["at"])).total_seconds()) < 5
        first_revision = received.content[:received.content.index(b"%%EOF") + len(b"%%EOF\n")]
        assert pdfa_findings(first_revision) == []

        content = attached_file(received.content, "certificate.json")
        assert content is not None
        # The certificate as sent: the example, with box (k) naming the judgment attached to it (Art 6(1)).
        embedded = Certificate.model_validate_json(content)
        example = example_certificate("LU", "BE")
        assert embedded.person == example.person and embedded.measures == example.measures
        assert [d.kind for d in embedded.other_circumstances.documents] == ["judgment"]

    # The prosecutor's case page says so beside the certificate.
    browser = await signed_in(nodes["BE"].url, "prosecutor")
    try:
        page = await browser.get(f"/cases/incoming/{case_id}")
    finally:
        await browser.aclose()
    assert page.status_code == 200
    assert "Electronic seal" in page.text and "seal-valid" in page.text and "probatio seal LU" in page.text


async def test_a_seal_the_directory_does_not_vouch_for_is_shown_untrusted(nodes: LocalNodes) -> None:
    # BE's operators have not (yet) entered LU's seal certificate in their directory.
    entry = nodes["BE"].node.directory.states["LU"]
    anchors = entry.seal_trust_anchors
    entry.seal_trust_anchors = []
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            case_id = await create_and_approve(http, nodes)
            incoming = await _received(http, nodes, case_id)
    finally:
        entry.seal_trust_anchors = anchors
    seal = incoming["certificate_seal"]
    assert seal["status"] == "untrusted"
    assert "trust anchors" in seal["detail"]
    assert "probatio seal LU" in seal["signer"]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_the_completed_certificate_replaces_the_first_with_its_own_seal(nodes: LocalNodes) -> None:
    """Art 8(2): the corrected certificate is sealed again and is what BE then serves, as received."""
    be, lu = nodes["BE"].url, nodes["LU"].url
    async with httpx.AsyncClient(timeout=30) as http:
        case_id = await create_and_approve(http, nodes)
        await _received(http, nodes, case_id)
        first = (await http.get(f"{be}/api/v1/incoming/{case_id}/certificate.pdf",
                                headers=bearer(nodes, "BE", "prosecutor"))).content
        r = await http.post(f"{be}/api/v1/incoming/{case_id}/actions/request_completion",
                            json={"missing": "box (e): identity number", "due_days": 10},
                            headers=bearer(nodes, "BE", "prosecutor"))
        assert r.status_code == 200, r.text

        async def lu_case() -> httpx.Response:
            return await http.get(f"{lu}/api/v1/transfers/{case_id}", headers=bearer(nodes, "LU", "officer"))

        r = await wait_for(lu_case, lambda r: r.json()["stage"] == "completion_requested")
        assert r.json()["stage"] == "completion_requested"
        corrected = example_certificate("LU", "BE").model_dump(mode="json")
        corrected["person"]["identity_number"] = "1985 0312 123"
        r = await http.post(f"{lu}/api/v1/transfers/{case_id}/actions/complete", json={"certificate": corrected},
                            headers=bearer(nodes, "LU", "officer"))
        assert r.status_code == 200, r.text

        async def be_pdf() -> httpx.Response:
            return await http.get(f"{be}/api/v1/incoming/{case_id}/certificate.pdf",
                                  headers=bearer(nodes, "BE", "prosecutor"))

        received = await wait_for(be_pdf, lambda r: r.status_code == 200 and r.content != first)
        assert received.content != first
        sent = await http.get(f"{lu}/api/v1/transfers/{case_id}/certificate.pdf",
                              headers=bearer(nodes, "LU", "officer"))
        assert received.content == sent.content
        assert pdfa_findings(received.content) == []  # sealed again, PDF/A-3b again as a whole
        content = attached_file(received.content, "certificate.json")
        assert content is not None
        assert Certificate.model_validate_json(content).person.identity_number == "1985 0312 123"
        incoming = (await http.get(f"{be}/api/v1/incoming/{case_id}", headers=bearer(nodes, "BE", "prosecutor"))).json()
        assert incoming["certificate_seal"]["status"] == "valid"
