"""The intake as a peer node would try it, with correctly signed envelopes: for every message type of the
catalogue, a malformed copy, a copy out of its stage and a copy from a third state are refused with a 4xx
naming the reason, change nothing in the database or the workflow, and the case still takes actions."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from temporalio.client import Client

from adapters.envelope import Envelope, seal
from adapters.keys import load_or_create_private_key
from forms.examples import example_certificate
from forms.messages import MESSAGES, MessageType
from forms.stages import ExecutingStage, IssuingStage, Side
from probatio.harness import LocalNodes, start_nodes
from tests.support import bearer, create_and_approve, fresh_certificate, outgoing_case, wait_for
from workflows.model import CaseMemory, workflow_id

pytestmark = pytest.mark.integration

LU, BE, NL = "LU", "BE", "NL"


@pytest.fixture(scope="module")
async def three(temporal_client: Client, pg_server: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[LocalNodes]:
    """LU and BE with a case between them, and NL: a third state every node knows and trusts."""
    local = await start_nodes(temporal_client, pg_server, [LU, BE, NL], tmp_path_factory.mktemp("three"),
                              db_prefix="intake_")
    try:
        yield local
    finally:
        await local.stop()


def valid_payload(type_: MessageType) -> dict[str, Any]:
    """A payload its model accepts: what an honest peer would send."""
    cert = fresh_certificate(LU, BE)
    now = datetime.now(UTC)
    payloads: dict[MessageType, dict[str, Any]] = {
        MessageType.CERTIFICATE: {"certificate": cert, "language": "fr"},
        MessageType.ACKNOWLEDGEMENT: {"received_at": now.isoformat()},
        MessageType.FORWARDED: {"authority": "BE-PG"},
        MessageType.COMPLETION_REQUEST: {"due_days": 14, "missing": "box (h)"},
        MessageType.COMPLETION: {"certificate": cert},
        MessageType.CONSULTATION: {"ground": "j", "question": "is the period under six months?"},
        MessageType.CONSULTATION_REPLY: {"text": "no"},
        MessageType.DELAY_NOTICE: {"expected_by": (now + timedelta(days=90)).isoformat(), "reasons": "hearing"},
        MessageType.MAX_CUSTODY_INFO: {"max_custody_days": 90},
        MessageType.DECISION: {"outcome": "recognised", "grounds": [], "measures_changed": []},
        MessageType.WITHDRAWAL: {"reason": "changed our mind"},
        MessageType.NO_WITHDRAWAL: {},
        MessageType.SUPERVISION_STARTED: {},
        MessageType.BREACH_REPORT: {},
        MessageType.INFORMATION_REQUEST: {"question": "how is it going?"},
        MessageType.INFORMATION: {"text": "fine"},
        MessageType.SUBSEQUENT_DECISION: {"decision": "revoke"},
        MessageType.PERSON_NOT_FOUND: {},
        MessageType.AMNESTY_PARDON: {"reasons": "a general amnesty"},
        MessageType.TRANSFER_BACK_REQUEST: {"reason": "new proceedings"},
        MessageType.TRANSFER_BACK: {"reason": "absconded"},
        MessageType.TRANSFER_BACK_DECLINED: {"reasons": "treatment half done here"},
        MessageType.JUDGMENT_REVIEW: {"outcome": "annulled"},
        MessageType.SUPERVISION_ENDED: {"outcome": "completed"},
    }
    return payloads[type_]


# A malformed copy of each: a wrong type, value or limit; where a message has no field of its own, a value
# no text may hold (U+0000 cannot be stored, so it must be refused before anything is).
MALFORMED: dict[MessageType, dict[str, Any]] = {
    MessageType.CERTIFICATE: {"certificate": {}},
    MessageType.ACKNOWLEDGEMENT: {"received_at": "not-a-date"},
    MessageType.FORWARDED: {"authority": ""},
    MessageType.COMPLETION_REQUEST: {"due_days": "abc"},
    MessageType.COMPLETION: {"certificate": {"issuing_state": 5}},
    MessageType.CONSULTATION: {"ground": "z"},
    MessageType.CONSULTATION_REPLY: {"text": 12},
    MessageType.DELAY_NOTICE: {"expected_by": "2027-01-01T00:00:00"},
    MessageType.MAX_CUSTODY_INFO: {"max_custody_days": -4},
    MessageType.DECISION: {"outcome": "banana"},
    MessageType.WITHDRAWAL: {"reason": ["a", "list"]},
    MessageType.NO_WITHDRAWAL: {"note": "nul \u0000 here"},
    MessageType.SUPERVISION_STARTED: {"note": "nul \u0000 here"},
    MessageType.BREACH_REPORT: {"breach": {"person": "nobody"}},
    MessageType.INFORMATION_REQUEST: {"question": "x" * 30_000},
    MessageType.INFORMATION: {"text": "nul \u0000 here"},
    MessageType.SUBSEQUENT_DECISION: {"decision": "behead"},
    MessageType.PERSON_NOT_FOUND: {"note": "nul \u0000 here"},
    MessageType.AMNESTY_PARDON: {"reasons": {"not": "text"}},
    MessageType.TRANSFER_BACK_REQUEST: {"reason": 3.5},
    MessageType.TRANSFER_BACK: {"reason": "bored"},
    MessageType.TRANSFER_BACK_DECLINED: {"reasons": ["not", "text"]},
    MessageType.JUDGMENT_REVIEW: {"outcome": "forgotten"},
    MessageType.SUPERVISION_ENDED: {"outcome": "escaped"},
}
assert set(MALFORMED) == set(MessageType)


def receiving_side(type_: MessageType) -> Side:
    """The side a message goes to (both sides receive a few: then the executing side, BE, is tried)."""
    receivers = MESSAGES[type_].receivers
    return Side.EXECUTING if Side.EXECUTING in receivers else Side.ISSUING


NODE_OF = {Side.ISSUING: LU, Side.EXECUTING: BE}


class Peer:
    """Sends correctly signed envelopes as `state`'s node would."""

    def __init__(self, nodes: LocalNodes, http: httpx.AsyncClient) -> None:
        self.nodes, self.http, self.count = nodes, http, 0

    async def send(self, from_state: str, to_state: str, case_id: str, type_: MessageType,
                   payload: dict[str, Any]) -> httpx.Response:
        self.count += 1
        key = load_or_create_private_key(self.nodes[LU].node.settings.home / "keys" / f"{from_state}.pem")
        envelope = Envelope(message_id=f"attack-{self.count}-{type_}", conversation_id=case_id, type=type_,
                            from_state=from_state, to_state=to_state, sent_at=datetime.now(UTC), payload=payload)
        sealed = seal(envelope, key)
        return await self.http.post(f"{self.nodes[to_state].url}/api/v1/inbox", content=sealed.body,
                                    headers=sealed.headers)


