"""The pages for officers, prosecutors, supervisors and auditors. They read and act through exactly the
functions the JSON API uses (web.cases.read_case and act), so roles, stages and audit are the same."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forms.law import CONSULTATION_REQUIRED, RefusalGround
from forms.messages import required_for
from store import audit, cases
from store import sign_in as attempts
from store.names import folded
from store.users import password_matches, user_by_name
from web import api, i18n, labels, pages_language
from web.auth import (
    CSRF_FIELD,
    CsrfFailed,
    SignInRequired,
    check_csrf,
    check_login_csrf,
    login_csrf_cookie,
    new_login_csrf,
    oidc_client,
    optional_session,
    set_cookie,
    sign_in,
    sign_out,
    user_for_oidc,
)
from web.cases import act, precheck, read_case
from web.documents import list_documents
from web.errors import ApiError
from web.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from web.i18n import Message as PageMessage
from web.page_parts import (
    action_fields,
    completion_request,
    forward_authorities,
    measure_changes,
    read_date,
    read_duration,
    returned_by_prosecutor,
)
from web.pages_common import HOME, STATIC, SignedIn, node_of, page_detail, render
from web.pages_confirm import DESTRUCTIVE, confirm_page, is_serious
from web.pages_documents import case_documents_context
from web.why import REASON_MAX_CHARS, ReasonRequired, read_why
from workflows.deadlines import DUTY_PREFIX
from workflows.rules import rule_for
from workflows.stages import Side

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

SIDE_OF = {"outgoing": Side.ISSUING, "incoming": Side.EXECUTING}
# Choices of the case page's action forms asked as radios, as GOV.UK asks a choice among a few: every choice in
# sight, none made for the person (Art 19: the review's three outcomes). (side, action, field).
RADIOS = frozenset({(Side.ISSUING, "notify_review", "outcome")})

def form_to_body(side: Side, action: str, form: Any, t: Translator | None = None) -> tuple[dict[str, Any],
                                                                                        dict[str, str]]:
    """The action's JSON body from the form; messages for values that are not what they should be. The
    action's model checks the rest, and its problems come back beside the fields."""
    t = t or translator(SOURCE_LANGUAGE)
    body: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in action_fields(side, action, t):
        if f["kind"] == "duration":  # years, months and days, as the wizard asks them; sent in days
            days, problem = read_duration(form, f["name"], t)
            if problem:
                problems[f["name"]] = problem
            elif days is not None:
                body[f["name"]] = days
            continue
        if f["kind"] == "date":  # day, month and year, as the wizard asks a date; sent as an ISO date
            when, problem = read_date(form, f["name"], t)
            if problem:
                problems[f["name"]] = problem
            elif when is not None:
                body[f["name"]] = when
            continue
        if f["kind"] == "measures":  # the decide page's fields for changed measures, one row per measure
            changes, errors = measure_changes(form, t)
            problems.update(errors)
            if errors:
                problems[f["name"]] = t.gettext("see the measures below")
            elif changes:
                body[f["name"]] = changes
            continue
        raw = str(form.get(f["name"]) or "").strip()
        if not raw:
            continue
        if f["kind"] == "int":
            if not raw.isdigit():
                problems[f["name"]] = t.gettext("must be a whole number")
                continue
            body[f["name"]] = int(raw)
        elif f["kind"] == "json":
            try:
                body[f["name"]] = json.loads(raw)
            except (ValueError, RecursionError):
                problems[f["name"]] = t.gettext("is not valid JSON")
        elif [v for v, _ in f["options"]] == ["true", "false"]:
            body[f["name"]] = raw == "true"
        else:
            body[f["name"]] = raw
    return body, problems


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would let a phishing link borrow our sign-in page."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return ""
    return target


# --- sign-in -----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    session = await optional_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME.get(session.user.role, "/cases"), status_code=303)


