"""No update is lost when a run ends: every closing action of either side, fired within milliseconds of the
moment its run continues as new, is either refused with a reason before it is accepted, or carried out with its
message sent (once). On the real Temporal dev server, with the workflows as they are and activities that only
record what they were asked to do.

A run continues as new when supervision begins (the executing side on `start_supervision`, the issuing side on
receipt of `supervision_started`) and at the history threshold. The executing side's closing actions: ending
the supervision, giving it back (on its own motion, or agreeing to the issuing state's request), an amnesty, a
person not found, and a subsequent decision that revokes or lets the measures lapse where it is competent. The
issuing side's: a withdrawal (Art 9(4), only until supervision begins), a subsequent decision that revokes or
orders the custodial sentence where the executing state declared Art 14(3), an amnesty, an annulled judgment."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

import workflows.case
from forms.law import ReviewOutcome, SubsequentDecision, TransferBackReason
from forms.messages import (
    ACTIONS,
    ActionFields,
    ActionInput,
    Actor,
    AnswerTransferBackFields,
    ApproveFields,
    DecideUpdate,
    ReviewFields,
    SubsequentUpdate,
    TransferBackActionFields,
)
from probatio.node import WORKFLOWS
from probatio.runner import workflow_runner
from tests.support import NeverHappened
from tests.workflows.recording import Recorder
from workflows.model import (
    ActionResult,
    CaseMemory,
    LinkMessage,
    TransferInput,
    workflow_id,
)
from workflows.stages import Side

pytestmark = pytest.mark.integration
T = TypeVar("T")

STATE = {Side.ISSUING: "LU", Side.EXECUTING: "BE"}
PEER = {Side.ISSUING: "BE", Side.EXECUTING: "LU"}
# Runs of the issuing side's tests: 100 in a row, as the executing side's (its five closing actions twenty times
# each, at the start of supervision and at the history threshold).
RUNS_ISSUING_START = 100
RUNS_ISSUING_THRESHOLD = 100


@dataclass(frozen=True)
class Closing:
    """A closing action, its body, and the message it must send when it is carried out."""

    name: str
    message: str
    body: ActionFields = field(default_factory=ActionFields)
    # The request of the other side that the action answers, received first (Art 20(2)).
    answers: str | None = None


# The closing actions of the executing side. An odd count: the threshold test alternates two ways of reaching
# the threshold from one run to the next, and each action gets both.
EXECUTING_CLOSING = [
    Closing("end_supervision", "supervision_ended"),
    Closing("transfer_back", "transfer_back", TransferBackActionFields(reason=TransferBackReason.ABSCONDED)),
    Closing("notify_amnesty", "amnesty_pardon"),
    Closing("report_not_found", "person_not_found"),
    # Art 16(1): no Art 14(3) declaration covers the case (load_facts below), so the executing state decides;
    # a revocation or a lapse ends the supervision (execute_custody closes as a revocation, by the same path).
    Closing("decide_subsequent", "subsequent_decision", SubsequentUpdate(decision=SubsequentDecision.REVOKE)),
    Closing("decide_subsequent", "subsequent_decision", SubsequentUpdate(decision=SubsequentDecision.LAPSE)),
    # Art 20(2): agreeing to the issuing state's request gives the supervision back.
    Closing("answer_transfer_back", "transfer_back", AnswerTransferBackFields(agree=True),
            answers="transfer_back_request"),
]
# The closing actions of the issuing side, in a case where the executing state declared Art 14(3) (its decision
# message says so): the issuing state then revokes or orders the custodial sentence itself (Art 17(4)).
ISSUING_CLOSING = [
    Closing("withdraw", "withdrawal"),
    Closing("decide_subsequent", "subsequent_decision", SubsequentUpdate(decision=SubsequentDecision.REVOKE)),
    Closing("decide_subsequent", "subsequent_decision",
            SubsequentUpdate(decision=SubsequentDecision.EXECUTE_CUSTODY)),
    Closing("notify_amnesty", "amnesty_pardon"),
    Closing("notify_review", "judgment_review", ReviewFields(outcome=ReviewOutcome.ANNULLED)),
]


@pytest.fixture(scope="module")
async def worker(temporal_client: Client) -> AsyncIterator[tuple[Client, str, Recorder]]:
    queue = f"no-update-lost-{uuid.uuid4()}"
    recorder = Recorder()
    async with Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS, activities=recorder.all(),
                      workflow_runner=workflow_runner()):
        yield temporal_client, queue, recorder


def action(side: Side, name: str, body: ActionFields | None = None) -> ActionInput[ActionFields]:
    # Parametrised with the body's own class: a model field typed as the base would serialise only the base.
    body = body or ActionFields()
    role = min(ACTIONS[side][name].roles)  # a role the catalogue allows (officer before prosecutor)
    return ActionInput[type(body)](actor=Actor(name=role, role=role, authorities=[STATE[side]]),  # type: ignore[misc,operator,no-any-return]
                                   body=body)


async def memory_of(client: Client, side: Side, case_id: str) -> CaseMemory:
    memory: CaseMemory = await client.get_workflow_handle(workflow_id(side, case_id)).query(
        "full_state", result_type=CaseMemory)
    return memory


async def peer_says(client: Client, side: Side, case_id: str, type_: str, body: dict[str, Any] | None = None) -> None:
    """A message of the other side, as the intake hands it to the case's workflow."""
    now = datetime.now(UTC)
    msg = LinkMessage(message_id=f"{case_id}-{type_}-{uuid.uuid4()}", type=type_, from_state=PEER[side], sent_at=now,
                      received_at=now, body=body or {})
    await client.get_workflow_handle(workflow_id(side, case_id)).signal("receive", msg)


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
    await soon(partial(memory_of, client, Side.EXECUTING, case_id), lambda m: m.stage == "under_decision")
    decide = ActionInput[DecideUpdate](actor=Actor(name="p", role="prosecutor"),
                                       body=DecideUpdate(outcome="recognised"))
    await client.get_workflow_handle(workflow_id(Side.EXECUTING, case_id)).execute_update(
        "decide", decide, result_type=ActionResult)
    return case_id


