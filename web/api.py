"""The JSON API of CONTRACT §2."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from store import audit, cases
from store.users import User
from web.auth import current_user
from web.cases import (
    SUMMARY_FIELDS,
    CaseSummary,
    act,
    parse_certificate_or_422,
    read_case,
    record_read,
    visible_case,
)
from web.errors import ApiError, problems
from web.why import read_why
from workflows.model import TransferInput
from workflows.stages import IssuingStage, Side

router = APIRouter(prefix="/api/v1")
CurrentUser = Annotated[User, Depends(current_user)]


class NewTransfer(BaseModel):
    executing_state: str = Field(pattern=r"^[A-Z]{2}$", description="the member state asked to supervise")
    certificate: dict[str, Any] = Field(description="the Annex I certificate (see `probatio certificate schema`)")


class Created(BaseModel):
    id: str
    stage: str


class ActionDone(BaseModel):
    id: str
    stage: str
    outcome: str | None = None


def _node(request: Request) -> Any:
    return request.app.state.node


@router.post("/transfers", status_code=201, response_model=Created)
async def create_transfer(request: Request, new: NewTransfer, user: CurrentUser) -> Created:
    return await start_transfer(_node(request), user, new.executing_state, new.certificate)


async def start_transfer(node: Any, user: User, executing_state: str, certificate: dict[str, Any],
                         *, channel: str = "api") -> Created:
    """Create the case and start its workflow; the API and the wizard's last step both come here."""
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
            id=f"transfer-{case_id}", task_queue=node.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return Created(id=case_id, stage=IssuingStage.DRAFT)


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


def _summaries(rows: list[dict[str, Any]]) -> Response:
    """The rows as `summary()` shows them. orjson writes datetimes as `isoformat()` does, so the rows go out
    as they came from PostgreSQL: a list of 200 costs a quarter of what building and encoding them did."""
    return Response(orjson.dumps([{k: r.get(k) for k in SUMMARY_FIELDS} for r in rows]),
                    media_type="application/json")


@router.get("/transfers", response_model=list[CaseSummary])
async def list_transfers(request: Request, user: CurrentUser, stage: str | None = None,
                         executing_state: str | None = None, due_before: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                         offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    rows = await cases.list_cases(_node(request).pool, direction="outgoing", authorities=user.authorities,
                                  limit=limit, offset=offset, **_list_params(stage, executing_state, due_before))
    return _summaries(rows)


@router.get("/incoming", response_model=list[CaseSummary])
async def list_incoming(request: Request, user: CurrentUser, stage: str | None = None,
                        due_before: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    rows = await cases.list_cases(_node(request).pool, direction="incoming", authorities=user.authorities,
                                  limit=limit, offset=offset, **_list_params(stage, None, due_before))
    return _summaries(rows)


@router.get("/transfers/{case_id}", responses={428: {"description": "say why (X-Probatio-Reason)"}})
async def get_transfer(request: Request, case_id: str, user: CurrentUser) -> dict[str, Any]:
    """The case. A read outside your own work needs a reason (`X-Probatio-Reason`); the purpose may be
    stated (`X-Probatio-Purpose`). Both are kept in the audit log."""
    return await read_case(_node(request).pool, user, Side.ISSUING, case_id, why=read_why(request))


@router.get("/incoming/{case_id}", responses={428: {"description": "say why (X-Probatio-Reason)"}})
async def get_incoming(request: Request, case_id: str, user: CurrentUser) -> dict[str, Any]:
    """The case; reason and purpose as for `GET /transfers/{id}`."""
    return await read_case(_node(request).pool, user, Side.EXECUTING, case_id, why=read_why(request))


async def _action(request: Request, side: Side, case_id: str, action: str, user: User) -> ActionDone:
    node = _node(request)
    try:
        body = await request.json() if await request.body() else {}
    except ValueError as err:
        raise ApiError(422, problems(("body", "is not JSON"))) from err
    if not isinstance(body, dict):
        raise ApiError(422, problems(("body", "must be a JSON object")))
    result = await act(node.pool, node.client, user, side, case_id, action, body)
    return ActionDone(id=case_id, stage=result.stage, outcome=result.outcome)


@router.post("/transfers/{case_id}/actions/{action}", response_model=ActionDone)
async def transfer_action(request: Request, case_id: str, action: str, user: CurrentUser) -> ActionDone:
    return await _action(request, Side.ISSUING, case_id, action, user)


@router.post("/incoming/{case_id}/actions/{action}", response_model=ActionDone)
async def incoming_action(request: Request, case_id: str, action: str, user: CurrentUser) -> ActionDone:
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


@router.get("/transfers/{case_id}/certificate.pdf", response_class=Response)
async def transfer_certificate_pdf(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                   ) -> Response:
    return await _certificate_document(request, Side.ISSUING, case_id, user, lang, "pdf")


@router.get("/transfers/{case_id}/certificate.html", response_class=Response)
async def transfer_certificate_html(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                    ) -> Response:
    return await _certificate_document(request, Side.ISSUING, case_id, user, lang, "html")


@router.get("/incoming/{case_id}/certificate.pdf", response_class=Response)
async def incoming_certificate_pdf(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                   ) -> Response:
    return await _certificate_document(request, Side.EXECUTING, case_id, user, lang, "pdf")


@router.get("/incoming/{case_id}/certificate.html", response_class=Response)
async def incoming_certificate_html(request: Request, case_id: str, user: CurrentUser, lang: str | None = None
                                    ) -> Response:
    return await _certificate_document(request, Side.EXECUTING, case_id, user, lang, "html")


@router.get("/dashboard")
async def dashboard(request: Request, user: CurrentUser, since: str | None = None,
                    until: str | None = None) -> dict[str, Any]:
    """Counts by stage and state, decisions due within 15 days, overdue decisions and duties, and the
    statistics per state, per month and by sex and age group (all from PostgreSQL)."""
    from web.pages_admin import _period, dashboard_data

    start, end = _period(since, until)
    return await dashboard_data(_node(request).pool, user, start, end)


@router.get("/audit")
async def audit_log(request: Request, user: CurrentUser, case: str | None = None,
                    user_name: Annotated[str | None, Query(alias="user")] = None, action: str | None = None,
                    since: str | None = None, until: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[dict[str, Any]]:
    """Filters combine: `case`, `user`, `action` (a prefix: `read` finds every kind of read), and the
    period `since` (inclusive) to `until` (exclusive), as ISO dates or date-times."""
    from web.pages_admin import _period, read_audit_log

    start, end = _period(since, until)
    rows = await read_audit_log(_node(request).pool, user, case_id=case, user_name=user_name, action=action,
                                since=start, until=end, limit=limit, offset=offset, via="api")
    return [{**r, "at": r["at"].isoformat()} for r in rows]


class PersonQuery(BaseModel):
    surname: str = Field(min_length=1, max_length=500)
    forenames: str | None = Field(default=None, max_length=500)
    date_of_birth: date


@router.post("/person-data")
async def person_data(request: Request, query: PersonQuery, user: CurrentUser) -> dict[str, Any]:
    """Everything this node holds about one person (right of access) in the cases of the auditor's
    authorities (all of the node's for a node-wide auditor); audited with the purpose subject_access."""
    from web.pages_admin import person_export

    if user.role != "auditor":
        raise ApiError(403, f"the export of data about a person is for the auditor, not the {user.role}")
    return await person_export(_node(request).pool, user, query.surname, query.forenames, query.date_of_birth,
                               "api")
