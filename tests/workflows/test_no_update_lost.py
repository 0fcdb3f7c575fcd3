"""No update is lost when a run ends: every closing action fired within milliseconds of `start_supervision`
(which begins a new run) or of the history threshold is either refused with a reason before it is accepted,
or carried out with its message sent. 100 runs in a row, on the real Temporal dev server, with the
workflows as they are and activities that only record what they were asked to do."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

import workflows.case
from forms.messages import ACTIONS, ActionFields, ActionInput, Actor, DecideUpdate, TransferBackActionFields
from probatio.node import WORKFLOWS
from probatio.runner import workflow_runner
from tests.support import NeverHappened
from workflows.model import (
    ActionResult,
    AdaptationCheck,
    CaseFacts,
    CaseMemory,
    CaseProjection,
    LinkMessage,
    OutgoingMessage,
    SendResult,
    SubmissionCheck,
    TransferInput,
    workflow_id,
)
from workflows.stages import Side

pytestmark = pytest.mark.integration
T = TypeVar("T")

# The closing actions of the executing side, and the message each must send when it is carried out.
CLOSING: dict[str, tuple[str, type[ActionFields], dict[str, str]]] = {
    "end_supervision": ("supervision_ended", ActionFields, {}),
    "transfer_back": ("transfer_back", TransferBackActionFields, {"reason": "absconded"}),
    "notify_amnesty": ("amnesty_pardon", ActionFields, {}),
    "report_not_found": ("person_not_found", ActionFields, {}),
}
ROLE = {"end_supervision": "officer", "report_not_found": "officer", "report_breach": "officer",
        "transfer_back": "prosecutor", "notify_amnesty": "prosecutor", "decide": "prosecutor",
        "start_supervision": "officer"}


class Recorder:
    """Activities that do nothing but remember which messages each case sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = defaultdict(list)

    @activity.defn(name="record_case")
    async def record_case(self, projection: CaseProjection) -> None:
        return None

    @activity.defn(name="load_facts")
    async def load_facts(self, case_id: str) -> CaseFacts:
        return CaseFacts(probation_period_days=365, measure_count=1)

    @activity.defn(name="check_certificate")
    async def check_certificate(self, case_id: str) -> SubmissionCheck:
        return SubmissionCheck()

    @activity.defn(name="prepare_certificate")
    async def prepare_certificate(self, case_id: str) -> str:
        return "fr"

    @activity.defn(name="check_adaptation")
    async def check_adaptation(self, case_id: str, note_id: str | None) -> AdaptationCheck:
        return AdaptationCheck()

    @activity.defn(name="send_message")
    async def send_message(self, msg: OutgoingMessage) -> SendResult:
        self.sent[msg.case_id].append(msg.type)
        return SendResult(message_id=msg.message_id, delivered=True, adapter="nodelink")

    def all(self) -> list[object]:
        return [self.record_case, self.load_facts, self.check_certificate, self.prepare_certificate,
                self.check_adaptation, self.send_message]


@pytest.fixture(scope="module")
async def worker(temporal_client: Client) -> AsyncIterator[tuple[Client, str, Recorder]]:
    queue = f"no-update-lost-{uuid.uuid4()}"
    recorder = Recorder()
    async with Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS, activities=recorder.all(),
                      workflow_runner=workflow_runner()):
        yield temporal_client, queue, recorder


def action(name: str, body: ActionFields | None = None) -> ActionInput[ActionFields]:
    # Parametrised with the body's own class: a model field typed as the base would serialise only the base.
    body = body or ActionFields()
    return ActionInput[type(body)](actor=Actor(name=ROLE[name], role=ROLE[name], authorities=["BE"]),  # type: ignore[misc]
                                   body=body)


async def supervised_soon(client: Client, queue: str) -> str:
    """An incoming case, recognised, whose supervision is about to start."""
    case_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    certificate = LinkMessage(message_id=f"{case_id}-cert", type="certificate", from_state="LU", sent_at=now,
                              received_at=now, body={"language": "fr"})
    await client.start_workflow(
        "IncomingTransfer", TransferInput(case_id=case_id, issuing_state="LU", executing_state="BE",
                                          authority="BE", created_by="peer:LU"),
        id=workflow_id(Side.EXECUTING, case_id), task_queue=queue, start_signal="receive",
        start_signal_args=[certificate])
    handle = client.get_workflow_handle(workflow_id(Side.EXECUTING, case_id))
    await soon(partial(handle.query, "full_state", result_type=CaseMemory), lambda m: m.stage == "under_decision")
    decide = ActionInput[DecideUpdate](actor=Actor(name="p", role="prosecutor"),
                                       body=DecideUpdate(outcome="recognised"))
    await handle.execute_update("decide", decide, result_type=ActionResult)
    return case_id