def _login_page(request: Request, *, error: str = "", name: str = "", next_url: str = "",
                status_code: int = 200) -> Response:
    token = new_login_csrf()
    node = node_of(request)
    response = render(request, "login.html.j2", None, status_code=status_code, error=error, name=name,
                      next_url=next_url, login_csrf=token, oidc=node.settings.oidc_enabled,
                      oidc_label=node.settings.oidc_label)
    set_cookie(response, request, node.settings, login_csrf_cookie(node.settings), token, 3600)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = _safe_next(str(form.get("next") or ""))
    t = i18n.for_request(request)
    try:
        check_login_csrf(request, form)
    except CsrfFailed:
        return _login_page(request, error=t.gettext("The sign-in form had expired. Please try again."), name=name,
                           next_url=next_url, status_code=400)
    node = node_of(request)
    settings = node.settings
    limits = attempts.Limits(settings.sign_in_backoff_after, settings.sign_in_lock_after,
                            settings.sign_in_lock_minutes)
    address = request.client.host if request.client else "unknown"
    keys = attempts.keys_for(name, address)
    async with attempts.one_at_a_time(node.pool, keys) as conn:
        wait = await attempts.seconds_to_wait(conn, keys, limits)
        if wait > 0:
            # Refused before the password is looked at, whether or not the name exists; audited all the same.
            await _record_sign_in(conn, name, "sign_in_refused", address, {"wait_seconds": round(wait)})
            refused = True
        else:
            refused = False
            found = await user_by_name(conn, name) if name else None
            # One Argon2 verification either way (a dummy hash for an unknown name): the same time for both.
            # In a thread: Argon2 takes a tenth of a second of CPU, which the event loop must not wait out.
            right = await asyncio.to_thread(password_matches, found[1] if found else None, password)
            right = right and found is not None
            if right:
                await attempts.record_success(conn, name)
            else:
                locked = await attempts.record_failure(conn, keys, limits)
                await _record_sign_in(conn, name, "sign_in_failed", address, {"locked": locked} if locked else {})
    if refused:
        return _login_page(request, error=t.gettext("Too many failed attempts. Try again in %(wait)s.",
                                                    wait=_duration(wait, t)),
                           name=name, next_url=next_url, status_code=429)
    if not right or found is None:
        # One message for both cases: the form must not tell which user names exist.
        return _login_page(request, error=t.gettext("The user name or password is not right."), name=name,
                           next_url=next_url, status_code=401)
    user = found[0]
    response = RedirectResponse(next_url or HOME.get(user.role, "/cases"), status_code=303)
    await sign_in(request, response, user)
    await pages_language.after_sign_in(request, response, user)
    async with node.pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                           case_id=None, action="sign_in", detail={"via": "password"})
    return response


