"""What the case pages, the confirmation step and the transfer pages share: an action's form fields drawn
from its model in the catalogue, and what a draft returned by the prosecutor or a completion request shows."""

from __future__ import annotations

import enum
from datetime import date
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from forms.adaptation import MeasureChange
from web import labels
from web.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from web.pages_wizard import WizardField, _parse_value
from workflows.rules import rule_for
from workflows.stages import Side

# How the values of the law's lists read on a page (the catalogue's enums give the values).
OPTION_LABELS: dict[str, str] = {
    "modify": N_("modify the measures"), "revoke": N_("revoke the suspension"),
    "execute_custody": N_("execute the custodial sentence"), "lapse": N_("the measures lapse"),
    "absconded": N_("the person absconded"), "residence_lost": N_("no longer resides here"),
    "issuing_request": N_("the issuing State asked for it"),
    "annulled": N_("annulled"), "amended": N_("amended"), "confirmed": N_("confirmed"),
    "post": N_("by post"), "email": N_("by e-mail"), "ecodex": N_("through e-CODEX"),
    "true": N_("yes"), "false": N_("no"),
}


# Body fields that are a length of time in days: asked as years, months and days, as the wizard asks them
# (web.pages_wizard's `duration`), and sent in days. Their label without the "(days)" of the catalogue's title.
DURATION_FIELDS: dict[str, str] = {"max_custody_days": N_("Maximum custody")}

# Art 6(7), 18(1): the competent authority a case is forwarded to, picked by its name from the directory; the
# catalogue's title says "(code)" for the API, where the code is what is sent.
AUTHORITY_LABEL = N_("Competent authority")
AUTHORITY_HINT = N_("The directory of authorities lists no other competent authority here: enter the code of the "
                    "authority, as the directory of authorities knows it.")


def _field_kind(annotation: Any) -> tuple[str, list[str]]:
    """How a body field of the catalogue is asked for: its input kind and, for a list of the law, its values."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    inner = args[0] if get_origin(annotation) in (Union, UnionType) and len(args) == 1 else annotation
    if get_origin(inner) is Annotated:
        inner = get_args(inner)[0]
    if get_origin(inner) is list and get_args(inner) == (MeasureChange,):
        return "measures", []  # changes to the certificate's measures: the decide page's fields, one row each
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return "select", [str(m.value) for m in inner]
    if get_origin(inner) is Literal:
        return "select", [str(v) for v in get_args(inner)]
    if inner is bool:
        return "select", ["true", "false"]
    if inner is int:
        return "int", []
    if inner is date:
        return "date", []
    if inner is str:
        return "textarea", []
    return "json", []


def _option(name: str, value: str, t: Translator) -> str:
    if name in ("ground", "grounds"):
        return f"({value}) {t.gettext(labels.GROUNDS[value])}"
    if name == "outcome" and value in labels.OUTCOMES:
        return t.gettext(labels.OUTCOMES[value])
    return t.gettext(OPTION_LABELS[value]) if value in OPTION_LABELS else value


def action_fields(side: Side, action: str, t: Translator | None = None, *,
                  authorities: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The fields of an action's form: which, of what kind and whether required from its model in the
    catalogue; their words in the reader's language. `authorities` (see `forward_authorities`), when given,
    makes forward's authority a choice by name; an empty list, a one-line code with a hint."""
    model = rule_for(side, action)
    if model is None:
        return []
    t = t or translator(SOURCE_LANGUAGE)
    out = []
    for name, info in model.model_fields.items():
        kind, values = _field_kind(info.annotation)
        if kind == "select" and len(values) == 1 and not info.is_required():
            continue  # a single possible value needs no question
        if kind == "int" and name in DURATION_FIELDS:
            out.append({"name": name, "label": t.gettext(DURATION_FIELDS[name]), "kind": "duration",
                        "options": [], "required": info.is_required(), "hint": ""})
            continue
        if side == Side.EXECUTING and action == "forward" and name == "authority" and authorities is not None:
            out.append({"name": name, "label": t.gettext(AUTHORITY_LABEL), "kind": "select" if authorities else "text",
                        "options": list(authorities), "required": info.is_required(),
                        "hint": "" if authorities else t.gettext(AUTHORITY_HINT)})
            continue
        # The field's title in the catalogue, translated (web/catalogue_words.py extracts it).
        out.append({"name": name, "label": t.gettext(info.title) if info.title else name, "kind": kind,
                    "options": [(v, _option(name, v, t)) for v in values], "required": info.is_required(),
                    "hint": ""})
    return out