def snapshot(nodes: LocalNodes, state: str, case_id: str) -> dict[str, Any]:
    """What a refused message must leave as it was: the case row, its timeline, the inbox."""
    with psycopg.connect(nodes[state].node.settings.effective_database_url, row_factory=dict_row) as conn:
        case = conn.execute("SELECT stage, outcome, revision, certificate, deadlines FROM cases WHERE id = %s",
                            (case_id,)).fetchone()
        timeline = conn.execute("SELECT count(*) AS n FROM timeline WHERE case_id = %s", (case_id,)).fetchone()
        inbox = conn.execute("SELECT count(*) AS n FROM inbox").fetchone()
    return {"case": case, "timeline": timeline, "inbox": inbox}


async def workflow_memory(nodes: LocalNodes, state: str, side: Side, case_id: str) -> CaseMemory:
    handle = nodes[state].node.client.get_workflow_handle(workflow_id(side, case_id))
    memory: CaseMemory = await handle.query("full_state", result_type=CaseMemory)
    return memory


async def refused_and_nothing_changed(nodes: LocalNodes, peer: Peer, from_state: str, to_state: str, side: Side,
                                      case_id: str, type_: MessageType, payload: dict[str, Any],
                                      statuses: tuple[int, ...]) -> str:
    before_db = snapshot(nodes, to_state, case_id)
    before_wf = await workflow_memory(nodes, to_state, side, case_id)
    r = await peer.send(from_state, to_state, case_id, type_, payload)
    assert r.status_code in statuses, (type_, r.status_code, r.text)
    reason = str(r.json()["detail"])
    assert reason, type_
    assert snapshot(nodes, to_state, case_id) == before_db, type_
    after_wf = await workflow_memory(nodes, to_state, side, case_id)
    assert after_wf.messages_received == before_wf.messages_received, type_
    assert after_wf.stage == before_wf.stage, type_
    return reason


