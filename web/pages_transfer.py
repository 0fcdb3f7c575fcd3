"""The officer's wizard: a draft per transfer, saved at every step and on every change (autosave), checked
by forms.validation, and turned into a case by the same function as `POST /api/v1/transfers`."""

from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from forms.examples import example_certificate
from forms.states import load_state
from store import audit, drafts
from store.sessions import Session
from web import api
from web.auth import check_csrf
from web.cases import act
from web.errors import ApiError
from web.pages_common import SignedIn, node_of, render, require_role
from web.pages_wizard import (
    STEP_BY_KEY,
    STEPS,
    apply_form,
    blank_certificate,
    category_options,
    decision_options,
    executing_profile,
    field_id,
    get_path,
    label_for,
    measure_options,
    problems_by_step,
    step_fields,
    step_status,
)
from workflows.stages import Side

router = APIRouter(include_in_schema=False)


async def _draft(request: Request, session: Session, draft_id: str) -> dict[str, Any]:
    require_role(session, "officer", what="filling a certificate")
    row = await drafts.get_draft(node_of(request).pool, draft_id)
    if row is None or not session.user.may_see(row["authority"]):
        # The same answer for "no such draft" and "another authority's": ids are not to be probed.
        raise ApiError(404, "no such draft among your authority's drafts")
    return row


@router.get("/transfers/new", response_class=HTMLResponse)
async def new_transfer_page(request: Request, session: SignedIn) -> Response:
    require_role(session, "officer", what="starting a transfer")
    return render(request, "new_transfer.html.j2", session)


@router.post("/transfers/new")
async def new_transfer(request: Request, session: SignedIn) -> Response:
    require_role(session, "officer", what="starting a transfer")
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    state = node.settings.state
    if form.get("start") == "example":
        # Training: the project's example (invented person), to be edited; addressed to the first peer.
        peer = "BE" if state != "BE" else "LU"
        doc = example_certificate(state, peer).model_dump(mode="json", exclude_none=True)
    else:
        doc = blank_certificate(state)
    draft_id = await drafts.create_draft(node.pool, authority=session.user.authorities[0],
                                         created_by=session.user.name, certificate=doc)
    return RedirectResponse(f"/transfers/drafts/{draft_id}/a", status_code=303)


def _step_context(request: Request, session: Session, row: dict[str, Any], step_key: str,
                  unreadable: dict[str, str] | None = None, show_errors: bool = False) -> dict[str, Any]:
    node = node_of(request)
    doc = row["certificate"]
    issuing = load_state(node.settings.state)
    executing = executing_profile(doc)
    grouped, _ = problems_by_step(doc)
    step = STEP_BY_KEY[step_key]
    fields = step_fields(step, doc)
    options: dict[str, list[tuple[str, str]]] = {}
    for f in fields:
        if f.path.endswith("national_measure"):
            options[f.path] = measure_options(issuing, executing)
        elif f.path.endswith("].category"):
            options[f.path] = category_options(executing)
        elif f.path == "judgment_nature.national_decision":
            options[f.path] = decision_options(issuing)
        elif f.path == "executing_state":
            options[f.path] = [o for o in f.options if o[0] != node.settings.state]
        else:
            options[f.path] = list(f.options)
    messages: dict[str, list[str]] = {}
    general: list[str] = []
    paths = {f.path for f in fields}
    for p in grouped[step.key]:
        target = p.path if p.path in paths else None
        text = p.message + (" (warning)" if p.severity == "warning" else "")
        if target:
            messages.setdefault(target, []).append(text)
        else:
            general.append(f"{p.path}: {text}")
    for path, text in (unreadable or {}).items():
        messages.setdefault(path, []).insert(0, text)
    return {
        "draft": row, "doc": doc, "step": step, "steps": STEPS,
        "statuses": {s.key: step_status(s, doc, grouped[s.key]) for s in STEPS},
        "fields": [{"f": f, "id": field_id(f.path), "label": f.label or label_for(f.path),
                    "value": get_path(doc, f.path), "options": options[f.path]} for f in fields],
        "messages": messages if (show_errors or unreadable) else {},
        "general": general if show_errors else [],
        "executing": executing,
        "measure_count": len(doc.get("measures") or []),
        "next_step": next((n.key for s, n in pairwise(STEPS) if s.key == step_key), None),
        "previous_step": next((p.key for p, s in pairwise(STEPS) if s.key == step_key), None),
    }


@router.get("/transfers/drafts/{draft_id}/review", response_class=HTMLResponse)
async def review(request: Request, session: SignedIn, draft_id: str) -> Response:
    row = await _draft(request, session, draft_id)
    return _review_page(request, session, row)


