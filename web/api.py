"""The JSON API of CONTRACT §2."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from forms.messages import ACTIONS
from store import audit, cases, idempotency
from store.users import User
from web.auth import current_user
from web.cases import (
    SUMMARY_FIELDS,
    CaseSummary,
    act,
    parse_certificate_or_422,
    read_case,
    record_read,
    refuse_a_second_transfer,
    visible_case,
)
from web.conversation import BoxChange, ConversationEntry
from web.correction import delete_case, replace_certificate
from web.errors import ApiError, problems
from web.openapi import DASHBOARD_EXAMPLE, DOCUMENT_ANSWERS, LIST_ANSWER, action_body, errors
from web.paging import Limit, Offset, page_answer
from web.why import read_why
from workflows.model import TransferInput, workflow_id
from workflows.stages import IssuingStage, Side

router = APIRouter(prefix="/api/v1")
CurrentUser = Annotated[User, Depends(current_user)]


class NewTransfer(BaseModel):
    executing_state: str = Field(pattern=r"^[A-Z]{2}$", description="the member state asked to supervise")
    certificate: dict[str, Any] = Field(description="the Annex I certificate (see `probatio certificate schema`)")


_EXAMPLE_ID = "0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77"


class Created(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": _EXAMPLE_ID, "stage": "draft"}]})

    id: str
    stage: str
    # The first answer to an Idempotency-Key, given again: nothing was created this time.
    _replayed: bool = PrivateAttr(default=False)


class ActionDone(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": _EXAMPLE_ID, "stage": "sent",
                                                                "outcome": None}]})

    id: str
    stage: str
    outcome: str | None = None


class CaseList(BaseModel):
    """A page of a list: `total` counts every case the filters match; the `Link` header names the first,
    previous, next and last pages (RFC 8288). Where the filters combine a stage and a partner state, or give a
    due date, and more than 10,000 cases match, `total` is 10,000 and `total_capped` is true: there are more,
    and the `Link` header names no last page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": CaseSummary.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
        "total": 1, "limit": 200, "offset": 0}]})

    items: list[CaseSummary]
    total: int = Field(description="cases matching the filters, over all pages (at most 10,000 where "
                                   "`total_capped`)")
    total_capped: bool = Field(default=False, description="true when more cases match than `total` says: counted "
                                                          "up to 10,000 only (filters no tally holds, README)")
    limit: int
    offset: int


class Deadline(BaseModel):
    name: str = Field(description="e.g. decision (Art 12), withdrawal_window (Art 9(4)), duty:… (policy)")
    due: str
    basis: Literal["law", "policy"]
    article: str
    status: Literal["open", "met", "met_late", "missed", "cancelled"]


class TimelineEvent(BaseModel):
    at: str
    type: str
    actor: str | None
    detail: dict[str, Any]
    texts: dict[str, str] = Field(default_factory=dict, description="the free text of the action, e.g. the reason "
                                                                    "a prosecutor returned the transfer")


