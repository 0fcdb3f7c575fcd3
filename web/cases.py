"""Reading and acting on cases, shared by the JSON API and the pages: visibility, audit of every read,
and human actions sent to the workflows as Temporal Updates."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError

from adapters.directory import Directory
from forms.messages import Action, ActionInput, ActionRefused, Actor, CompletedCertificate, parse_action
from store import audit, cases
from store.users import User
from web.art_6_1 import art_6_1_at_approval
from web.certificate_receipt import seal_view
from web.conversation import certificate_changes, conversation
from web.errors import ApiError, problems
from web.i18n import Message
from web.why import ReadWhy, resolve
from workflows.model import ActionResult
from workflows.model import workflow_id as workflow_id
from workflows.rules import CONFLICT, FORBIDDEN, INVALID, allowed_actions, check_role, check_stage, rule_for
from workflows.stages import Side

DIRECTION = {Side.ISSUING: "outgoing", Side.EXECUTING: "incoming"}
STATUS_FOR = {FORBIDDEN: 403, CONFLICT: 409, INVALID: 422}


async def visible_case(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str) -> dict[str, Any]:
    row = await cases.get_case(pool, case_id, DIRECTION[side])
    if row is None:
        raise ApiError(404, f"no {DIRECTION[side]} case {case_id}")
    if not user.may_see(row["authority"]):
        async with pool.connection() as conn:
            await audit.record(conn, user_name=user.name, role=user.role, authority=",".join(user.authorities),
                               case_id=case_id, action="read_denied")
        raise ApiError(403, "this case belongs to another authority")
    return row


async def read_case(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str,
                    channel: str = "api", why: ReadWhy | None = None) -> dict[str, Any]:
    """The case as CONTRACT §2 shows it; the read is audited (who, what, when, and why: web.why)."""
    row = await visible_case(pool, user, side, case_id)
    await record_read(pool, user, side, row, "read", {"via": channel}, why, channel)
    return await case_view(pool, row, user, side)


async def record_read(pool: AsyncConnectionPool[Any], user: User, side: Side, row: dict[str, Any], action: str,
                      detail: dict[str, Any], why: ReadWhy | None, channel: str) -> None:
    """Audit a read of the case's personal data with its purpose and, outside the user's own work, the
    reason they gave (ReasonRequired when they gave none)."""
    resolved = await resolve(pool, user, row, actions_now(side, user, row), why, channel)
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=row["id"],
                           action=action, detail=detail, purpose=resolved.purpose, reason=resolved.reason)


async def case_view(pool: AsyncConnectionPool[Any], row: dict[str, Any], user: User, side: Side) -> dict[str, Any]:
    events = await cases.timeline(pool, row["id"])
    notes = await cases.notes_of_case(pool, row["id"])
    return {
        **summary(row),
        "deadlines": row["deadlines"],
        "alerts": row["alerts"],
        "alerts_seen": row.get("alerts_seen", []),
        # An action's free text (a return's reason, a withdrawal's) is in its note: shown with the event.
        "timeline": [{"at": e["at"].isoformat(), "type": e["type"], "actor": e["actor"], "detail": e["detail"],
                      "texts": _texts_only(notes.get(str((e["detail"] or {}).get("note") or ""), {}))}
                     for e in events],
        "actions": actions_now(side, user, row),
        "executing_authority": executing_authority(side, row, events),
        "certificate_seal": await seal_view(pool, row),
        # What the two authorities said to each other, in full (web/conversation.py).
        "conversation": [e.model_dump(mode="json")
                         for e in await conversation(pool, row["id"], row.get("certificate"),
                                                     row["deadlines"] or [])],
        "certificate_changes_since_return": changes_since_return(row, side),
    }


def changes_since_return(row: dict[str, Any], side: Side) -> list[dict[str, Any]]:
    """Art 6(3): what the officer changed, box by box, in the certificate the prosecutor returned, for the
    prosecutor who approves it again. Only while the corrected transfer awaits approval: the certificate as it was
    returned is kept until then (store.cases.correct_certificate) and the projection clears it once it moves on;
    a draft being corrected shows its changes on the officer's review page instead."""
    before = row.get("certificate_before_correction")
    if side != Side.ISSUING or row["stage"] != "awaiting_approval" or not before:
        return []
    return [c.model_dump(mode="json") for c in certificate_changes(before, row.get("certificate"))]


