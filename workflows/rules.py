"""The role × action matrix of CONTRACT §3: who may do what, in which stage. Pages, API and workflow
validators all consult this one table; rules that need case facts (consultation before refusal, the
withdrawal window) are checked by the workflow itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from workflows.stages import ExecutingStage as E
from workflows.stages import IssuingStage as I
from workflows.stages import Side

OFFICER = "officer"
PROSECUTOR = "prosecutor"


@dataclass(frozen=True)
class ActionRule:
    side: Side
    name: str
    roles: frozenset[str]
    stages: frozenset[str]
    article: str
    # Body fields that are free text: they may carry personal data, so they go to the database as a
    # note and never into the workflow history.
    text_fields: frozenset[str] = field(default_factory=frozenset)
    # Required body fields (structured or text); a missing one is a 422 before anything happens.
    required: frozenset[str] = field(default_factory=frozenset)
    summary: str = ""


def _rule(side: Side, name: str, roles: set[str], stages: Iterable[str], article: str, *, text: set[str] | None = None,
          required: set[str] | None = None, summary: str = "") -> ActionRule:
    return ActionRule(side, name, frozenset(roles), frozenset(stages), article, frozenset(text or ()),
                      frozenset(required or ()), summary)


_BEFORE_SUPERVISION = {I.SENT, I.UNDER_DECISION, I.COMPLETION_REQUESTED, I.CONSULTATION, I.ADAPTED, I.TRANSFERRED}

ISSUING_ACTIONS: dict[str, ActionRule] = {r.name: r for r in [
    _rule(Side.ISSUING, "submit", {OFFICER}, {I.DRAFT}, "5, 6(4), 21", summary="send to the prosecutor for approval"),
    _rule(Side.ISSUING, "return", {PROSECUTOR}, {I.AWAITING_APPROVAL}, "6(3)", text={"reason"}, required={"reason"},
          summary="send back to the officer"),
    _rule(Side.ISSUING, "approve", {PROSECUTOR}, {I.AWAITING_APPROVAL}, "6(1)-(3), 21",
          summary="sign and send the certificate"),
    _rule(Side.ISSUING, "complete", {OFFICER}, {I.COMPLETION_REQUESTED}, "8(2)", text={"certificate"},
          required={"certificate"}, summary="send the completed certificate"),
    _rule(Side.ISSUING, "reply", {PROSECUTOR}, {I.CONSULTATION, I.UNDER_DECISION, I.TRANSFERRED}, "11(3), 17(1)(c)",
          text={"text"}, required={"text"}, summary="answer a consultation or information request"),
    _rule(Side.ISSUING, "withdraw", {PROSECUTOR}, _BEFORE_SUPERVISION, "9(4)", text={"reason"}, required={"reason"},
          summary="withdraw the certificate"),
    _rule(Side.ISSUING, "confirm_no_withdrawal", {PROSECUTOR}, {I.ADAPTED, I.UNDER_DECISION, I.TRANSFERRED}, "9(4)",
          summary="let supervision start at once"),
    _rule(Side.ISSUING, "decide_subsequent", {PROSECUTOR}, {I.TRANSFERRED}, "17(4)", text={"reasons", "measures"},
          required={"decision"}, summary="subsequent decision (issuing state competent, 14(3))"),
    _rule(Side.ISSUING, "request_transfer_back", {PROSECUTOR}, {I.TRANSFERRED}, "20(2)", text={"reason"},
          required={"reason"}, summary="ask for the supervision back"),
    _rule(Side.ISSUING, "notify_review", {PROSECUTOR},
          {I.SENT, I.UNDER_DECISION, I.COMPLETION_REQUESTED, I.CONSULTATION, I.ADAPTED, I.TRANSFERRED}, "19",
          text={"reasons"}, required={"outcome"},
          summary="tell the executing state of a review of the judgment (annulled, amended, confirmed)"),
    _rule(Side.ISSUING, "request_information", {PROSECUTOR}, {I.TRANSFERRED}, "17(1)(c)", text={"question"},
          required={"question"}, summary="ask the executing state for facts needed for a subsequent decision"),
    _rule(Side.ISSUING, "resend", {OFFICER, PROSECUTOR, "admin"},
          {s for s in I if s != I.DRAFT}, "6(2)", text={"reason"}, required={"reason"},
          summary="send again the messages whose delivery failed"),
]}

ExS = {E.RECEIVED, E.UNDER_DECISION}
EXECUTING_ACTIONS: dict[str, ActionRule] = {r.name: r for r in [
    _rule(Side.EXECUTING, "forward", {PROSECUTOR}, ExS, "6(7), 18(1)", required={"authority"},
          summary="forward to the competent authority"),
    _rule(Side.EXECUTING, "request_completion", {PROSECUTOR}, {E.UNDER_DECISION}, "8(2), 11(1)(a)",
          text={"missing"}, required={"missing", "due_days"}, summary="ask for a completed certificate"),
    _rule(Side.EXECUTING, "consult", {PROSECUTOR}, {E.UNDER_DECISION}, "11(3)", text={"question"},
          required={"ground", "question"}, summary="consult before refusing"),
    _rule(Side.EXECUTING, "notify_delay", {PROSECUTOR}, {E.UNDER_DECISION}, "12(2)", text={"reasons"},
          required={"reasons", "expected_by"}, summary="the 60 days cannot be kept"),
    _rule(Side.EXECUTING, "give_max_custody", {PROSECUTOR}, ExS, "16(2)", required={"max_custody_days"},
          summary="maximum custody on non-compliance"),
    _rule(Side.EXECUTING, "decide", {PROSECUTOR}, {E.UNDER_DECISION}, "8, 9, 11, 12(1), 18(3)-(5)",
          text={"reasons", "measures"}, required={"outcome"}, summary="recognise, adapt or refuse"),
    _rule(Side.EXECUTING, "start_supervision", {OFFICER}, {E.RECOGNISED}, "8(1)", summary="supervision begins"),
    _rule(Side.EXECUTING, "report_breach", {OFFICER}, {E.SUPERVISING}, "17", text={"breach"}, required={"breach"},
          summary="report a breach on the Annex II form"),
    _rule(Side.EXECUTING, "answer_information", {OFFICER, PROSECUTOR}, {E.SUPERVISING}, "17(1)(c)", text={"text"},
          required={"text"}, summary="give the facts the issuing state asked for"),
    _rule(Side.EXECUTING, "report_not_found", {OFFICER}, {E.RECOGNISED, E.SUPERVISING}, "18(2)",
          summary="the person cannot be found"),
    _rule(Side.EXECUTING, "notify_amnesty", {PROSECUTOR}, {E.SUPERVISING}, "18(6)", text={"reasons"},
          summary="amnesty or pardon"),
    _rule(Side.EXECUTING, "decide_subsequent", {PROSECUTOR}, {E.SUPERVISING}, "16(1)", text={"reasons", "measures"},
          required={"decision"}, summary="subsequent decision (executing state competent)"),
    _rule(Side.EXECUTING, "transfer_back", {PROSECUTOR}, {E.SUPERVISING}, "20", required={"reason"},
          summary="give the supervision back"),
    _rule(Side.EXECUTING, "end_supervision", {OFFICER}, {E.SUPERVISING}, "16(1)(d)",
          summary="probation period over, measures complied with"),
    _rule(Side.EXECUTING, "resend", {OFFICER, PROSECUTOR, "admin"}, {s for s in E}, "6(2)", text={"reason"},
          required={"reason"}, summary="send again the messages whose delivery failed"),
]}

ACTIONS: dict[Side, dict[str, ActionRule]] = {Side.ISSUING: ISSUING_ACTIONS, Side.EXECUTING: EXECUTING_ACTIONS}

# How an action refusal is reported: the web layer maps these to HTTP statuses (403, 409, 422).
FORBIDDEN = "forbidden"
CONFLICT = "conflict"
INVALID = "invalid"


@dataclass(frozen=True)
class Refusal:
    kind: str  # FORBIDDEN | CONFLICT | INVALID
    reason: str


def rule_for(side: Side, action: str) -> ActionRule | None:
    return ACTIONS[side].get(action)


def check_role(rule: ActionRule, role: str) -> Refusal | None:
    if role not in rule.roles:
        allowed = " or ".join(sorted(rule.roles))
        return Refusal(FORBIDDEN, f"{rule.name} is for the {allowed}, not the {role}")
    return None


def check_stage(rule: ActionRule, stage: str) -> Refusal | None:
    if stage not in rule.stages:
        return Refusal(CONFLICT, f"{rule.name} is not allowed in stage {stage}")
    return None


def check_body(rule: ActionRule, body: dict[str, object], *, structured_only: bool = False) -> Refusal | None:
    """Required fields present. The workflow sees only structured fields (`structured_only`)."""
    required = rule.required - rule.text_fields if structured_only else rule.required
    missing = sorted(f for f in required if body.get(f) in (None, "", []))
    if missing:
        return Refusal(INVALID, "; ".join(f"{f}: required for {rule.name}" for f in missing))
    return None


def allowed_actions(side: Side, role: str, stage: str) -> list[str]:
    """What a user of this role could try now; the workflow may still refuse on the case's facts."""
    return [name for name, r in ACTIONS[side].items() if role in r.roles and stage in r.stages]