async def transferred_soon(client: Client, queue: str, *, adapted: bool = False) -> str:
    """An outgoing case the executing state recognised, declaring Art 14(3), whose supervision is about to
    start there. `adapted`: recognised with adapted measures, so that the Art 9(4) window is open."""
    case_id = str(uuid.uuid4())
    await client.start_workflow(
        "OutgoingTransfer", TransferInput(case_id=case_id, issuing_state="LU", executing_state="BE",
                                          authority="LU", created_by="officer"),
        id=workflow_id(Side.ISSUING, case_id), task_queue=queue)
    assert await attempt(client, case_id, "submit", side=Side.ISSUING) == "done"
    assert await attempt(client, case_id, "approve", ApproveFields(), side=Side.ISSUING) == "done"
    await peer_says(client, Side.ISSUING, case_id, "acknowledgement", {"received_at": datetime.now(UTC).isoformat()})
    await peer_says(client, Side.ISSUING, case_id, "decision", {
        "outcome": "adapted" if adapted else "recognised", "measures_changed": [0] if adapted else [],
        "art_14_3": True})
    stage = "adapted" if adapted else "transferred"
    memory = await soon(partial(memory_of, client, Side.ISSUING, case_id), lambda m: m.stage == stage)
    assert memory.issuing_competent and (not adapted or memory.deadline("withdrawal_window") is not None), memory
    return case_id


async def attempt(client: Client, case_id: str, name: str, body: ActionFields | None = None, *,
                  side: Side = Side.EXECUTING) -> str:
    """`done`, or `refused` when the workflow's validator said no before accepting. Anything else (an
    update accepted and then lost with its run) fails the test."""
    handle = client.get_workflow_handle(workflow_id(side, case_id))
    try:
        await handle.execute_update(name, action(side, name, body), result_type=ActionResult)
        return "done"
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        assert isinstance(cause, ApplicationError) and cause.type in ("conflict", "invalid", "forbidden"), (
            f"{name} was lost: {cause!r}")
        assert cause.message, f"{name} was refused without a reason"
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


def received(type_: str, count: int, memory: CaseMemory) -> bool:
    return memory.messages_received.count(type_) == count


async def messages_of(recorder: Recorder, case_id: str, expected: str) -> list[str]:
    async def sent() -> list[str]:
        return recorder.sent[case_id]
    return await soon(sent, lambda messages: expected in messages)


