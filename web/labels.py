"""How the domain's codes read to a person, in the page's language: stages, outcomes, actions, alerts,
deadlines, timeline events, roles and directions (CONTRACT §3). The codes stay what the API and the
workflows say; each label is marked here once (N_) and translated where a page shows it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache
from typing import Any

from babel.dates import format_date
from babel.units import format_unit
from jinja2 import pass_context
from jinja2.runtime import Context

from forms.labels import RENDER_LANGUAGES, Catalogue, catalogue
from forms.law import JudgmentType
from forms.messages import ACTIONS as ACTION_MODELS
from forms.messages import MESSAGES as MESSAGE_MODELS
from forms.stages import Side
from forms.states import load_state
from forms.validation import Problem
from web.i18n import N_, SOURCE_LANGUAGE, Translator, formatting_locale, translator

STAGES = {
    "draft": N_("Draft"), "awaiting_approval": N_("Awaiting approval"), "sent": N_("Sent"),
    "under_decision": N_("Under decision"), "completion_requested": N_("Completion requested"),
    "consultation": N_("Consultation"), "adapted": N_("Adapted"), "transferred": N_("Transferred"),
    "returned": N_("Returned"), "closed": N_("Closed"), "received": N_("Received"),
    "recognised": N_("Recognised"), "supervising": N_("Supervising"),
}

OUTCOMES = {
    "refused": N_("refused"), "withdrawn": N_("withdrawn"), "forwarded": N_("forwarded"),
    "completed": N_("completed"), "revoked": N_("revoked"), "lapsed": N_("lapsed"),
    "transferred_back": N_("transferred back"), "person_not_found": N_("person not found"),
    "amnesty": N_("amnesty or pardon"), "recognised": N_("recognised"), "adapted": N_("adapted"),
}

# An action's name as a button and heading, and what it does: the catalogue's words (forms/messages.py),
# extracted for translation by web/catalogue_words.py. Where an action has the same name on both sides, the
# issuing side's words are the default; `action_words` takes the side.
def action_words(name: Any, side: Any = None) -> tuple[str, str] | None:
    """(label, summary) of an action in the catalogue's English; None for a name that is no action."""
    sides = [Side(side)] if side else [Side.ISSUING, Side.EXECUTING]
    for s in sides:
        model = ACTION_MODELS[s].get(str(name))
        if model is not None:
            return model.label, model.summary
    if str(name) == "create":
        return CREATE
    return None


CREATE = (N_("Create"), N_("Create the transfer"))

ALERTS = {
    "decision_due_soon": N_("decision due soon"), "decision_overdue": N_("decision overdue"),
    "withdrawal_window_open": N_("withdrawal window open"), "duty_overdue": N_("duty overdue"),
    "delivery_unconfirmed": N_("delivery unconfirmed"), "delivery_failed": N_("delivery failed"),
    "probation_period_ended": N_("probation period ended"),
    "measure_period_ended": N_("a measure's period ended"), "completion_overdue": N_("completion overdue"),
    "breach_reported": N_("breach report to decide on (Art 17)"),
}

DEADLINES = {
    "decision": N_("Decision on recognition"), "withdrawal_window": N_("Withdrawal window"),
    "probation_end": N_("End of the probation period"), "completion": N_("Completion of the certificate"),
    "duty:complete": N_("Duty: send the completed certificate"),
    "duty:give_max_custody": N_("Duty: give the maximum custody"), "duty:reply": N_("Duty: reply"),
    "duty:start_supervision": N_("Duty: start supervision"), "duty:end_supervision": N_("Duty: end supervision"),
    "duty:answer_information": N_("Duty: answer the information request"),
    "duty:answer_transfer_back_request": N_("Duty: answer the request for a transfer back"),
    "duty:decide_subsequent": N_("Duty: take the subsequent decision"),
    "decision_expected": N_("Decision expected by (given after the 60 days)"),
    "consultation_reply": N_("Answer to the consultation"),
}
MEASURE_DEADLINE = N_("Measure %(num)s: end of its period")
DELIVERY_DEADLINE = N_("Delivery evidence for a message")
DELIVERY_STAGE_DEADLINE = N_("e-CODEX evidence of %(stage)s for a message")
# The stages of e-CODEX evidence a message waits for (workflows/delivery.EVIDENCE_STAGES).
DELIVERY_STAGES = {"relay": N_("relay to the other access point"), "delivery": N_("delivery to the authority"),
                   "retrieval": N_("retrieval by the authority")}

