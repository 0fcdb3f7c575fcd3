"""The transfer wizard: the Annex I certificate filled box by box, autosaved as a draft.

Each step is a list of fields named by their JSON path in the certificate (`person.surname`,
`measures[0].hours`), so the messages of `forms.validation` (which name the same paths) land beside the
field they are about. Nothing here decides what is valid: forms/ does.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from forms.annex1 import (
    AbsentiaException,
    AuthorityKind,
    Certificate,
    ConditionalSentenceKind,
    IdentityDocumentKind,
    MoveReason,
    RetrialResponse,
    Sex,
)
from forms.examples import example_certificate
from forms.labels import RENDER_LANGUAGES, Catalogue, catalogue
from forms.law import DAYS_PER_MONTH, DAYS_PER_YEAR, MEMBER_STATES, JudgmentType, ListOffence, MeasureCategory
from forms.states import StateProfile, load_state
from forms.validation import Problem, validate_certificate
from web.i18n import N_, Translator, formatting_locale

Options = list[tuple[str, str]]


@dataclass(frozen=True)
class WizardField:
    path: str  # JSON path in the certificate; `{i}` stands for the measure's index
    # text, textarea, date (day/month/year), duration (years/months/days, stored as days), months (years/months,
    # stored as months: the certificate's own unit where it counts in months), int, yesno, check,
    # select, codes (comma-separated), multi (checkboxes), country (one, by name), countries / languages (by name)
    kind: str
    label: str = ""
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    enum: str = ""  # the options are this enum of the forms' label catalogue, shown in the page's language


@dataclass(frozen=True)
class WizardStep:
    key: str
    boxes: str
    title: str
    prefixes: tuple[str, ...]  # which validation paths belong to this step
    fields: tuple[WizardField, ...] = field(default_factory=tuple)


def _enum(name: str, values: Any) -> dict[str, Any]:
    """A field's options from one enum of the forms' label catalogue: English here, and in the page's
    language when shown (field_view)."""
    labels = catalogue("en")
    out = []
    for v in values:
        try:
            out.append((v.value, labels.enum(name, v.value)))
        except KeyError:
            out.append((v.value, v.value.replace("_", " ")))
    return {"options": tuple(out), "enum": name}


def _address(prefix: str, required: bool) -> tuple[WizardField, ...]:
    return (
        WizardField(f"{prefix}.street", "text", N_("Street and number"), required=required),
        WizardField(f"{prefix}.postcode", "text", N_("Postcode")),
        WizardField(f"{prefix}.city", "text", N_("City"), required=required),
        WizardField(f"{prefix}.country", "country", N_("Country"), required=required),
    )


# Box (e) of Annex I and box (a) of Annex II ask the same of the person: one definition for both forms.
PERSON_IDENTITY: tuple[WizardField, ...] = (
    WizardField("person.surname", "text", required=True),
    WizardField("person.forenames", "text", required=True),
    WizardField("person.maiden_name", "text"),
    WizardField("person.aliases", "codes", hint=N_("comma-separated")),
    WizardField("person.sex", "select", **_enum("Sex", Sex), required=True),
    WizardField("person.nationality", "countries", required=True),
    WizardField("person.identity_number", "text"),
    WizardField("person.date_of_birth", "date", required=True),
    WizardField("person.place_of_birth", "text", required=True),
)

STEPS: tuple[WizardStep, ...] = (
    WizardStep("a", "(a)", N_("Executing State and language"), ("executing_state", "language", "issuing_state"), (
        WizardField("executing_state", "select", N_("Executing State"), N_("the member state asked to supervise"),
                    tuple((s, s) for s in MEMBER_STATES), required=True),
        WizardField("language", "language", N_("Language of the free text"),
                    N_("must be a language the executing State accepts (Art 21)"), required=True),
    )),
    WizardStep("b", "(b) (c)", N_("Judgment and probation decision"), ("judgment", "probation_decision"), (
        WizardField("judgment.court", "text", required=True),
        WizardField("judgment.delivered_on", "date", required=True),
        WizardField("judgment.final_on", "date", required=True),
        WizardField("judgment.reference", "text"),
        WizardField("probation_decision.authority", "text",
                    hint=N_("box (c): only if a probation decision was issued")),
        WizardField("probation_decision.delivered_on", "date"),
        WizardField("probation_decision.final_on", "date"),
        WizardField("probation_decision.reference", "text"),
    )),
    WizardStep("d", "(d)", N_("Authority to contact"), ("contact_authority",), (
        WizardField("contact_authority.kind", "select", **_enum("AuthorityKind", AuthorityKind), required=True),
        WizardField("contact_authority.kind_other", "text"),
        WizardField("contact_authority.name", "text", required=True),
        *_address("contact_authority.address", True),
        WizardField("contact_authority.phone", "text", required=True),
        WizardField("contact_authority.fax", "text"),
        WizardField("contact_authority.email", "text"),
        WizardField("contact_authority.languages", "languages", required=True),
        # Box (d) prints one contact person for supervision questions, if not the authority itself.
        WizardField("contact_authority.contact_persons[0].name", "text",
                    hint=N_("contact person for supervision, if different from the authority")),
        WizardField("contact_authority.contact_persons[0].post", "text"),
        WizardField("contact_authority.contact_persons[0].phone", "text"),
        WizardField("contact_authority.contact_persons[0].fax", "text"),
        WizardField("contact_authority.contact_persons[0].email", "text"),
        WizardField("contact_authority.contact_persons[0].languages", "languages"),
    )),
    WizardStep("e", "(e)", N_("Sentenced person"), ("person",), (
        *PERSON_IDENTITY,
        *_address("person.addresses.in_issuing_state", False),
        *_address("person.addresses.in_executing_state", False),
        *_address("person.addresses.elsewhere", False),
        WizardField("person.languages_understood", "languages"),
        WizardField("person.identity_documents[0].kind", "select",
                    **_enum("IdentityDocumentKind", IdentityDocumentKind)),
        WizardField("person.identity_documents[0].number", "text"),
        WizardField("person.residence_permit.kind", "select", **_enum("IdentityDocumentKind", IdentityDocumentKind)),
        WizardField("person.residence_permit.number", "text"),
        WizardField("person.photo_or_fingerprints_contact", "text"),
    )),
    WizardStep("f", "(f)", N_("Ground for forwarding"), ("forwarding_ground",), (
        WizardField("forwarding_ground.basis", "select", N_("Basis (Art 5)"),
                    options=(("art_5_1", N_("Art 5(1): lawful and ordinary residence in the executing State")),
                             ("art_5_2", N_("Art 5(2): moves there, on request, with the executing State's consent"))),
                    required=True),
        WizardField("forwarding_ground.returned_or_will_return", "check"),
        WizardField("forwarding_ground.reasons", "multi", N_("Reasons for the move (Art 5(2))"),
                    **_enum("MoveReason", MoveReason)),
        WizardField("forwarding_ground.other_reason", "text"),
        WizardField("forwarding_ground.person_requested", "check"),
        WizardField("forwarding_ground.executing_consent", "check"),
        WizardField("forwarding_ground.consent_reference", "text"),
    )),
    WizardStep("g", "(g) (h)", N_("Offences and appearance at trial"), ("offences", "appearance"), (
        WizardField("offences.count", "int", required=True),
        WizardField("offences.facts", "textarea", required=True),
        WizardField("offences.legal_classification", "textarea", required=True),
        WizardField("offences.list_offences", "multi", N_("List offences (Art 10(1))"),
                    **_enum("ListOffence", ListOffence)),
        # Box (g) point 2 counts in months: asked as years and months, stored in months (the model has no days).
        WizardField("offences.maximum_custody_months", "months"),
        WizardField("offences.full_description", "textarea"),
        WizardField("appearance.appeared_in_person", "yesno", required=True),
        WizardField("appearance.exception", "select", **_enum("AbsentiaException", AbsentiaException)),
        WizardField("appearance.summoned_on", "date"),
        WizardField("appearance.served_on", "date"),
        WizardField("appearance.retrial_response", "select", N_("Retrial or appeal"),
                    **_enum("RetrialResponse", RetrialResponse)),
        WizardField("appearance.how_met", "textarea"),
    )),
    WizardStep("i", "(i)", N_("Nature of the judgment"), ("judgment_nature",), (
        WizardField("judgment_nature.judgment_type", "select", **_enum("JudgmentType", JudgmentType),
                    required=True),
        WizardField("judgment_nature.national_decision", "select"),  # options: the issuing State's catalogue
        WizardField("judgment_nature.conditional_sentence_kind", "select", N_("Conditional sentence"),
                    **_enum("ConditionalSentenceKind", ConditionalSentenceKind)),
        WizardField("judgment_nature.custody_in_default", "yesno",
                    N_("Alternative sanction: custody to be served on non-compliance")),
        WizardField("judgment_nature.custody_pending_trial_days", "duration"),
        WizardField("judgment_nature.custody_served_days", "duration"),
        WizardField("judgment_nature.suspended_custody_days", "duration"),
        WizardField("judgment_nature.probation_period_days", "duration"),
        WizardField("judgment_nature.custody_on_revocation_days", "duration"),
    )),
    WizardStep("j", "(j)", N_("Supervision and measures"), ("supervision", "measures"), (
        WizardField("supervision.total_duration_days", "duration", required=True),
        WizardField("supervision.probation_period_days", "duration"),
        WizardField("supervision.starts_on", "date"),
        WizardField("supervision.reports_available", "check"),
        WizardField("supervision.report_languages", "languages"),
    )),
    WizardStep("k", "(k) (l)", N_("Other circumstances and signature"), ("other_circumstances", "signature"), (
        WizardField("other_circumstances.text", "textarea"),
        WizardField("other_circumstances.judgment_attached", "check"),
        WizardField("signature.name", "text", required=True),
        WizardField("signature.post", "text", required=True),
        WizardField("signature.signed_on", "date", required=True),
        WizardField("signature.file_reference", "text"),
        WizardField("signature.official_stamp", "check"),
    )),
)
STEP_BY_KEY = {s.key: s for s in STEPS}

# One row of the measure picker, repeated per measure of box (j).
MEASURE_FIELDS: tuple[WizardField, ...] = (
    WizardField("measures[{i}].national_measure", "select", N_("Measure under the issuing State's law")),
    WizardField("measures[{i}].category", "select", N_("Art 4(1) category"), required=True),
    # Only for category "other": which of the executing State's Art 4(2) notifications the measure relies on.
    WizardField("measures[{i}].notified_measure", "select", N_("Measure the executing State notified (Art 4(2))")),
    WizardField("measures[{i}].description", "textarea", required=True),
    WizardField("measures[{i}].duration_days", "duration", hint=N_("if it has its own duration")),
    WizardField("measures[{i}].hours", "int", hint=N_("community service only")),
)

# Optional groups: dropped when every field in them is empty, so an untouched box (c) is no error.
_OPTIONAL_GROUPS = ("probation_decision", "appearance", "person.addresses.in_issuing_state",
                    "person.addresses.in_executing_state", "person.addresses.elsewhere",
                    "person.identity_documents[0]", "person.residence_permit",
                    "contact_authority.contact_persons[0]", "other_circumstances")


def label_for(path: str, annex: Literal["annex1", "annex2"] = "annex1", lang: str = "en") -> str:
    """The field's label in the annex's catalogue of the page's language (English where the forms have no
    catalogue in it), else one made from its name."""
    key = re.sub(r"\[\d+\]|\[\{i\}\]", "", path)
    try:
        return catalogue(lang if lang in RENDER_LANGUAGES else "en").field(annex, key)
    except KeyError:
        return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()


# Regions and placeholders CLDR lists among territories, which are no country a person is a national of.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})


@cache
def country_options(lang: str) -> tuple[tuple[str, str], ...]:
    """Every country by its name in `lang` (CLDR), the Union's 27 as the certificate's catalogue names them."""
    forms = catalogue(lang if lang in RENDER_LANGUAGES else "en")
    names = {code: name for code, name in formatting_locale(lang).territories.items()
             if re.fullmatch(r"[A-Z]{2}", code) and code not in _NOT_COUNTRIES}
    names.update({code: forms.country(code) for code in MEMBER_STATES})
    return tuple(sorted(names.items(), key=lambda item: strxfrm_key(item[1])))


@cache
def language_options(lang: str) -> tuple[tuple[str, str], ...]:
    """Every language with a two-letter code (what the certificate stores), by its name in `lang`."""
    names = {code: name for code, name in formatting_locale(lang).languages.items() if re.fullmatch(r"[a-z]{2}", code)}
    return tuple(sorted(names.items(), key=lambda item: strxfrm_key(item[1])))


def strxfrm_key(name: str) -> str:
    # Sorting by name as a reader looks for it: "Égypte" beside "Equateur", not after "Zambie".
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def field_view(f: WizardField, t: Translator, annex: Literal["annex1", "annex2"] = "annex1") -> dict[str, Any]:
    """What a page shows of a field in `t`'s language: label, hint and the words of its options."""
    options = list(f.options)
    if f.kind in ("country", "countries"):
        options = list(country_options(t.lang))
    elif f.kind in ("language", "languages"):
        options = list(language_options(t.lang))
    elif f.enum:
        labels = catalogue(t.lang if t.lang in RENDER_LANGUAGES else "en")
        options = [(v, _enum_label(labels, f.enum, v)) for v, _ in f.options]
    elif options:
        options = [(v, t.gettext(text)) for v, text in options]
    return {"label": t.gettext(f.label) if f.label else label_for(f.path, annex, t.lang),
            "hint": t.gettext(f.hint) if f.hint else "", "options": options}