# --- rules of the Framework Decision that need the case's facts: each once, named after its article ---

# Art 11(1): the grounds for refusal, by letter; Art 11(3): those that need an earlier consultation.
REFUSAL_GROUNDS = frozenset("abcdefghijk")
CONSULT_BEFORE_REFUSAL = frozenset("abchijk")

# Art 14(1), 16(1), 17(4): subsequent decisions, and the outcome each gives the case (None: it goes on).
SUBSEQUENT_DECISIONS: dict[str, str | None] = {
    "modify": None, "revoke": "revoked", "execute_custody": "revoked", "lapse": "lapsed",
}
# Art 14(3): the decisions a declaring executing state leaves to the issuing state (14(1)(b)-(c)).
ISSUING_DECISIONS_UNDER_14_3 = frozenset({"revoke", "execute_custody"})

# Art 19: what the issuing state may report about a review of the judgment; an annulled judgment leaves
# nothing to supervise, so the measure lapses on both sides.
REVIEW_OUTCOMES: dict[str, str | None] = {"annulled": "lapsed", "amended": None, "confirmed": None}

# Art 20(1) (absconded, residence lost) and 20(2) (the issuing state asked).
TRANSFER_BACK_REASONS = frozenset({"absconded", "residence_lost", "issuing_request"})