BASES = {"law": N_("law"), "policy": N_("policy")}
# Art 6(1): how a judgment that is not attached is sent (forms.documents.SeparateChannel).
SENT_SEPARATELY = {"post": N_("by post"), "email": N_("by e-mail"), "ecodex": N_("through e-CODEX")}
DEADLINE_STATUSES = {"open": N_("open"), "met": N_("met"), "met_late": N_("met late"), "missed": N_("missed"),
                     "cancelled": N_("cancelled")}

EVENTS = {
    "created": N_("created"), "submitted": N_("submitted"), "approved": N_("approved"),
    "returned_to_officer": N_("returned to the officer"), "message_sent": N_("message sent"),
    "message_received": N_("message received"), "delivered": N_("delivered"),
    "delivery_evidence": N_("delivery evidence"), "delivery_failed": N_("delivery failed"),
    "resend": N_("sent again"), "received_by_executing": N_("received by the executing State"),
    "certificate_received": N_("certificate received"), "under_decision": N_("under decision"),
    "recognised": N_("recognised"), "adapted": N_("adapted"), "refused": N_("refused"),
    "withdrawn": N_("withdrawn"), "withdrawal_waived": N_("withdrawal waived"),
    "withdrawal_window_closed": N_("withdrawal window closed"), "no_withdrawal": N_("no withdrawal"),
    "completion_requested": N_("completion requested"), "completion_received": N_("completed certificate received"),
    "completed_certificate": N_("completed certificate sent"), "consulted": N_("consulted"),
    "consultation_opened": N_("consultation opened"), "consultation_replied": N_("consultation answered"),
    "consultation_reply_received": N_("answer to the consultation received"),
    "delay_notified": N_("delay notified"), "decision_delayed": N_("decision delayed"),
    "max_custody_given": N_("maximum custody given"), "supervision_started": N_("supervision started"),
    "supervision_ended": N_("supervision ended"), "breach_reported": N_("breach reported"),
    "information_requested": N_("information requested"),
    "information_requested_by_executing": N_("information requested by the executing State"),
    "information_received": N_("information received"), "information_given": N_("information given"),
    "subsequent_decision": N_("subsequent decision"),
    "subsequent_decision_received": N_("subsequent decision received"),
    "person_not_found": N_("person not found"), "amnesty_pardon": N_("amnesty or pardon"),
    "transfer_back_requested": N_("transfer back requested"), "transferred_back": N_("transferred back"),
    "forwarded": N_("forwarded"), "forwarded_by_executing": N_("forwarded by the executing State"),
    "forwarding": N_("being forwarded to the competent authority"),
    "forwarding_failed": N_("forwarding failed: the competent authority could not be reached"),
    "transfer_back_declined": N_("transfer back declined"),
    "judgment_review_notified": N_("review of the judgment notified"),
    "judgment_review_received": N_("review of the judgment received"),
    "probation_period_ended": N_("probation period ended"), "alert": N_("alert"),
    "completed": N_("completed"), "revoked": N_("revoked"), "lapsed": N_("lapsed"),
}

# Keys of a timeline event's detail, as the timeline shows them.
DETAILS = {
    "grounds": N_("grounds"), "measures_changed": N_("measures changed"), "reason": N_("reason"),
    "reasons": N_("reasons"), "outcome": N_("outcome"), "stage": N_("stage"), "type": N_("type"),
    "to": N_("to"), "from": N_("from"), "channel": N_("channel"), "authority": N_("authority"),
    "due": N_("due"), "due_days": N_("days given"), "ground": N_("ground"), "decision": N_("decision"),
    "expected_by": N_("expected by"), "max_custody_days": N_("maximum custody"), "alert": N_("alert"),
    "adapter": N_("channel"), "evidence": N_("evidence"), "attempts": N_("attempts"), "language": N_("language"),
    "lang": N_("language"), "draft": N_("draft"), "via": N_("via"), "status": N_("status"),
    "executing_state": N_("executing State"), "received_at": N_("received"),
    "max_custody_requested": N_("maximum custody asked for"), "art_14_3": N_("issuing State competent (Art 14(3))"),
    "warnings": N_("warnings"), "messages": N_("messages"), "message": N_("message"),
    # The free text of a message (forms/messages.py text_fields), as the conversation panel names it.
    "question": N_("question"), "text": N_("answer"), "missing": N_("what is missing"),
    "judgment_sent_separately": N_("judgment sent separately"),
    # Art 6(7), 18(1): a certificate forwarded within the executing State says by whom and to whom.
    "forwarded": N_("forwarded"),
}