def forward_authorities(directory: Any, state: str, current: str | None) -> list[tuple[str, str]]:
    """Art 6(7), 18(1): the competent authorities of `state` (this node's) that the directory lists, other than
    the one that holds the case: (code, name), by the directory's name (its code where it has none; the code
    beside a name two of them share), in the directory's order. Empty when the directory lists none."""
    entry = directory.states.get(state) if directory is not None else None
    found = [a for a in (entry.authorities if entry is not None else []) if a.code != current]
    names = [str(a.name or "").strip() or a.code for a in found]
    return [(a.code, name if names.count(name) == 1 or name == a.code else f"{name} ({a.code})")
            for a, name in zip(found, names, strict=True)]


def read_date(form: Any, name: str, t: Translator) -> tuple[str | None, str]:
    """A date posted as the wizard posts it (`name-day`, `name-month`, `name-year`), or as one ISO value (the
    API's way): the ISO date the API takes, as the wizard converts it; or a message in `t`'s language for a
    date that cannot be read or does not exist (31 2 2027)."""
    value, problem = _parse_value(WizardField(name, "date"), form, name)
    if problem:
        return None, t.gettext(problem)
    return (str(value) if value else None), ""


def read_duration(form: Any, name: str, t: Translator) -> tuple[int | None, str]:
    """A duration posted as the wizard posts it (`name-years`, `name-months`, `name-days`), or as one value in
    days (the API's way): in days, as the wizard converts it; or a message in `t`'s language."""
    value, problem = _parse_value(WizardField(name, "duration"), form, name)
    if problem:
        return None, t.gettext(problem)
    if value is not None and (not isinstance(value, int) or value < 0):
        return None, t.gettext("must be a whole number")
    return value, ""


def measure_changes(form: Any, t: Translator) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The changes to the certificate's measures a page posted (the decide page's adaptation, a subsequent
    decision's modification): one row per measure (`measures[i].duration_days` as years, months and days,
    `measures[i].hours`, `measures[i].description`), `measure_count` rows. Only rows that change something
    become a change; messages by field for values that cannot be read."""
    changes: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    count = str(form.get("measure_count") or "0").strip()
    for i in range(min(int(count), 100) if count.isdigit() else 0):
        change: dict[str, Any] = {"measure": i}
        days, problem = read_duration(form, f"measures[{i}].duration_days", t)
        if problem:
            errors[f"measures[{i}].duration_days"] = problem
        elif days is not None:
            change["duration_days"] = days
        raw = str(form.get(f"measures[{i}].hours") or "").strip()
        if raw and not raw.isdigit():
            errors[f"measures[{i}].hours"] = t.gettext("must be a whole number")
        elif raw:
            change["hours"] = int(raw)
        text = str(form.get(f"measures[{i}].description") or "").strip()
        if text:
            change["description"] = text
        if len(change) > 1:
            changes.append(change)
    return changes, errors


async def completion_request(pool: Any, view: dict[str, Any]) -> dict[str, Any] | None:
    """Art 8(2): what the executing State asked to be completed (the note its completion_request carried),
    and by when; from the latest `completion_requested` event of the timeline and the inbox message it names."""
    from store.messages import inbox_payload

    event = next((e for e in reversed(view["timeline"]) if e["type"] == "completion_requested"), None)
    if event is None:
        return None
    detail = event.get("detail") or {}
    message_id = detail.get("message_id")
    payload = await inbox_payload(pool, str(message_id)) if message_id else None
    due = next((d.get("due") for d in view["deadlines"] if d.get("name") == "duty:complete"
                and d.get("status") == "open"), None)
    return {"at": event["at"], "by": event["actor"], "missing": str((payload or {}).get("missing") or ""),
            "due_days": detail.get("due_days"), "due": due}


def returned_by_prosecutor(view: dict[str, Any]) -> dict[str, Any] | None:
    """A draft the prosecutor sent back (Art 6(3)): when, by whom and why, for the officer who corrects it."""
    if view["stage"] != "draft":
        return None
    event = next((e for e in reversed(view["timeline"]) if e["type"] == "returned_to_officer"), None)
    if event is None:
        return None
    return {"at": event["at"], "actor": event["actor"], "reason": (event.get("texts") or {}).get("reason", "")}