def art_9_4_withdrawal(*, supervision_started: bool, window_due: datetime | None, now: datetime) -> Refusal | None:
    """Withdrawal only before supervision began and, after an adaptation or max-custody notice, within 10 days."""
    if supervision_started:
        return Refusal(CONFLICT, "supervision has begun in the executing state: withdrawal is no longer possible "
                                 "(Art 9(4))")
    if window_due is not None and now >= window_due:
        return Refusal(CONFLICT, "the 10 days to withdraw after the adaptation or maximum-custody notice ended on "
                                 f"{window_due.date().isoformat()} (Art 9(4))")
    return None


def art_11_refusal(grounds: list[str], consulted: set[str]) -> Refusal | None:
    """A refusal names grounds of Art 11(1); on (a) (b) (c) (h) (i) (j) (k) only after consulting (11(3))."""
    if not grounds:
        return Refusal(INVALID, "grounds: a refusal names at least one ground of Art 11(1)")
    unknown = [g for g in grounds if g not in REFUSAL_GROUNDS]
    if unknown:
        return Refusal(INVALID, f"grounds: {', '.join(unknown)} is not a letter of Art 11(1) (a)-(k)")
    unconsulted = [g for g in grounds if g in CONSULT_BEFORE_REFUSAL and g not in consulted]
    if unconsulted:
        return Refusal(CONFLICT, "refusing on ground(s) " + ", ".join(f"({g})" for g in unconsulted)
                       + " needs an earlier consultation of the issuing state (Art 11(3))")
    return None


def art_14_subsequent(decision: object, *, side: Side, issuing_competent: bool) -> Refusal | None:
    """Who takes which subsequent decision: the executing state (14(1), 16(1)) unless it declared 14(3)."""
    if decision not in SUBSEQUENT_DECISIONS:
        return Refusal(INVALID, "decision: must be modify, revoke, execute_custody or lapse")
    if side == Side.ISSUING and not issuing_competent:
        return Refusal(CONFLICT, "the executing state is competent for subsequent decisions (Art 14(1)); only where "
                                 "it declared Art 14(3) does the issuing state decide")
    if side == Side.EXECUTING and issuing_competent and decision in ISSUING_DECISIONS_UNDER_14_3:
        return Refusal(CONFLICT, "under this state's Art 14(3) declaration the issuing state takes this decision: "
                                 "report the breach on the Annex II form instead (Art 17)")
    return None
