"""The confirmation step of serious actions (forms/messages.py `serious`): before a page signs and sends a
certificate, decides, withdraws, revokes, transfers back or ends a supervision, it says what will happen and
to whom, shows what was entered, and asks once more. Destructive steps — those that end the transfer or take
it back — are marked as such; the expected, harmless step is the primary button. Deleting a transfer never
submitted comes here too, and so does deleting a draft certificate from the list of cases."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import ImmutableMultiDict

from forms.messages import MESSAGES
from store.sessions import Session
from web import i18n, labels
from web.cases import visible_case
from web.i18n import N_
from web.page_parts import action_fields, forward_authorities, measure_changes, read_duration
from web.pages_common import node_of, render
from web.pages_wizard import readable_path
from workflows.rules import rule_for
from workflows.stages import Side

DIRECTION = {Side.ISSUING: "outgoing", Side.EXECUTING: "incoming"}

# Steps that end the transfer or take the supervision away: their button is a warning, never a green one.
DESTRUCTIVE = frozenset({"withdraw", "transfer_back", "request_transfer_back", "end_supervision",
                         "report_not_found", "notify_amnesty", "decide_subsequent", "delete"})

DELETE_LABEL = N_("Delete this transfer")
DELETE_SUMMARY = N_("The transfer, its certificate and its documents are deleted. It was never submitted, so no "
                    "one else has seen it; the audit log keeps that it existed and that you deleted it.")
DELETE_DRAFT_LABEL = N_("Delete this draft")
DELETE_DRAFT_SUMMARY = N_("The draft certificate and everything entered in it are deleted. This cannot be undone. "
                          "It was never sent, so no one else has seen it; the audit log keeps that it existed and "
                          "that you deleted it.")


def is_serious(side: Side, action: str) -> bool:
    rule = rule_for(side, action)
    return bool(rule is not None and rule.serious)


async def confirm_page(request: Request, session: Session, side: Side, case_id: str, action: str,
                       items: list[tuple[str, str]], *, target: str | None = None) -> Response:
    """The page that asks once more, with the entered values carried as hidden fields."""
    node = node_of(request)
    row = await visible_case(node.pool, session.user, side, case_id)
    t = i18n.for_request(request)
    direction = DIRECTION[side]
    other = row["executing_state"] if side == Side.ISSUING else row["issuing_state"]
    rule = rule_for(side, action)
    message = MESSAGES.get(rule.message) if rule is not None and rule.message else None
    if action == "delete":
        title, summary = t.gettext(DELETE_LABEL), t.gettext(DELETE_SUMMARY)
        target = target or f"/cases/outgoing/{case_id}/delete"
    else:
        title = labels.action_label(action, t, side)
        summary = labels.action_summary(action, t, side)
        target = target or f"/cases/{direction}/{case_id}/actions/{action}"
    # Art 6(7), 18(1): the authority a case is forwarded to, said by its name as the form offered it.
    authorities = forward_authorities(node.directory, row["executing_state"], row.get("authority")) \
        if side == Side.EXECUTING and action == "forward" else None
    fields = {f["name"]: f for f in action_fields(side, action, t, authorities=authorities)}
    shown = [(fields[k]["label"], _value_words(fields[k], v)) for k, v in items if k in fields and v.strip()]
    shown += _entered_words(fields, items, t)
    return render(request, "confirm.html.j2", session, case=row, direction=direction, action=action, title=title,
                  summary=summary, other=other, message_label_text=labels.message_label(message.kind, t)
                  if message else "", article=rule.article if rule is not None else "", target=target,
                  items=items, shown=shown,
                  # A refusal (Art 11) ends the transfer: confirmed as the other steps that do.
                  destructive=action in DESTRUCTIVE or (action == "decide" and ("outcome", "refused") in items))


def _value_words(field: dict[str, Any], value: str) -> str:
    options = dict(field.get("options") or [])
    return str(options.get(value, value))


def _entered_words(fields: dict[str, dict[str, Any]], items: list[tuple[str, str]],
                   t: i18n.Translator) -> list[tuple[str, str]]:
    """What was entered in several inputs, as it will be sent: a duration in days, the changed measures."""
    form = ImmutableMultiDict(items)
    out: list[tuple[str, str]] = []
    for name, f in fields.items():
        if f["kind"] == "duration":
            days, problem = read_duration(form, name, t)
            if days is not None and not problem:
                out.append((f["label"], t.ngettext("%(num)s day", "%(num)s days", days)))
        elif f["kind"] == "measures" and form.get("outcome", "adapted") == "adapted":  # decide: adaptations only
            changes, errors = measure_changes(form, t)
            if changes and not errors:
                out.append((f["label"], "; ".join(
                    t.gettext("Measure %(number)s: %(label)s", number=c["measure"] + 1, label=" · ".join(
                        [*([c["description"]] if "description" in c else []),
                         *([t.ngettext("%(num)s day", "%(num)s days", c["duration_days"])]
                           if "duration_days" in c else []),
                         *([t.ngettext("%(num)s hour", "%(num)s hours", c["hours"])] if "hours" in c else [])]))
                    for c in changes)))
    return out


def confirm_draft_delete_page(request: Request, session: Session, draft: dict[str, Any]) -> Response:
    """The same step for a draft certificate (not yet a transfer, so no case to go back to): which draft, in
    the words of the list of cases and of the certificate's boxes, so the officer deletes the one meant."""
    t = i18n.for_request(request)
    doc = draft["certificate"]
    person = doc.get("person") or {}
    name = ", ".join(str(p) for p in (person.get("surname"), person.get("forenames")) if p)
    shown = [(t.gettext("Draft"), str(draft["id"])[:8]), (t.gettext("Person"), name or "—")]
    if doc.get("executing_state"):
        shown.append((t.gettext("To"), labels.country_name(doc["executing_state"], t)))
    reference = (doc.get("judgment") or {}).get("reference")
    if reference:
        shown.append((readable_path("judgment.reference", t), str(reference)))
    return render(request, "confirm.html.j2", session, draft=draft, action="delete",
                  title=t.gettext(DELETE_DRAFT_LABEL), summary=t.gettext(DELETE_DRAFT_SUMMARY), other="",
                  message_label_text="", article="", target=f"/transfers/drafts/{draft['id']}/delete", items=[],
                  shown=shown, destructive=True)