def executing_authority(side: Side, row: dict[str, Any], events: list[dict[str, Any]]) -> str | None:
    """Art 6(7), 18(1): the executing state's authority that holds the case -- on the issuing side the one the
    executing state last named when it forwarded the case (None: the one the directory routes to)."""
    if side == Side.EXECUTING:
        return str(row["authority"])
    named = [e["detail"].get("authority") for e in events
             if e["type"] == "forwarded_by_executing" and isinstance(e.get("detail"), dict)]
    return str(named[-1]) if named and named[-1] else None


def _texts_only(texts: dict[str, Any]) -> dict[str, str]:
    """The plain text of a note (a certificate or breach form in a note is shown elsewhere, not here)."""
    return {k: v for k, v in texts.items() if isinstance(v, str) and v.strip()}


def actions_now(side: Side, user: User, row: dict[str, Any]) -> list[str]:
    """What this user may try now; `resend` only when a delivery failed and the case is still open (a closed
    case's workflow ends once nothing is in flight, and nothing can be sent from it any more)."""
    if not user.may_see(row["authority"]):
        return []
    return [a for a in allowed_actions(side, user.role, row["stage"])
            if a != "resend" or ("delivery_failed" in (row.get("alerts") or []) and row.get("closed_at") is None)]


class CaseSummary(BaseModel):
    """One line of a list (CONTRACT §2): no personal data, so lists can be long and cheap."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b8f4c3e-1f0a-4d7e-9a51-3c2d1e0f9a77", "stage": "closed", "outcome": "completed",
        "issuing_state": "LU", "executing_state": "BE", "authority": "LU",
        "decision_due": "2027-01-22T09:05:01+00:00", "alerts": [],
        "updated_at": "2029-11-23T09:05:01.000250+00:00"}]})

    id: str
    stage: str
    outcome: str | None
    issuing_state: str
    executing_state: str
    authority: str
    decision_due: str | None
    alerts: list[str]
    updated_at: str


# What a list shows of each case, in this order (the API answers lists without validating each row).
SUMMARY_FIELDS = tuple(CaseSummary.model_fields)


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A case as a list shows it, its timestamps as ISO 8601 strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in ((k, row.get(k)) for k in SUMMARY_FIELDS)}


async def act(pool: AsyncConnectionPool[Any], client: Client, user: User, side: Side, case_id: str, action: str,
              body: dict[str, Any], *, directory: Directory | None = None) -> ActionResult:
    """Check the role (403 without a round trip) and the body against the action's model in the catalogue
    (422 naming each field), then let the workflow's validator decide on the case's stage and facts."""
    rule = rule_for(side, action)
    if rule is None:
        raise ApiError(404, f"no action {action} on an {DIRECTION[side]} case")
    row = await visible_case(pool, user, side, case_id)
    refusal = check_role(rule, user.role)
    if refusal is None and row["stage"] in ("closed", "returned"):
        # A closed case's workflow has ended: say so in words, not with the engine's "workflow completed".
        refusal = check_stage(rule, row["stage"])
    if refusal:
        await _audit_refusal(pool, user, row, action, refusal.reason, body)
        raise ApiError(STATUS_FOR[refusal.kind], refusal_words(refusal.template, refusal.values))
    try:
        parsed = parse_action(side, action, body)
    except ActionRefused as err:
        await _audit_refusal(pool, user, row, action, str(err), body)
        raise ApiError(422, problems(*err.problems)) from err
    structured = parsed.structured()
    if side == Side.ISSUING and action == "approve":
        # Art 6(1): the judgment goes with the certificate
        await art_6_1_at_approval(pool, row, body)
    if side == Side.ISSUING and action == "complete":
        # Checked now (422 naming each field), stored by the workflow only once it accepted the completion:
        # a refused `complete` leaves the certificate as it was (the workflow's apply_completion activity).
        completed = CompletedCertificate.model_validate(_completed_certificate(row, body.get("certificate")))
        parsed = parsed.model_copy(update={"certificate": completed})
    if side == Side.EXECUTING and action in ("forward", "report_breach"):
        # These are checked against the case here (directory, certificate): a wrong stage is said first (409),
        # as the workflow would have.
        refusal = check_stage(rule, row["stage"])
        if refusal:
            await _audit_refusal(pool, user, row, action, refusal.reason, body)
            raise ApiError(STATUS_FOR[refusal.kind], refusal_words(refusal.template, refusal.values))
    if side == Side.EXECUTING and action == "forward":
        structured["served_here"] = _competent_authority_here(directory, row, str(structured.get("authority")))
    if side == Side.EXECUTING and action == "report_breach":
        _check_breach_report(body.get("breach"), row.get("certificate"))
    measures = getattr(parsed, "measures", None)
    if action in ("decide", "decide_subsequent") and measures:
        # Art 9: the workflow learns which measures changed; the changes themselves stay in the note.
        structured["measures_changed"] = await _checked_measure_changes(
            row, [m.model_dump(exclude_none=True) for m in measures], adaptation=action == "decide")
    note_id = None
    texts = parsed.texts()
    if texts:
        note_id = str(uuid.uuid4())
        async with pool.connection() as conn:
            await cases.save_note(conn, note_id=note_id, case_id=case_id, author=user.name, texts=texts)
    return await _update(client, user, pool, row, side, rule, structured, note_id, body)


async def precheck(pool: AsyncConnectionPool[Any], user: User, side: Side, case_id: str, action: str,
                   body: dict[str, Any], *, directory: Directory | None = None) -> None:
    """What `act` checks before it asks the workflow, with no effect: a page runs it before the confirmation
    step of a serious action, so that nobody confirms what would be refused for its role or its fields."""
    rule = rule_for(side, action)
    if rule is None:
        raise ApiError(404, f"no action {action} on an {DIRECTION[side]} case")
    row = await visible_case(pool, user, side, case_id)
    refusal = check_role(rule, user.role)
    if refusal:
        # Refused attempts are audited here as in `act`: an officer trying to approve is what an auditor seeks.
        await _audit_refusal(pool, user, row, action, refusal.reason, body)
        raise ApiError(STATUS_FOR[refusal.kind], refusal.reason)
    try:
        parsed = parse_action(side, action, body)
    except ActionRefused as err:
        await _audit_refusal(pool, user, row, action, str(err), body)
        raise ApiError(422, problems(*err.problems)) from err
    if side == Side.ISSUING and action == "approve":
        await art_6_1_at_approval(pool, row, body)
    if side == Side.EXECUTING and action == "report_breach":
        _check_breach_report(body.get("breach"), row.get("certificate"))
    if side == Side.EXECUTING and action == "forward":
        _competent_authority_here(directory, row, str(parsed.structured().get("authority")))
    measures = getattr(parsed, "measures", None)
    if action in ("decide", "decide_subsequent") and measures:
        await _checked_measure_changes(row, [m.model_dump(exclude_none=True) for m in measures],
                                       adaptation=action == "decide")


async def _update(client: Client, user: User, pool: AsyncConnectionPool[Any], row: dict[str, Any], side: Side,
                  rule: type[Action], structured: dict[str, Any], note_id: str | None,
                  body: dict[str, Any]) -> ActionResult:
    """The action as a Temporal Update whose input is the action's own model."""
    action, case_id = rule.name, row["id"]
    handle = client.get_workflow_handle(workflow_id(side, case_id))
    inp = ActionInput[rule.fields_model](  # type: ignore[name-defined]
        actor=Actor(name=user.name, role=user.role, authorities=list(user.authorities)),
        body=rule.fields_model.model_validate(structured), note_id=note_id)
    try:
        result: ActionResult = await handle.execute_update(action, inp, result_type=ActionResult)
        return result
    except WorkflowUpdateFailedError as err:
        cause = business_cause(err)
        if isinstance(cause, ApplicationError) and cause.type in STATUS_FOR:
            await _audit_refusal(pool, user, row, action, cause.message, body)
            status = STATUS_FOR[cause.type]
            words = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
            detail: Any = refusal_words(str(words.get("template") or cause.message), words.get("values") or {})
            template = str(words.get("template") or "")
            if status == 422 and ": " in template and "; " not in cause.message:
                # One field's problem: the field named, the reason worded for the page.
                path, _, reason = template.partition(": ")
                said = cause.message.partition(": ")[2]
                detail = problems((path, Message.said_as(said, reason, dict(words.get("values") or {}))))
            elif status == 422:
                detail = problems(*((p.split(":")[0], p.split(":", 1)[-1].strip()) for p in cause.message.split("; ")))
            raise ApiError(status, detail) from err
        raise ApiError(409, f"{action} could not be done: {cause or err}; try again later") from err
    except RPCError as err:
        if "completed" in err.message:
            # The case's workflow has ended (the case is closed): nothing more is done on it, a resend included.
            raise ApiError(409, f"{action} cannot be done: this case is closed, nothing more happens on it") from err
        raise ApiError(409, f"the case's workflow does not accept actions now ({err.message})") from err