def _duration(seconds: float, t: Translator) -> str:
    if seconds < 90:
        return t.ngettext("%(num)s second", "%(num)s seconds", int(seconds) + 1)
    return t.ngettext("%(num)s minute", "%(num)s minutes", int(seconds // 60) + 1)


@router.post("/logout")
async def logout(request: Request, session: SignedIn) -> Response:
    check_csrf(session, await request.form())
    response = RedirectResponse("/login", status_code=303)
    await sign_out(request, response)
    return response


@router.get("/login/oidc")
async def login_oidc(request: Request) -> Response:
    client = oidc_client(node_of(request).settings)
    if client is None:
        raise ApiError(404, "sign-in through an identity provider is not configured on this node")
    redirect: Response = await client.authorize_redirect(request, str(request.url_for("login_oidc_callback")))
    return redirect


@router.get("/login/oidc/callback", name="login_oidc_callback")
async def login_oidc_callback(request: Request) -> Response:
    settings = node_of(request).settings
    client = oidc_client(settings)
    if client is None:
        raise ApiError(404, "sign-in through an identity provider is not configured on this node")
    try:
        token = await client.authorize_access_token(request)
    except Exception as err:  # the IdP's refusal or a stale state: show it, never a traceback
        log.warning("OIDC sign-in failed: %s", err)
        await _audit_sign_in(request, "(unknown)", "sign_in_failed", {"via": "oidc", "why": "not confirmed"})
        return _login_page(request, error=i18n.for_request(request).gettext(
            "The identity provider did not confirm the sign-in."), status_code=401)
    claims = token.get("userinfo") or {}
    username = str(claims.get(settings.oidc_username_claim) or "")
    user = await user_for_oidc(request, username) if username else None
    if user is None:
        await _audit_sign_in(request, username, "sign_in_failed",
                             {"via": "oidc", "why": "unknown account"})
        return _login_page(request, error=i18n.for_request(request).gettext(
            "Your account is not known on this node; ask its administrator."), status_code=403)
    response = RedirectResponse(HOME.get(user.role, "/cases"), status_code=303)
    await sign_in(request, response, user, via="oidc")
    await pages_language.after_sign_in(request, response, user)
    async with node_of(request).pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                           case_id=None, action="sign_in", detail={"via": "oidc"})
    return response


async def _audit_sign_in(request: Request, name: str, action: str, detail: dict[str, Any]) -> None:
    """A sign-in through the identity provider that did not succeed, for the auditor (as a wrong password is)."""
    async with node_of(request).pool.connection() as conn:
        await _record_sign_in(conn, name, action, request.client.host if request.client else "unknown", detail)


async def _record_sign_in(conn: Any, name: str, action: str, address: str, detail: dict[str, Any]) -> None:
    """A sign-in that did not succeed (or was not even tried), by the name given and the address it came from."""
    await audit.record(conn, user_name=name[:attempts.NAME_CHARS] or "(empty)", role="-", authority=None,
                       case_id=None, action=action, detail={**detail, "address": address})


# --- cases -------------------------------------------------------------------------------------

@router.get("/cases", response_class=HTMLResponse)
async def case_list(request: Request, session: SignedIn, stage: str | None = None,
                    q: str | None = None) -> Response:
    from store import drafts

    node = node_of(request)
    user = session.user
    outgoing = (await cases.list_page(node.pool, direction="outgoing", authorities=user.authorities, stage=stage,
                                      count=False)).rows
    incoming = (await cases.list_page(node.pool, direction="incoming", authorities=user.authorities, stage=stage,
                                      count=False)).rows
    my_drafts = await drafts.list_drafts(node.pool, user.authorities) if user.role == "officer" else []
    query = (q or "").strip()[:200]
    people = await cases.people_of_cases(node.pool, [r["id"] for r in (*outgoing, *incoming)])
    outgoing = [_with_person(r, people) for r in outgoing if _matches(query, r, people)]
    incoming = [_with_person(r, people) for r in incoming if _matches(query, r, people)]
    if outgoing or incoming:
        # The list shows names: a read of personal data, audited like any other (its purpose: case work).
        async with node.pool.connection() as conn:
            await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                               case_id=None, action="read_list", purpose=audit.Purpose.CASE_WORK,
                               detail={"via": "page", "cases": len(outgoing) + len(incoming),
                                       "search": bool(query)})
    # After a deletion (pages_transfer.py redirects here): say it was done, the deleted row being gone.
    done = request.query_params.get("done", "")
    return render(request, "cases.html.j2", session, outgoing=outgoing, incoming=incoming, drafts=my_drafts,
                  stage=stage or "", q=query, done=done if done in ("transfer_deleted", "draft_deleted") else "")


def _matches(query: str, row: dict[str, Any], people: dict[str, dict[str, Any]]) -> bool:
    """A case found by the person's name, its case number (id or its first characters) or a reference."""
    if not query:
        return True
    person = people.get(row["id"]) or {}
    haystack = " ".join(folded(v) for v in (row["id"], person.get("surname"), person.get("forenames"),
                                           person.get("judgment_reference"), person.get("file_reference")) if v)
    return all(word in haystack for word in folded(query).split())