async def test_closing_actions_right_after_start_supervision_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder]) -> None:
    client, queue, recorder = worker
    rng = random.Random(947)
    outcomes: dict[str, int] = defaultdict(int)
    caught = 0  # carried out by the run that started supervision, while it waited to hand over
    for run in range(100):
        closing_action = EXECUTING_CLOSING[run % len(EXECUTING_CLOSING)]
        name, message = closing_action.name, closing_action.message
        case_id = await supervised_soon(client, queue)
        if run % 2 == 0:
            # Every other case writes slowly: its hand-over lasts long enough to be hit on any machine, while the
            # others, as fast as the machine is, see actions land before, in and after theirs.
            recorder.slow.add(case_id)
        start = asyncio.create_task(attempt(client, case_id, "start_supervision"))
        await asyncio.sleep(rng.uniform(0, 0.1))
        if closing_action.answers:
            # Out of its stage (ignored) if it comes before supervision began; the answer is then refused.
            await peer_says(client, Side.EXECUTING, case_id, closing_action.answers)
        closing = await attempt(client, case_id, name, closing_action.body)
        started = await start
        # Supervision starts, unless an action allowed before it (Art 18(2): the person cannot be found)
        # closed the case first; what is never allowed is both refused, or one lost.
        assert started == "done" or (closing == "done" and "recognised" in ACTIONS[Side.EXECUTING][name].stages), (
            run, name, started, closing)
        outcomes[closing] += 1
        if closing == "done":
            sent = await messages_of(recorder, case_id, message)
            assert sent.count(message) == 1, (run, name, sent)
            memory = await memory_of(client, Side.EXECUTING, case_id)
            caught += int(memory.supervision_started and memory.runs == 1)
    # Both branches were exercised: some were refused (too early), most carried out.
    assert outcomes["done"] > 0, outcomes
    # And the racy moment itself was reached: the run had started supervision and was about to hand over.
    assert caught >= 15, f"only {caught} closing actions came while the run handed over ({dict(outcomes)})"


async def test_closing_actions_at_the_history_threshold_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    client, queue, recorder = worker
    # A low threshold, so that a few breach reports make supervision continue as new while actions arrive.
    monkeypatch.setattr(workflows.case, "CONTINUE_AS_NEW_AFTER", 40)
    continued = 0
    for run in range(100):
        closing_action = EXECUTING_CLOSING[run % len(EXECUTING_CLOSING)]
        name, message = closing_action.name, closing_action.message
        case_id = await supervised_soon(client, queue)
        handle = client.get_workflow_handle(workflow_id(Side.EXECUTING, case_id))
        assert await attempt(client, case_id, "start_supervision") == "done"
        await soon(partial(handle.query, "full_state", result_type=CaseMemory), lambda m: m.runs >= 2)
        if (request := closing_action.answers) is not None:
            await peer_says(client, Side.EXECUTING, case_id, request)
            await soon(partial(handle.query, "full_state", result_type=CaseMemory),
                       lambda m: request in m.open_requests)
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
        closing = await attempt(client, case_id, name, closing_action.body)
        sent = await messages_of(recorder, case_id, message) if closing == "done" else recorder.sent[case_id]
        if closing == "done":
            assert sent.count(message) == 1, (run, name, sent)
        # Every breach report accepted was sent, none twice.
        assert sent.count("breach_report") == reports.count("done"), (run, reports, sent)
        memory = await handle.query("full_state", result_type=CaseMemory)
        continued += int(memory.runs >= 3)  # run 1 until supervision, run 2 supervision, then the threshold
    # Every odd run handed over (or the threshold does not work); even runs may or may not have.
    assert continued >= 50, f"only {continued} cases reached the threshold and handed over"


