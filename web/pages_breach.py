"""The breach report page (Annex II, Art 17): the form box by box (a)-(f), prefilled from the case's
certificate and this node's data, checked by forms.validation, previewed as forms.render draws it in a
language the issuing State accepts, and sent through `web.cases.act` like every other action.

Field names are the JSON paths of the report (`person.surname`, `contact.address.city`), so the messages of
`validate_breach` land beside their field; the breaches of box (d) are one row per measure of the
certificate (`rows[2].occurred_on`), and only the ticked rows become `breaches[k]` of the report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from forms.annex2 import BreachReport
from forms.labels import RENDER_LANGUAGES, catalogue
from forms.law import EU_LANGUAGES, MeasureCategory
from forms.render import render_breach
from forms.states import certificate_language, load_state
from forms.validation import Problem, validate_breach
from store import cases
from store.sessions import Session
from web import i18n
from web.auth import check_csrf
from web.cases import act, read_case
from web.errors import ApiError
from web.i18n import N_, SOURCE_LANGUAGE, Message, Translator, translator
from web.labels import STAGES, problem_text
from web.pages_common import SignedIn, node_of, page_detail, render, require_role
from web.pages_documents import language_options
from web.pages_wizard import (
    PERSON_IDENTITY,
    WizardField,
    _parse_date,
    _parse_value,
    field_id,
    field_view,
    get_path,
    label_for,
    set_path,
)
from workflows.stages import Side

router = APIRouter(include_in_schema=False)

ACTION = "report_breach"


@dataclass(frozen=True)
class Box:
    letter: str
    title: str
    fields: tuple[WizardField, ...]


def _address(prefix: str, required: bool = True) -> tuple[WizardField, ...]:
    return (
        WizardField(f"{prefix}.street", "text", N_("Street and number"), required=required),
        WizardField(f"{prefix}.postcode", "text", N_("Postcode")),
        WizardField(f"{prefix}.city", "text", N_("City"), required=required),
        WizardField(f"{prefix}.country", "country", N_("Country"), required=required),
    )


HEADER: tuple[WizardField, ...] = (
    WizardField("language", "select", N_("Language of the free text"),
                N_("a language the issuing State accepts (Art 21): the report is rendered in it"), required=True),
)

BOXES: tuple[Box, ...] = (
    Box("a", N_("The sentenced person"), (
        *PERSON_IDENTITY,
        *_address("person.address"),
        WizardField("person.languages_understood", "languages"),
    )),
    Box("b", N_("The judgment and the certificate"), (
        WizardField("judgment.judgment_delivered_on", "date", required=True),
        WizardField("judgment.judgment_reference", "text"),
        WizardField("judgment.court.name", "text", N_("Court which delivered the judgment: official name"),
                    required=True),
        *_address("judgment.court.address", required=False),
        WizardField("judgment.probation_decision_delivered_on", "date"),
        WizardField("judgment.probation_decision_reference", "text"),
        WizardField("judgment.probation_decision_authority.name", "text",
                    N_("Authority which issued the probation decision: official name")),
        WizardField("judgment.certificate_issued_on", "date", required=True),
        WizardField("judgment.certificate_authority", "text", required=True),
        WizardField("judgment.certificate_reference", "text"),
    )),
    Box("c", N_("The supervising authority"), (
        WizardField("supervising_authority.name", "text", required=True),
        WizardField("supervising_authority.contact_person", "text", required=True),
        WizardField("supervising_authority.post", "text"),
        *_address("supervising_authority.address"),
        WizardField("supervising_authority.phone", "text", required=True),
        WizardField("supervising_authority.fax", "text"),
        WizardField("supervising_authority.email", "text"),
        WizardField("supervising_authority.languages", "languages", required=True),
    )),
    Box("d", N_("Breaches and other findings"), (
        WizardField("other_findings", "textarea",
                    hint=N_("other findings that could lead to a subsequent decision, e.g. a new offence or "
                            "absconding")),
    )),
    Box("e", N_("Person to contact about the breach"), (
        WizardField("contact.name", "text", required=True),
        *_address("contact.address"),
        WizardField("contact.phone", "text", required=True),
        WizardField("contact.fax", "text"),
        WizardField("contact.email", "text"),
    )),
    Box("f", N_("Signature"), (
        WizardField("signature.name", "text", required=True),
        WizardField("signature.post", "text", required=True),
        WizardField("signature.signed_on", "date", required=True),
        WizardField("signature.file_reference", "text"),
        WizardField("signature.official_stamp", "check"),
    )),
)

ROW_FIELDS: tuple[WizardField, ...] = (
    WizardField("rows[{i}].occurred_on", "date", N_("Date of the breach")),
    WizardField("rows[{i}].place", "text", N_("Place")),
    WizardField("rows[{i}].description", "textarea", N_("Specific circumstances")),
)

# Groups that may be left empty as a whole: an untouched court address is no error.
_OPTIONAL_GROUPS = ("judgment.court.address", "judgment.probation_decision_authority")


# --- box (d): one row per obligation that could have been breached ------------------------------

@dataclass(frozen=True)
class Row:
    index: int
    category: str
    measure: int | None  # index of the measure in the certificate
    title: str
    wording: str


def breach_rows(certificate: dict[str, Any] | None, t: Translator | None = None) -> list[Row]:
    """The certificate's measures with their Art 4(1) category; without measures, the categories themselves.
    Titles and wording are in `t`'s language (the forms' own catalogue for the Art 4(1) wording)."""
    t = t or translator(SOURCE_LANGUAGE)
    labels = catalogue(t.lang if t.lang in RENDER_LANGUAGES else SOURCE_LANGUAGE)
    measures = [m for m in ((certificate or {}).get("measures") or []) if isinstance(m, dict)]
    rows: list[Row] = []
    for i, m in enumerate(measures):
        try:
            cat = MeasureCategory(str(m.get("category")))
        except ValueError:
            continue
        rows.append(Row(len(rows), cat.value, i,
                        t.gettext("Measure %(number)s: %(description)s", number=i + 1,
                                  description=m.get("description") or "").strip(),
                        f"Art 4(1)({cat.value}): {labels.enum('MeasureCategory', cat.value)}"))
    if not rows:
        rows = [Row(i, c.value, None, f"Art 4(1)({c.value})", labels.enum("MeasureCategory", c.value))
                for i, c in enumerate(MeasureCategory)]
    return rows


# --- prefilling from the certificate and this node --------------------------------------------

def _clean(value: Any) -> Any:
    """Without nulls and empty strings: what the form shows as empty."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def report_language(issuing_state: str, own_state: str) -> str:
    """The language the form is written in: ours if the issuing State accepts it, else one it accepts."""
    ours = [lang for lang in load_state(own_state).official_languages if lang in RENDER_LANGUAGES]
    return (certificate_language(issuing_state, [*ours, *RENDER_LANGUAGES])
            or (load_state(issuing_state).accepted_languages or ("en",))[0])