def _with_person(row: dict[str, Any], people: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The list's row with the person's name, the judgment's reference and the next thing due (law or duty)."""
    person = people.get(row["id"]) or {}
    dues = sorted((str(d["due"]), str(d.get("name") or "")) for d in person.get("deadlines") or []
                  if isinstance(d, dict) and d.get("status", "open") == "open" and d.get("due"))
    return {**row, "surname": person.get("surname"), "forenames": person.get("forenames"),
            "reference": person.get("judgment_reference"),
            "next_due": {"due": dues[0][0], "name": dues[0][1]} if dues and not row.get("closed_at") else None}


# Actions done on a page of their own rather than with a small form on the case page: (label, path, method).
PAGE_ACTIONS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("incoming", "decide"): (N_("Decide on recognition"), "decide", "get"),
    ("incoming", "report_breach"): (N_("Report a breach"), "breach", "get"),
    ("outgoing", "complete"): (N_("Correct the certificate"), "correct", "post"),
}


async def ecodex_trust(pool: Any, case_id: str) -> list[dict[str, Any]]:
    """The trust-OK verdicts of this case's messages that came over e-CODEX (store/ecodex.py)."""
    from store.ecodex import trust_of_case

    rows = await trust_of_case(pool, case_id)
    return [{**row["trust"], "type": row["type"], "at": row["fetched_at"]} for row in rows]


def _side(direction: str) -> Side:
    side = SIDE_OF.get(direction)
    if side is None:
        raise ApiError(404, PageMessage(N_("There is no such list of cases.")))  # the address is not echoed
    return side


# The step each stage expects of its people, in the order looked for: the case page's one primary button.
EXPECTED_NEXT = ("approve", "submit", "complete", "decide", "start_supervision", "answer_information",
                 "reply", "answer_transfer_back", "confirm_no_withdrawal")
# An answer is expected only while something waits for it: the duty the workflow set when the question came.
ANSWERS_TO = {"answer_information": DUTY_PREFIX + "answer_information", "reply": DUTY_PREFIX + "reply",
              "answer_transfer_back": DUTY_PREFIX + "answer_transfer_back_request"}


def expected_next(actions: list[str], deadlines: list[dict[str, Any]] | None) -> str | None:
    """The one step this case expects of this person now, if any."""
    waiting = {str(d.get("name")) for d in deadlines or [] if d.get("status") in ("open", "missed")}
    return next((a for a in EXPECTED_NEXT if a in actions and (a not in ANSWERS_TO or ANSWERS_TO[a] in waiting)),
                None)