async def _checked_measure_changes(row: dict[str, Any], measures: Any, *, adaptation: bool = True) -> list[int]:
    """An adaptation more severe or longer than the original (Art 9(3)), or below the executing state's
    maximum that made it necessary (9(2)), is refused with 422 naming the measure. The limits of Art 9 bind
    only the adaptation at recognition: a later modification follows the deciding state's law (Art 13,
    14(2)), so for it only that each change names a measure of the certificate is checked."""
    from pydantic import TypeAdapter, ValidationError

    from forms.adaptation import MeasureChange, check_adaptation
    from forms.annex1 import Certificate
    from forms.states import load_state

    try:
        changes = TypeAdapter(list[MeasureChange]).validate_python(measures)
    except ValidationError as err:
        raise ApiError(422, problems(*((f"measures{_loc(e['loc'])}", e["msg"]) for e in err.errors()))) from err
    if row.get("certificate") is None:
        raise ApiError(409, "the certificate of this case is no longer held; measures cannot be checked")
    cert = Certificate.model_validate(row["certificate"])
    if not adaptation:
        unknown = [(f"measures[{i}].measure", f"the certificate has no measure {c.measure} (0 to "
                    f"{len(cert.measures) - 1})") for i, c in enumerate(changes) if c.measure >= len(cert.measures)]
        if unknown:
            raise ApiError(422, problems(*unknown))
        return sorted({c.measure for c in changes})
    found = [p for p in check_adaptation(cert, changes, executing=load_state(row["executing_state"]))
             if p.severity == "error"]
    if found:
        raise ApiError(422, problems(*((p.path, p.message) for p in found)))
    return sorted({c.measure for c in changes})