async def a_case_under_decision(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    case_id = await create_and_approve(http, nodes)
    await wait_for(lambda: be_case(nodes, http, case_id), lambda c: c.get("stage") == "under_decision")
    await wait_for(lambda: outgoing_case(http, nodes, case_id), lambda c: c["stage"] == "under_decision")
    return case_id


async def be_case(nodes: LocalNodes, http: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    r = await http.get(f"{nodes[BE].url}/api/v1/incoming/{case_id}", headers=bearer(nodes, BE, "prosecutor"))
    return dict(r.json()) if r.status_code == 200 else {}


async def a_case_under_supervision(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    case_id = await a_case_under_decision(nodes, http)
    r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{case_id}/actions/decide", json={"outcome": "recognised"},
                        headers=bearer(nodes, BE, "prosecutor"))
    assert r.status_code == 200, r.text
    await wait_for(lambda: outgoing_case(http, nodes, case_id), lambda c: c["stage"] == "transferred")
    r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{case_id}/actions/start_supervision",
                        headers=bearer(nodes, BE, "officer"))
    assert r.status_code == 200, r.text
    await wait_for(lambda: be_case(nodes, http, case_id), lambda c: c.get("stage") == "supervising")
    await wait_for(lambda: outgoing_case(http, nodes, case_id),
                   lambda c: any(e["type"] == "supervision_started" for e in c["timeline"]))
    # Supervision runs in a run of its own on both sides: wait for both to have begun it.
    for state, side in ((LU, Side.ISSUING), (BE, Side.EXECUTING)):
        await wait_for(lambda s=state, d=side: workflow_memory(nodes, s, d, case_id), lambda m: m.runs >= 2)
    return case_id


async def settled(nodes: LocalNodes, case_ids: list[str]) -> None:
    """Wait until both sides of the cases have stopped moving (a new run publishes when it starts), so that
    a change seen afterwards can only come from what the test sent."""
    async def both() -> list[dict[str, Any]]:
        return [snapshot(nodes, s, c) for s in (LU, BE) for c in case_ids]
    last = await both()
    for _ in range(60):
        await asyncio.sleep(1.5)
        now = await both()
        if now == last:
            return
        last = now
    raise AssertionError("the cases never settled")


async def test_every_message_type_malformed_out_of_stage_or_from_a_third_state_is_refused(three: LocalNodes) -> None:
    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        peer = Peer(nodes, http)
        deciding = await a_case_under_decision(nodes, http)
        supervised = await a_case_under_supervision(nodes, http)
        await settled(nodes, [deciding, supervised])
        stages = {deciding: {Side.ISSUING: IssuingStage.UNDER_DECISION, Side.EXECUTING: ExecutingStage.UNDER_DECISION},
                  supervised: {Side.ISSUING: IssuingStage.TRANSFERRED, Side.EXECUTING: ExecutingStage.SUPERVISING}}
        out_of_stage_tried = []
        for type_ in MessageType:
            side = receiving_side(type_)
            to_state, from_state = NODE_OF[side], NODE_OF[Side.ISSUING if side == Side.EXECUTING else Side.EXECUTING]
            # Malformed: 422 naming the field, on a case where the message would otherwise fit.
            reason = await refused_and_nothing_changed(nodes, peer, from_state, to_state, side, deciding, type_,
                                                       MALFORMED[type_], (422,))
            assert type_ in reason or "payload" in reason
            # From a third state: 403 (a certificate opens a conversation: NL's is refused as existing).
            reason = await refused_and_nothing_changed(nodes, peer, NL, to_state, side, deciding, type_,
                                                       valid_payload(type_), (403, 409))
            assert NL in reason or "already exists" in reason
            # Out of its stage, on whichever case is in a stage that does not accept it.
            for case_id, by_side in stages.items():
                model = MESSAGES[type_]
                if type_ == MessageType.COMPLETION or by_side[side] not in model.receivers[side]:
                    await refused_and_nothing_changed(nodes, peer, from_state, to_state, side, case_id, type_,
                                                      valid_payload(type_), (409,))
                    out_of_stage_tried.append(type_)
                    break
        # Messages acceptable in every open stage of these two cases have no out-of-stage copy here (amnesty_pardon,
        # judgment_review, max_custody_info: the next test sends each where its stage does not accept it); every
        # other one was tried.
        always = {t for t in MessageType if {IssuingStage.UNDER_DECISION, IssuingStage.TRANSFERRED}
                  <= MESSAGES[t].receivers.get(Side.ISSUING, frozenset())
                  or {ExecutingStage.UNDER_DECISION, ExecutingStage.SUPERVISING}
                  <= MESSAGES[t].receivers.get(Side.EXECUTING, frozenset())}
        assert set(out_of_stage_tried) | always == set(MessageType)

        # The cases still take actions: BE decides on the first, LU sees it; BE ends the second.
        r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{deciding}/actions/decide",
                            json={"outcome": "recognised"}, headers=bearer(nodes, BE, "prosecutor"))
        assert r.status_code == 200, r.text
        await wait_for(lambda: outgoing_case(http, nodes, deciding), lambda c: c["stage"] == "transferred")
        r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{supervised}/actions/end_supervision",
                            headers=bearer(nodes, BE, "officer"))
        assert r.status_code == 200, r.text
        await wait_for(lambda: outgoing_case(http, nodes, supervised), lambda c: c["outcome"] == "completed")