async def _case_page(request: Request, session: SignedIn, direction: str, case_id: str, *,
                     status_code: int = 200, message: str = "", failed_action: str = "",
                     field_errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Response:
    side = _side(direction)
    node = node_of(request)
    view = await read_case(node.pool, session.user, side, case_id, channel="page", why=read_why(request))
    row = await cases.get_case(node.pool, case_id, direction)
    certificate = (row or {}).get("certificate")
    t = i18n.for_request(request)
    # Art 6(7), 18(1): forward to an authority of this State the directory knows, picked by its name.
    authorities = forward_authorities(node.directory, view["executing_state"], view.get("authority")) \
        if "forward" in view["actions"] else None
    actions = [{"name": a, "rule": rule_for(side, a),
                "fields": [{**f, "kind": "radios"} if (side, a, f["name"]) in RADIOS else f
                           for f in action_fields(side, a, t, authorities=authorities)],
                "page": PAGE_ACTIONS.get((direction, a)), "label": labels.action_label(a, t, side),
                "summary": labels.action_summary(a, t, side), "destructive": a in DESTRUCTIVE}
               for a in view["actions"]]
    # The one green button is the step the stage expects, not whichever action the catalogue lists first.
    expected = expected_next(view["actions"], view.get("deadlines"))
    for entry in actions:
        entry["primary"] = entry["name"] == expected and not entry["destructive"]
    if direction == "outgoing" and view["stage"] == "draft" and "submit" in view["actions"]:
        # Art 6(3): a draft (new, or returned by the prosecutor) opens in the wizard on its certificate.
        actions.insert(0, {"name": "correct", "rule": rule_for(side, "submit"), "fields": [],
                           "page": (N_("Correct the certificate in the wizard"), "correct", "post"),
                           "label": "", "summary": "", "destructive": False, "primary": False})
    completion = await completion_request(node.pool, view) if view["stage"] == "completion_requested" else None
    attached = case_documents_context(await list_documents(node.pool, session.user, side, case_id, audited=False),
                                      certificate, t)
    # Art 17: a breach report the issuing side has not yet answered with a decision or a question.
    said = view["conversation"]
    last_breach = max((i for i, e in enumerate(said) if e["type"] == "breach_report" and e["way"] == "received"),
                      default=None)
    breach_unanswered = last_breach is not None and not any(e["way"] == "sent" for e in said[last_breach + 1:])
    return render(request, "case.html.j2", session, status_code=status_code, case=view, direction=direction,
                  breach_unanswered=breach_unanswered, holder_name=_holder_name(node, view),
                  returned=returned_by_prosecutor(view),
                  may_delete=(direction == "outgoing" and view["stage"] == "draft" and session.user.role == "officer"
                              and not any(e["type"] == "submitted" for e in view["timeline"])),
                  side=side.value, certificate=certificate, actions=actions, message=message,
                  completion=completion, **attached, ecodex_trust=await ecodex_trust(node.pool, case_id),
                  failed_action=failed_action, field_errors=field_errors or {}, values=values or {},
                  done=request.query_params.get("done", ""),
                  # The action done, in this side's words: on the executing side decide_subsequent is Art 16(1).
                  done_label=labels.action_label(request.query_params.get("done", "").split(":")[0], t, side))


def _holder_name(node: Any, view: dict[str, Any]) -> str | None:
    """Art 6(7): the name of the executing state's authority that holds the case, as the directory knows it."""
    code = view.get("executing_authority")
    if not code:
        return None
    found = node.directory.authority(view["executing_state"], code) if node.directory else None
    return f"{found.name} ({code})" if found else str(code)


@router.get("/cases/{direction}/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, session: SignedIn, direction: str, case_id: str) -> Response:
    return await _case_page(request, session, direction, case_id)


@router.post("/cases/{direction}/{case_id}/actions/{action}", response_class=HTMLResponse)
async def case_action(request: Request, session: SignedIn, direction: str, case_id: str, action: str) -> Response:
    side = _side(direction)
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    t = i18n.for_request(request)
    body, problems = form_to_body(side, action, form, t)
    values = {k: str(v) for k, v in form.items() if k != CSRF_FIELD}
    back = str(form.get("back") or "")
    what = labels.action_label(action, t)
    if problems:
        return await _case_page(request, session, direction, case_id, status_code=422, failed_action=action,
                                message=t.gettext("%(action)s was not done: see the fields below", action=what),
                                field_errors=problems, values=values)
    confirming = is_serious(side, action) and form.get("confirmed") != "1"
    try:
        if confirming:
            # Say what will happen and to whom, and ask once more (forms/messages.py `serious`) — after the
            # checks that need no workflow, so that nobody confirms what would be refused.
            await precheck(node.pool, session.user, side, case_id, action, body, directory=node.directory)
            return await confirm_page(request, session, side, case_id, action,
                                      [(k, str(v)) for k, v in form.multi_items()
                                       if k not in (CSRF_FIELD, "confirmed")])
        result = await act(node.pool, node.client, session.user, side, case_id, action, body,
                           directory=node.directory)
    except ApiError as err:
        field_errors: dict[str, str] = {}
        if err.status == 422 and isinstance(err.detail, list):
            field_errors = {name: _reason_in_words(side, action, name, str(p.get("reason", "")), t)
                            for p in err.detail
                            for name in [str(p.get("path", "")).split(".")[0].split("[")[0]]}
            text = t.gettext("%(action)s was not done: see the fields below", action=what)
        else:
            text = t.gettext("%(action)s was not done: %(reason)s", action=what, reason=page_detail(err.detail, t))
        if back == "decide" and err.status != 403:
            return await decision_page(request, session, case_id, status_code=err.status, message=text,
                                       field_errors=field_errors, values=values)
        return await _case_page(request, session, direction, case_id, status_code=err.status, message=text,
                                failed_action=action, field_errors=field_errors, values=values)
    return RedirectResponse(f"/cases/{direction}/{quote(case_id)}?done={quote(action)}:{quote(result.stage)}",
                            status_code=303)


# A required field left empty, as the page says it beside the field (the API says "required for <action>", the
# action's code: a person reads what to do instead).
# By the field's kind in web.page_parts.action_fields (a choice is a select there, whether shown so or as radios).
_REQUIRED_BY_KIND = {"select": N_("required: choose one"), "date": N_("required: give the date")}
_REQUIRED_TEXT = N_("required: fill this in")


def _reason_in_words(side: Side, action: str, field: str, reason: str, t: Translator) -> str:
    if reason != required_for(action):
        return reason
    kind = next((f["kind"] for f in action_fields(side, action, t) if f["name"] == field), "")
    return t.gettext(_REQUIRED_BY_KIND.get(kind, _REQUIRED_TEXT))


@router.get("/cases/{direction}/{case_id}/certificate.{fmt}")
async def case_certificate(request: Request, session: SignedIn, direction: str, case_id: str, fmt: str,
                           lang: str | None = None) -> Response:
    if fmt not in ("pdf", "html"):
        raise ApiError(404, PageMessage(N_("The certificate is available as .pdf or .html.")))
    response = await api._certificate_document(request, _side(direction), case_id, session.user, lang, fmt)
    if fmt == "html":
        # Shown in a sandboxed frame of the case page: styles yes, scripts never.
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "img-src data:; frame-ancestors 'self'")
    return response


@router.get("/cases/{direction}/{case_id}/messages/{message_id}/breach.{fmt}")
async def breach_document(request: Request, session: SignedIn, direction: str, case_id: str, message_id: str,
                          fmt: str) -> Response:
    """A breach report of the conversation as its Annex II form, in the reader's language where the forms
    have it (else English): HTML for the page, PDF to download. The read is audited like the case's."""
    from forms.annex2 import BreachReport
    from forms.labels import RENDER_LANGUAGES
    from forms.render import render_breach
    from web.conversation import breach_of

    if fmt not in ("pdf", "html"):
        raise ApiError(404, PageMessage(N_("The breach report is available as .pdf or .html.")))
    node = node_of(request)
    await read_case(node.pool, session.user, _side(direction), case_id, channel="page:breach",
                    why=read_why(request))
    found = await breach_of(node.pool, case_id, message_id)
    if found is None:
        raise ApiError(404, PageMessage(N_("There is no such breach report in this case.")))
    lang = i18n.for_request(request).lang
    report = BreachReport.model_validate(found)
    # Rendering a PDF takes a moment: off the event loop, so other pages keep answering.
    content = await asyncio.to_thread(render_breach, report, lang if lang in RENDER_LANGUAGES else "en",
                                      "pdf" if fmt == "pdf" else "html")
    if fmt == "pdf":
        return Response(content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="breach-report-{case_id[:8]}.pdf"'})
    return Response(content, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                   "frame-ancestors 'self'"})


# --- the prosecutor ------------------------------------------------------------------------------

@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, session: SignedIn, q: str | None = None) -> Response:
    from store.queues import prosecutor_queue

    node = node_of(request)
    user = session.user
    tasks = await prosecutor_queue(node.pool, user.authorities)
    query = (q or "").strip()[:200]
    people = await cases.people_of_cases(node.pool, [t["id"] for t in tasks])
    tasks = [_with_person(t, people) for t in tasks if _matches(query, t, people)]
    if tasks:
        # The queue shows names, as the case list does: audited alike.
        async with node.pool.connection() as conn:
            await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                               case_id=None, action="read_list", purpose=audit.Purpose.CASE_WORK,
                               detail={"via": "queue", "cases": len(tasks), "search": bool(query)})
    return render(request, "queue.html.j2", session, tasks=tasks, q=query)


