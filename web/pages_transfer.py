"""The officer's wizard: a draft per transfer, saved at every step and on every change (autosave), checked
by forms.validation, and turned into a case by the same function as `POST /api/v1/transfers`."""

from __future__ import annotations

import copy
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from forms.examples import (
    EXAMPLE_JUDGMENT_FILENAME,
    EXAMPLE_JUDGMENT_LANGUAGE,
    example_certificate,
    example_judgment_pdf,
    judgment_of_its_own,
)
from forms.states import load_state
from forms.validation import Problem
from store import audit, drafts
from store.sessions import Session
from web import api, i18n, labels
from web.auth import check_csrf
from web.cases import act, actions_now, read_case, visible_case
from web.correction import corrected_boxes, delete_case, delete_draft, replace_certificate
from web.documents import attach_document, list_documents
from web.errors import ApiError
from web.i18n import N_, Message
from web.labels import country_name, problem_text
from web.page_parts import completion_request, returned_by_prosecutor
from web.pages_common import SignedIn, node_of, page_detail, render, require_role
from web.pages_confirm import confirm_draft_delete_page, confirm_page
from web.pages_wizard import (
    STEP_BY_KEY,
    STEPS,
    apply_form,
    as_typed,
    blank_certificate,
    category_options,
    decision_options,
    duration_parts,
    executing_profile,
    field_id,
    field_view,
    get_path,
    measure_options,
    notified_options,
    problems_by_step,
    readable_path,
    step_fields,
    step_rule_problems,
    step_status,
)
from workflows.stages import Side

router = APIRouter(include_in_schema=False)


async def _draft(request: Request, session: Session, draft_id: str) -> dict[str, Any]:
    require_role(session, "officer", what=N_("Filling a certificate"))
    row = await drafts.get_draft(node_of(request).pool, draft_id)
    if row is None or not session.user.may_see(row["authority"]):
        # The same answer for "no such draft" and "another authority's": ids are not to be probed.
        raise ApiError(404, Message(N_("There is no such draft among your authority's drafts.")))
    if request.method == "GET":
        # A draft is a certificate being written: personal data, so its reads are audited like a case's.
        await audit_draft_read(request, session, row)
    return row


async def audit_draft_read(request: Request, session: Session, row: dict[str, Any]) -> None:
    async with node_of(request).pool.connection() as conn:
        await audit.record(conn, user_name=session.user.name, role=session.user.role, authority=row["authority"],
                           case_id=row["case_id"], action="read_draft", purpose=audit.Purpose.CASE_WORK,
                           detail={"draft": row["id"], "via": request.url.path.rsplit("/", 1)[-1]})


@router.get("/transfers/new", response_class=HTMLResponse)
async def new_transfer_page(request: Request, session: SignedIn) -> Response:
    require_role(session, "officer", what=N_("Starting a transfer"))
    return render(request, "new_transfer.html.j2", session)


@router.post("/transfers/new")
async def new_transfer(request: Request, session: SignedIn) -> Response:
    require_role(session, "officer", what=N_("Starting a transfer"))
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    state = node.settings.state
    if form.get("start") == "example":
        # Training: the project's example (invented person), to be edited; addressed to the first peer.
        peer = "BE" if state != "BE" else "LU"
        doc = example_certificate(state, peer).model_dump(mode="json", exclude_none=True)
        # Each training transfer stands for a judgment of its own: Art 6(5) refuses a second transfer of a
        # judgment while one is open, and a trainee starts the example more than once.
        judgment = doc.setdefault("judgment", {})
        judgment["reference"] = judgment_of_its_own(judgment.get("reference"))
        doc[EXAMPLE_JUDGMENT] = True  # the example judgment is attached when the transfer starts (Art 6(1))
    else:
        doc = blank_certificate(state)
    draft_id = await drafts.create_draft(node.pool, authority=session.user.authorities[0],
                                         created_by=session.user.name, certificate=doc)
    return RedirectResponse(f"/transfers/drafts/{draft_id}/a", status_code=303)


# --- Art 8(2): the same wizard on a copy of a case's certificate ---------------------------------
# A correction is a draft whose certificate carries `_correcting` (the case id): keys starting with "_" never
# leave the draft. Finishing it sends `complete` on that case instead of starting a new transfer.