def prefill(row: dict[str, Any], user_name: str, own_state: str, last: dict[str, Any] | None,
            today: date) -> dict[str, Any]:
    """Boxes (a) (b) from the certificate, (c) (e) from this authority's last report or this node, (f) today."""
    cert: dict[str, Any] = _clean(row.get("certificate") or {})
    person = cert.get("person") or {}
    addresses = person.get("addresses") or {}
    judgment = cert.get("judgment") or {}
    decision = cert.get("probation_decision") or {}
    signature = cert.get("signature") or {}
    own = load_state(own_state)
    languages = [lang for lang in own.official_languages if lang in EU_LANGUAGES]
    blank_address = {"country": own_state}
    doc: dict[str, Any] = {
        "issuing_state": row["issuing_state"],
        "executing_state": row["executing_state"],
        "language": report_language(row["issuing_state"], own_state),
        "person": {
            **{k: person[k] for k in ("surname", "forenames", "maiden_name", "aliases", "sex", "nationality",
                                      "identity_number", "date_of_birth", "place_of_birth",
                                      "languages_understood") if k in person},
            "address": addresses.get("in_executing_state") or addresses.get("in_issuing_state") or {},
        },
        "judgment": {
            "judgment_delivered_on": judgment.get("delivered_on"),
            "judgment_reference": judgment.get("reference"),
            "court": {"name": judgment.get("court")},
            "probation_decision_delivered_on": decision.get("delivered_on"),
            "probation_decision_reference": decision.get("reference"),
            "probation_decision_authority": {"name": decision["authority"]} if decision.get("authority") else None,
            "certificate_issued_on": signature.get("signed_on"),
            "certificate_authority": (cert.get("contact_authority") or {}).get("name"),
            "certificate_reference": signature.get("file_reference"),
        },
        "supervising_authority": (last or {}).get("supervising_authority") or {
            "contact_person": user_name, "address": dict(blank_address), "languages": languages},
        "breaches": [],
        "contact": (last or {}).get("contact") or {"name": user_name, "address": dict(blank_address)},
        "signature": {"name": user_name, "post": ((last or {}).get("signature") or {}).get("post"),
                      "signed_on": today.isoformat()},
    }
    cleaned: dict[str, Any] = _clean(doc)
    return cleaned