async def test_issuing_closing_actions_right_after_supervision_started_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder]) -> None:
    """The issuing run continues as new once it learns supervision began: each of its closing actions, fired
    within milliseconds before or after `supervision_started`, is refused where the rules say so (a withdrawal
    once supervision began, Art 9(4)) or carried out with its message sent, and the message that supervision
    began is never lost either."""
    client, queue, recorder = worker
    rng = random.Random(94)
    outcomes: dict[str, int] = defaultdict(int)
    caught = 0  # carried out by the run that had learned supervision began, while it waited to hand over
    for run in range(RUNS_ISSUING_START):
        closing_action = ISSUING_CLOSING[run % len(ISSUING_CLOSING)]
        name, message = closing_action.name, closing_action.message
        # A withdrawal within the Art 9(4) window after an adaptation, or (every other time) without one.
        adapted = (run // len(ISSUING_CLOSING)) % 2 == 0
        case_id = await transferred_soon(client, queue, adapted=adapted)
        recorder.slow.add(case_id)
        # The action a few milliseconds before or after the news: a withdrawal that comes first is carried out.
        offset = rng.uniform(-0.03, 0.05)
        if offset < 0:
            first = asyncio.create_task(attempt(client, case_id, name, closing_action.body, side=Side.ISSUING))
            await asyncio.sleep(-offset)
            await peer_says(client, Side.ISSUING, case_id, "supervision_started")
            closing = await first
        else:
            await peer_says(client, Side.ISSUING, case_id, "supervision_started")
            await asyncio.sleep(offset)
            closing = await attempt(client, case_id, name, closing_action.body, side=Side.ISSUING)
        outcomes[f"{name}:{closing}"] += 1
        if closing == "done":
            sent = await messages_of(recorder, case_id, message)
            assert sent.count(message) == 1, (run, name, sent)
            memory = await memory_of(client, Side.ISSUING, case_id)
            assert memory.closed, (run, name, memory)
            caught += int(memory.supervision_started and memory.runs == 1)
            if name == "withdraw":
                # Art 9(4): carried out only because it came before the news that supervision began.
                assert not memory.supervision_started, (run, memory)
        else:
            # Refused only where the rules say so: a withdrawal once supervision began (Art 9(4)), or a subsequent
            # decision that came, before the news, to a case still in its adaptation window (it is for a case
            # transferred). The case then goes on in a run of its own, with nothing sent for it.
            assert name == "withdraw" or (adapted and "adapted" not in ACTIONS[Side.ISSUING][name].stages), (
                run, name, closing)
            memory = await soon(partial(memory_of, client, Side.ISSUING, case_id), lambda m: m.runs >= 2)
            assert memory.supervision_started and not memory.closed, (run, memory)
            assert message not in recorder.sent[case_id], (run, recorder.sent[case_id])
    assert all(outcomes[f"{c.name}:done"] > 0 for c in ISSUING_CLOSING), outcomes
    assert outcomes["withdraw:refused"] > 0, outcomes
    assert caught >= RUNS_ISSUING_START // 5, (
        f"only {caught} closing actions came while the run handed over ({dict(outcomes)})")


async def test_issuing_closing_actions_at_the_history_threshold_are_refused_or_carried_out(
        worker: tuple[Client, str, Recorder], monkeypatch: pytest.MonkeyPatch) -> None:
    """As on the executing side: breach reports received one after the other bring the supervision's run to the
    threshold, and the closing action comes near or just after the hand-over."""
    client, queue, recorder = worker
    monkeypatch.setattr(workflows.case, "CONTINUE_AS_NEW_AFTER", 40)
    continued = 0
    for run in range(RUNS_ISSUING_THRESHOLD):
        closing_action = ISSUING_CLOSING[run % len(ISSUING_CLOSING)]
        name, message = closing_action.name, closing_action.message
        case_id = await transferred_soon(client, queue)
        memory_now = partial(memory_of, client, Side.ISSUING, case_id)
        await peer_says(client, Side.ISSUING, case_id, "supervision_started")
        await soon(memory_now, lambda m: m.runs >= 2)
        # Even runs: a few reports, a different count each time; odd runs: reports until the run handed over.
        reports = 0
        while reports < (2 + run % 6 if run % 2 == 0 else 40):
            await peer_says(client, Side.ISSUING, case_id, "breach_report")
            reports += 1
            memory = await soon(memory_now, partial(received, "breach_report", reports))
            if run % 2 and memory.runs >= 3:
                break
        closing = await attempt(client, case_id, name, closing_action.body, side=Side.ISSUING)
        if name == "withdraw":
            # Art 9(4): supervision has begun.
            assert closing == "refused", (run, closing)
            assert message not in recorder.sent[case_id], (run, recorder.sent[case_id])
        else:
            # Allowed throughout (Art 14(3), 19): a refusal here could only be an update lost with its run.
            assert closing == "done", (run, name, closing)
            sent = await messages_of(recorder, case_id, message)
            assert sent.count(message) == 1, (run, name, sent)
        memory = await memory_now()
        # Every breach report was received once, across the runs.
        assert memory.messages_received.count("breach_report") == reports, (run, reports, memory.messages_received)
        continued += int(memory.runs >= 3)
    assert continued >= RUNS_ISSUING_THRESHOLD // 2, f"only {continued} cases reached the threshold and handed over"
