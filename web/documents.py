"""The documents that go with a certificate (Art 6(1)): attaching them on the issuing side, listing and
downloading them on both sides, the rule checked at `approve`, box (k), and the documents a certificate
brings to the executing side. The JSON API and the pages both call the functions here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from forms.common import LanguageCode
from forms.documents import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    MAX_DOCUMENTS_TOTAL_BYTES,
    DocumentKind,
    pdf_problem,
    safe_filename,
)
from store import audit
from store import documents as store
from store.users import User
from web.art_6_1 import sync_box_k
from web.auth import current_user
from web.cases import record_read, visible_case
from web.errors import ApiError, problems
from web.openapi import LIST_ANSWER, errors
from web.paging import Limit, Offset, page_answer
from web.why import ReadWhy, read_why
from workflows.stages import IssuingStage, Side

router = APIRouter(prefix="/api/v1")
CurrentUser = Annotated[User, Depends(current_user)]

# Documents are added while the certificate is being prepared; once approved it has left with them.
ATTACH_STAGES = frozenset({IssuingStage.DRAFT, IssuingStage.AWAITING_APPROVAL})
REMOVE_STAGES = frozenset({IssuingStage.DRAFT})
# The multipart framing and the two small fields around one file.
_UPLOAD_OVERHEAD = 64 * 1024
UPLOAD_LIMIT = MAX_DOCUMENT_BYTES + _UPLOAD_OVERHEAD
_LANGUAGE = TypeAdapter(LanguageCode)


class DocumentInfo(BaseModel):
    """One attached document as the API lists it (CONTRACT §6)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7d4f0c2e-5b1a-4c8e-9f3d-2a6b8c0e1f47", "kind": "judgment", "filename": "jugement-2026-0412.pdf",
        "sha256": "9b2c5d1e8f7a6b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4", "size": 184320,
        "language": "fr"}]})

    id: str
    kind: DocumentKind
    filename: str
    sha256: str
    size: int
    language: str


class DocumentList(BaseModel):
    """A page of a case's documents, in the order they were attached or received: `total` counts them all; the
    `Link` header names the first, previous, next and last pages (RFC 8288), as for every list of the API."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": DocumentInfo.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
        "total": 1, "limit": 200, "offset": 0}]})

    items: list[DocumentInfo]
    total: int = Field(description="the case's documents, over all pages")
    limit: int
    offset: int


def info(row: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(id=row["id"], kind=row["kind"], filename=row["filename"], sha256=row["sha256"],
                        size=int(row["size"]), language=row["language"])


# --- the upload --------------------------------------------------------------------------------------

class TooLarge(Exception):
    pass


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it passes `limit`: a 2 GB upload is never read whole."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise TooLarge
        yield chunk


async def upload_form(request: Request) -> FormData:
    """The multipart form of an upload, read no further than one document and its two fields (413 beyond)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > UPLOAD_LIMIT:
        raise ApiError(413, f"a document may be at most {MAX_DOCUMENT_BYTES} bytes (20 MB)")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(422, problems(("file", "send multipart/form-data with the fields kind, language and file")))
    try:
        return await MultiPartParser(request.headers, _limited(request, UPLOAD_LIMIT), max_files=1,
                                     max_fields=10).parse()
    except TooLarge as err:
        raise ApiError(413, f"a document may be at most {MAX_DOCUMENT_BYTES} bytes (20 MB)") from err
    except MultiPartException as err:
        raise ApiError(422, problems(("file", f"the multipart body could not be read: {err.message}"))) from err


async def read_upload(request: Request) -> tuple[str, str, str, bytes]:
    """(kind, language, filename, content) of a multipart upload, or 413 / 422 naming the field."""
    form = await upload_form(request)
    try:
        return await checked_upload(form)
    finally:
        await form.close()


async def checked_upload(form: FormData) -> tuple[str, str, str, bytes]:
    found: list[tuple[str, str]] = []
    kind = str(form.get("kind") or "")
    if kind not in set(DocumentKind):
        found.append(("kind", "must be one of " + ", ".join(DocumentKind)))
    language = str(form.get("language") or "")
    try:
        _LANGUAGE.validate_python(language)
    except ValidationError:
        found.append(("language", "must be an official EU language as an ISO 639-1 code (fr, de, en, …)"))
    upload = form.get("file")
    content = b""
    if not isinstance(upload, UploadFile):
        found.append(("file", "is missing: attach the document as a PDF file"))
    else:
        content = await upload.read(MAX_DOCUMENT_BYTES + 1)
        if len(content) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, f"a document may be at most {MAX_DOCUMENT_BYTES} bytes (20 MB)")
        if not content:
            found.append(("file", "is empty"))
        elif problem := pdf_problem(content[:8]):
            found.append(("file", problem))
    if found:
        raise ApiError(422, problems(*found))
    assert isinstance(upload, UploadFile)
    return kind, language, safe_filename(upload.filename, DocumentKind(kind)), content