async def last_report_of(pool: Any, authorities: tuple[str, ...]) -> dict[str, Any] | None:
    """This authority's most recent Annex II report: its boxes (c) and (e) are usually the same again."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT n.texts->'breach' AS breach FROM notes n JOIN cases c ON c.id = n.case_id"
            " WHERE c.direction = 'incoming' AND c.authority = ANY(%s) AND n.texts ? 'breach'"
            " ORDER BY n.created_at DESC LIMIT 1", (list(authorities),))
        found = await cur.fetchone()
    breach = found["breach"] if found else None
    return breach if isinstance(breach, dict) else None


# --- form in, report out --------------------------------------------------------------------------

def _is_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    return value in (None, "", [], False)


def read_form(form: Any, base: dict[str, Any], rows: list[Row]) -> tuple[dict[str, Any], list[int],
                                                                          dict[str, str]]:
    """The report from the posted form: the boxes' fields, and a breach for each ticked row.

    Returns the report, which row each `breaches[k]` came from, and values that could not be read."""
    doc: dict[str, Any] = {"issuing_state": base["issuing_state"], "executing_state": base["executing_state"]}
    unreadable: dict[str, str] = {}
    for f in (*HEADER, *(f for box in BOXES for f in box.fields)):
        value, problem = _parse_value(f, form, f.path)
        if problem:
            unreadable[f.path] = problem
            continue
        if value is not None and value is not False:
            set_path(doc, f.path, value)
        elif f.kind == "check":
            set_path(doc, f.path, False)
    for group in _OPTIONAL_GROUPS:
        value = get_path(doc, group)
        if value is not None and _is_empty(value):
            set_path(doc, group, None)
    # The skeleton of required boxes, so that validation names each missing field rather than a box.
    for box in ("person", "judgment", "supervising_authority", "contact", "signature"):
        doc.setdefault(box, {})
    for box in ("person", "supervising_authority", "contact"):
        doc[box].setdefault("address", {})
    doc["judgment"].setdefault("court", {})
    breaches: list[dict[str, Any]] = []
    origin: list[int] = []
    for row in rows:
        if form.get(f"rows[{row.index}].ticked") != "true":
            continue
        breach: dict[str, Any] = {"category": row.category}
        if row.measure is not None:
            breach["measure"] = row.measure
        for key in ("occurred_on", "place", "description"):
            name = f"rows[{row.index}].{key}"
            if key == "occurred_on" and name not in form:  # the GOV.UK date input: day, month, year
                when, problem = _parse_date(form, name)
                if problem:
                    unreadable[name] = problem
                elif when:
                    breach[key] = when
                continue
            raw = str(form.get(name) or "").strip()
            if raw:
                breach[key] = raw
        breaches.append(breach)
        origin.append(row.index)
    doc["breaches"] = breaches
    return doc, origin, unreadable


def row_values(doc: dict[str, Any], origin: list[int], form: Any | None) -> dict[int, dict[str, Any]]:
    """What each row of box (d) shows: the posted values, or those of the breaches in the report."""
    values: dict[int, dict[str, Any]] = {}
    if form is not None:
        for key in form:
            m = re.fullmatch(r"rows\[(\d+)\]\.(\w+)", str(key))
            if m:
                values.setdefault(int(m.group(1)), {})[m.group(2)] = str(form.get(key) or "")
            d = re.fullmatch(r"rows\[(\d+)\]\.occurred_on-day", str(key))
            if d:  # the date as typed, day/month/year, shown back in its three inputs
                name = f"rows[{d.group(1)}].occurred_on"
                parts = [str(form.get(f"{name}-{p}") or "").strip() for p in ("year", "month", "day")]
                values.setdefault(int(d.group(1)), {})["occurred_on"] = "-".join(parts) if any(parts) else ""
        return values
    for k, index in enumerate(origin):
        breach = doc["breaches"][k]
        values[index] = {"ticked": "true", **{key: str(breach.get(key) or "") for key in
                                             ("occurred_on", "place", "description")}}
    return values


def place_messages(problems: list[Problem], origin: list[int], paths: set[str],
                   t: Translator | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """Each message beside its field: `breaches[k].x` goes to the row it came from; the rest to the top."""
    messages: dict[str, list[str]] = {}
    general: list[str] = []
    for p in problems:
        path = p.path
        m = re.match(r"breaches\[(\d+)\](.*)", path)
        if m and int(m.group(1)) < len(origin):
            path = f"rows[{origin[int(m.group(1))]}]{m.group(2)}"
            if path.endswith("].category") or path.endswith("].measure") or path.endswith("]"):
                path = f"rows[{origin[int(m.group(1))]}].ticked"
        elif path == "breaches":
            path = "breaches"
        reader = t or translator(SOURCE_LANGUAGE)
        warning = reader.gettext("(warning)")
        text = problem_text(p, reader) + (f" {warning}" if p.severity == "warning" else "")
        target = path if path in paths else _nearest(path, paths)
        if target:
            messages.setdefault(target, []).append(text)
        else:
            # Said as the form names the box, never as a JSON path.
            general.append(f"{label_for(p.path, 'annex2', reader.lang)}: {text}")
    return messages, general


def _error_summary(messages: dict[str, list[str]], header: list[dict[str, Any]], boxes: list[dict[str, Any]],
                   rows: list[dict[str, Any]], t: Translator) -> list[tuple[str, str, str]]:
    """GOV.UK's error summary: each message beside a field, in the order of the form, as (field id, label,
    message), linking to the field it is about."""
    found: list[tuple[str, str, str]] = []

    def add(fields: list[dict[str, Any]], prefix: str = "") -> None:
        for x in fields:
            found.extend((x["id"], f"{prefix}{x['label']}", text) for text in messages.get(x["f"].path, []))

    add(header)
    for b in boxes:
        if b["box"].letter == "d":
            first = rows[0]["id"] if rows else ""
            found.extend((first, b["title"], text) for text in messages.get("breaches", []))
            for r in rows:
                found.extend((r["id"], r["row"].title, text) for text in messages.get(r["path"], []))
                add(r["fields"], f"{r['row'].title}: ")
        add(b["fields"])
    return found


def _nearest(path: str, paths: set[str]) -> str | None:
    """A message about a whole group (`judgment.court`: required) goes beside the group's first field."""
    if path == "breaches":
        return "breaches"
    return next((p for p in sorted(paths) if p.startswith(path + ".")), None)


