"""The role × action matrix and the deadline arithmetic, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from forms.messages import ActionRefused, parse_action
from workflows import deadlines as dl
from workflows.rules import (
    ACTIONS,
    CONFLICT,
    FORBIDDEN,
    allowed_actions,
    check_role,
    check_stage,
    rule_for,
)
from workflows.stages import Alert, ExecutingStage, IssuingStage, Side

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_every_contract_action_is_in_the_matrix() -> None:
    issuing = {"submit", "return", "approve", "complete", "reply", "withdraw", "confirm_no_withdrawal",
               "decide_subsequent", "request_transfer_back", "notify_review"}
    executing = {"forward", "request_completion", "consult", "notify_delay", "give_max_custody", "decide",
                 "start_supervision", "report_breach", "report_not_found", "notify_amnesty", "decide_subsequent",
                 "transfer_back", "end_supervision"}
    assert issuing <= set(ACTIONS[Side.ISSUING])
    assert executing <= set(ACTIONS[Side.EXECUTING])
    for side, stages in ((Side.ISSUING, set(IssuingStage)), (Side.EXECUTING, set(ExecutingStage))):
        for rule in ACTIONS[side].values():
            assert rule.stages <= stages, f"{rule.name} names a stage that does not exist"


@pytest.mark.parametrize(("side", "action", "role", "stage", "kind"), [
    (Side.ISSUING, "approve", "officer", IssuingStage.AWAITING_APPROVAL, FORBIDDEN),
    (Side.ISSUING, "approve", "prosecutor", IssuingStage.DRAFT, CONFLICT),
    (Side.ISSUING, "submit", "prosecutor", IssuingStage.DRAFT, FORBIDDEN),
    (Side.EXECUTING, "decide", "officer", ExecutingStage.UNDER_DECISION, FORBIDDEN),
    (Side.EXECUTING, "start_supervision", "officer", ExecutingStage.UNDER_DECISION, CONFLICT),
    (Side.EXECUTING, "decide", "supervisor", ExecutingStage.UNDER_DECISION, FORBIDDEN),
])
def test_refusals_name_the_reason(side: Side, action: str, role: str, stage: str, kind: str) -> None:
    rule = rule_for(side, action)
    assert rule is not None
    refusal = check_role(rule, role) or check_stage(rule, stage)
    assert refusal is not None and refusal.kind == kind
    assert action in refusal.reason


def test_allowed_actions_follow_role_and_stage() -> None:
    assert allowed_actions(Side.ISSUING, "officer", IssuingStage.DRAFT) == ["submit"]
    assert set(allowed_actions(Side.ISSUING, "prosecutor", IssuingStage.AWAITING_APPROVAL)) >= {"approve", "return"}
    assert "approve" not in allowed_actions(Side.ISSUING, "officer", IssuingStage.AWAITING_APPROVAL)
    assert allowed_actions(Side.EXECUTING, "auditor", ExecutingStage.UNDER_DECISION) == []


def test_required_fields_and_free_text() -> None:
    with pytest.raises(ActionRefused) as refused:
        parse_action(Side.EXECUTING, "notify_delay", {"expected_by": "2027-01-01"})
    assert refused.value.problems == [("reasons", "required for notify_delay")]
    parsed = parse_action(Side.EXECUTING, "notify_delay", {"expected_by": "2027-01-01", "reasons": "the hearing"})
    # The workflow never sees free text: it goes to a note in PostgreSQL.
    assert parsed.structured() == {"expected_by": "2027-01-01"}
    assert parsed.texts() == {"reasons": "the hearing"}


def test_working_days_skip_weekends() -> None:
    friday = MONDAY + timedelta(days=4)
    assert dl.add_working_days(MONDAY, 2) == MONDAY + timedelta(days=2)
    assert dl.add_working_days(friday, 1) == friday + timedelta(days=3)  # the next Monday
    assert dl.add_working_days(friday, 2) == friday + timedelta(days=4)


def test_decision_clock_alerts() -> None:
    decision = dl.Deadline(name=dl.DECISION, due=MONDAY + dl.DECISION_PERIOD, basis="law", article="12(1)")
    assert dl.alerts_at([decision], MONDAY) == set()
    assert dl.next_wakeup([decision], MONDAY) == decision.due - timedelta(days=15)
    assert dl.alerts_at([decision], decision.due - timedelta(days=15)) == {Alert.DECISION_DUE_SOON}
    assert dl.alerts_at([decision], decision.due) == {Alert.DECISION_OVERDUE}
    decision.status = "met"
    assert dl.alerts_at([decision], decision.due + timedelta(days=1)) == set()


def test_withdrawal_window_closes_and_duties_go_overdue() -> None:
    window = dl.Deadline(name=dl.WITHDRAWAL_WINDOW_NAME, due=MONDAY + dl.WITHDRAWAL_WINDOW, basis="law",
                         article="9(4)")
    duty = dl.duty("start_supervision", MONDAY, "8(1)")
    assert dl.alerts_at([window, duty], MONDAY) == {Alert.WITHDRAWAL_WINDOW_OPEN}
    later = MONDAY + timedelta(days=11)
    assert dl.mark_missed([window, duty], later)
    assert window.status == "met" and duty.status == "missed"
    assert dl.alerts_at([window, duty], later) == {Alert.DUTY_OVERDUE}
    assert dl.next_wakeup([window, duty], later) is None


def test_delivery_without_evidence_alerts_after_24_hours() -> None:
    wait = dl.Deadline(name=dl.DELIVERY_PREFIX + "m1", due=MONDAY + timedelta(hours=24), basis="policy",
                       article="6(2)")
    assert dl.alerts_at([wait], MONDAY + timedelta(hours=23)) == set()
    assert dl.alerts_at([wait], MONDAY + timedelta(hours=24)) == {Alert.DELIVERY_UNCONFIRMED}
