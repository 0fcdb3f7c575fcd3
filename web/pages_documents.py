"""The documents step of the pages (Art 6(1)): after the certificate's boxes, the officer attaches the judgment,
the probation decision or other documents, sees them listed and removes one attached by mistake; both sides
list and download them from the case. The same service functions as the JSON API (web.documents)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from forms.documents import DocumentKind
from forms.labels import catalogue
from forms.law import EU_LANGUAGES
from store import cases
from store.sessions import Session
from web.auth import check_csrf
from web.documents import (
    ATTACH_STAGES,
    REMOVE_STAGES,
    attach_document,
    checked_upload,
    document_file,
    list_documents,
    remove_document,
    sent_separately,
    upload_form,
)
from web.errors import ApiError
from web.pages_common import SignedIn, node_of, render
from workflows.stages import Side

router = APIRouter(include_in_schema=False)

SIDES = {"outgoing": Side.ISSUING, "incoming": Side.EXECUTING}
KIND_LABELS = {DocumentKind.JUDGMENT: "Judgment", DocumentKind.PROBATION_DECISION: "Probation decision",
               DocumentKind.OTHER: "Other document"}
LANGUAGE_OPTIONS = sorted(((code, f"{catalogue('en').language(code)} ({code})") for code in EU_LANGUAGES),
                          key=lambda option: option[1])
SEPARATE_LABELS = {"post": "by post", "email": "by e-mail", "ecodex": "through e-CODEX"}


def _side(direction: str) -> Side:
    side = SIDES.get(direction)
    if side is None:
        raise ApiError(404, f"no such list: {direction}")
    return side


async def documents_page(request: Request, session: Session, direction: str, case_id: str, *,
                         status_code: int = 200, message: str = "", done: str = "",
                         field_errors: dict[str, str] | None = None, values: dict[str, str] | None = None
                         ) -> Response:
    side = _side(direction)
    pool = node_of(request).pool
    documents = await list_documents(pool, session.user, side, case_id, channel="page")
    row = await cases.get_case(pool, case_id, direction)
    assert row is not None  # list_documents answered 404 otherwise
    officer = session.user.role == "officer" and side == Side.ISSUING
    separately = sent_separately(row.get("certificate"))
    return render(request, "documents.html.j2", session, status_code=status_code, direction=direction,
                  case={"id": case_id, "stage": row["stage"]}, documents=documents,
                  may_attach=officer and row["stage"] in ATTACH_STAGES,
                  may_remove=officer and row["stage"] in REMOVE_STAGES,
                  sent_separately=SEPARATE_LABELS.get(separately or "", separately),
                  kind_label=lambda k: KIND_LABELS.get(k, str(k)),
                  kinds=[(k.value, label) for k, label in KIND_LABELS.items()],
                  document_languages=LANGUAGE_OPTIONS,
                  message=message, done=done, field_errors=field_errors or {}, values=values or {})


@router.get("/cases/{direction}/{case_id}/documents", response_class=HTMLResponse)
async def documents(request: Request, session: SignedIn, direction: str, case_id: str) -> Response:
    done = {"attached": "The document is attached.", "removed": "The document was removed."}.get(
        request.query_params.get("done", ""), "")
    return await documents_page(request, session, direction, case_id, done=done)


@router.post("/cases/outgoing/{case_id}/documents", response_class=HTMLResponse)
async def attach(request: Request, session: SignedIn, case_id: str) -> Response:
    pool = node_of(request).pool
    form = await upload_form(request)
    try:
        check_csrf(session, form)
        values = {k: str(v) for k, v in form.items() if k in ("kind", "language")}
        try:
            kind, language, filename, content = await checked_upload(form)
            await attach_document(pool, session.user, case_id, kind, language, filename, content, channel="page")
        except ApiError as err:
            if err.status == 422 and isinstance(err.detail, list):
                errors = {str(p["path"]): str(p["reason"]) for p in err.detail}
                return await documents_page(request, session, "outgoing", case_id, status_code=422,
                                            message="The document was not attached: see the fields below",
                                            field_errors=errors, values=values)
            if err.status in (409, 413):
                return await documents_page(request, session, "outgoing", case_id, status_code=err.status,
                                            message=f"The document was not attached: {err.detail}", values=values)
            raise
    finally:
        await form.close()
    return RedirectResponse(f"/cases/outgoing/{quote(case_id)}/documents?done=attached", status_code=303)


@router.post("/cases/outgoing/{case_id}/documents/{doc_id}/remove", response_class=HTMLResponse)
async def remove(request: Request, session: SignedIn, case_id: str, doc_id: str) -> Response:
    form = await request.form()
    check_csrf(session, form)
    try:
        await remove_document(node_of(request).pool, session.user, case_id, doc_id, channel="page")
    except ApiError as err:
        if err.status != 409:
            raise
        return await documents_page(request, session, "outgoing", case_id, status_code=409,
                                    message=f"The document was not removed: {err.detail}")
    return RedirectResponse(f"/cases/outgoing/{quote(case_id)}/documents?done=removed", status_code=303)


@router.get("/cases/{direction}/{case_id}/documents/{doc_id}")
async def download(request: Request, session: SignedIn, direction: str, case_id: str, doc_id: str) -> Response:
    return await document_file(node_of(request).pool, session.user, _side(direction), case_id, doc_id,
                               channel="page")


def case_documents_context(documents: list[Any], certificate: dict[str, Any] | None) -> dict[str, Any]:
    """What the case page shows of the documents: the list, and how the judgment is sent if not attached."""
    separately = sent_separately(certificate)
    return {"documents": documents, "kind_label": lambda k: KIND_LABELS.get(k, str(k)),
            "sent_separately": SEPARATE_LABELS.get(separately or "", separately)}