CORRECTING = "_correcting"
# A draft started from the training example gets the example judgment when it becomes a transfer.
EXAMPLE_JUDGMENT = "_example_judgment"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def correcting(row: dict[str, Any]) -> str | None:
    case_id = row["certificate"].get(CORRECTING)
    return case_id if isinstance(case_id, str) else None


async def _open_correction(pool: Any, case_id: str, authorities: tuple[str, ...]) -> str | None:
    """The correction already begun for this case, so that a second click continues it."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM transfer_drafts WHERE case_id IS NULL AND authority = ANY(%s)"
            " AND certificate->>%s = %s ORDER BY updated_at DESC LIMIT 1", (list(authorities), CORRECTING, case_id))
        found = await cur.fetchone()
    return str(found["id"]) if found else None


@router.post("/cases/outgoing/{case_id}/correct")
async def correct_certificate(request: Request, session: SignedIn, case_id: str) -> Response:
    """Open the wizard on a copy of the case's certificate (Art 8(2)); the case itself is unchanged until sent."""
    require_role(session, "officer", what=N_("Correcting a certificate"))
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    row = await visible_case(node.pool, session.user, Side.ISSUING, case_id)
    now = actions_now(Side.ISSUING, session.user, row)
    # Art 8(2): completing for the executing State; Art 6(3): correcting a transfer the prosecutor returned.
    if "complete" not in now and not (row["stage"] == "draft" and "submit" in now):
        raise ApiError(409, Message(N_("The certificate can be corrected only while the executing State asks for "
                                       "completion (the case is %(stage)s)."),
                                    stage=Message(labels.STAGES.get(str(row["stage"]), str(row["stage"])))))
    if row.get("certificate") is None:
        raise ApiError(409, Message(N_("The certificate of this case is no longer held.")))
    draft_id = await _open_correction(node.pool, case_id, session.user.authorities)
    if draft_id is None:
        doc = _without_nulls(copy.deepcopy(row["certificate"]))
        doc[CORRECTING] = case_id
        draft_id = await drafts.create_draft(node.pool, authority=row["authority"], created_by=session.user.name,
                                             certificate=doc)
        async with node.pool.connection() as conn:
            await audit.record(conn, user_name=session.user.name, role=session.user.role, authority=row["authority"],
                               case_id=case_id, action="correction_opened", detail={"draft": draft_id})
    return RedirectResponse(f"/transfers/drafts/{draft_id}/a", status_code=303)


