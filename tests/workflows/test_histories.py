"""Recorded histories guard running transfers: a workflow change that would break them fails here, and
none of them holds the sentenced person's personal data.

The histories under histories/ were recorded from scenarios with
`probatio simulate tests/scenarios/NN-….yaml --record-histories tests/workflows/histories`, except
outgoing-over-ecodex-stage-evidence-timers-run1.json: the LU side of the transfer in
tests/delivery/test_ecodex_transfer.py (two connector fakes), fetched once the three evidences had come. Scenarios 18
(the breach report's alert), 39 (a late delay notice), 43 (the completion period missed) and 51 (a decision ends the
issuing side's duties) were recorded on 2026-11-30 with every patch of that day. Record new
ones when a workflow gains behaviour; never re-record to make this test pass: a failure means running
transfers would break, and the change needs `workflow.patched`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from forms.examples import example_certificate
from probatio.node import WORKFLOWS
from probatio.runner import workflow_runner
from workflows.model import CaseState, TransferInput
from workflows.outgoing import OutgoingTransfer

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


async def all_histories() -> AsyncIterator[WorkflowHistory]:
    for path in HISTORIES:
        yield load(path)


def test_histories_are_recorded_for_both_sides_and_for_continued_runs() -> None:
    names = [p.name for p in HISTORIES]
    assert any(n.startswith("outgoing-") for n in names) and any(n.startswith("incoming-") for n in names)
    # Supervision begins in a run of its own: a second run's history must be among the recordings.
    assert any(n.endswith("-run2.json") for n in names)


async def test_every_recorded_history_replays_with_the_current_workflows() -> None:
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner(),
                        data_converter=pydantic_data_converter)
    results = await replayer.replay_workflows(all_histories(), raise_on_replay_failure=False)
    failed = {run_id: str(err) for run_id, err in results.replay_failures.items()}
    assert not failed, failed


@workflow.defn(name="OutgoingTransfer")
class ChangedOutgoingTransfer(OutgoingTransfer):
    """A careless change: the projection is no longer written when the case is created."""

    @workflow.run
    async def run(self, inp: TransferInput) -> CaseState:
        await workflow.wait_condition(lambda: self.closed)
        return self.state()


async def test_a_change_that_breaks_running_transfers_fails_the_replay() -> None:
    outgoing = [load(p) for p in HISTORIES if p.name.startswith("outgoing-") and p.name.endswith("-run1.json")]
    assert outgoing
    # Outside the sandbox only because this module (pytest) cannot be imported inside it.
    replayer = Replayer(workflows=[ChangedOutgoingTransfer], workflow_runner=UnsandboxedWorkflowRunner(),
                        data_converter=pydantic_data_converter)
    with pytest.raises(Exception, match=r"[Nn]ondetermin"):
        await replayer.replay_workflow(outgoing[0])


def personal_data() -> list[str]:
    """The example person's name, birth date, identity numbers and addresses, as the scenarios sent them."""
    terms: set[str] = set()
    for executing in ("BE", "NL"):
        person = example_certificate("LU", executing).person
        terms |= {person.surname, person.forenames, person.date_of_birth.isoformat(), person.place_of_birth or ""}
        terms |= {person.identity_number or ""} | {d.number for d in person.identity_documents}
        for address in (person.addresses.in_issuing_state, person.addresses.in_executing_state):
            if address is not None:
                terms |= {address.street, address.postcode or "", address.city}
    return sorted(t for t in terms if t and len(t) >= 4)


def found_in(text: str, terms: list[str]) -> list[str]:
    # Histories are JSON: compare against the JSON-escaped form too (an apostrophe, an accent).
    lowered = text.lower()
    return [t for t in terms if t.lower() in lowered or json.dumps(t)[1:-1].lower() in lowered]


def test_the_scan_would_find_personal_data() -> None:
    # Guard the guard: a history that did carry the surname and the birth date is caught.
    terms = personal_data()
    assert "Muller" in terms and "1990-06-02" in terms
    leaked = json.dumps({"events": [{"input": {"surname": "Muller", "born": "1990-06-02"}}]})
    assert found_in(leaked, terms) == ["1990-06-02", "Muller"]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_no_history_holds_personal_data(path: Path) -> None:
    assert found_in(path.read_text(encoding="utf-8"), personal_data()) == []
