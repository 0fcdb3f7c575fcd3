"""The workflow's own guard behind the intake: a message of the other side that reaches a case in a stage that does
not accept it (the intake read a stage the case has since left) is noted on the timeline, with why, and changes
nothing: stage, deadlines, facts, requests and messages sent stay as they were, and the case takes actions after.

For the three messages the intake test (tests/intake/test_intake.py) cannot try out of stage in the loop over the
catalogue, because each is acceptable in every open stage of the side it is usually sent to: amnesty_pardon,
judgment_review and max_custody_info. Real Temporal dev server, the workflows as they are, activities that only
record."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from forms.messages import MESSAGES, ActionFields, ActionInput, Actor, ApproveFields, MessageType
from forms.stages import IssuingStage
from probatio.node import WORKFLOWS
from probatio.runner import workflow_runner
from tests.support import wait_for
from tests.workflows.recording import Recorder
from workflows.model import (
    ActionResult,
    CaseMemory,
    LinkMessage,
    TimelineEvent,
    TransferInput,
    workflow_id,
)
from workflows.stages import Side

pytestmark = pytest.mark.integration

PAYLOADS: dict[MessageType, dict[str, Any]] = {
    MessageType.AMNESTY_PARDON: {},
    MessageType.JUDGMENT_REVIEW: {"outcome": "annulled"},
    MessageType.MAX_CUSTODY_INFO: {"max_custody_days": 90},
}


@pytest.fixture(scope="module")
async def worker(temporal_client: Client) -> AsyncIterator[tuple[Client, str, Recorder]]:
    queue = f"out-of-stage-{uuid.uuid4()}"
    recorder = Recorder()
    async with Worker(temporal_client, task_queue=queue, workflows=WORKFLOWS, activities=recorder.all(),
                      workflow_runner=workflow_runner()):
        yield temporal_client, queue, recorder


async def act(client: Client, case_id: str, name: str, role: str, body: ActionFields | None = None) -> ActionResult:
    body = body or ActionFields()
    inp = ActionInput[type(body)](actor=Actor(name=role, role=role, authorities=["LU"]), body=body)  # type: ignore[misc,operator]
    result: ActionResult = await client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).execute_update(
        name, inp, result_type=ActionResult)
    return result


async def memory_of(client: Client, case_id: str) -> CaseMemory:
    memory: CaseMemory = await client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).query(
        "full_state", result_type=CaseMemory)
    return memory


def mentions(message_id: str, events: list[TimelineEvent]) -> bool:
    return any(e.detail.get("message_id") == message_id for e in events)


def unchanged(memory: CaseMemory) -> tuple[Any, ...]:
    """What a message acted on would change (the count of messages heard and heeded among it)."""
    return (memory.stage, memory.outcome, memory.deadlines, memory.facts, memory.open_requests,
            memory.messages_sent, memory.messages_received, memory.supervision_started, memory.issuing_competent,
            memory.authority)


async def ignored_in_stage(client: Client, recorder: Recorder, case_id: str, stage: str,
                           types: tuple[MessageType, ...] = tuple(PAYLOADS)) -> None:
    """Each of `types` sent to LU's case in `stage`: noted, with why, and nothing else changes."""
    for type_ in types:
        payload = PAYLOADS[type_]
        assert stage not in MESSAGES[type_].receivers.get(Side.ISSUING, frozenset()), (type_, stage)
        before = await memory_of(client, case_id)
        sent_before = list(recorder.sent[case_id])
        now = datetime.now(UTC)
        message_id = f"{case_id}-{stage}-{type_}"
        await client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).signal(
            "receive", LinkMessage(message_id=message_id, type=type_, from_state="BE", sent_at=now, received_at=now,
                                   body=payload))
        noted = await wait_for(partial(asyncio.sleep, 0, recorder.events[case_id]),
                               partial(mentions, message_id))
        note = next(e for e in noted if e.detail.get("message_id") == message_id)
        assert note.type == "message_ignored" and note.new_stage is None, note
        assert note.detail["why"] == f"a {type_} is not acceptable while this case is {stage}", note
        after = await memory_of(client, case_id)
        assert unchanged(after) == unchanged(before), type_
        assert after.seen_message_ids == before.seen_message_ids | {message_id}  # a copy again would be a repeat
        assert recorder.sent[case_id] == sent_before, type_


