"""Five years of supervision with monthly events keep every history run small, and a scenario that
expects the wrong outcome makes `probatio simulate` fail with a readable diff."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from forms.examples import example_certificate
from probatio import simulate
from probatio.simulate import Infrastructure, Scenario, Simulation, Step, open_infrastructure
from workflows.case import HISTORY_BOUND


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
