"""Five years of supervision with monthly events keep every history run small, the deadline loop's timer is
kept while its date holds and left to fire when it is about to, and a scenario that expects the wrong outcome
makes `probatio simulate` fail with a readable diff."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from forms.examples import example_certificate
from probatio import simulate
from probatio.simulate import Infrastructure, Scenario, Simulation, Step, open_infrastructure, skip_until
from workflows.case import HISTORY_BOUND, TIMER_LEFT_TO_FIRE
from workflows.model import Side, workflow_id


@pytest.fixture(scope="module")
async def infra(pg_server: str) -> AsyncIterator[Infrastructure]:
    infra = await open_infrastructure(pg_server)
    try:
        yield infra
    finally:
        await infra.close()


def five_years_of_monthly_requests() -> Scenario:
    steps = [Step(0, "LU.officer", "submit"), Step(0, "LU.prosecutor", "approve"),
             Step(10, "BE.prosecutor", "decide", {"outcome": "recognised"}),
             Step(11, "BE.officer", "start_supervision")]
    for month in range(1, 61):
        day = 11 + 30 * month
        steps += [Step(day, "LU.prosecutor", "request_information", {"question": f"report of month {month}?"}),
                  Step(day + 1, "BE.officer", "answer_information", {"text": "complied"})]
    return Scenario(name="five years of monthly reports", issuing="LU", executing="BE",
                    certificate=example_certificate("LU", "BE").model_dump(mode="json"), steps=steps,
                    expect={"LU.stage": "transferred", "BE.stage": "supervising"})


async def test_five_years_of_monthly_events_stay_under_the_history_bound(infra: Infrastructure) -> None:
    async with Simulation(infra, five_years_of_monthly_requests()) as sim:
        out = await sim.run()
        assert out.passed, simulate.format_outcome(out)
        histories = await sim.histories()
    for wid, runs in histories.items():
        lengths = [len(h.events) for h in runs]
        # Without continue-as-new one run would hold every event of the five years (well over 2,000).
        assert sum(lengths) > 2 * HISTORY_BOUND, (wid, lengths)
        assert max(lengths) < HISTORY_BOUND, (wid, lengths)
        assert len(runs) >= 3, (wid, lengths)
    # 60 requests and 60 answers crossed the link, none lost across the runs.
    assert out.messages.count("information_request") == 60
    assert out.messages.count("information") == 60


def _during(events: list[Any], update: str) -> list[Any]:
    """The events from the acceptance of the (only) update `update` to its completion."""
    start = next(n for n, e in enumerate(events) if e.HasField("workflow_execution_update_accepted_event_attributes")
                 and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == update)
    end = next(n for n, e in enumerate(events) if n > start
               and e.HasField("workflow_execution_update_completed_event_attributes"))
    return events[start:end]


async def test_the_deadline_timer_is_kept_while_its_date_holds_and_left_to_fire_when_about_to(
        infra: Infrastructure) -> None:
    # BE recognises on day 10, which opens its duty to start supervising (Art 8(1)); the officer starts it
    # half a minute before that duty falls due. The loop's timer for the duty is then left to fire, not
    # cancelled: the time-skipping test server refuses a completion that cancels a timer fired meanwhile, and
    # the case stopped whenever an action came one deadline after the action that set it (scenario 48).
    scenario = Scenario(name="a timer about to fire", issuing="LU", executing="BE",
                        certificate=example_certificate("LU", "BE").model_dump(mode="json"),
                        steps=[Step(0, "LU.officer", "submit"), Step(0, "LU.prosecutor", "approve"),
                               Step(10, "BE.prosecutor", "decide", {"outcome": "recognised"})], expect={})
    async with Simulation(infra, scenario) as sim:
        out = await sim.run()
        assert out.passed, simulate.format_outcome(out)
        view = await sim.side_view("BE")
        assert view is not None
        duty = next(d for d in view["deadlines"] if d["name"] == "duty:start_supervision")
        due = datetime.fromisoformat(duty["due"])
        await skip_until(sim.clock, due - TIMER_LEFT_TO_FIRE / 2)
        status, answer = await sim.act(Step(0, "BE.officer", "start_supervision"))
        assert status == 200, answer
        await skip_until(sim.clock, due + timedelta(days=1))
        # A breach report changes no date: the loop waits on the same timer.
        status, answer = await sim.act(Step(0, "BE.officer", "report_breach", {"breach": "example"}))
        assert status == 200, answer
        await sim.settle()
        runs = (await sim.histories())[workflow_id(Side.EXECUTING, sim.case_id or "")]

    started = runs[0].events
    duty_timers = [e for e in started if e.HasField("timer_started_event_attributes")
                   and abs(e.event_time.ToDatetime(tzinfo=due.tzinfo)
                           + e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() - due)
                   < timedelta(seconds=1)]
    assert len(duty_timers) == 1, "the loop set one timer for the duty"
    timer_id = duty_timers[0].timer_started_event_attributes.timer_id
    assert not [e for e in started if e.HasField("timer_canceled_event_attributes")
                and e.timer_canceled_event_attributes.timer_id == timer_id], "the timer about to fire was cancelled"
    # (Supervision starts in a run of its own: the run ends before the timer fires.) The breach report is in
    # the last run.
    during = _during(runs[-1].events, "report_breach")
    assert not [e for e in during if e.HasField("timer_started_event_attributes")
                or e.HasField("timer_canceled_event_attributes")], "an action that moves no date touched the timer"


WRONG = """
name: adaptation, then withdrawal - but the file expects completion
issuing: LU
executing: BE
steps:
  - {day: 0,  actor: LU.officer,    action: submit}
  - {day: 0,  actor: LU.prosecutor, action: approve}
  - {day: 20, actor: BE.prosecutor, action: decide, body: {outcome: adapted, measures: [{measure: 4, hours: 100}]}}
  - {day: 25, actor: LU.prosecutor, action: withdraw, body: {reason: "too weak"}}
expect:
  LU.outcome: completed
  messages: [certificate, acknowledgement, decision, supervision_started]
"""


def test_a_scenario_expecting_the_wrong_outcome_fails_with_a_diff(
        tmp_path: Path, pg_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG, encoding="utf-8")
    monkeypatch.setenv("PROBATIO_DATABASE_URL", pg_server)
    code = simulate.handler(argparse.Namespace(scenario=str(path), json=False, record_histories=None))
    printed = capsys.readouterr().out
    assert code == 1
    assert "LU.outcome: expected 'completed', actual 'withdrawn'" in printed
    assert "-supervision_started" in printed and "+withdrawal" in printed