async def test_amnesty_review_and_max_custody_out_of_stage_are_noted_and_change_nothing(
        worker: tuple[Client, str, Recorder]) -> None:
    client, queue, recorder = worker
    case_id = str(uuid.uuid4())
    await client.start_workflow(
        "OutgoingTransfer", TransferInput(case_id=case_id, issuing_state="LU", executing_state="BE",
                                          authority="LU", created_by="officer"),
        id=workflow_id(Side.ISSUING, case_id), task_queue=queue)
    # A draft: no certificate has gone anywhere, nothing can be answered yet (max_custody_info among them).
    await wait_for(lambda: memory_of(client, case_id), lambda m: m.stage == IssuingStage.DRAFT)
    await ignored_in_stage(client, recorder, case_id, IssuingStage.DRAFT)
    assert (await act(client, case_id, "submit", "officer")).stage == IssuingStage.AWAITING_APPROVAL

    # Sent and received, under decision at BE: the Art 12(1) deadline runs and stays as it was.
    assert (await act(client, case_id, "approve", "prosecutor", ApproveFields())).stage == IssuingStage.SENT
    now = datetime.now(UTC)
    await client.get_workflow_handle(workflow_id(Side.ISSUING, case_id)).signal(
        "receive", LinkMessage(message_id=f"{case_id}-ack", type="acknowledgement", from_state="BE", sent_at=now,
                               received_at=now, body={"received_at": now.isoformat()}))
    memory = await wait_for(lambda: memory_of(client, case_id), lambda m: m.stage == IssuingStage.UNDER_DECISION)
    assert memory.deadline("decision") is not None
    # max_custody_info is acceptable here (Art 16(2)); the other two are not.
    await ignored_in_stage(client, recorder, case_id, IssuingStage.UNDER_DECISION,
                           (MessageType.AMNESTY_PARDON, MessageType.JUDGMENT_REVIEW))
    assert (await memory_of(client, case_id)).deadline("decision") == memory.deadline("decision")

    # And the case goes on: the withdrawal is still LU's to make (Art 9(4)), and it is sent.
    assert (await act(client, case_id, "withdraw", "prosecutor")).stage == IssuingStage.CLOSED
    await wait_for(partial(asyncio.sleep, 0, recorder.sent[case_id]), lambda sent: "withdrawal" in sent)


async def test_a_subsequent_decision_from_the_state_not_competent_for_it_changes_nothing(
        worker: tuple[Client, str, Recorder]) -> None:
    """Art 14(3): BE declared it leaves revocation to LU; a revocation BE sends anyway is noted with why and
    closes nothing, while a modification (still BE's, Art 14(1)(a)) is taken."""
    client, queue, recorder = worker
    case_id = str(uuid.uuid4())
    handle = client.get_workflow_handle(workflow_id(Side.ISSUING, case_id))
    await client.start_workflow(
        "OutgoingTransfer", TransferInput(case_id=case_id, issuing_state="LU", executing_state="BE",
                                          authority="LU", created_by="officer"),
        id=workflow_id(Side.ISSUING, case_id), task_queue=queue)
    await act(client, case_id, "submit", "officer")
    await act(client, case_id, "approve", "prosecutor", ApproveFields())
    now = datetime.now(UTC)
    for n, (type_, body) in enumerate([("acknowledgement", {"received_at": now.isoformat()}),
                                       ("decision", {"outcome": "recognised", "art_14_3": True})]):
        await handle.signal("receive", LinkMessage(message_id=f"{case_id}-{n}", type=type_, from_state="BE",
                                                   sent_at=now, received_at=now, body=body))
    memory = await wait_for(lambda: memory_of(client, case_id), lambda m: m.stage == IssuingStage.TRANSFERRED)
    assert memory.issuing_competent

    revoke = f"{case_id}-revoke"
    await handle.signal("receive", LinkMessage(message_id=revoke, type="subsequent_decision", from_state="BE",
                                               sent_at=now, received_at=now, body={"decision": "revoke"}))
    noted = await wait_for(partial(asyncio.sleep, 0, recorder.events[case_id]), partial(mentions, revoke))
    note = next(e for e in noted if e.detail.get("message_id") == revoke)
    assert note.type == "message_ignored" and "not competent" in note.detail["why"], note
    ignored = await memory_of(client, case_id)
    assert ignored.stage == IssuingStage.TRANSFERRED
    assert ignored.messages_received == ["acknowledgement", "decision"], ignored.messages_received

    modify = f"{case_id}-modify"
    await handle.signal("receive", LinkMessage(message_id=modify, type="subsequent_decision", from_state="BE",
                                               sent_at=now, received_at=now, body={"decision": "modify"}))
    taken = await wait_for(partial(asyncio.sleep, 0, recorder.events[case_id]),
                           lambda events: any(e.type == "subsequent_decision_received" for e in events))
    assert any(e.type == "subsequent_decision_received" and e.detail.get("decision") == "modify" for e in taken)
    heeded = await memory_of(client, case_id)
    assert heeded.stage == IssuingStage.TRANSFERRED
    assert heeded.messages_received == ["acknowledgement", "decision", "subsequent_decision"]