# The messages between nodes (CONTRACT §3): the catalogue's labels (forms/messages.py), translated.
MESSAGES = {str(kind): model.label for kind, model in MESSAGE_MODELS.items()}


def detail_value(key: str, value: Any, t: Translator) -> str:
    """A value of a timeline event's detail or of a message of the conversation as a person reads it, in the
    page's language: codes as the pages' and the forms' catalogue words (an outcome, a subsequent decision, a
    review, a reason for a transfer back, a channel), language codes as language names, States as country
    names, times and dates as the language writes them, yes/no, days counted; a nested structure (a forwarded
    certificate's `forwarded`) as a sentence. Free values as they are."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t.gettext("Yes") if value else t.gettext("No")
    if isinstance(value, dict):
        return _nested_value(key, value, t)
    if isinstance(value, list):
        return ", ".join(detail_value(key, v, t) for v in value) if value else "—"
    if key == "measures_changed" and isinstance(value, int):
        return str(value + 1)  # kept as the certificate's list index; box (j) counts its measures from 1
    if key == "max_custody_days" and isinstance(value, int):
        return duration_words(value, t)  # asked as years, months and days (web/page_parts.DURATION_FIELDS)
    if key.endswith("_days") and isinstance(value, int):
        return t.ngettext("%(num)s day", "%(num)s days", value)
    text = str(value)
    if key == "grounds" and text in GROUNDS:
        return label(GROUNDS, text, t)
    if key == "type":
        return label(MESSAGES, text, t)
    if key in _CHOSEN_KEYS:
        from web.page_parts import OPTION_LABELS  # page_parts imports this module

        if text in OUTCOMES:
            return label(OUTCOMES, text, t)
        if text in STAGES:
            return label(STAGES, text, t)
        if text in READ_OPTIONS:
            return t.gettext(READ_OPTIONS[text])
        if text in OPTION_LABELS and text not in ("true", "false"):
            return t.gettext(OPTION_LABELS[text])
    if key == "alert":
        return label(ALERTS, text, t)
    if key == "judgment_sent_separately":
        return label(SENT_SEPARATELY, text, t)
    if key in ("language", "lang") and re.fullmatch(r"[a-z]{2}", text):
        return form_catalogue(t.lang).language(text)
    if key in _STATE_KEYS and re.fullmatch(r"[A-Z]{2}", text):
        return country_name(text, t)
    if key in ("due", "expected_by"):
        return t.date(text) or text  # a day, whether a date or a time at midnight crossed the wire
    if key.endswith("_at"):
        shown = t.time(text) if "T" in text else t.date(text)
        return shown or text
    return text


# The detail keys whose value is a code of one of the law's lists (an outcome, a stage, a subsequent decision,
# a review's outcome, why the supervision goes back), read with web/page_parts.OPTION_LABELS where no outcome
# or stage has that code.
_CHOSEN_KEYS = frozenset({"outcome", "decision", "reason", "stage"})
_STATE_KEYS = frozenset({"executing_state", "issuing_state", "state"})
# Where the words of a choice are the chooser's (OPTION_LABELS: "no longer resides here", on the executing
# State's form), the words both States read it in: Art 20(1).
READ_OPTIONS = {"residence_lost": N_("the person no longer has a lawful and ordinary residence in the executing "
                                     "State")}

# Art 6(7), 18(1): a certificate forwarded within the executing State (forms/messages.ForwardedWithin).
FORWARDED_WITHIN = N_("by %(by)s to %(to)s; the executing State first received it on %(received)s")


def _nested_value(key: str, value: dict[str, Any], t: Translator) -> str:
    """A structure inside a message as a sentence: a forwarded certificate's `forwarded` in the law's words;
    any other as its entries, each named as the timeline names it."""
    if key == "forwarded" and {"by_authority", "to_authority"} <= set(value):
        return t.gettext(FORWARDED_WITHIN, by=str(value["by_authority"]), to=str(value["to_authority"]),
                         received=detail_value("received_at", value.get("received_at"), t))
    shown = [(k, v) for k, v in value.items() if not str(k).startswith("_") and v not in (None, "", [])]
    return "; ".join(f"{label(DETAILS, k, t)}: {detail_value(str(k), v, t)}" for k, v in shown) or "—"


ROLES = {"officer": N_("officer"), "prosecutor": N_("prosecutor"), "supervisor": N_("supervisor"),
         "auditor": N_("auditor"), "admin": N_("administrator"),
         # Who else writes the audit log and the timeline: the node itself, and a peer node over the link.
         "system": N_("system"), "peer": N_("peer node")}
# A timeline event's actor is a user's or a State's name, or the node itself.
ACTORS = {"system": N_("the system")}
DIRECTIONS = {"outgoing": N_("outgoing"), "incoming": N_("incoming")}


SEXES = {"female": N_("female"), "male": N_("male"), "unknown": N_("unknown")}
AGE_GROUPS = {"under 18": N_("under 18"), "65 and over": N_("65 and over"), "unknown": N_("unknown")}


def month_label(month: Any, t: Translator) -> str:
    """A statistics month (`2026-03`) as the language names it: "March 2026", "mars 2026"."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return str(month)
    return format_date(first, "LLLL y", locale=t.locale)


