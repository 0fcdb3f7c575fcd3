"""The parts of a case workflow that need no Temporal server: its memory (handed whole to the next run),
what delivery evidence does, what the projection shows, and the catalogue's parsing of what a peer sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from temporalio.contrib.pydantic import pydantic_data_converter

from forms.messages import MESSAGES, AcknowledgementFields, DecisionFields, message_type_of, parse_fields
from workflows import deadlines as dl
from workflows.delivery import DeliveryEvidence, apply_evidence, await_evidence, stage_deadline_name
from workflows.model import CaseMemory, OutgoingMessage, SendResult, TransferInput, workflow_id
from workflows.projection import decision_due, projection, refresh_alerts, view
from workflows.stages import Alert, Side

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def message(message_id: str = "m-1", type_: str = "certificate") -> OutgoingMessage:
    return OutgoingMessage(case_id="c-1", message_id=message_id, type=type_, to_state="BE")


def evidence(kind: str, message_id: str = "m-1") -> DeliveryEvidence:
    return DeliveryEvidence(message_id=message_id, kind=kind, at=NOW, channel="test")  # type: ignore[arg-type]


def test_the_memory_goes_whole_to_the_next_run_and_reads_what_older_runs_handed_over() -> None:
    m = CaseMemory(stage="supervising")
    m.alerts |= {"b", "a"}
    m.failed["m-1"] = message()
    m.set_deadline(dl.Deadline(name=dl.DECISION, due=NOW, basis="law", article="12(1)"))
    memory = TypeAdapter(CaseMemory)
    dumped = memory.dump_python(m, mode="json")
    assert dumped["alerts"] == ["a", "b"]  # sorted on the wire: a history never depends on hash order
    assert isinstance(dumped["failed"], list)
    again = memory.validate_python(dumped)
    assert again == m
    # A run continues as new with the memory in its input, as recorded histories hand it over.
    inp = TransferInput(case_id="c-1", issuing_state="LU", executing_state="BE", authority="BE", created_by="x",
                        snapshot=m)
    started = TypeAdapter(TransferInput)
    assert started.validate_json(started.dump_json(inp)).snapshot == m


def test_the_next_run_is_handed_only_what_differs_from_a_new_case() -> None:
    # A cached supervision holds its run's input several times over: defaults stay off the wire.
    m = CaseMemory(stage="supervising", supervision_started=True, messages_received=["certificate"])
    m.set_deadline(dl.Deadline(name=dl.PROBATION_END, due=NOW, basis="law", article="16(1)(d)"))
    m.end_deadline(dl.PROBATION_END)
    inp = TransferInput(case_id="c-1", issuing_state="LU", executing_state="BE", authority="BE", created_by="x",
                        snapshot=m, snapshot_published=True)
    wire = pydantic_data_converter.payload_converter.to_payload(inp)
    assert wire is not None
    handed = json.loads(wire.data)["snapshot"]
    assert "consultation_due" not in handed and "note" not in handed["deadlines"][0]
    assert handed["deadlines"][0]["status"] == "met"
    back = pydantic_data_converter.payload_converter.from_payloads([wire], [TransferInput])[0]
    assert back.snapshot == m and back.snapshot_published


def test_one_function_names_the_workflows() -> None:
    assert workflow_id(Side.ISSUING, "abc") == "transfer-abc"
    assert workflow_id(Side.EXECUTING, "abc") == "incoming-abc"


def test_email_evidence_settles_the_wait_once() -> None:
    m = CaseMemory(stage="sent")
    await_evidence(m, message(), SendResult(message_id="m-1", delivered=False, adapter="email"), NOW,
                   stage_timers=False)
    assert m.deadline("delivery:m-1") is not None
    assert apply_evidence(m, evidence("dispatched")) == ("delivery_evidence", message())
    assert apply_evidence(m, evidence("delivered")) == ("delivered", message())
    assert m.deadline("delivery:m-1").status == "met"  # type: ignore[union-attr]
    assert apply_evidence(m, evidence("delivered")) is None  # evidences repeat, and that changes nothing


def test_a_rejection_fails_the_message_and_the_case_shows_it() -> None:
    m = CaseMemory(stage="sent")
    await_evidence(m, message(), SendResult(message_id="m-1", delivered=False, adapter="post"), NOW,
                   stage_timers=False)
    assert apply_evidence(m, evidence("rejected")) == ("delivery_failed", message())
    assert "m-1" in m.failed and "m-1" not in m.awaiting_evidence
    assert Alert.DELIVERY_FAILED in refresh_alerts(m, NOW)


def test_ecodex_waits_for_each_stage() -> None:
    m = CaseMemory(stage="sent")
    result = SendResult(message_id="m-1", delivered=False, adapter="ecodex",
                        evidence_hours={"relay": 12, "delivery": 24, "retrieval": 36})
    await_evidence(m, message(), result, NOW, stage_timers=True)
    relay = m.deadline(stage_deadline_name("m-1", "relay"))
    assert relay is not None and relay.due == NOW + timedelta(hours=12)
    assert apply_evidence(m, evidence("relayed")) == ("delivery_evidence", message())
    assert apply_evidence(m, evidence("delivered")) == ("delivered", message())
    assert "m-1" in m.awaiting_evidence  # retrieval still awaited
    assert apply_evidence(m, evidence("retrieved")) == ("delivery_evidence", message())
    assert "m-1" not in m.awaiting_evidence
    # A missed stage raises delivery_unconfirmed on its own, named by its deadline.
    m2 = CaseMemory(stage="sent")
    await_evidence(m2, message(), result, NOW, stage_timers=True)
    assert Alert.DELIVERY_UNCONFIRMED in refresh_alerts(m2, NOW + timedelta(hours=13))
    assert m2.deadline(stage_deadline_name("m-1", "relay")).status == "missed"  # type: ignore[union-attr]


def test_the_projection_shows_the_watched_date_and_alerts_as_time_passes() -> None:
    m = CaseMemory(stage="under_decision")
    m.set_deadline(dl.Deadline(name=dl.DECISION, due=NOW + dl.DECISION_PERIOD, basis="law", article="12(1)"))
    assert decision_due(m) == NOW + dl.DECISION_PERIOD
    before = view(m)
    assert refresh_alerts(m, NOW) == []
    assert refresh_alerts(m, NOW + timedelta(days=46)) == [Alert.DECISION_DUE_SOON]
    assert view(m) != before
    assert refresh_alerts(m, NOW + timedelta(days=61)) == [Alert.DECISION_OVERDUE]
    assert set(m.alerts_seen) >= {Alert.DECISION_DUE_SOON, Alert.DECISION_OVERDUE}
    m.close("closed", "refused")
    written = projection(m, "c-1", [], NOW)
    assert written.closed_at == NOW and written.outcome == "refused"
    assert decision_due(m) is None or m.deadline(dl.DECISION).status == "missed"  # type: ignore[union-attr]


def test_the_workflow_sends_models_not_strings() -> None:
    assert message_type_of(AcknowledgementFields(received_at=NOW)) == "acknowledgement"
    assert message_type_of(DecisionFields(outcome="recognised")) == "decision"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
                           max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(type_=st.sampled_from([*MESSAGES, "banana"]), body=json_values)
def test_parsing_what_a_peer_sent_never_raises(type_: str, body: Any) -> None:
    parsed = parse_fields(str(type_), body)
    assert parsed is None or isinstance(parsed, MESSAGES[type_].fields_model)  # type: ignore[index]