def _review_page(request: Request, session: Session, row: dict[str, Any], *, status_code: int = 200,
                 message: str = "", api_problems: list[dict[str, str]] | None = None) -> Response:
    grouped, other = problems_by_step(row["certificate"])
    return render(request, "review.html.j2", session, status_code=status_code, draft=row, steps=STEPS,
                  grouped=grouped, other=other, field_id=field_id, message=message,
                  api_problems=api_problems or [],
                  errors=sum(1 for ps in grouped.values() for p in ps if p.severity == "error") + len(other),
                  statuses={s.key: step_status(s, row["certificate"], grouped[s.key]) for s in STEPS})


@router.get("/transfers/drafts/{draft_id}/{step_key}", response_class=HTMLResponse)
async def wizard_step(request: Request, session: SignedIn, draft_id: str, step_key: str) -> Response:
    row = await _draft(request, session, draft_id)
    if step_key not in STEP_BY_KEY:
        raise ApiError(404, f"no step {step_key} in the certificate")
    show = request.query_params.get("check") == "1"
    return render(request, "wizard.html.j2", session, **_step_context(request, session, row, step_key,
                                                                        show_errors=show))


@router.post("/transfers/drafts/{draft_id}/start", response_class=HTMLResponse)
async def start(request: Request, session: SignedIn, draft_id: str) -> Response:
    """The draft becomes a case (workflow started); with `submit`, it goes straight to the prosecutor."""
    row = await _draft(request, session, draft_id)
    form = await request.form()
    check_csrf(session, form)
    if row["case_id"]:
        return RedirectResponse(f"/cases/outgoing/{quote(row['case_id'])}", status_code=303)
    node = node_of(request)
    doc = {k: v for k, v in row["certificate"].items() if not k.startswith("_")}
    try:
        created = await api.start_transfer(node, session.user, str(doc.get("executing_state") or ""), doc,
                                           channel="page")
    except ApiError as err:
        found = err.detail if isinstance(err.detail, list) else []
        return _review_page(request, session, row, status_code=err.status, api_problems=found,
                            message="The transfer was not started: " + (
                                "correct the fields listed below" if found else str(err.detail)))
    await drafts.mark_started(node.pool, draft_id, created.id)
    done = "create:draft"
    if form.get("submit") == "1":
        try:
            result = await act(node.pool, node.client, session.user, Side.ISSUING, created.id, "submit", {})
            done = f"submit:{result.stage}"
        except ApiError as err:
            done = f"submit_failed:{err.status}"
    async with node.pool.connection() as conn:
        await audit.record(conn, user_name=session.user.name, role=session.user.role,
                           authority=row["authority"], case_id=created.id, action="draft_started",
                           detail={"draft": draft_id})
    return RedirectResponse(f"/cases/outgoing/{quote(created.id)}?done={quote(done)}", status_code=303)


@router.post("/transfers/drafts/{draft_id}/{step_key}", response_class=HTMLResponse)
async def save_step(request: Request, session: SignedIn, draft_id: str, step_key: str) -> Response:
    row = await _draft(request, session, draft_id)
    if step_key not in STEP_BY_KEY:
        raise ApiError(404, f"no step {step_key} in the certificate")
    if row["case_id"]:
        return RedirectResponse(f"/cases/outgoing/{quote(row['case_id'])}", status_code=303)
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    doc = copy.deepcopy(row["certificate"])
    unreadable = apply_form(STEP_BY_KEY[step_key], doc, form, load_state(node.settings.state))
    doc["issuing_state"] = node.settings.state
    await drafts.save_draft(node.pool, draft_id, doc)
    row = {**row, "certificate": doc}
    autosave = request.headers.get("x-autosave") == "1"
    if autosave:
        # The page's small script saves on every change; it only needs to know it worked.
        return JSONResponse({"saved": True, "unreadable": unreadable})
    go = str(form.get("go") or "stay")
    if unreadable or go in ("stay", "add_measure", "remove_measure") or form.get("add_measure") \
            or form.get("remove_measure"):
        # Adding or removing a measure is not a request to be checked: new empty rows would all be red.
        check = go == "stay" and not (form.get("add_measure") or form.get("remove_measure"))
        return render(request, "wizard.html.j2", session, status_code=422 if unreadable else 200,
                      **_step_context(request, session, row, step_key, unreadable, show_errors=check))
    if go == "review":
        return RedirectResponse(f"/transfers/drafts/{draft_id}/review", status_code=303)
    target = go if go in STEP_BY_KEY else step_key
    return RedirectResponse(f"/transfers/drafts/{draft_id}/{target}", status_code=303)