def _enum_label(labels: Catalogue, name: str, value: str) -> str:
    try:
        return labels.enum(name, value)
    except KeyError:
        return value.replace("_", " ")


def wizard_field(path: str) -> WizardField | None:
    """The wizard's field of a certificate path (`measures[1].hours` is the measure row's), if it has one."""
    key = re.sub(r"^measures\[\d+\]", "measures[{i}]", path)
    return next((f for f in (*(f for st in STEPS for f in st.fields), *MEASURE_FIELDS) if f.path == key), None)


def readable_path(path: str, t: Translator) -> str:
    """A finding's place as a person reads it: "Measure 2: Duration", never `measures[1].duration_days`."""
    known = wizard_field(path)
    # The label the wizard shows beside the field (its own where it has one), else the form's.
    label = field_view(known, t)["label"] if known is not None else label_for(path, "annex1", t.lang)
    measure = re.match(r"measures\[(\d+)\]", path)
    if measure:
        return t.gettext("Measure %(number)s: %(label)s", number=int(measure.group(1)) + 1, label=label)
    return label


def field_id(path: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


# --- reading and writing paths in the certificate JSON ---------------------------------------

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _tokens(path: str) -> list[str | int]:
    return [int(i) if i else name for name, i in _TOKEN.findall(path)]


def get_path(doc: Any, path: str) -> Any:
    node = doc
    for t in _tokens(path):
        if isinstance(t, int):
            if not isinstance(node, list) or t >= len(node):
                return None
            node = node[t]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(t)
    return node


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    tokens = _tokens(path)
    node: Any = doc
    for t, nxt in itertools.pairwise(tokens):
        empty: Any = [] if isinstance(nxt, int) else {}
        if isinstance(t, int):
            while len(node) <= t:
                node.append({})
            if not isinstance(node[t], (dict, list)):
                node[t] = empty
            node = node[t]
        else:
            if not isinstance(node.get(t), (dict, list)):
                node[t] = empty
            node = node[t]
    last = tokens[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


def _is_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    return value in (None, "", [], False)


def _drop_empty_groups(doc: dict[str, Any]) -> None:
    for group in _OPTIONAL_GROUPS:
        value = get_path(doc, group)
        if value is not None and _is_empty(value):
            if group.endswith("[0]"):
                set_path(doc, group.removesuffix("[0]"), [])
            else:
                set_path(doc, group, None)


def blank_certificate(issuing_state: str) -> dict[str, Any]:
    """The skeleton of required boxes, so that validation names each missing field, not a whole box."""
    return {"issuing_state": issuing_state, "judgment": {}, "contact_authority": {"address": {}},
            "person": {"addresses": {}}, "forwarding_ground": {}, "offences": {}, "judgment_nature": {},
            "supervision": {}, "measures": [{}], "signature": {}}


# --- form data in, JSON out ------------------------------------------------------------------

DATE_PARTS = ("day", "month", "year")
DURATION_PARTS = ("years", "months", "days")
MONTHS_PARTS = ("years", "months")  # a duration the certificate counts in whole months: no days


def posted(f: WizardField, form: Any, name: str) -> bool:
    """Whether the page sent this field (a date and a duration come as three inputs, months as two)."""
    parts = {"date": DATE_PARTS, "duration": DURATION_PARTS, "months": MONTHS_PARTS}.get(f.kind, ())
    return name in form or any(f"{name}-{part}" in form for part in parts)


def _parse_date(form: Any, name: str) -> tuple[Any, str | None]:
    parts = [str(form.get(f"{name}-{part}") or "").strip() for part in DATE_PARTS]
    if not any(parts):
        return None, None
    if not all(re.fullmatch(r"\d{1,4}", p) for p in parts) or len(parts[2]) != 4:
        return None, N_("must be a real date: day, month and year in numbers, the year with 4 digits")
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat(), None
    except ValueError:
        return None, N_("must be a real date: day, month and year in numbers, the year with 4 digits")


def duration_to_days(years: int, months: int, days: int) -> int:
    """Years and months as the law counts them (forms.law: the mean Gregorian year), to the whole day."""
    return round(years * DAYS_PER_YEAR + months * DAYS_PER_MONTH) + days


def _parse_duration(form: Any, name: str) -> tuple[Any, str | None]:
    parts = [str(form.get(f"{name}-{part}") or "").strip() for part in DURATION_PARTS]
    if not any(parts):
        return None, None
    if not all(re.fullmatch(r"\d{0,5}", p) for p in parts):
        return None, N_("years, months and days must be whole numbers")
    years, months, days = (int(p or 0) for p in parts)
    return duration_to_days(years, months, days), None


def _parse_months(form: Any, name: str) -> tuple[Any, str | None]:
    """Years and months (the duration field's boxes, without days) to whole months: 1 year 6 months is 18."""
    parts = [str(form.get(f"{name}-{part}") or "").strip() for part in MONTHS_PARTS]
    if not any(parts):
        return None, None
    if not all(re.fullmatch(r"\d{0,5}", p) for p in parts):
        return None, N_("years and months must be whole numbers")
    years, months = (int(p or 0) for p in parts)
    return years * 12 + months, None


def duration_parts(doc: dict[str, Any], path: str) -> tuple[int, int, int] | None:
    """A duration as the officer entered it (years, months, days) when that still gives the stored days;
    else all in days: the certificate stores days, and a breakdown it does not match would mislead. A
    duration in months (`months` fields) shows as whole years and the months left over, no days."""
    days = get_path(doc, path)
    if not isinstance(days, int):
        return None
    known = wizard_field(path)
    if known is not None and known.kind == "months":
        return days // 12, days % 12, 0
    entered = (doc.get("_durations") or {}).get(path)
    if isinstance(entered, list) and len(entered) == 3 and duration_to_days(*entered) == days:
        return entered[0], entered[1], entered[2]
    return 0, 0, days


def _parse_value(f: WizardField, form: Any, name: str) -> tuple[Any, str | None]:
    """The JSON value of one field, or the raw text and a message when it cannot be read."""
    if f.kind == "check":
        return form.get(name) == "true", None
    if f.kind == "multi":
        return [v for v in form.getlist(name) if v], None
    if f.kind in ("countries", "languages"):
        picked = [p.strip() for v in form.getlist(name) for p in str(v).split(",") if p.strip()]
        return list(dict.fromkeys(picked)), None  # one of each, in the order chosen
    if f.kind == "date" and name not in form:
        return _parse_date(form, name)
    if f.kind == "duration" and name not in form:
        return _parse_duration(form, name)
    if f.kind == "months" and name not in form:
        return _parse_months(form, name)
    raw = str(form.get(name) or "").strip()
    if raw == "":
        return None, None
    # A duration posted as one value is in days, a `months` field's in months (the API's way).
    if f.kind in ("int", "duration", "months"):
        if not re.fullmatch(r"-?\d{1,9}", raw):
            return raw, N_("must be a whole number")
        return int(raw), None
    if f.kind == "yesno":
        return raw == "true", None
    if f.kind == "codes":
        return [p.strip() for p in raw.split(",") if p.strip()], None
    return raw, None


def as_typed(f: WizardField, form: Any) -> dict[str, Any]:
    """A field that could not be read, as the officer typed it (GOV.UK: the page shows it back beside its
    error, so the mistake can be seen and mended): the field view's `parts` of a date, a duration or a
    `months` field, or its `value`. The draft keeps its last readable value; only the page shows this."""
    if f.kind == "date" and f.path not in form:
        # The template's order for a date is that of its stored form: year, month, day.
        return {"parts": [str(form.get(f"{f.path}-{part}") or "") for part in reversed(DATE_PARTS)]}
    if f.kind in ("duration", "months"):
        if f.path in form:
            # One value posted for the boxes (the API's way): in days for a duration, in months for `months`.
            one = str(form.get(f.path) or "")
            return {"parts": ["", one, ""] if f.kind == "months" else ["", "", one]}
        return {"parts": [str(form.get(f"{f.path}-{part}") or "") for part in DURATION_PARTS]}
    return {"value": str(form.get(f.path) or "")}


def step_fields(step: WizardStep, doc: dict[str, Any]) -> list[WizardField]:
    fields = list(step.fields)
    if step.key == "j":
        for i in range(max(1, len(doc.get("measures") or []))):
            fields += [WizardField(f.path.replace("{i}", str(i)), f.kind, f.label, f.hint, f.options, f.required)
                       for f in MEASURE_FIELDS]
    return fields


def apply_form(step: WizardStep, doc: dict[str, Any], form: Any, issuing: StateProfile) -> dict[str, str]:
    """Write the step's fields into the draft; returns messages for values that could not be read."""
    unreadable: dict[str, str] = {}
    for f in step_fields(step, doc):
        if not posted(f, form, f.path) and f.kind not in ("check", "multi"):
            continue  # a field the page did not show (autosave of another step)
        value, problem = _parse_value(f, form, f.path)
        if problem:
            unreadable[f.path] = problem
            continue
        set_path(doc, f.path, value)
        if f.kind == "duration" and f.path not in form:
            # Kept beside the certificate (never sent: `_` keys are the draft's own) to show it back as entered.
            entered = [int(str(form.get(f"{f.path}-{part}") or "0").strip() or 0) for part in DURATION_PARTS]
            doc.setdefault("_durations", {})[f.path] = entered if value is not None else None
    if step.key == "j":
        _measure_rows(doc, form, issuing)
    _drop_empty_groups(doc)
    return unreadable


def _measure_rows(doc: dict[str, Any], form: Any, issuing: StateProfile) -> None:
    measures = [m for m in (doc.get("measures") or []) if isinstance(m, dict)]
    for m in measures:
        national = issuing.national_measure(m.get("national_measure") or "")
        # Picking a national measure fills its Art 4(1) category: the mapping is the State's, not the officer's.
        if national is not None and national.category is not None and not m.get("category"):
            m["category"] = national.category.value
        if not m.get("description") and national is not None:
            m["description"] = national.name.get(doc.get("language") or "en") or national.name.get("en", "")
    remove = str(form.get("remove_measure") or "")
    if remove.isdigit() and int(remove) < len(measures) and len(measures) > 1:
        measures.pop(int(remove))
    if form.get("add_measure"):
        measures.append({})
    doc["measures"] = measures or [{}]


# --- what the page shows ---------------------------------------------------------------------

def problems_by_step(doc: dict[str, Any]) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Validation findings grouped by step; `executing_state` missing means the rules cannot run yet."""
    data = {k: v for k, v in doc.items() if not k.startswith("_")}
    try:
        found = validate_certificate(data)
    except (KeyError, ValueError) as err:  # a state code that is not one, before pydantic could say so
        found = [Problem("executing_state", str(err))]
    grouped: dict[str, list[Problem]] = {s.key: [] for s in STEPS}
    other: list[Problem] = []
    for p in found:
        step = next((s for s in STEPS if any(p.path == x or p.path.startswith((x + ".", x + "["))
                                             for x in s.prefixes)), None)
        (grouped[step.key] if step else other).append(p)
    return grouped, other


def _required_part(model: type[BaseModel], value: Any) -> Any:
    """What `value` (a certificate's JSON) holds of `model`'s required boxes, and nothing optional."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required() or name not in value:
            continue
        kind, args = info.annotation, get_args(info.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out[name] = _required_part(kind, value[name])
        elif get_origin(kind) is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            out[name] = [_required_part(args[0], v) for v in value[name]]
        else:
            out[name] = value[name]
    return out


def _overlay(base: Any, top: Any) -> Any:
    """`top` (the draft) written over `base` (the filler): the draft's values win wherever it has one."""
    if isinstance(base, dict) and isinstance(top, dict):
        out = dict(base)
        for key, value in top.items():
            if value is None or value == "" or value == []:
                continue
            out[key] = _overlay(base.get(key), value)
        return out
    if isinstance(base, list) and isinstance(top, list) and base and all(isinstance(x, dict) for x in top):
        return [_overlay(base[0], x) for x in top]
    return top


def step_rule_problems(step: WizardStep, doc: dict[str, Any], issuing: str) -> list[Problem]:
    """The rules of forms.validation that concern what the officer wrote in this step, checked when the step
    is saved: future dates, dates out of order, a measure the executing State does not supervise, durations
    outside the law's limits. The rules need a whole certificate; boxes not yet written are lent the required
    part of the example certificate, and only findings on fields of this step that the officer filled count."""
    named = executing_profile(doc)
    executing = named.code if named is not None and named.code != issuing else ("BE" if issuing != "BE" else "LU")
    filler = _required_part(Certificate, example_certificate(issuing, executing).model_dump(mode="json"))
    data = _overlay(filler, {k: v for k, v in doc.items() if not k.startswith("_")})
    try:
        found = validate_certificate(data)
    except (KeyError, ValueError):  # a state code that is not one: box (a) says so itself
        return []
    fields = {f.path: f for f in step_fields(step, doc)}
    written = any(f.kind not in ("check", "multi") and not _is_empty(get_path(doc, p)) for p, f in fields.items())

    def filled(path: str) -> bool:
        f = fields.get(path)
        if f is None:
            return False
        # An unticked box is an answer once the step holds anything at all.
        return written if f.kind in ("check", "multi") else not _is_empty(get_path(doc, path))

    return [p for p in found if filled(p.path)]


def step_status(step: WizardStep, doc: dict[str, Any], problems: list[Problem]) -> str:
    """HMPPS task-list wording: what is left to do in each box."""
    filled = any(not _is_empty(get_path(doc, p)) for p in step.prefixes if p != "issuing_state")
    if not filled:
        return N_("Not started")
    return N_("Completed") if not any(p.severity == "error" for p in problems) else N_("In progress")


def _named(names: dict[str, str], lang: str, fallback: str) -> str:
    return names.get(lang) or names.get("en") or next(iter(names.values()), fallback)


def measure_options(issuing: StateProfile, executing: StateProfile | None, t: Translator) -> Options:
    """The picker: each national measure with its Art 4(1) category and whether the executing State supervises it."""
    out: Options = []
    for m in issuing.measures:
        name = _named(m.name, t.lang, m.id)
        if m.category is None:
            out.append((m.id, t.gettext("%(name)s — outside Art 4(1): cannot be transferred", name=name)))
            continue
        where = ""
        if executing is not None:
            where = (t.gettext(" — %(state)s supervises it", state=executing.code)
                     if executing.supervises(m.category)
                     else t.gettext(" — %(state)s does NOT supervise it", state=executing.code))
        out.append((m.id, t.gettext("%(name)s — Art 4(1)(%(category)s)", name=name, category=m.category.value)
                    + where))
    return out


def category_options(executing: StateProfile | None, t: Translator) -> Options:
    labels = catalogue(t.lang if t.lang in RENDER_LANGUAGES else "en")
    out: Options = []
    for c in MeasureCategory:
        text = _enum_label(labels, "MeasureCategory", c.value)
        mark = ""
        if executing is not None:
            mark = " " + (t.gettext("[%(state)s: supervises]", state=executing.code) if executing.supervises(c)
                          else t.gettext("[%(state)s: does NOT supervise]", state=executing.code))
        short = text if len(text) <= 90 else text[:90].rsplit(" ", 1)[0] + "…"  # whole words only
        out.append((c.value, f"({c.value}) {short}{mark}"))
    return out


def notified_options(executing: StateProfile | None) -> Options:
    """The executing State's Art 4(2) notifications, in its own words (they exist in no other language)."""
    return [] if executing is None else [(m.id, m.description) for m in executing.art_4_2_measures]


def decision_options(issuing: StateProfile, t: Translator) -> Options:
    return [(d.id, _named(d.name, t.lang, d.id)) for d in issuing.decisions]


def executing_profile(doc: dict[str, Any]) -> StateProfile | None:
    code = doc.get("executing_state")
    try:
        return load_state(code) if isinstance(code, str) else None
    except (KeyError, ValueError):
        return None