class CaseView(CaseSummary):
    """One case as its page shows it: deadlines, alerts, the timeline, and the actions this user may try now."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **CaseSummary.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index,dict-item]
        "deadlines": [{"name": "decision", "due": "2027-01-22T09:05:01+00:00", "basis": "law", "article": "12(1)",
                       "status": "met"}],
        "alerts_seen": ["probation_period_ended"],
        "timeline": [{"at": "2026-11-23T09:05:01+00:00", "type": "received", "actor": "LU",
                      "detail": {"message_id": "5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f"}}],
        "actions": []}]})

    deadlines: list[Deadline]
    alerts_seen: list[str] = Field(default_factory=list)
    timeline: list[TimelineEvent]
    actions: list[str] = Field(description="what this user may try now; the workflow may still refuse")
    executing_authority: str | None = Field(
        default=None, description="Art 6(7), 18(1): the executing state's authority that holds the case (on the "
                                  "issuing side the one it was forwarded to; none: the one the directory routes to)")
    certificate_seal: dict[str, Any] | None = Field(
        default=None, description="incoming cases: the check of the received certificate PDF's electronic seal "
                                  "(status valid, invalid, untrusted or unsigned; signer; time)")
    conversation: list[ConversationEntry] = Field(
        default_factory=list, description="every message between the two authorities, both ways, in order and in "
                                          "full: free text, structured fields, adapted measures beside the "
                                          "original ones, a completed certificate's changes box by box")
    certificate_changes_since_return: list[BoxChange] = Field(
        default_factory=list, description="Art 6(3), outgoing transfers awaiting approval: what the officer changed "
                                          "in the certificate since the prosecutor returned it, box by box (the "
                                          "value returned and the corrected one); empty otherwise")


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": 42, "at": "2026-11-23T09:05:01+00:00", "user_name": "prosecutor", "role": "prosecutor",
        "authority": "LU", "case_id": _EXAMPLE_ID, "action": "read", "reason": None, "old_stage": None,
        "new_stage": None, "detail": {"via": "api"}}]})

    id: int
    at: str
    user_name: str
    role: str
    authority: str | None = None
    case_id: str | None = None
    action: str
    reason: str | None = None
    old_stage: str | None = None
    new_stage: str | None = None
    detail: dict[str, Any] | None = None


class AuditList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": AuditEntry.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
        "total": 1, "limit": 500, "offset": 0}]})

    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


def _node(request: Request) -> Any:
    return request.app.state.node


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="any unique string (a UUID): a retry with the same key and body gets the first answer again "
                "and creates nothing; the same key with another body is refused (422). Kept 24 hours.")]


@router.post("/transfers", status_code=201, response_model=Created, responses={
    201: {"description": "created, or (with an Idempotency-Key seen before) the first answer again",
          "headers": {"Idempotent-Replayed": {"description": "`true` when this is the first answer given again",
                                              "schema": {"type": "string", "enum": ["true"]}}}},
    **errors(403, 422)})
async def create_transfer(request: Request, new: NewTransfer, user: CurrentUser,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Create an outgoing transfer (stage `draft`) from an Annex I certificate."""
    created = await start_transfer(_node(request), user, new.executing_state, new.certificate,
                                   idempotency_key=idempotency_key,
                                   request_hash=hashlib.sha256(orjson.dumps(
                                       new.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest())
    return JSONResponse(created.model_dump(mode="json"), status_code=201,
                        headers={"Idempotent-Replayed": "true"} if created._replayed else None)


async def start_transfer(node: Any, user: User, executing_state: str, certificate: dict[str, Any],
                         *, channel: str = "api", idempotency_key: str | None = None,
                         request_hash: str = "") -> Created:
    """Create the case and start its workflow; the API and the wizard's last step both come here. With an
    idempotency key, a repeated request gets the first answer again and creates nothing."""
    if user.role != "officer":
        raise ApiError(403, f"starting a transfer is for the officer, not the {user.role}")
    if executing_state == node.settings.state:
        raise ApiError(422, problems(("executing_state", "must be another member state than this node's")))
    cert = parse_certificate_or_422({**certificate, "executing_state": executing_state,
                                     "issuing_state": node.settings.state})
    case_id = str(uuid.uuid4())
    authority = user.authorities[0]
    client: Client = node.client
    # One transaction: the case row is committed only once its workflow exists, so nothing is half-written.
    async with node.pool.connection() as conn, conn.transaction():
        if idempotency_key is not None:
            kept = await idempotency.lock_and_find(conn, user.name, idempotency_key)
            if kept is not None and kept.request_hash != request_hash:
                raise ApiError(422, problems(("Idempotency-Key", "was used before for a different request; "
                                                                  "use a new key for a new transfer")),
                               code="idempotency_key_reused")
            if kept is not None:
                replayed = Created.model_validate(kept.answer)
                replayed._replayed = True
                return replayed
        await refuse_a_second_transfer(conn, node.settings.state, cert)
        await cases.insert_case(conn, case_id=case_id, direction="outgoing", authority=authority,
                                issuing_state=node.settings.state, executing_state=executing_state,
                                stage=IssuingStage.DRAFT, certificate=cert.model_dump(mode="json"),
                                facts=cert.facts().model_dump(mode="json"), created_by=user.name)
        await audit.record(conn, user_name=user.name, role=user.role, authority=authority, case_id=case_id,
                           action="create", new_stage=IssuingStage.DRAFT, detail={"via": channel})
        await client.start_workflow(
            "OutgoingTransfer",
            TransferInput(case_id=case_id, issuing_state=node.settings.state, executing_state=executing_state,
                          authority=authority, created_by=user.name,
                          duty_working_days=node.settings.duty_working_days,
                          delivery_retry_hours=node.settings.delivery_retry_hours),
            id=workflow_id(Side.ISSUING, case_id), task_queue=node.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        created = Created(id=case_id, stage=IssuingStage.DRAFT)
        if idempotency_key is not None:
            await idempotency.keep(conn, user.name, idempotency_key, request_hash, 201, created.model_dump(mode="json"))
    return created


class CorrectedCertificate(BaseModel):
    """A corrected Annex I certificate for a transfer in `draft` (returned by the prosecutor, or never
    submitted). The executing State stays that of the transfer."""

    model_config = ConfigDict(extra="forbid")

    certificate: dict[str, Any]


@router.put("/transfers/{case_id}/certificate", response_model=Created, responses={**errors(403, 404, 409, 422)})
async def put_certificate(request: Request, case_id: str, corrected: CorrectedCertificate,
                          user: CurrentUser) -> dict[str, Any]:
    """Correct the certificate of a transfer in `draft` (officer): 422 naming each field, 409 outside `draft`;
    nothing is stored when refused. Then `submit` sends it to the prosecutor again."""
    return await replace_certificate(_node(request).pool, user, case_id, corrected.certificate)


@router.delete("/transfers/{case_id}", status_code=204, response_class=Response,
               responses={**errors(403, 404, 409)})
async def delete_transfer(request: Request, case_id: str, user: CurrentUser) -> Response:
    """Delete a transfer that was never submitted (officer); audited. A submitted one is part of the record: 409."""
    node = _node(request)
    await delete_case(node.pool, node.client, user, case_id)
    return Response(status_code=204)


def _list_params(stage: str | None, executing_state: str | None, due_before: str | None) -> dict[str, Any]:
    due = None
    if due_before:
        try:
            due = datetime.fromisoformat(due_before)
        except ValueError as err:
            raise ApiError(422, problems(("due_before", "must be a date or date-time (ISO 8601)"))) from err
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
    return {"stage": stage, "executing_state": executing_state, "due_before": due}


def _summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as `summary()` shows them, still with datetimes: orjson writes them as `isoformat()` does."""
    return [{k: r.get(k) for k in SUMMARY_FIELDS} for r in rows]


async def _case_list(request: Request, user: User, direction: str, limit: int, offset: int,
                     filters: dict[str, Any]) -> Response:
    page = await cases.list_page(_node(request).pool, direction=direction, authorities=user.authorities,
                                 limit=limit, offset=offset, **filters)
    return page_answer(request, _summaries(page.rows), page.total, limit, offset, total_capped=page.total_capped)


@router.get("/transfers", response_model=CaseList, responses={200: LIST_ANSWER, **errors(422)})
async def list_transfers(request: Request, user: CurrentUser, stage: str | None = None,
                         executing_state: str | None = None, due_before: str | None = None,
                         limit: Limit = 200, offset: Offset = 0) -> Response:
    """Outgoing transfers of the user's authorities, newest first."""
    return await _case_list(request, user, "outgoing", limit, offset,
                            _list_params(stage, executing_state, due_before))


@router.get("/incoming", response_model=CaseList, responses={200: LIST_ANSWER, **errors(422)})
async def list_incoming(request: Request, user: CurrentUser, stage: str | None = None,
                        due_before: str | None = None, limit: Limit = 200, offset: Offset = 0) -> Response:
    """Incoming transfers of the user's authorities, newest first."""
    return await _case_list(request, user, "incoming", limit, offset, _list_params(stage, None, due_before))


@router.get("/transfers/{case_id}", response_model=None,
            responses={200: {"model": CaseView}, **errors(403, 404, 422, 428)})
async def get_transfer(request: Request, case_id: str, user: CurrentUser) -> dict[str, Any]:
    """The case. A read outside your own work needs a reason (`X-Probatio-Reason`); the purpose may be
    stated (`X-Probatio-Purpose`). Both are kept in the audit log."""
    return await read_case(_node(request).pool, user, Side.ISSUING, case_id, why=read_why(request))


@router.get("/incoming/{case_id}", response_model=None,
            responses={200: {"model": CaseView}, **errors(403, 404, 422, 428)})
async def get_incoming(request: Request, case_id: str, user: CurrentUser) -> dict[str, Any]:
    """The case; reason and purpose as for `GET /transfers/{id}`."""
    return await read_case(_node(request).pool, user, Side.EXECUTING, case_id, why=read_why(request))


async def _action(request: Request, side: Side, case_id: str, action: str, user: User) -> ActionDone:
    node = _node(request)
    try:
        body = await request.json() if await request.body() else {}
    except ValueError as err:
        raise ApiError(422, problems(("body", "is not JSON"))) from err
    except RecursionError as err:  # nested deeper than the guard sees (it reads a body that starts with { or [)
        raise ApiError(422, problems(("body", "is nested too deeply"))) from err
    if not isinstance(body, dict):
        raise ApiError(422, problems(("body", "must be a JSON object")))
    result = await act(node.pool, node.client, user, side, case_id, action, body, directory=node.directory)
    return ActionDone(id=case_id, stage=result.stage, outcome=result.outcome)


_ACTION_ERRORS = errors(403, 404, 409, 422)


@router.post("/transfers/{case_id}/actions/{action}", response_model=ActionDone, responses=_ACTION_ERRORS,
             openapi_extra=action_body(Side.ISSUING))
async def transfer_action(request: Request, case_id: str, action: Annotated[str, Path(
        description="an issuing-side action: " + ", ".join(ACTIONS[Side.ISSUING]))],
                          user: CurrentUser) -> ActionDone:
    """An issuing-side action (CONTRACT §3): the role and stage each needs, and its body, are in the examples."""
    return await _action(request, Side.ISSUING, case_id, action, user)


@router.post("/incoming/{case_id}/actions/{action}", response_model=ActionDone, responses=_ACTION_ERRORS,
             openapi_extra=action_body(Side.EXECUTING))
async def incoming_action(request: Request, case_id: str, action: Annotated[str, Path(
        description="an executing-side action: " + ", ".join(ACTIONS[Side.EXECUTING]))],
                          user: CurrentUser) -> ActionDone:
    """An executing-side action (CONTRACT §3): the role and stage each needs, and its body, are in the examples."""
    return await _action(request, Side.EXECUTING, case_id, action, user)


async def _certificate_document(request: Request, side: Side, case_id: str, user: User, lang: str | None,
                                fmt: str) -> Response:
    from forms.annex1 import Certificate
    from forms.render import RENDER_LANGUAGES, render_certificate

    node = _node(request)
    row = await visible_case(node.pool, user, side, case_id)
    channel = "page" if not request.url.path.startswith("/api/") else "api"
    await record_read(node.pool, user, side, row, "read_certificate", {"format": fmt, "lang": lang},
                      read_why(request), channel)
    if fmt == "pdf":
        # The document as it was sent, where it was; otherwise as it would be sent.
        doc = await cases.latest_document(node.pool, case_id, "certificate", lang)
        if doc is not None:
            return Response(bytes(doc["content"]), media_type="application/pdf")
    if row["certificate"] is None:
        raise ApiError(404, "this case's certificate has been erased")
    cert = Certificate.model_validate(row["certificate"])
    language = lang or cert.language
    if language not in RENDER_LANGUAGES:
        raise ApiError(422, problems(("lang", f"must be one of {', '.join(RENDER_LANGUAGES)}")))
    content = await asyncio.to_thread(render_certificate, cert, language, "pdf" if fmt == "pdf" else "html")
    return Response(content, media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8")


@router.get("/transfers/{case_id}/certificate.pdf", response_class=Response,
            responses={200: DOCUMENT_ANSWERS["pdf"], **errors(403, 404, 422)})
async def transfer_certificate_pdf(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                   ) -> Response:
    return await _certificate_document(request, Side.ISSUING, case_id, user, lang, "pdf")


@router.get("/transfers/{case_id}/certificate.html", response_class=Response,
            responses={200: DOCUMENT_ANSWERS["html"], **errors(403, 404, 422)})
async def transfer_certificate_html(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                    ) -> Response:
    return await _certificate_document(request, Side.ISSUING, case_id, user, lang, "html")


@router.get("/incoming/{case_id}/certificate.pdf", response_class=Response,
            responses={200: DOCUMENT_ANSWERS["pdf"], **errors(403, 404, 422)})
async def incoming_certificate_pdf(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                   ) -> Response:
    return await _certificate_document(request, Side.EXECUTING, case_id, user, lang, "pdf")


@router.get("/incoming/{case_id}/certificate.html", response_class=Response,
            responses={200: DOCUMENT_ANSWERS["html"], **errors(403, 404, 422)})
async def incoming_certificate_html(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                    ) -> Response:
    return await _certificate_document(request, Side.EXECUTING, case_id, user, lang, "html")


@router.get("/dashboard", responses={200: {"content": {"application/json": {"example": DASHBOARD_EXAMPLE}}},
                                     **errors(422)})
async def dashboard(request: Request, user: CurrentUser, since: str | None = None,
                    until: str | None = None) -> dict[str, Any]:
    """Counts by stage and state, decisions due within 15 days, overdue decisions and duties, and the
    statistics per state, per month and by sex and age group (all from PostgreSQL)."""
    from web.pages_admin import _period, dashboard_data

    start, end = _period(since, until)
    return await dashboard_data(_node(request).pool, user, start, end)


@router.get("/audit", response_model=AuditList, responses={200: LIST_ANSWER, **errors(403, 422)})
async def audit_log(request: Request, user: CurrentUser, case: str | None = None,
                    user_name: Annotated[str | None, Query(alias="user")] = None, action: str | None = None,
                    since: str | None = None, until: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """Filters combine: `case`, `user`, `action` (a prefix: `read` finds every kind of read), and the
    period `since` (inclusive) to `until` (exclusive), as ISO dates or date-times."""
    from web.pages_admin import _period, read_audit_log

    start, end = _period(since, until)
    pool = _node(request).pool
    rows = await read_audit_log(pool, user, case_id=case, user_name=user_name, action=action,
                                since=start, until=end, limit=limit, offset=offset, via="api")
    total = await audit.count_entries(pool, within=None if user.node_wide else user.authorities, case_id=case,
                                      user_name=user_name, action=action, since=start, until=end)
    return page_answer(request, rows, total, limit, offset)


class PersonQuery(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"surname": "Muller", "forenames": "Jean", "date_of_birth": "1985-04-12"}]})

    surname: str = Field(min_length=1, max_length=500)
    forenames: str | None = Field(default=None, max_length=500)
    date_of_birth: date


@router.post("/person-data", responses={200: {"content": {"application/json": {"example": {
    "surname": "Muller", "forenames": "Jean", "date_of_birth": "1985-04-12",
    "exported_at": "2026-11-23T09:05:01+00:00", "cases": [], "drafts": []}}}},
    **errors(403, 422)})
async def person_data(request: Request, query: PersonQuery, user: CurrentUser) -> dict[str, Any]:
    """Everything this node holds about one person (right of access) in the cases of the auditor's
    authorities (all of the node's for a node-wide auditor); audited with the purpose subject_access."""
    from web.pages_admin import person_export

    if user.role != "auditor":
        raise ApiError(403, f"the export of data about a person is for the auditor, not the {user.role}")
    return await person_export(_node(request).pool, user, query.surname, query.forenames, query.date_of_birth,
                               "api")