async def test_the_attacks_named_in_the_issue_change_nothing(three: LocalNodes) -> None:
    """The exact messages that once crashed a handler, closed a supervised case or replaced its certificate."""
    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        peer = Peer(nodes, http)
        deciding = await a_case_under_decision(nodes, http)
        supervised = await a_case_under_supervision(nodes, http)
        never_recognised = await a_case_under_decision(nodes, http)
        await settled(nodes, [deciding, supervised, never_recognised])
        to_lu = (BE, LU, Side.ISSUING)
        to_be = (LU, BE, Side.EXECUTING)
        attacks: list[tuple[tuple[str, str, Side], str, MessageType, dict[str, Any], int]] = [
            (to_lu, deciding, MessageType.ACKNOWLEDGEMENT, {"received_at": "not-a-date"}, 422),
            # A receipt no deadline can be counted from (its 60 days would fall past year 9999).
            (to_lu, deciding, MessageType.ACKNOWLEDGEMENT, {"received_at": "9999-12-31T00:00:00Z"}, 422),
            (to_lu, deciding, MessageType.DELAY_NOTICE, {"expected_by": "9999-12-31T00:00:00Z", "reasons": "r"}, 422),
            (to_lu, deciding, MessageType.COMPLETION_REQUEST, {"due_days": "abc"}, 422),
            (to_lu, deciding, MessageType.COMPLETION_REQUEST, {"due_days": 10**12}, 422),
            (to_lu, deciding, MessageType.DELAY_NOTICE, {"expected_by": "2027-01-01T00:00:00"}, 422),
            (to_lu, deciding, MessageType.DECISION, {"outcome": "banana"}, 422),
            (to_be, supervised, MessageType.COMPLETION, {"certificate": example_certificate(LU, BE).model_dump(
                mode="json")}, 409),
            (to_be, supervised, MessageType.WITHDRAWAL, {"reason": "too late"}, 409),
            (to_be, never_recognised, MessageType.SUBSEQUENT_DECISION, {"decision": "revoke"}, 409),
            (to_be, deciding, MessageType.INFORMATION, {"text": "a\u0000b"}, 422),
        ]
        for (from_state, to_state, side), case_id, type_, payload, status in attacks:
            await refused_and_nothing_changed(nodes, peer, from_state, to_state, side, case_id, type_, payload,
                                              (status,))
        # A certificate whose certificate is {} opens no case.
        r = await peer.send(LU, BE, "a-new-conversation", MessageType.CERTIFICATE, {"certificate": {}})
        assert r.status_code == 422, r.text
        assert "certificate" in r.json()["detail"]
        r = await http.get(f"{nodes[BE].url}/api/v1/incoming/a-new-conversation",
                           headers=bearer(nodes, BE, "prosecutor"))
        assert r.status_code == 404
        # Each refusal is there for the auditor.
        r = await http.get(f"{nodes[BE].url}/api/v1/audit", params={"action": "inbox_rejected"},
                           headers=bearer(nodes, BE, "auditor"))
        assert r.status_code == 200
        assert any("U+0000" in str(row.get("reason")) for row in r.json()["items"])
        # And the cases go on: LU's case under decision is recognised; the supervised one still supervised.
        r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{deciding}/actions/decide",
                            json={"outcome": "recognised"}, headers=bearer(nodes, BE, "prosecutor"))
        assert r.status_code == 200, r.text
        await wait_for(lambda: outgoing_case(http, nodes, deciding), lambda c: c["stage"] == "transferred")
        assert (await be_case(nodes, http, supervised))["stage"] == "supervising"