def form_catalogue(lang: str) -> Catalogue:
    """The certificate's own label catalogue (forms/labels) in the page's language, else the English one."""
    return catalogue(lang if lang in RENDER_LANGUAGES else SOURCE_LANGUAGE)


def country_name(code: Any, t: Translator) -> str:
    return form_catalogue(t.lang).country(str(code))


def _plain(code: Any) -> str:
    return str(code).replace("_", " ")


def label(table: Mapping[str, str], code: Any, t: Translator) -> str:
    """The code's label in `t`'s language; a code we have no label for reads as itself."""
    text = table.get(str(code))
    return t.gettext(text) if text else _plain(code)


def deadline_label(name: Any, t: Translator) -> str:
    if str(name).startswith("delivery:"):
        stage = str(name).split(":")[1]
        if stage in DELIVERY_STAGES:  # e-CODEX: the stage whose evidence is awaited (workflows/delivery.py)
            return t.gettext(DELIVERY_STAGE_DEADLINE, stage=t.gettext(DELIVERY_STAGES[stage]))
        return t.gettext(DELIVERY_DEADLINE)
    if str(name).startswith("measure:"):
        return t.gettext(MEASURE_DEADLINE, num=str(name).removeprefix("measure:"))
    return label(DEADLINES, name, t)


def action_label(name: Any, t: Translator, side: Any = None) -> str:
    entry = action_words(name, side)
    return t.gettext(entry[0]) if entry else _plain(name)


def action_summary(name: Any, t: Translator, side: Any = None) -> str:
    """What the action does, as a sentence (the catalogue writes it in lower case, to follow a label)."""
    entry = action_words(name, side)
    if not entry:
        return ""
    text = t.gettext(entry[1])
    return text[:1].upper() + text[1:]


def message_label(kind: Any, t: Translator) -> str:
    return label(MESSAGES, kind, t)


def _in_context(fn: Callable[[Any, Translator], str]) -> Callable[..., str]:
    @pass_context
    def call(context: Context, code: Any) -> str:
        return fn(code, translator(str(context.get("lang") or SOURCE_LANGUAGE)))

    return call


def _table(table: Mapping[str, str]) -> Callable[[Any, Translator], str]:
    return lambda code, t: label(table, code, t)


def problem_text(problem: Problem, t: Translator) -> str:
    """A finding of forms.validation in `t`'s language: its wording translated, its values put back in as a
    person reads them (Belgium, not BE; the decision's name, not `sursis_probatoire`)."""
    if not problem.template:
        return problem.message
    try:
        return t.gettext(problem.template).format(**_readable_values(dict(problem.values), t))
    except (KeyError, IndexError, ValueError):  # a translation naming a value the wording has not
        return problem.message