async def decision_page(request: Request, session: SignedIn, case_id: str, *, status_code: int = 200,
                        message: str = "", field_errors: dict[str, str] | None = None,
                        values: dict[str, Any] | None = None) -> Response:
    node = node_of(request)
    view = await read_case(node.pool, session.user, Side.EXECUTING, case_id, channel="page:decide",
                           why=read_why(request))
    row = await cases.get_case(node.pool, case_id, "incoming")
    certificate = (row or {}).get("certificate") or {}
    consulted = {str((e.get("detail") or {}).get("ground")) for e in view["timeline"] if e["type"] == "consulted"}
    t = i18n.for_request(request)
    grounds = [{"letter": g.value, "name": t.gettext(labels.GROUNDS[g.value]),
                "needs_consultation": g in CONSULTATION_REQUIRED, "consulted": g.value in consulted}
               for g in RefusalGround]
    return render(request, "decide.html.j2", session, status_code=status_code, case=view, grounds=grounds,
                  certificate=certificate, measures=certificate.get("measures") or [],
                  may_decide="decide" in view["actions"], message=message, field_errors=field_errors or {},
                  values=values or {})


@router.get("/cases/incoming/{case_id}/decide", response_class=HTMLResponse)
async def decide_form(request: Request, session: SignedIn, case_id: str) -> Response:
    return await decision_page(request, session, case_id)