def digest(doc: dict[str, Any]) -> str:
    """A fingerprint of what was previewed, so that sending what was not previewed asks for a new look."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def preview(report: BreachReport) -> tuple[str, str, str]:
    """The report as forms.render draws it, in a language the issuing State accepts; and the CSP hash of
    its stylesheet so that the sandboxed frame showing it may use that stylesheet and nothing else."""
    lang = certificate_language(report.issuing_state, [report.language, *RENDER_LANGUAGES])
    if lang is None or lang not in RENDER_LANGUAGES:
        lang = "en"
    html = render_breach(report, lang, "html").decode("utf-8")
    style = _STYLE.search(html)
    sha = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode() if style else ""
    return html, lang, sha


# --- the page -------------------------------------------------------------------------------------

def _fields_view(doc: dict[str, Any], form: Any | None,
                 t: Translator) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def view(f: WizardField) -> dict[str, Any]:
        value = get_path(doc, f.path)
        if form is not None and f.kind in ("countries", "languages"):
            value = [v for v in form.getlist(f.path) if v]  # one picker per value
        elif form is not None and f.kind not in ("check", "multi") and f.path in form:
            value = str(form.get(f.path) or "")  # what was typed, also when it could not be read
        shown = {"f": f, "id": field_id(f.path), "value": value, **field_view(f, t, "annex2")}
        if f.kind in ("language", "languages"):
            # Annex II takes the Union's official languages only: those, named as the documents page names them.
            shown["options"] = language_options(t)
        return shown

    header = [view(f) for f in HEADER]
    boxes = [{"box": b, "title": _box_title(b.letter, b.title, t), "fields": [view(f) for f in b.fields]}
             for b in BOXES]
    return header, boxes


def _box_title(letter: str, fallback: str, t: Translator) -> str:
    try:
        return catalogue(t.lang if t.lang in RENDER_LANGUAGES else SOURCE_LANGUAGE).field("annex2", f"box.{letter}")
    except KeyError:
        return t.gettext(fallback)


def labels_of_stage(stage: str, t: Translator) -> str:
    return t.gettext(STAGES[stage]) if stage in STAGES else stage.replace("_", " ")


async def _case(request: Request, session: Session, case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    require_role(session, "officer", what=N_("Reporting a breach"))
    node = node_of(request)
    view = await read_case(node.pool, session.user, Side.EXECUTING, case_id, channel="page:breach")
    row = await cases.get_case(node.pool, case_id, "incoming")
    if row is None:  # pragma: no cover - read_case found it a moment ago
        raise ApiError(404, Message(N_("There is no incoming case %(id)s."), id=case_id))
    return view, row


def _page(request: Request, session: Session, view: dict[str, Any], row: dict[str, Any], doc: dict[str, Any],
          *, origin: list[int], form: Any | None, messages: dict[str, list[str]] | None = None,
          general: list[str] | None = None, status_code: int = 200, message: str = "",
          preview_doc: tuple[str, str, str] | None = None, previewed: str = "") -> Response:
    node = node_of(request)
    t = i18n.for_request(request)
    rows = breach_rows(row.get("certificate"), t)
    header, boxes = _fields_view(doc, form, t)
    issuing = load_state(row["issuing_state"])
    accepted = list(issuing.accepted_languages)
    names = catalogue(t.lang if t.lang in RENDER_LANGUAGES else SOURCE_LANGUAGE)
    header[0]["options"] = [(lang, names.language(lang)) for lang in accepted]
    values = row_values(doc, origin, form)
    row_views = []
    for r in rows:
        shown = values.get(r.index, {})
        fields = [WizardField(f.path.replace("{i}", str(r.index)), f.kind, f.label) for f in ROW_FIELDS]
        row_views.append({
            "row": r, "ticked": shown.get("ticked") == "true", "path": f"rows[{r.index}].ticked",
            "id": field_id(f"rows[{r.index}].ticked"),
            "fields": [{"f": f, "id": field_id(f.path), "label": t.gettext(f.label), "options": [],
                        "value": shown.get(f.path.rsplit(".", 1)[1], "")} for f in fields]})
    response = render(
        request, "breach.html.j2", session, status_code=status_code, case=view, header=header, boxes=boxes,
        rows=row_views, found=_error_summary(messages or {}, header, boxes, row_views, t),
        messages=messages or {}, general=general or [], message=message, issuing=issuing,
        accepted_names=", ".join(names.language(lang) for lang in accepted),
        may_report=ACTION in view["actions"], preview_html=preview_doc[0] if preview_doc else "",
        preview_lang=preview_doc[1] if preview_doc else "", previewed=previewed, own_state=node.settings.state)
    if preview_doc and preview_doc[2]:
        # The sandboxed frame (srcdoc) inherits this page's policy: allow exactly the form's stylesheet.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; "
            f"style-src 'self' 'sha256-{preview_doc[2]}'; img-src 'self' data:; frame-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
    return response


@router.get("/cases/incoming/{case_id}/breach", response_class=HTMLResponse)
async def breach_form(request: Request, session: SignedIn, case_id: str) -> Response:
    view, row = await _case(request, session, case_id)
    node = node_of(request)
    last = await last_report_of(node.pool, session.user.authorities)
    doc = prefill(row, session.user.name, node.settings.state, last, date.today())
    t = i18n.for_request(request)
    message = "" if ACTION in view["actions"] else t.gettext(
        "A breach can be reported while the case is supervised; it is %(stage)s.",
        stage=labels_of_stage(view["stage"], t))
    return _page(request, session, view, row, doc, origin=[], form=None, message=message,
                 status_code=200 if not message else 409)


@router.post("/cases/incoming/{case_id}/breach", response_class=HTMLResponse)
async def breach_post(request: Request, session: SignedIn, case_id: str) -> Response:
    view, row = await _case(request, session, case_id)
    form = await request.form()
    check_csrf(session, form)
    node = node_of(request)
    t = i18n.for_request(request)
    rows = breach_rows(row.get("certificate"), t)
    doc, origin, unreadable = read_form(form, row, rows)
    go = str(form.get("go") or "preview")
    found = validate_breach(doc)
    if not doc["breaches"] and not doc.get("other_findings") and not any(p.path == "breaches" for p in found):
        # forms.validation checks box (d) only once the report parses; say it now rather than on the next try.
        found.append(Problem("breaches", t.gettext("report at least one breach or other finding (box (d))")))
    paths = {f.path for f in (*HEADER, *(f for b in BOXES for f in b.fields))}
    paths |= {f"rows[{r.index}].{k}" for r in rows for k in ("ticked", "occurred_on", "place", "description")}
    paths.add("breaches")
    messages, general = place_messages(found, origin, paths, t)
    for path, text in unreadable.items():
        messages.setdefault(path, []).insert(0, text)
    errors = bool(unreadable) or any(p.severity == "error" for p in found)
    if errors:
        return _page(request, session, view, row, doc, origin=origin, form=form, messages=messages,
                     general=general, status_code=422,
                     message=t.gettext("The report was not sent: correct the fields marked below.") if go == "send"
                     else t.gettext("The report was not previewed: correct the fields marked below."))
    report = BreachReport.model_validate(doc)
    body = report.model_dump(mode="json", exclude_none=True)
    fingerprint = digest(body)
    if go != "send" or form.get("previewed") != fingerprint:
        note = "" if go != "send" else t.gettext("The form changed since the preview: check it again, then send.")
        return _page(request, session, view, row, doc, origin=origin, form=form, messages=messages,
                     general=general, status_code=200 if go != "send" else 409, message=note,
                     preview_doc=preview(report), previewed=fingerprint)
    try:
        result = await act(node.pool, node.client, session.user, Side.EXECUTING, case_id, ACTION, {"breach": body})
    except ApiError as err:
        detail = page_detail(err.detail, t)
        return _page(request, session, view, row, doc, origin=origin, form=form, status_code=err.status,
                     message=t.gettext("The report was not sent: %(reason)s", reason=detail))
    return RedirectResponse(f"/cases/incoming/{quote(case_id)}?done={ACTION}:{quote(result.stage)}",
                            status_code=303)