async def _correction_context(request: Request, session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """What the wizard shows when correcting: the case, and what the executing State asked for."""

    case_id = correcting(row)
    if case_id is None:
        return {"correction": None}
    node = node_of(request)
    view = await read_case(node.pool, session.user, Side.ISSUING, case_id, channel="page:correct")
    request_info = await completion_request(node.pool, view) if view["stage"] == "completion_requested" else None
    # A draft transfer (returned by the prosecutor, Art 6(3)) is corrected in place and submitted again.
    returned = (returned_by_prosecutor(view) or {"reason": ""}) if view["stage"] == "draft" else None
    # The review page lists what the officer changed, box by box, before it is sent.
    changes = await corrected_boxes(node.pool, case_id, row["certificate"])
    return {"correction": {"case": view, "request": request_info, "returned": returned, "changes": changes}}


def _step_context(request: Request, session: Session, row: dict[str, Any], step_key: str,
                  unreadable: dict[str, str] | None = None, show_errors: bool = False,
                  rule_problems: list[Problem] | None = None, posted_form: Any = None) -> dict[str, Any]:
    node = node_of(request)
    t = i18n.for_request(request)
    doc = row["certificate"]
    issuing = load_state(node.settings.state)
    executing = executing_profile(doc)
    grouped, _ = problems_by_step(doc)
    step = STEP_BY_KEY[step_key]
    fields = step_fields(step, doc)
    views = {f.path: field_view(f, t) for f in fields}
    options: dict[str, list[tuple[str, str]]] = {}
    for f in fields:
        if f.path.endswith("national_measure"):
            options[f.path] = measure_options(issuing, executing, t)
        elif f.path.endswith("].category"):
            options[f.path] = category_options(executing, t)
        elif f.path.endswith("].notified_measure"):
            options[f.path] = notified_options(executing)
        elif f.path == "judgment_nature.national_decision":
            options[f.path] = decision_options(issuing, t)
        elif f.path == "executing_state":
            states = [(code, f"{code} — {country_name(code, t)}") for code, _ in f.options]
            options[f.path] = [o for o in states if o[0] != node.settings.state]
            if correcting(row):
                options[f.path] = [o for o in states if o[0] == doc.get("executing_state")]
        elif f.path == "language" and executing is not None:
            # Art 21: the certificate goes in a language the executing State accepts; those are offered, and
            # a language already chosen stays (the check beside the field says why it will not do).
            accepted = set(executing.accepted_languages) | {str(doc.get("language") or "")}
            options[f.path] = [o for o in views[f.path]["options"] if o[0] in accepted]
        else:
            options[f.path] = views[f.path]["options"]
    messages: dict[str, list[str]] = {}
    general: list[str] = []
    paths = {f.path for f in fields}
    shown = list(grouped[step.key]) if show_errors else []
    shown += [p for p in rule_problems or [] if p not in shown]
    for p in shown:
        target = p.path if p.path in paths else None
        text = problem_text(p, t) + (" " + t.gettext("(warning)") if p.severity == "warning" else "")
        if target:
            if text not in messages.get(target, []):
                messages.setdefault(target, []).append(text)
        else:
            # Never a JSON path: the box's name as the form prints it, and the measure's number.
            general.append(t.gettext("%(field)s: %(problem)s", field=readable_path(p.path, t), problem=text))
    for path, text in (unreadable or {}).items():
        messages.setdefault(path, []).insert(0, t.gettext(text))
    return {
        "draft": row, "doc": doc, "step": step, "steps": STEPS,
        "statuses": {s.key: step_status(s, doc, grouped[s.key]) for s in STEPS},
        "fields": [{"f": f, "id": field_id(f.path), "label": views[f.path]["label"], "hint": views[f.path]["hint"],
                    "summary_label": readable_path(f.path, t), "parts": duration_parts(doc, f.path),
                    "value": get_path(doc, f.path), "options": options[f.path],
                    "locked": bool(correcting(row)) and f.path == "executing_state",
                    # What could not be read is shown as typed, not as the draft's last readable value.
                    **(as_typed(f, posted_form) if posted_form is not None and f.path in (unreadable or {})
                       else {})} for f in fields],
        "messages": messages if (show_errors or unreadable or rule_problems) else {},
        "general": general if (show_errors or rule_problems) else [],
        "executing": executing,
        "measure_count": len(doc.get("measures") or []),
        "next_step": next((n.key for s, n in pairwise(STEPS) if s.key == step_key), None),
        "previous_step": next((p.key for p, s in pairwise(STEPS) if s.key == step_key), None),
    }


@router.get("/transfers/drafts/{draft_id}/review", response_class=HTMLResponse)
async def review(request: Request, session: SignedIn, draft_id: str) -> Response:
    row = await _draft(request, session, draft_id)
    return await _review_page(request, session, row)


async def _review_page(request: Request, session: Session, row: dict[str, Any], *, status_code: int = 200,
                       message: str = "", api_problems: list[dict[str, str]] | None = None) -> Response:
    grouped, other = problems_by_step(row["certificate"])
    extra = await _correction_context(request, session, row)
    t = i18n.for_request(request)
    return render(request, "review.html.j2", session, status_code=status_code, draft=row, steps=STEPS, **extra,
                  where=lambda path: readable_path(str(path), t),
                  grouped=grouped, other=other, field_id=field_id, message=message,
                  api_problems=api_problems or [],
                  errors=sum(1 for ps in grouped.values() for p in ps if p.severity == "error") + len(other),
                  statuses={s.key: step_status(s, row["certificate"], grouped[s.key]) for s in STEPS})


@router.get("/transfers/drafts/{draft_id}/delete", response_class=HTMLResponse)
async def confirm_draft_delete(request: Request, session: SignedIn, draft_id: str) -> Response:
    """The list's Delete of a draft: first the confirmation step, which says which draft (its read audited).
    Declared before the wizard's steps, whose `{step_key}` would take `delete` for a step."""
    row = await _draft(request, session, draft_id)
    if row["case_id"]:
        # A transfer now: its own case page deletes it, if it was never submitted.
        return RedirectResponse(f"/cases/outgoing/{quote(row['case_id'])}", status_code=303)
    return confirm_draft_delete_page(request, session, row)


@router.get("/transfers/drafts/{draft_id}/{step_key}", response_class=HTMLResponse)
async def wizard_step(request: Request, session: SignedIn, draft_id: str, step_key: str) -> Response:
    if step_key not in STEP_BY_KEY:
        # Said before the draft is read: a page that does not exist shows no personal data, so no read is audited.
        require_role(session, "officer", what=N_("Filling a certificate"))
        raise ApiError(404, Message(N_("There is no step %(step)s in the certificate."), step=step_key))
    row = await _draft(request, session, draft_id)
    show = request.query_params.get("check") == "1"
    extra = await _correction_context(request, session, row)
    return render(request, "wizard.html.j2", session, **extra, **_step_context(request, session, row, step_key,
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
    t = i18n.for_request(request)
    doc = {k: v for k, v in row["certificate"].items() if not k.startswith("_")}
    case_id = correcting(row)
    if case_id is not None:
        return await _send_correction(request, session, row, case_id, doc)
    try:
        created = await api.start_transfer(node, session.user, str(doc.get("executing_state") or ""), doc,
                                           channel="page")
    except ApiError as err:
        found = err.detail if isinstance(err.detail, list) else []
        return await _review_page(request, session, row, status_code=err.status, api_problems=found,
                                  message=t.gettext("The transfer was not started: %(reason)s", reason=(
                                      t.gettext("correct the fields listed below") if found
                                      else page_detail(err.detail, t))))
    await drafts.mark_started(node.pool, draft_id, created.id)
    if row["certificate"].get(EXAMPLE_JUDGMENT):
        await attach_document(node.pool, session.user, created.id, "judgment", EXAMPLE_JUDGMENT_LANGUAGE,
                              EXAMPLE_JUDGMENT_FILENAME, example_judgment_pdf(), channel="page")
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
    if not any(d.kind == "judgment" for d in await list_documents(node.pool, session.user, Side.ISSUING, created.id,
                                                                   audited=False)):
        # The wizard's last step: the judgment that goes with the certificate (Art 6(1)).
        return RedirectResponse(f"/cases/outgoing/{quote(created.id)}/documents", status_code=303)
    return RedirectResponse(f"/cases/outgoing/{quote(created.id)}?done={quote(done)}", status_code=303)


async def _send_correction(request: Request, session: Session, row: dict[str, Any], case_id: str,
                           doc: dict[str, Any]) -> Response:
    """Art 8(2): the corrected certificate replaces the case's and is sent again (`complete`). A transfer in
    `draft` (returned by the prosecutor, Art 6(3)) gets it in place and goes to the prosecutor again."""
    node = node_of(request)
    t = i18n.for_request(request)
    case = await visible_case(node.pool, session.user, Side.ISSUING, case_id)
    if case["stage"] == "draft":
        return await _resubmit(request, session, row, case_id, doc)
    try:
        result = await act(node.pool, node.client, session.user, Side.ISSUING, case_id, "complete",
                           {"certificate": doc})
    except ApiError as err:
        found = [{**p, "path": str(p.get("path", "")).removeprefix("certificate.")} for p in err.detail
                 if isinstance(p, dict)] if isinstance(err.detail, list) else []
        return await _review_page(request, session, row, status_code=err.status, api_problems=found,
                                  message=t.gettext("The corrected certificate was not sent: %(reason)s", reason=(
                                      t.gettext("correct the fields listed below") if found
                                      else page_detail(err.detail, t))))
    await drafts.mark_started(node.pool, row["id"], case_id)
    async with node.pool.connection() as conn:
        await audit.record(conn, user_name=session.user.name, role=session.user.role, authority=row["authority"],
                           case_id=case_id, action="correction_sent", detail={"draft": row["id"]})
    return RedirectResponse(f"/cases/outgoing/{quote(case_id)}?done=complete:{quote(result.stage)}",
                            status_code=303)


async def _resubmit(request: Request, session: Session, row: dict[str, Any], case_id: str,
                    doc: dict[str, Any]) -> Response:
    """The corrected certificate replaces the draft transfer's, and the transfer is submitted again."""
    node = node_of(request)
    t = i18n.for_request(request)
    try:
        await replace_certificate(node.pool, session.user, case_id, doc, channel="page")
        result = await act(node.pool, node.client, session.user, Side.ISSUING, case_id, "submit", {})
    except ApiError as err:
        found = [{**p, "path": str(p.get("path", "")).removeprefix("certificate.")} for p in err.detail
                 if isinstance(p, dict)] if isinstance(err.detail, list) else []
        return await _review_page(request, session, row, status_code=err.status, api_problems=found,
                                  message=t.gettext("The corrected certificate was not submitted: %(reason)s",
                                                    reason=(t.gettext("correct the fields listed below") if found
                                                            else page_detail(err.detail, t))))
    await drafts.mark_started(node.pool, row["id"], case_id)
    return RedirectResponse(f"/cases/outgoing/{quote(case_id)}?done=submit:{quote(result.stage)}", status_code=303)


@router.post("/transfers/drafts/{draft_id}/delete")
async def delete_draft_page(request: Request, session: SignedIn, draft_id: str) -> Response:
    """A draft certificate deleted by its authority's officer (audited) once confirmed; back to the list of cases."""
    form = await request.form()
    check_csrf(session, form)
    if form.get("confirmed") != "1":
        # Never deleted unasked, whichever page posted: the confirmation step first.
        return RedirectResponse(f"/transfers/drafts/{quote(draft_id)}/delete", status_code=303)
    await delete_draft(node_of(request).pool, session.user, draft_id)
    return RedirectResponse("/cases?done=draft_deleted", status_code=303)


@router.post("/cases/outgoing/{case_id}/delete")
async def delete_transfer_page(request: Request, session: SignedIn, case_id: str) -> Response:
    """A transfer never submitted, deleted by its officer after the confirmation step (audited)."""
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    if form.get("confirmed") != "1":
        return await confirm_page(request, session, Side.ISSUING, case_id, "delete", [])
    await delete_case(node.pool, node.client, session.user, case_id, channel="page")
    return RedirectResponse("/cases?done=transfer_deleted", status_code=303)


@router.post("/transfers/drafts/{draft_id}/{step_key}", response_class=HTMLResponse)
async def save_step(request: Request, session: SignedIn, draft_id: str, step_key: str) -> Response:
    if step_key not in STEP_BY_KEY:
        # Said before the draft is read: a page that does not exist shows no personal data, so no read is audited.
        require_role(session, "officer", what=N_("Filling a certificate"))
        raise ApiError(404, Message(N_("There is no step %(step)s in the certificate."), step=step_key))
    row = await _draft(request, session, draft_id)
    if row["case_id"]:
        return RedirectResponse(f"/cases/outgoing/{quote(row['case_id'])}", status_code=303)
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    doc = copy.deepcopy(row["certificate"])
    unreadable = apply_form(STEP_BY_KEY[step_key], doc, form, load_state(node.settings.state))
    doc["issuing_state"] = node.settings.state
    if correcting(row):
        # Art 8(2) completes the certificate sent to this executing State; the addressee does not change.
        doc["executing_state"] = row["certificate"].get("executing_state")
    await drafts.save_draft(node.pool, draft_id, doc)
    row = {**row, "certificate": doc}
    autosave = request.headers.get("x-autosave") == "1"
    if autosave:
        # The page's small script saves on every change; it only needs to know it worked.
        return JSONResponse({"saved": True, "unreadable": unreadable})
    go = str(form.get("go") or "stay")
    reshaping = bool(form.get("add_measure") or form.get("remove_measure"))
    # The rules that concern what was written in this box are checked now, not first on the review page;
    # adding or removing a measure is not a request to be checked (new empty rows would all be red).
    found = [] if reshaping else step_rule_problems(STEP_BY_KEY[step_key], doc, node.settings.state)
    refused = any(p.severity == "error" for p in found)
    if unreadable or refused or go in ("stay", "add_measure", "remove_measure") or reshaping:
        check = go == "stay" and not reshaping
        extra = await _correction_context(request, session, row)
        return render(request, "wizard.html.j2", session, status_code=422 if (unreadable or refused) else 200,
                      **extra, **_step_context(request, session, row, step_key, unreadable, show_errors=check,
                                               rule_problems=found, posted_form=form))
    if go == "review":
        return RedirectResponse(f"/transfers/drafts/{draft_id}/review", status_code=303)
    target = go if go in STEP_BY_KEY else step_key
    return RedirectResponse(f"/transfers/drafts/{draft_id}/{target}", status_code=303)