@router.post("/cases/incoming/{case_id}/decide", response_class=HTMLResponse)
async def decide(request: Request, session: SignedIn, case_id: str) -> Response:
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    t = i18n.for_request(request)
    values = {k: str(v) for k, v in form.items() if k != CSRF_FIELD}
    outcome = str(form.get("outcome") or "")
    body: dict[str, Any] = {"outcome": outcome}
    errors: dict[str, str] = {}
    if outcome not in ("recognised", "adapted", "refused"):
        errors["outcome"] = t.gettext("choose recognise, adapt or refuse")
    grounds = [str(g) for g in form.getlist("grounds")]
    if outcome == "refused":
        body["grounds"] = grounds
    if str(form.get("reasons") or "").strip():
        body["reasons"] = str(form.get("reasons")).strip()
    if outcome == "adapted":
        changes, measure_errors = measure_changes(form, t)
        errors.update(measure_errors)
        if not changes and not errors:
            errors["measures"] = t.gettext("an adaptation changes at least one measure; otherwise recognise")
        body["measures"] = changes
    if errors:
        return await decision_page(request, session, case_id, status_code=422,
                                   message=t.gettext("The decision was not recorded: see the fields below"),
                                   field_errors=errors, values=values)
    try:
        if form.get("confirmed") != "1":
            await precheck(node.pool, session.user, Side.EXECUTING, case_id, "decide", body)
            return await confirm_page(request, session, Side.EXECUTING, case_id, "decide",
                                      [(k, str(v)) for k, v in form.multi_items()
                                       if k not in (CSRF_FIELD, "confirmed")],
                                      target=f"/cases/incoming/{case_id}/decide")
        result = await act(node.pool, node.client, session.user, Side.EXECUTING, case_id, "decide", body)
    except ApiError as err:
        field_errors = {}
        if err.status == 422 and isinstance(err.detail, list):
            field_errors = {str(p.get("path", "")): str(p.get("reason", "")) for p in err.detail}
        return await decision_page(request, session, case_id, status_code=err.status, values=values,
                                   message=t.gettext("The decision was not recorded: %(reason)s",
                                                     reason=page_detail(err.detail, t))
                                   if not field_errors else t.gettext("The decision was not recorded: see the "
                                                                      "fields below"),
                                   field_errors=field_errors)
    return RedirectResponse(f"/cases/incoming/{quote(case_id)}?done=decide:{quote(result.stage)}", status_code=303)


