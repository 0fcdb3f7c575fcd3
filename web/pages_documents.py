"""The documents step of the pages (Art 6(1)): after the certificate's boxes, the officer attaches the judgment,
the probation decision or other documents, sees them listed and removes one attached by mistake; both sides
list and download them from the case. The same service functions as the JSON API (web.documents)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from forms.documents import DocumentKind, sent_separately
from forms.law import EU_LANGUAGES
from store import cases
from store.sessions import Session
from web import i18n
from web.auth import check_csrf
from web.documents import (
    ATTACH_STAGES,
    REMOVE_STAGES,
    attach_document,
    checked_upload,
    document_file,
    list_documents,
    remove_document,
    upload_form,
)
from web.errors import ApiError
from web.i18n import N_, Translator
from web.labels import SENT_SEPARATELY, form_catalogue
from web.pages_common import SignedIn, node_of, page_detail, render
from web.why import read_why
from workflows.stages import Side

router = APIRouter(include_in_schema=False)

SIDES = {"outgoing": Side.ISSUING, "incoming": Side.EXECUTING}
KIND_LABELS = {DocumentKind.JUDGMENT: N_("Judgment"), DocumentKind.PROBATION_DECISION: N_("Probation decision"),
               DocumentKind.OTHER: N_("Other document")}
SEPARATE_LABELS = SENT_SEPARATELY


def language_options(t: Translator) -> list[tuple[str, str]]:
    """The EU's languages, named in the reader's language (the certificate's own catalogue), sorted by name."""
    names = form_catalogue(t.lang)
    return sorted(((code, f"{names.language(code)} ({code})") for code in EU_LANGUAGES), key=lambda o: o[1])


def _kind_label(t: Translator) -> Any:
    return lambda k: t.gettext(KIND_LABELS[k]) if k in KIND_LABELS else str(k)


def _separately(t: Translator, separately: str | None) -> str | None:
    return t.gettext(SEPARATE_LABELS[separately]) if separately in SEPARATE_LABELS else separately


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
    documents = await list_documents(pool, session.user, side, case_id, channel="page", why=read_why(request))
    row = await cases.get_case(pool, case_id, direction)
    assert row is not None  # list_documents answered 404 otherwise
    officer = session.user.role == "officer" and side == Side.ISSUING
    separately = sent_separately(row.get("certificate"))
    t = i18n.for_request(request)
    return render(request, "documents.html.j2", session, status_code=status_code, direction=direction,
                  case={"id": case_id, "stage": row["stage"]}, documents=documents,
                  may_attach=officer and row["stage"] in ATTACH_STAGES,
                  may_remove=officer and row["stage"] in REMOVE_STAGES,
                  sent_separately=_separately(t, separately), kind_label=_kind_label(t),
                  kinds=[(k.value, t.gettext(label)) for k, label in KIND_LABELS.items()],
                  document_languages=language_options(t),
                  message=message, done=done, field_errors=field_errors or {}, values=values or {})


@router.get("/cases/{direction}/{case_id}/documents", response_class=HTMLResponse)
async def documents(request: Request, session: SignedIn, direction: str, case_id: str) -> Response:
    done_words = {"attached": N_("The document is attached."), "removed": N_("The document was removed.")}
    done_key = request.query_params.get("done", "")
    done = i18n.for_request(request).gettext(done_words[done_key]) if done_key in done_words else ""
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
                                            message=i18n.for_request(request).gettext(
                                                "The document was not attached: see the fields below"),
                                            field_errors=errors, values=values)
            if err.status in (409, 413):
                return await documents_page(request, session, "outgoing", case_id, status_code=err.status,
                                            message=i18n.for_request(request).gettext(
                                                "The document was not attached: %(reason)s",
                                                reason=page_detail(err.detail, i18n.for_request(request))),
                                            values=values)
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
                                    message=i18n.for_request(request).gettext(
                                        "The document was not removed: %(reason)s",
                                        reason=page_detail(err.detail, i18n.for_request(request))))
    return RedirectResponse(f"/cases/outgoing/{quote(case_id)}/documents?done=removed", status_code=303)


@router.get("/cases/{direction}/{case_id}/documents/{doc_id}")
async def download(request: Request, session: SignedIn, direction: str, case_id: str, doc_id: str) -> Response:
    return await document_file(node_of(request).pool, session.user, _side(direction), case_id, doc_id,
                               channel="page", why=read_why(request))


def case_documents_context(documents: list[Any], certificate: dict[str, Any] | None,
                           t: Translator) -> dict[str, Any]:
    """What the case page shows of the documents: the list, and how the judgment is sent if not attached."""
    return {"documents": documents, "kind_label": _kind_label(t),
            "sent_separately": _separately(t, sent_separately(certificate))}