# --- the service both the API and the pages call ---------------------------------------------------

async def may_attach(pool: AsyncConnectionPool[Any], user: User, case_id: str) -> dict[str, Any]:
    """The case, if this user may attach documents to it now; 404, 403 or 409 saying why not."""
    row = await visible_case(pool, user, Side.ISSUING, case_id)
    if user.role != "officer":
        raise ApiError(403, f"attaching documents is for the officer, not the {user.role}")
    if row["stage"] not in ATTACH_STAGES:
        raise ApiError(409, f"documents go with the certificate and can be added only before approval; this "
                            f"transfer is {row['stage']} and its certificate has been sent")
    return row


async def attach_document(pool: AsyncConnectionPool[Any], user: User, case_id: str, kind: str, language: str,
                          filename: str, content: bytes, *, channel: str = "api") -> DocumentInfo:
    """Attach one checked PDF to an outgoing transfer: officer of its authority, before approval."""
    row = await may_attach(pool, user, case_id)
    doc_id, digest = str(uuid.uuid4()), hashlib.sha256(content).hexdigest()
    async with pool.connection() as conn, conn.transaction():
        count, total = await store.totals(conn, case_id)
        if count >= MAX_DOCUMENTS:
            raise ApiError(422, problems(("file", f"a certificate carries at most {MAX_DOCUMENTS} documents")))
        if total + len(content) > MAX_DOCUMENTS_TOTAL_BYTES:
            raise ApiError(413, f"the documents of one certificate may be at most {MAX_DOCUMENTS_TOTAL_BYTES} "
                                f"bytes together; {total} are attached")
        try:
            await store.attach(conn, case_id=case_id, doc_id=doc_id, kind=kind, filename=filename,
                               language=language, sha256=digest, content=content, added_by=user.name)
        except store.AlreadyAttached as err:
            raise ApiError(409, str(err)) from err
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=case_id,
                           action="document_attached",
                           detail={"document": doc_id, "kind": kind, "sha256": digest, "via": channel})
    await sync_box_k(pool, case_id)
    return DocumentInfo(id=doc_id, kind=DocumentKind(kind), filename=filename, sha256=digest, size=len(content),
                        language=language)


async def remove_document(pool: AsyncConnectionPool[Any], user: User, case_id: str, doc_id: str, *,
                          channel: str = "api") -> None:
    row = await visible_case(pool, user, Side.ISSUING, case_id)
    if user.role != "officer":
        raise ApiError(403, f"removing documents is for the officer, not the {user.role}")
    if row["stage"] not in REMOVE_STAGES:
        raise ApiError(409, f"documents can be removed only while the transfer is a draft; it is {row['stage']}")
    if not await store.remove(pool, case_id, doc_id):
        raise ApiError(404, f"no document {doc_id} on this case")
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=case_id,
                           action="document_removed", detail={"document": doc_id, "via": channel})
    await sync_box_k(pool, case_id)


@dataclass(frozen=True)
class DocumentPage:
    """The documents of one page, and how many the case has in all."""

    items: list[DocumentInfo]
    total: int


async def document_page(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str, *,
                        limit: int | None = None, offset: int = 0, channel: str = "api", audited: bool = True,
                        why: ReadWhy | None = None) -> DocumentPage:
    """A page of the case's documents (every one without `limit`). A read of them is a read of the case's
    personal data: audited with its purpose and, outside the user's own work, the reason they gave (428 / the
    reason form when none), as the case is. `audited=False` for a page that shows the list beside a read
    already audited (the case page)."""
    row = await visible_case(pool, user, side, case_id)
    if audited:
        await record_read(pool, user, side, row, "read_documents", {"via": channel}, why, channel)
    # A case has a handful of documents (a certificate carries at most MAX_DOCUMENTS) and the list leaves their
    # bytes out: the page is cut from the one small query, so its rows and the total come from one snapshot.
    rows = await store.listed(pool, case_id)
    shown = rows[offset:] if limit is None else rows[offset:offset + limit]
    return DocumentPage(items=[info(r) for r in shown], total=len(rows))


async def list_documents(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str, *,
                         channel: str = "api", audited: bool = True, why: ReadWhy | None = None
                         ) -> list[DocumentInfo]:
    """Every document of the case, for the pages (which show them all), read and audited as `document_page`."""
    found = await document_page(pool, user, side, case_id, channel=channel, audited=audited, why=why)
    return found.items