def _readable_values(values: dict[str, str], t: Translator) -> dict[str, str]:
    """The codes a finding names, in words: states, languages, the issuing State's decisions and measures."""
    forms = form_catalogue(t.lang)
    out = dict(values)
    profile = None
    if values.get("state"):
        try:
            profile = load_state(values["state"])
        except (KeyError, ValueError):
            profile = None
    for key in ("state", "asked"):
        if values.get(key):
            out[key] = forms.country(values[key])
    if values.get("language"):
        out["language"] = forms.language(values["language"])
    if values.get("accepted"):
        out["accepted"] = ", ".join(forms.language(c.strip()) for c in values["accepted"].split(","))
    if profile is not None and values.get("decision"):
        decision = profile.decision(values["decision"])
        if decision is not None:
            out["decision"] = decision.name.get(t.lang) or decision.name.get("en") or values["decision"]
    if profile is not None and values.get("measure"):
        national = profile.national_measure(values["measure"])
        if national is not None:
            out["measure"] = national.name.get(t.lang) or national.name.get("en") or values["measure"]
    if profile is not None and values.get("known"):
        notified = [profile.notified_measure(c.strip()) for c in values["known"].split(",")]
        out["known"] = "; ".join(n.description for n in notified if n is not None) or values["known"]
    for key in ("limit", "within"):  # a legal duration as the States' data writes it: "3y" reads "3 years"
        found = re.fullmatch(r"(\d+)([ymwd])", values.get(key, ""))
        if found:
            unit = {"y": "duration-year", "m": "duration-month", "w": "duration-week", "d": "duration-day"}
            out[key] = format_unit(int(found.group(1)), unit[found.group(2)], locale=formatting_locale(t.lang))
    if values.get("kind"):
        out["kind"] = forms.enum("JudgmentType", values["kind"].replace(" ", "_")) \
            if values["kind"].replace(" ", "_") in {j.value for j in JudgmentType} else values["kind"]
    return out