def _competent_authority_here(directory: Directory | None, row: dict[str, Any], code: str) -> bool:
    """Art 6(7), 18(1): the competent authority must be one the directory knows in this state. Served by this
    node too, the case is reassigned to it and goes on here; otherwise it is sent on to it."""
    state = row["executing_state"]
    if directory is None:
        raise ApiError(409, "the directory of authorities is not available here: the case cannot be forwarded")
    if directory.authority(state, code) is None:
        known = ", ".join(a.code for a in directory.states[state].authorities) if state in directory.states else ""
        raise ApiError(422, problems(("authority", f"{code} is not a competent authority of {state} in the directory"
                                                   + (f" (known: {known})" if known else ""))))
    if code == row["authority"]:
        raise ApiError(422, problems(("authority", f"the case is already with {code}")))
    # Served by another node, the certificate and the documents are sent on to it and this case closes once
    # it has them (workflows/incoming.py `forward`).
    return directory.same_node(state, row["authority"], code)


def _loc(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _check_breach_report(data: Any, certificate: Any) -> None:
    """Art 17: the Annex II form goes out only complete, consistent and about its own case: its person,
    judgment, measure numbers and categories are those of the case's certificate (422 naming each field)."""
    from forms.annex1 import Certificate
    from forms.annex2 import BreachReport, art_17_belongs_to
    from forms.validation import validate_breach

    if not isinstance(data, dict):
        raise ApiError(422, problems(("breach", "must be the Annex II breach report (a JSON object)")))
    found = [p for p in validate_breach(data) if p.severity == "error"]
    if found:
        raise ApiError(422, problems(*((f"breach.{p.path}", p.message) for p in found)))
    if certificate is None:
        raise ApiError(409, "the certificate of this case is no longer held; a breach report cannot be checked "
                            "against it")
    mismatches = art_17_belongs_to(BreachReport.model_validate(data), Certificate.model_validate(certificate))
    if mismatches:
        raise ApiError(422, problems(*((f"breach.{path}", why) for path, why in mismatches)))


def parse_certificate_or_422(data: dict[str, Any]) -> Any:
    """The certificate, or a 422 naming each field that breaks a rule (prefixed `certificate.`)."""
    from forms.validation import CertificateInvalid, parse_certificate

    try:
        return parse_certificate(data)
    except CertificateInvalid as err:
        raise ApiError(422, problems(*((f"certificate.{p.path}", p.message) for p in err.problems
                                       if p.severity == "error"))) from err


async def refuse_a_second_transfer(conn: Any, issuing_state: str, cert: Any, excluding: str | None = None) -> None:
    """Art 6(5): 422 when another open transfer forwards the same judgment (on creating a transfer and on
    correcting its certificate, which could otherwise name the judgment of another open case)."""
    open_case = await cases.open_transfer_of_judgment(conn, issuing_state, cert.judgment_identity(), excluding)
    if open_case is not None:
        raise ApiError(422, problems(("certificate.judgment", (
            f"this judgment is already being transferred to {open_case['executing_state']} in case "
            f"{open_case['id']}, which is still open ({open_case['stage']}): a judgment goes to one executing "
            "state at a time (Art 6(5)); withdraw or close that case first"))),
            code="judgment_already_transferred")


def _completed_certificate(row: dict[str, Any], data: Any) -> dict[str, Any]:
    """Art 8(2): the corrected certificate, checked (422 naming each field); the workflow's `apply_completion`
    activity stores it from the note once the completion is accepted."""
    if not isinstance(data, dict):
        raise ApiError(422, problems(("certificate", "must be the completed certificate (a JSON object)")))
    cert = parse_certificate_or_422({**data, "issuing_state": row["issuing_state"],
                                     "executing_state": row["executing_state"]})
    dumped: dict[str, Any] = cert.model_dump(mode="json")
    return dumped


# The codes a refusal names, as a page shows them (web/labels.py words them in the reader's language).
_WORDED_VALUES = {"action": "ACTIONS", "role": "ROLES", "roles": "ROLES", "stage": "STAGES"}


def refusal_words(template: str, values: Mapping[str, Any]) -> Message:
    """A refusal as a Message: English for the API (it is a str), in the reader's language on a page. The
    codes in it (an action, a role, a stage) are worded too."""
    from web import labels

    worded: dict[str, Any] = {}
    for key, value in values.items():
        table = getattr(labels, _WORDED_VALUES.get(key, ""), None) if key in _WORDED_VALUES else None
        word = table.get(value) if table else None
        if isinstance(word, tuple):  # an action's label and summary: the label names it
            word = word[0]
        worded[key] = Message(word) if word else value
    text = template % dict(values) if values else template
    return Message.said_as(text, template, worded)


def business_cause(err: BaseException) -> BaseException | None:
    """The refusal behind an update failure, also when an activity raised it (e.g. a render that cannot be done)."""
    cause: BaseException | None = err.cause if isinstance(err, WorkflowUpdateFailedError) else err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type in STATUS_FOR:
            return cause
        if not isinstance(cause, (ActivityError, WorkflowUpdateFailedError)) and not getattr(cause, "cause", None):
            return cause
        cause = getattr(cause, "cause", None) or cause.__cause__
    return None


async def _audit_refusal(pool: AsyncConnectionPool[Any], user: User, row: dict[str, Any], action: str, reason: str,
                         body: dict[str, Any]) -> None:
    """Refused attempts are audited too: a late withdrawal attempt is exactly what an auditor looks for."""
    async with pool.connection() as conn:
        await audit.record(conn, user_name=user.name, role=user.role, authority=row["authority"], case_id=row["id"],
                           action=f"refused:{action}", reason=str(body.get("reason") or "")[:500] or None,
                           old_stage=row["stage"], detail={"why": reason})