async def document_file(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str, doc_id: str, *,
                        channel: str = "api", why: ReadWhy | None = None) -> Response:
    """One document (the judgment, say), exactly as attached or received: audited as a read of the case."""
    row = await visible_case(pool, user, side, case_id)
    doc = await store.one(pool, case_id, doc_id)
    if doc is None:
        raise ApiError(404, f"no document {doc_id} on this case")
    await record_read(pool, user, side, row, "read_document",
                      {"document": doc_id, "kind": doc["kind"], "via": channel}, why, channel)
    return pdf_response(bytes(doc["content"]), str(doc["filename"]))


def pdf_response(content: bytes, filename: str) -> Response:
    """The file as a download under its own name; personal data, so never kept by a cache."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return Response(content, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


# --- the API (CONTRACT §6) -------------------------------------------------------------------------------

def _pool(request: Request) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = request.app.state.node.pool
    return pool


@router.post("/transfers/{case_id}/documents", status_code=201, response_model=DocumentInfo,
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["kind", "language", "file"], "properties": {
                     "kind": {"type": "string", "enum": [k.value for k in DocumentKind]},
                     "language": {"type": "string", "pattern": "^[a-z]{2}$"},
                     "file": {"type": "string", "format": "binary",
                              "description": f"a PDF of at most {MAX_DOCUMENT_BYTES} bytes"}}},
                 "example": {"kind": "judgment", "language": "fr", "file": "jugement-2026-0412.pdf"}}}}},
             responses={403: {}, 404: {}, 409: {}, 413: {}, 422: {}})
async def post_document(request: Request, case_id: str, user: CurrentUser) -> DocumentInfo:
    """Attach the judgment, the probation decision or another document (Art 6(1)) before approval."""
    pool = _pool(request)
    await may_attach(pool, user, case_id)  # 404, 403 or 409 before the upload is read
    kind, language, filename, content = await read_upload(request)
    return await attach_document(pool, user, case_id, kind, language, filename, content)


async def _document_list(request: Request, side: Side, case_id: str, user: User, limit: int,
                         offset: int) -> Response:
    found = await document_page(_pool(request), user, side, case_id, limit=limit, offset=offset,
                                why=read_why(request))
    return page_answer(request, [d.model_dump(mode="json") for d in found.items], found.total, limit, offset)


@router.get("/transfers/{case_id}/documents", response_model=DocumentList,
            responses={200: LIST_ANSWER, **errors(403, 404, 422, 428)})
async def transfer_documents(request: Request, case_id: str, user: CurrentUser, limit: Limit = 200,
                             offset: Offset = 0) -> Response:
    """The documents attached to an outgoing transfer, in the order they were attached; reason and purpose as
    for `GET /transfers/{id}`."""
    return await _document_list(request, Side.ISSUING, case_id, user, limit, offset)


@router.get("/incoming/{case_id}/documents", response_model=DocumentList,
            responses={200: LIST_ANSWER, **errors(403, 404, 422, 428)})
async def incoming_documents(request: Request, case_id: str, user: CurrentUser, limit: Limit = 200,
                             offset: Offset = 0) -> Response:
    """The documents that came with an incoming transfer's certificate (and its completions), in the order
    they were received; reason and purpose as for `GET /incoming/{id}`."""
    return await _document_list(request, Side.EXECUTING, case_id, user, limit, offset)


_FILE_ANSWER: dict[int | str, dict[str, Any]] = {200: {
    "description": "the document exactly as attached or received",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}, "example": "%PDF-1.7 …"}}}}


@router.get("/transfers/{case_id}/documents/{doc_id}", response_class=Response,
            responses={**_FILE_ANSWER, **errors(403, 404, 428)})
async def transfer_document(request: Request, case_id: str, doc_id: str, user: CurrentUser) -> Response:
    return await document_file(_pool(request), user, Side.ISSUING, case_id, doc_id, why=read_why(request))


@router.get("/incoming/{case_id}/documents/{doc_id}", response_class=Response,
            responses={**_FILE_ANSWER, **errors(403, 404, 428)})
async def incoming_document(request: Request, case_id: str, doc_id: str, user: CurrentUser) -> Response:
    return await document_file(_pool(request), user, Side.EXECUTING, case_id, doc_id, why=read_why(request))


@router.delete("/transfers/{case_id}/documents/{doc_id}", status_code=204, response_class=Response,
               responses=errors(403, 404, 409))
async def delete_document(request: Request, case_id: str, doc_id: str, user: CurrentUser) -> Response:
    await remove_document(_pool(request), user, case_id, doc_id)
    return Response(status_code=204)