def split_days(days: int) -> tuple[int, int, int]:
    """Days as years, months and days, counted as the wizard counts what an officer enters
    (web.pages_wizard.duration_to_days: the law's mean Gregorian year): the most whole years, then the most
    whole months (fewer than 12), then the days left, so that "1 year 6 months" entered reads back so."""
    from web.pages_wizard import duration_to_days

    years = max(0, int(days // 365.2425) + 1)
    while years > 0 and duration_to_days(years, 0, 0) > days:
        years -= 1
    months = 11
    while months > 0 and duration_to_days(years, months, 0) > days:
        months -= 1
    return years, months, days - duration_to_days(years, months, 0)


# How a duration's parts are joined: "1 year and 6 months", "1 year, 6 months and 2 days".
DURATION_JOINS = {2: N_("%(first)s and %(second)s"), 3: N_("%(first)s, %(second)s and %(third)s")}


def duration_words(days: Any, t: Translator) -> str:
    """A duration kept in days (a measure of box (j), as the certificate stores it) in years, months and days
    in the page's language: "1 year", "6 mois", "8 Monate und 27 Tage (270 Tage)"."""
    if isinstance(days, bool) or not isinstance(days, int):
        return "—" if days is None or days == "" else str(days)
    if days <= 0:
        return t.ngettext("%(num)s day", "%(num)s days", days)
    years, months, rest = split_days(days)
    parts = [*([t.ngettext("%(num)s year", "%(num)s years", years)] if years else []),
             *([t.ngettext("%(num)s month", "%(num)s months", months)] if months else []),
             *([t.ngettext("%(num)s day", "%(num)s days", rest)] if rest else [])]
    words = parts[0] if len(parts) == 1 else t.gettext(DURATION_JOINS[len(parts)],
                                                       **dict(zip(("first", "second", "third"), parts, strict=False)))
    if rest and (years or months):
        # Years and months are the law's mean ones: 1095 days is 2 years, 11 months and 30 days. The days the
        # certificate states stay beside them, so that nobody reads "3 years" where it says 1095 days.
        return f"{words} ({t.ngettext('%(num)s day', '%(num)s days', days)})"
    return words


@pass_context
def _detail_in_context(context: Context, key: str, value: Any) -> str:
    return detail_value(key, value, translator(str(context.get("lang") or SOURCE_LANGUAGE)))


# Why personal data was read (store.audit.Purpose), as the audit page shows it.
PURPOSES = {"case_work": N_("case work"), "decision": N_("decision"), "supervision": N_("supervision"),
            "audit": N_("audit"), "subject_access": N_("subject access")}


def install(env: Any) -> None:
    env.globals.update(
        purpose_label=_in_context(_table(PURPOSES)),
        stage_label=_in_context(_table(STAGES)), outcome_label=_in_context(_table(OUTCOMES)),
        alert_label=_in_context(_table(ALERTS)), event_label=_in_context(_table(EVENTS)),
        detail_label=_in_context(_table(DETAILS)), role_label=_in_context(_table(ROLES)),
        actor_label=_in_context(actor_label),
        direction_label=_in_context(_table(DIRECTIONS)), basis_label=_in_context(_table(BASES)),
        deadline_status_label=_in_context(_table(DEADLINE_STATUSES)), sex_label=_in_context(_table(SEXES)),
        age_group_label=_in_context(lambda g, t: t.gettext(AGE_GROUPS[g]) if g in AGE_GROUPS else str(g)),
        month_label=_in_context(month_label), country_name=_in_context(country_name),
        detail_value=_detail_in_context, problem_text=_in_context(problem_text),
        ground_label=_in_context(_table(GROUNDS)),
        deadline_label=_in_context(deadline_label), action_label=_in_context(action_label),
        action_summary=_in_context(action_summary), message_label=_in_context(message_label),
        seal_detail=_in_context(seal_detail), box_label=_in_context(box_label),
        box_value=_box_value_in_context, duration_words=_in_context(duration_words))


# The default of PROBATIO_OIDC_LABEL (probatio/settings.py), so that the sign-in page can show it translated.
OIDC_DEFAULT_LABEL = N_("Sign in with your organisation's account")

# The prosecutor's tasks, as store/queues.py writes them (in English, in the database layer): marked here so
# that the queue page can show them translated. The page-language test fails when the two drift apart.
QUEUE_TASKS = (
    N_("Approve and sign the certificate (Art 6(3))"),
    N_("Answer the executing State's consultation (Art 11(3))"),
    N_("Withdraw or accept the adapted measures (Art 9(4))"),
    N_("Decide on recognition (Art 8, 11, 12)"),
    N_("Withdrawal window open: withdraw or let supervision start (Art 9(4))"),
    N_("Read the breach report and decide what follows (Art 17)"),
)

# Art 11(1) (a)-(k), in the words of the grounds (forms/law.py RefusalGround).
GROUNDS = {
    "a": N_("the certificate is incomplete or does not correspond to the judgment"),
    "b": N_("the criteria of Art 5 or 6(4) are not met"),
    "c": N_("ne bis in idem"),
    "d": N_("no double criminality"),
    "e": N_("enforcement is statute-barred"),
    "f": N_("immunity"),
    "g": N_("the person is below the age of criminal responsibility"),
    "h": N_("judgment given in absentia"),
    "i": N_("medical or therapeutic treatment that cannot be supervised"),
    "j": N_("the measure lasts less than six months"),
    "k": N_("offences committed in the executing State's territory"),
}


# What adapters/seal.py finds on a received PDF (its fixed wordings; a wording with the library's own error
# text in it is shown as it is).
SEAL_DETAILS = {
    "the document carries no seal": N_("the document carries no seal"),
    "the seal does not match the document: it was changed after sealing":
        N_("the seal does not match the document: it was changed after sealing"),
    "the document was extended after it was sealed": N_("the document was extended after it was sealed"),
    "the seal is intact but its certificate is not among the sending state's trust anchors in the directory":
        N_("the seal is intact but its certificate is not among the sending state's trust anchors in the "
           "directory"),
    "intact, covers the whole document, issued under a trust anchor of the sending state":
        N_("intact, covers the whole document, issued under a trust anchor of the sending state"),
}


def seal_detail(detail: Any, t: Translator) -> str:
    text = str(detail or "")
    return t.gettext(SEAL_DETAILS[text]) if text in SEAL_DETAILS else text


def actor_label(actor: Any, t: Translator) -> str:
    """Who did it, as a person reads it: the node itself, or the other State by its name (its node acts as
    `BE`, or `peer:BE` where it opened the case), else the user's name."""
    text = str(actor)
    if text in ACTORS:
        return t.gettext(ACTORS[text])
    code = text.removeprefix("peer:")
    if re.fullmatch(r"[A-Z]{2}", code):
        return country_name(code, t)
    return text


def box_label(path: Any, t: Translator) -> str:
    """A box of the certificate as a person finds it on the form, in the reader's language: the box's letter,
    the field's label as the wizard shows it, and the part of the box it is in where the box has that label more
    than once (box (e)'s three addresses): "(e) In the executing State: Postcode", "(j) Measure 2: Hours"."""
    from web.pages_wizard import STEPS, label_for, readable_path

    text = str(path)
    name = readable_path(text, t)
    for step in STEPS:
        for i, prefix in enumerate(step.prefixes):
            if text == prefix or text.startswith((prefix + ".", prefix + "[")):
                if readable_path(text, translator(SOURCE_LANGUAGE)) in _shared_labels(step.key) and "." in text:
                    part = label_for(text.rsplit(".", 1)[0], "annex1", t.lang)
                    name = t.gettext("%(part)s: %(label)s", part=part, label=name)
                boxes = step.boxes.split()
                return f"{boxes[i] if len(boxes) == len(step.prefixes) else step.boxes} {name}"
    return name


@cache
def _shared_labels(step_key: str) -> frozenset[str]:
    """The labels that more than one field of a wizard step has (in English)."""
    from collections import Counter

    from web.pages_wizard import STEP_BY_KEY, readable_path

    t = translator(SOURCE_LANGUAGE)
    counts = Counter(readable_path(f.path, t) for f in STEP_BY_KEY[step_key].fields)
    return frozenset(label for label, n in counts.items() if n > 1)


def box_value(path: Any, value: Any, issuing: Any, t: Translator) -> str:
    """A value of a certificate box as the certificate's own view shows it (forms/render.py): codes in the
    words of the forms' catalogue (states, languages, the lists of the law, the issuing State's decisions and
    measures), dates and durations as the page's language writes them, yes or no; free text as it is."""
    from web.pages_wizard import country_options, wizard_field

    text = str(path)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(box_value(path, v, issuing, t) for v in value)
    if isinstance(value, bool):
        return t.gettext("Yes") if value else t.gettext("No")
    forms = form_catalogue(t.lang)
    f = wizard_field(text)
    kind = f.kind if f is not None else ""
    name = text.rsplit(".", 1)[-1]
    code = str(value)
    if kind in ("country", "countries") or name in ("executing_state", "issuing_state"):
        named = forms.country(code)
        return named if named != code else dict(country_options(t.lang)).get(code, code)
    if kind in ("language", "languages") or name in ("language", "languages", "report_languages",
                                                      "languages_understood"):
        return forms.language(code)
    if kind == "date" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", code):
        try:
            return forms.date(date.fromisoformat(code))  # as the certificate writes a date: "2 June 1990"
        except ValueError:
            return code
    if kind == "duration" and isinstance(value, int):
        return forms.count("days", value)
    if name == "category" and text.startswith("measures["):
        return f"({code}) {_enum_words(forms, 'MeasureCategory', code)}"
    if name in ("national_decision", "national_measure"):
        try:
            profile = load_state(str(issuing))
        except (KeyError, ValueError):
            return code.replace("_", " ")
        found = profile.decision(code) if name == "national_decision" else profile.national_measure(code)
        names = found.name if found is not None else {}
        return str(names.get(forms.lang) or names.get("en") or code.replace("_", " "))
    if f is not None and f.enum:
        return _enum_words(forms, f.enum, code)
    if f is not None and f.options:
        return t.gettext(dict(f.options).get(code, code))
    return code


def _enum_words(forms: Catalogue, enum_name: str, value: str) -> str:
    try:
        return forms.enum(enum_name, value).rstrip(" :")  # a heading on the form, a value here
    except KeyError:
        return value.replace("_", " ")


@pass_context
def _box_value_in_context(context: Context, path: Any, value: Any, issuing: Any) -> str:
    return box_value(path, value, issuing, translator(str(context.get("lang") or SOURCE_LANGUAGE)))
