"""Who may do what, in which stage, and the rules of the Framework Decision that need a case's facts.

The role × action matrix is the catalogue of the exchange (`forms.messages.ACTIONS`): pages, API and
workflow validators all consult it. The law's data (refusal grounds, subsequent decisions, Art 14(3),
review outcomes, transfer-back reasons) is in `forms.law`; the checks here apply it to one case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from forms.law import (
    CONSULTATION_REQUIRED,
    ISSUING_DECISIONS_UNDER_14_3,
    ISSUING_MAY_DECIDE_UNDER_14_3,
    RefusalGround,
    SubsequentDecision,
)
from forms.messages import ACTIONS, Action, action_model
from forms.stages import Side
from forms.validation import wording

# An action of the catalogue: its class holds side, roles, stages, article and body.
ActionRule = type[Action]

# How an action refusal is reported: the web layer maps these to HTTP statuses (403, 409, 422).
FORBIDDEN = "forbidden"
CONFLICT = "conflict"
INVALID = "invalid"


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused. `template` is the English wording (marked for the pages' translation with
    `wording`), `values` what goes into its %(name)s places; `reason` is the sentence the API answers."""

    kind: str  # FORBIDDEN | CONFLICT | INVALID
    template: str
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return self.template % dict(self.values) if self.values else self.template


def rule_for(side: Side, action: str) -> ActionRule | None:
    return action_model(side, action)


def check_role(rule: ActionRule, role: str) -> Refusal | None:
    if role not in rule.roles:
        allowed = " or ".join(sorted(rule.roles))
        return Refusal(FORBIDDEN, wording("%(action)s is for the %(roles)s, not the %(role)s"),
                       {"action": rule.name, "roles": allowed, "role": role})
    return None


def check_stage(rule: ActionRule, stage: str) -> Refusal | None:
    if stage in ("closed", "returned") and stage not in rule.stages:
        return Refusal(CONFLICT, wording("this case is %(stage)s: nothing more can be done on it (%(action)s is "
                                         "no longer possible)"), {"stage": stage, "action": rule.name})
    if stage not in rule.stages:
        return Refusal(CONFLICT, wording("%(action)s is not allowed in stage %(stage)s"),
                       {"action": rule.name, "stage": stage})
    return None


def allowed_actions(side: Side, role: str, stage: str) -> list[str]:
    """What a user of this role could try now; the workflow may still refuse on the case's facts."""
    return [name for name, r in ACTIONS[side].items() if role in r.roles and stage in r.stages]


# --- rules of the Framework Decision that need the case's facts: each once, named after its article ---


def art_9_4_withdrawal(*, supervision_started: bool, window_due: datetime | None, now: datetime) -> Refusal | None:
    """Withdrawal only before supervision began and, after an adaptation or max-custody notice, within 10 days."""
    if supervision_started:
        return Refusal(CONFLICT, wording("supervision has begun in the executing state: withdrawal is no longer "
                                         "possible (Art 9(4))"))
    if window_due is not None and now >= window_due:
        return Refusal(CONFLICT, wording("the 10 days to withdraw after the adaptation or maximum-custody notice "
                                         "ended on %(date)s (Art 9(4))"), {"date": window_due.date().isoformat()})
    return None


def art_11_refusal(grounds: list[str], consulted: set[str], *, answer_due: dict[str, datetime] | None = None,
                   answered: set[str] | None = None, now: datetime | None = None) -> Refusal | None:
    """A refusal names grounds of Art 11(1); on (a) (b) (c) (h) (i) (j) (k) only after consulting (11(3)), and
    consulting means an answer, ground by ground: the issuing side's reply, or the end of the period set when
    consulting on it. `answered`: the grounds whose consultation was answered (None: all of them)."""
    if not grounds:
        return Refusal(INVALID, wording("grounds: a refusal names at least one ground of Art 11(1)"))
    letters = {g.value for g in RefusalGround}
    unknown = [g for g in grounds if g not in letters]
    if unknown:
        return Refusal(INVALID, wording("grounds: %(grounds)s is not a letter of Art 11(1) (a)-(k)"),
                       {"grounds": ", ".join(unknown)})
    unconsulted = [g for g in grounds if RefusalGround(g) in CONSULTATION_REQUIRED and g not in consulted]
    if unconsulted:
        return Refusal(CONFLICT, wording("refusing on ground(s) %(grounds)s needs an earlier consultation of the "
                                         "issuing state (Art 11(3))"),
                       {"grounds": ", ".join(f"({g})" for g in unconsulted)})
    if answered is not None and now is not None and answer_due:
        waiting = sorted(g for g in grounds if g in answer_due and g not in answered and now < answer_due[g])
        if waiting:
            return Refusal(CONFLICT, wording("the issuing state has not yet answered the consultation on ground(s) "
                                             "%(grounds)s: wait for its answer or until %(date)s, the end of the "
                                             "period set when consulting (Art 11(3))"),
                           {"grounds": ", ".join(f"({g})" for g in waiting),
                            "date": max(answer_due[g] for g in waiting).date().isoformat()})
    return None


def art_14_subsequent(decision: object, *, side: Side, issuing_competent: bool) -> Refusal | None:
    """Who takes which subsequent decision: the executing state (14(1), 16(1)) unless it declared 14(3)."""
    if decision not in {d.value for d in SubsequentDecision}:
        return Refusal(INVALID, wording("decision: must be modify, revoke, execute_custody or lapse"))
    if side == Side.ISSUING and not issuing_competent:
        return Refusal(CONFLICT, wording("the executing state is competent for subsequent decisions (Art 14(1)); "
                                         "only where it declared Art 14(3) does the issuing state decide"))
    if side == Side.ISSUING and SubsequentDecision(str(decision)) not in ISSUING_MAY_DECIDE_UNDER_14_3:
        return Refusal(CONFLICT, wording("modifying the obligations, instructions or probation period stays with the "
                                         "executing state, under its own law (Art 14(1)(a), 14(3)); the issuing state "
                                         "may only revoke, order the custodial sentence or declare the measures "
                                         "lapsed"))
    if (side == Side.EXECUTING and issuing_competent
            and SubsequentDecision(str(decision)) in ISSUING_DECISIONS_UNDER_14_3):
        return Refusal(CONFLICT, wording("under this state's Art 14(3) declaration the issuing state takes this "
                                         "decision: report the breach on the Annex II form instead (Art 17)"))
    return None