async def attempt(client: Client, case_id: str, name: str, body: ActionFields | None = None) -> str:
    """`done`, or `refused` when the workflow's validator said no before accepting. Anything else (an
    update accepted and then lost with its run) fails the test."""
    handle = client.get_workflow_handle(workflow_id(Side.EXECUTING, case_id))
    try:
        await handle.execute_update(name, action(name, body), result_type=ActionResult)
        return "done"
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        assert isinstance(cause, ApplicationError) and cause.type in ("conflict", "invalid", "forbidden"), (
            f"{name} was lost: {cause!r}")
        return "refused"
    except RPCError as err:
        # The workflow had already completed: the server refuses the update before accepting it.
        assert "completed" in err.message or "not found" in err.message.lower(), err.message
        return "refused"


async def soon(fetch: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Poll `fetch` every 20 ms until `predicate` holds (tests/support.wait_for, at the pace these races
    need); fail with the last value after `timeout` seconds, which only a loaded machine comes near."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate(value := await fetch()):
        if asyncio.get_running_loop().time() > deadline:
            raise NeverHappened(f"not within {timeout} s; last seen: {value!r}"[:2000])
        await asyncio.sleep(0.02)
    return value


async def messages_of(recorder: Recorder, case_id: str, expected: str) -> list[str]:
    async def sent() -> list[str]:
        return recorder.sent[case_id]
    return await soon(sent, lambda messages: expected in messages)


async def test_closing_actions_right_after_start_supervision_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder]) -> None:
    client, queue, recorder = worker
    rng = random.Random(947)
    outcomes: dict[str, int] = defaultdict(int)
    names = list(CLOSING)
    for run in range(100):
        name = names[run % len(names)]
        message, fields, body = CLOSING[name]
        case_id = await supervised_soon(client, queue)
        start = asyncio.create_task(attempt(client, case_id, "start_supervision"))
        await asyncio.sleep(rng.uniform(0, 0.1))
        closing = await attempt(client, case_id, name, fields.model_validate(body))
        started = await start
        # Supervision starts, unless an action allowed before it (Art 18(2): the person cannot be found)
        # closed the case first; what is never allowed is both refused, or one lost.
        assert started == "done" or (closing == "done" and "recognised" in ACTIONS[Side.EXECUTING][name].stages), (
            run, name, started, closing)
        outcomes[closing] += 1
        if closing == "done":
            sent = await messages_of(recorder, case_id, message)
            assert message in sent, (run, name, sent)
    # Both branches were exercised: some were refused (too early), most carried out.
    assert outcomes["done"] > 0, outcomes


async def test_closing_actions_at_the_history_threshold_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    client, queue, recorder = worker
    # A low threshold, so that a few breach reports make supervision continue as new while actions arrive.
    monkeypatch.setattr(workflows.case, "CONTINUE_AS_NEW_AFTER", 40)
    continued = 0
    for run in range(100):
        name = list(CLOSING)[run % len(CLOSING)]
        message, fields, body = CLOSING[name]
        case_id = await supervised_soon(client, queue)
        handle = client.get_workflow_handle(workflow_id(Side.EXECUTING, case_id))
        assert await attempt(client, case_id, "start_supervision") == "done"
        await soon(partial(handle.query, "full_state", result_type=CaseMemory), lambda m: m.runs >= 2)
        # Breach reports one after the other, then at once the closing action. In even runs a different count
        # each time, so that the closing action lands near the threshold, often while the run waits for a
        # quiet moment to hand over (the closing action then wins). In odd runs reports go on until the run
        # has handed over to the next, and the closing action follows at once, in the first moments of the
        # new run: which of the two happens in an even run depends on the machine's timing, so the odd runs
        # make sure the hand-over itself is exercised on every machine.
        reports: list[str] = []
        while len(reports) < (2 + run % 6 if run % 2 == 0 else 40):
            reports.append(await attempt(client, case_id, "report_breach"))
            if run % 2 and (await handle.query("full_state", result_type=CaseMemory)).runs >= 3:
                break
        closing = await attempt(client, case_id, name, fields.model_validate(body))
        sent = await messages_of(recorder, case_id, message) if closing == "done" else recorder.sent[case_id]
        if closing == "done":
            assert message in sent, (run, name, sent)
        # Every breach report accepted was sent, none twice.
        assert sent.count("breach_report") == reports.count("done"), (run, reports, sent)
        memory = await handle.query("full_state", result_type=CaseMemory)
        continued += int(memory.runs >= 3)  # run 1 until supervision, run 2 supervision, then the threshold
    # Every odd run handed over (or the threshold does not work); even runs may or may not have.
    assert continued >= 50, f"only {continued} cases reached the threshold and handed over"
