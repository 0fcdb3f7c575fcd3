"""The documents step of the pages (Art 6(1)): the officer attaches the judgment after the certificate's boxes,
sees it listed, removes a document attached by mistake, is told beside the field when a file is not a PDF; the
prosecutor may say how a judgment not attached is sent; BE's incoming case page links the same file."""

from __future__ import annotations

import hashlib

import pytest
from webhelp import csrf_of, signed_in

from forms.examples import EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf
from probatio.harness import LocalNodes
from tests.support import bearer, fresh_certificate, wait_for

pytestmark = pytest.mark.integration


async def test_documents_step_then_download_at_be(nodes: LocalNodes) -> None:
    lu, be = nodes["LU"].url, nodes["BE"].url
    officer = await signed_in(lu, "officer")
    # A blank draft is not the training example: it starts without a judgment, so the wizard's last step
    # is the documents page. The API makes the case here (the wizard's boxes are tested elsewhere).
    r = await officer.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                           json={"executing_state": "BE",
                                 "certificate": fresh_certificate("LU", "BE")})
    case_id = r.json()["id"]
    docs_url = f"/cases/outgoing/{case_id}/documents"
    page = await officer.get(docs_url)
    assert page.status_code == 200 and "No document is attached" in page.text
    token = csrf_of(page.text)

    r = await officer.post(docs_url, data={"csrf_token": token, "kind": "judgment", "language": "fr"},
                           files={"file": ("scan.gif", b"GIF89a....", "image/gif")})
    assert r.status_code == 422 and 'id="a-file-error"' in r.text and "is not a PDF" in r.text
    # The error summary at the top links to the field (GOV.UK), in words.
    summary = r.text[r.text.index('class="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    assert 'href="#a-file"' in summary and "The document (PDF, at most 20 MB)" in summary and "is not a PDF" in summary
    r = await officer.post(docs_url, data={"kind": "judgment", "language": "fr"},
                           files={"file": ("j.pdf", example_judgment_pdf(), "application/pdf")})
    assert r.status_code == 403  # no CSRF token, nothing attached

    r = await officer.post(docs_url, data={"csrf_token": token, "kind": "other", "language": "en"},
                           files={"file": ("mistake.pdf", b"%PDF-1.4 mistake", "application/pdf")})
    assert r.status_code == 303 and r.headers["location"].endswith("done=attached")
    page = await officer.get(docs_url)
    assert "mistake.pdf" in page.text and "/remove" in page.text
    remove = page.text.split('action="')[1:]
    target = next(a.split('"', 1)[0] for a in remove if a.split('"', 1)[0].endswith("/remove"))
    r = await officer.post(target, data={"csrf_token": token})
    assert r.status_code == 303
    assert "mistake.pdf" not in (await officer.get(docs_url)).text

    r = await officer.post(docs_url, data={"csrf_token": token, "kind": "judgment", "language": "fr"},
                           files={"file": (EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf(), "application/pdf")})
    assert r.status_code == 303
    case_page = (await officer.get(f"/cases/outgoing/{case_id}")).text
    assert EXAMPLE_JUDGMENT_FILENAME in case_page and "No judgment is attached" not in case_page
    r = await officer.post(f"/cases/outgoing/{case_id}/actions/submit", data={"csrf_token": token})
    assert r.status_code == 303

    prosecutor = await signed_in(lu, "prosecutor")
    page = await prosecutor.get(f"/cases/outgoing/{case_id}")
    assert 'name="judgment_sent_separately"' in page.text  # the approve form offers the Art 6(1) choice
    assert "/remove" not in (await prosecutor.get(docs_url)).text  # only the officer changes documents
    r = await prosecutor.post(f"/cases/outgoing/{case_id}/actions/approve",
                              data={"csrf_token": csrf_of(page.text), "confirmed": "1"})
    assert r.status_code == 303 and "approve:sent" in r.headers["location"]

    # BE's prosecutor, whose queue the case is in (an officer with nothing to do on it yet is asked why).
    be_prosecutor = await signed_in(be, "prosecutor")

    async def incoming_page() -> str:
        r = await be_prosecutor.get(f"/cases/incoming/{case_id}")
        return r.text if r.status_code == 200 else ""

    page_text = await wait_for(incoming_page, lambda t: EXAMPLE_JUDGMENT_FILENAME in t)
    assert EXAMPLE_JUDGMENT_FILENAME in page_text
    link = next(part.split('"', 1)[0] for part in page_text.split('href="')
                if part.startswith(f"/cases/incoming/{case_id}/documents/"))
    r = await be_prosecutor.get(link)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(example_judgment_pdf()).hexdigest()
    for client in (officer, prosecutor, be_prosecutor):
        await client.aclose()


async def test_approval_page_without_judgment_names_the_choice(nodes: LocalNodes) -> None:
    lu = nodes["LU"].url
    officer = await signed_in(lu, "officer")
    r = await officer.post("/api/v1/transfers", headers=bearer(nodes, "LU", "officer"),
                           json={"executing_state": "BE",
                                 "certificate": fresh_certificate("LU", "BE")})
    case_id = r.json()["id"]
    token = csrf_of((await officer.get(f"/cases/outgoing/{case_id}")).text)
    r = await officer.post(f"/cases/outgoing/{case_id}/actions/submit", data={"csrf_token": token})
    assert r.status_code == 303
    prosecutor = await signed_in(lu, "prosecutor")
    page = await prosecutor.get(f"/cases/outgoing/{case_id}")
    assert "No judgment is attached yet" in page.text
    token = csrf_of(page.text)
    r = await prosecutor.post(f"/cases/outgoing/{case_id}/actions/approve", data={"csrf_token": token})
    assert r.status_code == 422 and "no judgment is attached, and Art 6(1)" in r.text
    r = await prosecutor.post(f"/cases/outgoing/{case_id}/actions/approve",
                              data={"csrf_token": token, "judgment_sent_separately": "email", "confirmed": "1"})
    assert r.status_code == 303, r.text
    page = await prosecutor.get(f"/cases/outgoing/{case_id}")
    assert "sent separately (by e-mail)" in page.text
    for client in (officer, prosecutor):
        await client.aclose()