# --- errors, headers, static files ---------------------------------------------------------------

def _is_page(request: Request) -> bool:
    return _is_page_path(request.url.path)


def install(app: FastAPI) -> None:
    """Mount the pages on the app: routes, static files, page-style errors and security headers."""
    from web import pages_admin, pages_breach, pages_documents, pages_transfer

    settings = app.state.settings
    if settings.default_language not in i18n.available_languages():
        log.warning("PROBATIO_DEFAULT_LANGUAGE=%s has no page catalogue (web/locale); pages default to English",
                    settings.default_language)
    app.include_router(router)
    app.include_router(pages_transfer.router)
    app.include_router(pages_documents.router)
    app.include_router(pages_breach.router)
    app.include_router(pages_admin.router)
    app.include_router(pages_language.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.oidc_enabled:
        # Authlib keeps the OIDC state and nonce in Starlette's signed session during the redirect.
        app.add_middleware(SessionMiddleware, secret_key=settings.session_secret or secrets.token_urlsafe(32),
                           session_cookie=f"probatio_oidc_{settings.state.lower()}", same_site="lax",
                           https_only=settings.effective_public_url.startswith("https://"), max_age=600)

    json_handlers = dict(app.exception_handlers)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            handler = json_handlers[type(exc) if type(exc) in json_handlers else Exception]
            result: Response = await handler(request, exc)
            return result
        status = int(getattr(exc, "status", None) or getattr(exc, "status_code", None) or 500)
        t = i18n.for_request(request)
        detail = page_detail(getattr(exc, "detail", ""), t)
        if status >= 500 or not isinstance(exc, (ApiError, StarletteHTTPException)):
            log.exception("unexpected error on a page", exc_info=exc)
            status, detail = 500, t.gettext("Something went wrong on our side. It has been logged; please try again.")
        session = await _quiet_session(request)
        return render(request, "error.html.j2", session, status_code=status, status=status, detail=str(detail))

    async def on_sign_in_required(request: Request, exc: Exception) -> Response:
        target = exc.next_url if isinstance(exc, SignInRequired) else "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        session = await _quiet_session(request)
        return render(request, "error.html.j2", session, status_code=403, status=403,
                      detail=i18n.for_request(request).gettext(
                          "This form is no longer valid (it may have been open too long, or it was not sent "
                          "from this site). Go back, reload the page and try again."))

    async def on_reason_required(request: Request, exc: Exception) -> Response:
        if not _is_page(request) or not isinstance(exc, ReasonRequired):
            answer: Response = await json_handlers[ApiError](request, exc)
            return answer
        session = await _quiet_session(request)
        keep = [(k, v) for k, v in request.query_params.multi_items() if k != "reason"]
        return render(request, "why.html.j2", session, status_code=428, purpose=exc.purpose.value, keep=keep,
                      max_chars=REASON_MAX_CHARS)

    app.add_exception_handler(ReasonRequired, on_reason_required)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_api_error)
    app.add_exception_handler(Exception, on_api_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(CsrfFailed, on_csrf)

    app.add_middleware(SecurityHeaders)


# No inline script anywhere: markup typed into a field can never run, even if escaping failed.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _is_page_path(path: str) -> bool:
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json") or path.startswith("/docs"))


class SecurityHeaders:
    """Security headers on every page. Plain ASGI rather than @app.middleware, which costs each API call
    a detour through a task and a stream even when it adds nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_page_path(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _PAGE_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


async def _quiet_session(request: Request) -> Any:
    try:
        return await optional_session(request)
    except Exception:  # the database itself may be what failed
        return None


def json_download(data: Any, filename: str) -> Response:
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