async def test_a_repeated_message_id_gets_its_first_answer(three: LocalNodes) -> None:
    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        deciding = await a_case_under_decision(nodes, http)
        await settled(nodes, [deciding])
        key = be_key_at_lu(nodes)
        envelope = delay_notice_from_be(deciding, "twice")
        sealed = seal(envelope, key)
        url = f"{nodes[LU].url}/api/v1/inbox"
        first = await http.post(url, content=sealed.body, headers=sealed.headers)
        assert first.status_code == 200, first.text
        again = await http.post(url, content=sealed.body, headers=sealed.headers)
        assert again.status_code == 200 and again.json() == first.json()
        case = await wait_for(lambda: outgoing_case(http, nodes, deciding),
                              lambda c: any(e["type"] == "decision_delayed" for e in c["timeline"]))
        assert sum(e["type"] == "decision_delayed" for e in case["timeline"]) == 1

        # Refused for what it is (422), an id keeps its answer, whatever it carries when sent again...
        bad = Envelope(message_id="refused-once", conversation_id=deciding, type=MessageType.DELAY_NOTICE,
                       from_state=BE, to_state=LU, sent_at=datetime.now(UTC), payload={"expected_by": "not-a-date"})
        first = await http.post(url, content=seal(bad, key).body, headers=seal(bad, key).headers)
        assert first.status_code == 422, first.text
        good = bad.model_copy(update={"payload": valid_payload(MessageType.DELAY_NOTICE)})
        again = await http.post(url, content=seal(good, key).body, headers=seal(good, key).headers)
        assert (again.status_code, again.json()["detail"]) == (422, first.json()["detail"])
        # ... while one refused for the moment (409: not in this stage) is judged afresh when it comes again.
        early = Envelope(message_id="too-early", conversation_id=deciding, type=MessageType.SUPERVISION_STARTED,
                         from_state=BE, to_state=LU, sent_at=datetime.now(UTC),
                         payload=valid_payload(MessageType.SUPERVISION_STARTED))
        r = await http.post(url, content=seal(early, key).body, headers=seal(early, key).headers)
        assert r.status_code == 409, r.text
        with psycopg.connect(nodes[LU].owner_url) as conn:
            kept = conn.execute("SELECT message_id, status FROM inbox_refusals WHERE message_id IN"
                                " ('refused-once', 'too-early')").fetchall()
        assert kept == [("refused-once", 422)]


async def a_draft(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """A transfer LU's officer created for BE and has not submitted: no certificate has gone anywhere yet."""
    r = await http.post(f"{nodes[LU].url}/api/v1/transfers",
                        json={"executing_state": BE, "certificate": fresh_certificate(LU, BE)},
                        headers=bearer(nodes, LU, "officer"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def an_ended_case(nodes: LocalNodes, http: httpx.AsyncClient) -> str:
    """A case LU withdrew while BE decided (Art 9(4)): closed on both sides, both workflows completed."""
    case_id = await a_case_under_decision(nodes, http)
    r = await http.post(f"{nodes[LU].url}/api/v1/transfers/{case_id}/actions/withdraw",
                        json={"reason": "the person moved on"}, headers=bearer(nodes, LU, "prosecutor"))
    assert r.status_code == 200, r.text
    # Read from the database: the API asks for a purpose before it shows a case that has ended.
    for state in (BE, LU):
        await wait_for(lambda s=state: asyncio.sleep(0, snapshot(nodes, s, case_id)["case"]),
                       lambda case: case["stage"] == "closed")
    return case_id


def what_the_workflow_holds(memory: CaseMemory) -> tuple[Any, ...]:
    """What a message acted on would change: stage, outcome, deadlines, what was received, what was published."""
    return (memory.stage, memory.outcome, memory.deadlines, memory.messages_received, memory.seen_message_ids,
            memory.open_requests, memory.revision)


def inbox_answer(nodes: LocalNodes, state: str, message_id: str) -> dict[str, Any] | None:
    with psycopg.connect(nodes[state].node.settings.effective_database_url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT response FROM inbox WHERE message_id = %s", (message_id,)).fetchone()
    return dict(row["response"]) if row else None


def rejections(nodes: LocalNodes, state: str) -> dict[str, str]:
    """The auditor's record of what the intake refused: reason by message id."""
    with psycopg.connect(nodes[state].node.settings.effective_database_url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT reason, detail FROM audit WHERE action = 'inbox_rejected'").fetchall()
    return {str(row["detail"]["message_id"]): str(row["reason"]) for row in rows}


async def test_messages_acceptable_in_every_open_stage_change_nothing_where_their_stage_does_not_accept_them(
        three: LocalNodes) -> None:
    """amnesty_pardon, judgment_review and max_custody_info are acceptable in every open stage of the side the
    test above sends them to, so it tries no out-of-stage copy of them. Here each goes where its stage does not
    accept it. In an open case: 409 naming the stage, recorded for the auditor, and nothing changes, in the
    database or the workflow. In a case that has ended: kept, answered with the intake's note that it changes
    nothing, and nothing changes either. Both cases then still take actions."""
    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        peer = Peer(nodes, http)
        peer.count = 10_000  # message ids of their own: a kept message's id gets its first answer for good
        deciding = await a_case_under_decision(nodes, http)
        draft = await a_draft(nodes, http)
        ended = await an_ended_case(nodes, http)
        await settled(nodes, [deciding, draft, ended])
        to_lu = (BE, LU, Side.ISSUING)
        to_be = (LU, BE, Side.EXECUTING)

        # Open cases, in a stage that does not accept the message.
        refused: list[tuple[tuple[str, str, Side], str, MessageType, str]] = [
            # Art 18(6): the executing state tells of an amnesty once it has recognised; LU has had no decision.
            (to_lu, deciding, MessageType.AMNESTY_PARDON, IssuingStage.UNDER_DECISION),
            # Art 16(2): the maximum custody answers a certificate received; LU's draft has sent none.
            (to_lu, draft, MessageType.MAX_CUSTODY_INFO, IssuingStage.DRAFT),
            (to_lu, draft, MessageType.AMNESTY_PARDON, IssuingStage.DRAFT),
            # Art 19: only the issuing state reviews its judgment and tells; no stage of LU's side accepts a review.
            (to_lu, deciding, MessageType.JUDGMENT_REVIEW, IssuingStage.UNDER_DECISION),
        ]
        sent: dict[str, str] = {}
        for (from_state, to_state, side), case_id, type_, stage in refused:
            assert stage not in MESSAGES[type_].receivers.get(side, frozenset()), (type_, stage)
            before = what_the_workflow_holds(await workflow_memory(nodes, to_state, side, case_id))
            reason = await refused_and_nothing_changed(nodes, peer, from_state, to_state, side, case_id, type_,
                                                       valid_payload(type_), (409,))
            assert (f"is not acceptable while case {case_id} is {stage}" in reason
                    or (side not in MESSAGES[type_].receivers and "is sent to the executing side" in reason)), reason
            after = what_the_workflow_holds(await workflow_memory(nodes, to_state, side, case_id))
            assert after == before, type_
            sent[f"attack-{peer.count}-{type_}"] = reason
        # Each refusal is there for the auditor, with the reason its sender was given.
        audited = rejections(nodes, LU)
        for message_id, reason in sent.items():
            assert audited.get(message_id) == reason, (message_id, audited.get(message_id))

        # A case that has ended: the message crossed its end. Kept, answered with the note, nothing changes.
        kept: list[tuple[tuple[str, str, Side], MessageType]] = [
            (to_be, MessageType.JUDGMENT_REVIEW),
            (to_be, MessageType.AMNESTY_PARDON),
            (to_lu, MessageType.MAX_CUSTODY_INFO),
            (to_lu, MessageType.AMNESTY_PARDON),
        ]
        for (from_state, to_state, side), type_ in kept:
            before_db = snapshot(nodes, to_state, ended)
            before_wf = what_the_workflow_holds(await workflow_memory(nodes, to_state, side, ended))
            r = await peer.send(from_state, to_state, ended, type_, valid_payload(type_))
            assert r.status_code == 200, (type_, r.status_code, r.text)
            answer = r.json()
            assert "changes nothing" in answer.get("note", ""), (type_, answer)
            message_id = f"attack-{peer.count}-{type_}"
            assert inbox_answer(nodes, to_state, message_id) == answer, type_
            after_db = snapshot(nodes, to_state, ended)
            assert after_db["case"] == before_db["case"] and after_db["timeline"] == before_db["timeline"], type_
            assert after_db["inbox"]["n"] == before_db["inbox"]["n"] + 1, type_
            assert what_the_workflow_holds(await workflow_memory(nodes, to_state, side, ended)) == before_wf, type_

        # The open cases still take actions: BE recognises the first, LU sees it; LU's officer submits the draft.
        r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{deciding}/actions/decide",
                            json={"outcome": "recognised"}, headers=bearer(nodes, BE, "prosecutor"))
        assert r.status_code == 200, r.text
        await wait_for(lambda: outgoing_case(http, nodes, deciding), lambda c: c["stage"] == "transferred")
        r = await http.post(f"{nodes[LU].url}/api/v1/transfers/{draft}/actions/submit",
                            headers=bearer(nodes, LU, "officer"))
        assert r.status_code == 200, r.text
        assert (await outgoing_case(http, nodes, draft))["stage"] == "awaiting_approval"


def test_pdf_digest_is_what_the_intake_checks() -> None:
    """The certificate's PDF travels in base64 with its sha256; the intake recomputes it (unit level)."""
    content = b"%PDF-1.7 example"
    assert base64.b64decode(base64.b64encode(content)) == content
    assert Path is not None  # keeps the import used by fixtures' type hints


async def test_a_completion_the_case_no_longer_awaits_leaves_the_certificate_as_it_was(three: LocalNodes) -> None:
    """The intake reads the case's stage from its projection, which may lag behind the workflow: BE has
    recognised, but its row still says a completion is awaited. The completion is then taken in (200), and the
    workflow, which has moved on, ignores it: the certificate received stays, since the completed one replaces
    it only once the case accepts the completion. Before, the intake replaced it at once."""
    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        case_id = await a_case_under_decision(nodes, http)
        r = await http.post(f"{nodes[BE].url}/api/v1/incoming/{case_id}/actions/decide",
                            json={"outcome": "recognised"}, headers=bearer(nodes, BE, "prosecutor"))
        assert r.status_code == 200, r.text
        await settled(nodes, [case_id])
        url = nodes[BE].node.settings.effective_database_url
        with psycopg.connect(url, autocommit=True) as conn:
            before = conn.execute("SELECT certificate FROM cases WHERE id = %s", (case_id,)).fetchone()
            # The projection as it was a moment before the decision: a completion awaited, under decision.
            conn.execute("UPDATE cases SET stage = 'under_decision', deadlines = deadlines || %s::jsonb"
                         " WHERE id = %s", (json.dumps([{"name": "completion", "due": datetime.now(UTC).isoformat(),
                                                         "status": "open", "basis": "law", "article": "8(2)"}]),
                                            case_id))
        completed = fresh_certificate(LU, BE)
        completed["person"]["surname"] = "Completed-Too-Late"
        r = await Peer(nodes, http).send(LU, BE, case_id, MessageType.COMPLETION, {"certificate": completed})
        assert r.status_code == 200, r.text
        # Heard (its id is seen) and ignored: the case is recognised, no completion is awaited any more.
        memory = await wait_for(lambda: workflow_memory(nodes, BE, Side.EXECUTING, case_id),
                                lambda m: any(i.endswith("-completion") for i in m.seen_message_ids))
        assert memory.stage == "recognised" and "completion" not in memory.messages_received
        with psycopg.connect(url) as conn:
            after = conn.execute("SELECT certificate FROM cases WHERE id = %s", (case_id,)).fetchone()
        assert after == before and "Completed-Too-Late" not in json.dumps(after)


class _Unreachable:
    """A Temporal client that cannot reach the server at the moment of the signal."""

    def get_workflow_handle(self, workflow_id: str) -> Any:
        return self

    async def signal(self, *args: Any, **kwargs: Any) -> None:
        from temporalio.service import RPCError, RPCStatusCode

        raise RPCError("the frontend does not answer", RPCStatusCode.UNAVAILABLE, b"")

    start_workflow = signal


def cut_off_from_temporal(node: Any) -> SimpleNamespace:
    """The node as the intake sees it, its Temporal client unable to reach the server."""
    return SimpleNamespace(pool=node.pool, client=_Unreachable(), settings=node.settings, directory=node.directory)


def delay_notice_from_be(case_id: str, message_id: str) -> Envelope:
    """BE's delay notice for a case LU sent, as an honest BE would send it."""
    return Envelope(message_id=message_id, conversation_id=case_id, type=MessageType.DELAY_NOTICE, from_state=BE,
                    to_state=LU, sent_at=datetime.now(UTC), payload=valid_payload(MessageType.DELAY_NOTICE))


def be_key_at_lu(nodes: LocalNodes) -> Any:
    """BE's signing key, which the test nodes keep beside LU's (the harness made it)."""
    return load_or_create_private_key(nodes[LU].node.settings.home / "keys" / "BE.pem")


async def test_a_message_is_stored_before_its_case_hears_of_it_and_handed_over_when_sent_again(
        three: LocalNodes) -> None:
    """Store, then signal: a message the case's workflow could not be told of is kept (not lost, not stored
    twice), the sender is asked to send it again, and the same id sent again is handed over once."""
    from intake import HandOverPending, take_in

    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        deciding = await a_case_under_decision(nodes, http)
        await settled(nodes, [deciding])
        key = be_key_at_lu(nodes)
        envelope = delay_notice_from_be(deciding, "told-later")
        cut_off = cut_off_from_temporal(nodes[LU].node)
        with pytest.raises(HandOverPending, match="send it again"):
            await take_in(cut_off, envelope, datetime.now(UTC))
        with psycopg.connect(nodes[LU].owner_url) as conn:
            kept = conn.execute("SELECT handed_over FROM inbox WHERE message_id = 'told-later'").fetchall()
        assert kept == [(False,)]
        assert "told-later" not in (await workflow_memory(nodes, LU, Side.ISSUING, deciding)).seen_message_ids

        sealed = seal(envelope, key)
        again = await http.post(f"{nodes[LU].url}/api/v1/inbox", content=sealed.body, headers=sealed.headers)
        assert again.status_code == 200 and again.json()["message_id"] == "told-later", again.text
        case = await wait_for(lambda: outgoing_case(http, nodes, deciding),
                              lambda c: any(e["type"] == "decision_delayed" for e in c["timeline"]))
        assert sum(e["type"] == "decision_delayed" for e in case["timeline"]) == 1
        with psycopg.connect(nodes[LU].owner_url) as conn:
            kept = conn.execute("SELECT handed_over FROM inbox WHERE message_id = 'told-later'").fetchall()
        assert kept == [(True,)]
        # Told once: a third copy gets the first answer and changes nothing.
        third = await http.post(f"{nodes[LU].url}/api/v1/inbox", content=sealed.body, headers=sealed.headers)
        assert third.status_code == 200 and third.json() == again.json()


def kept_for_hand_over(nodes: LocalNodes, state: str, message_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(nodes[state].owner_url) as conn:
        return conn.execute("SELECT handed_over, hand_over IS NOT NULL FROM inbox WHERE message_id = %s",
                            (message_id,)).fetchall()


async def test_a_kept_message_reaches_its_case_once_temporal_answers_without_being_sent_again(
        three: LocalNodes) -> None:
    """A letter or an e-mail is not sent again by anyone: a message kept while Temporal did not answer is
    handed over by the node itself once it answers (the worker's sweep), once, and a copy the sender sends
    again afterwards changes nothing."""
    from intake import HandOverPending, hand_over_kept, take_in

    nodes = three
    async with httpx.AsyncClient(timeout=60) as http:
        deciding = await a_case_under_decision(nodes, http)
        await settled(nodes, [deciding])
        envelope = delay_notice_from_be(deciding, "told-by-the-node")
        lu = nodes[LU].node
        cut_off = cut_off_from_temporal(lu)
        with pytest.raises(HandOverPending):
            await take_in(cut_off, envelope, datetime.now(UTC))
        # Temporal still does not answer: the message stays kept, for the next round.
        assert await hand_over_kept(cut_off, older_than=timedelta(0)) == 0
        assert kept_for_hand_over(nodes, LU, "told-by-the-node") == [(False, True)]
        # A message younger than the grace is still the intake's own to hand over.
        assert await hand_over_kept(lu) == 0

        assert await hand_over_kept(lu, older_than=timedelta(0)) == 1
        case = await wait_for(lambda: outgoing_case(http, nodes, deciding),
                              lambda c: any(e["type"] == "decision_delayed" for e in c["timeline"]))
        assert kept_for_hand_over(nodes, LU, "told-by-the-node") == [(True, False)]
        assert await hand_over_kept(lu, older_than=timedelta(0)) == 0

        sealed = seal(envelope, be_key_at_lu(nodes))
        again = await http.post(f"{nodes[LU].url}/api/v1/inbox", content=sealed.body, headers=sealed.headers)
        assert again.status_code == 200, again.text
        await settled(nodes, [deciding])
        case = await outgoing_case(http, nodes, deciding)
        assert sum(e["type"] == "decision_delayed" for e in case["timeline"]) == 1


async def test_a_kept_certificate_opens_its_case_once_temporal_answers(three: LocalNodes) -> None:
    """A certificate kept while Temporal did not answer: its case is in the list, and its workflow is started
    by the node's sweep, with the certificate as its first message."""
    from intake import HandOverPending, hand_over_kept, take_in

    nodes = three
    be = nodes[BE].node
    envelope = Envelope(message_id="certificate-kept", conversation_id="kept-certificate-case",
                        type=MessageType.CERTIFICATE, from_state=LU, to_state=BE, sent_at=datetime.now(UTC),
                        payload=valid_payload(MessageType.CERTIFICATE))
    cut_off = cut_off_from_temporal(be)
    with pytest.raises(HandOverPending):
        await take_in(cut_off, envelope, datetime.now(UTC))
    assert kept_for_hand_over(nodes, BE, "certificate-kept") == [(False, True)]

    assert await hand_over_kept(be, older_than=timedelta(0)) == 1
    memory = await wait_for(lambda: workflow_memory(nodes, BE, Side.EXECUTING, "kept-certificate-case"),
                            lambda m: "certificate-kept" in m.seen_message_ids)
    assert memory.messages_received == ["certificate"] and memory.stage == ExecutingStage.RECEIVED
    assert kept_for_hand_over(nodes, BE, "certificate-kept") == [(True, False)]
