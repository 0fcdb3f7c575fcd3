"""Polling our e-CODEX connector client, once per node (a Temporal schedule, workflows/ecodex_poll.py).

One round, for each connector client the directory's e-CODEX routes name:

1. Fetch new messages and write every one to ``ecodex_incoming`` before reading any: the client has marked
   them delivered already and will never list them again.
2. Take them in one by one through the node's intake (``web.inbox.accept_sealed``, the same verification as
   the node link). A message that cannot be taken in — an action not ours, unreadable content, a bad
   signature, a message the case does not accept — is recorded (log and audit row) and answered
   NON_RETRIEVAL; the others go on. A passing failure (database, Temporal) is tried again next round, and
   refused after ``MAX_INTAKE_ATTEMPTS``.
3. Answer: DELIVERY for every message that reached us (the connector needs it before anything else, and the
   sender's connector issues NON_DELIVERY without it), then RETRIEVAL once the message is *taken up*, or
   NON_RETRIEVAL with the reason. Taken up means: the intake verified and stored it and the case's workflow
   accepted it (signalled or started in the intake's transaction). A message for a case that has ended is
   kept and changes nothing; it is still taken up, since our system has it.
4. Evidences about our own messages: the "rejected or confirmed" list every round, and for messages still
   waiting (the client never lists ACCEPTED ones: submission and relay acceptance) a look-up by backend
   message id. Each evidence goes to its case's workflow once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import activity
from temporalio.service import RPCError

from adapters.base import DeliveryError
from adapters.ecodex import (
    EcodexOptions,
    IncomingEcodexMessage,
    IncomingUnreadable,
    evidences_for,
    fetch_evidences,
    fetch_incoming,
    read_incoming,
    trigger_confirmation,
)
from adapters.envelope import Envelope, EnvelopeRejected
from adapters.evidence import Evidence, EvidenceType
from store import audit
from store import ecodex as books
from workflows.delivery import DeliveryEvidence
from workflows.ecodex_poll import EcodexPollInput, EcodexPollResult, poll_schedule_id

log = logging.getLogger(__name__)

# e-CODEX relays take time and the envelope was signed when submitted: the message id, not the clock,
# protects against replay here.
INTAKE_WINDOW = timedelta(days=30)
# How far back the poller looks for our messages still waiting for evidence: past the connector's longest
# time-out (retrieval, 36 h), after which it has issued a final evidence itself.
AWAITING_WITHIN_HOURS = 72
_KIND = {EvidenceType.SUBMISSION: "submitted", EvidenceType.RELAY: "relayed", EvidenceType.DELIVERY: "delivered",
         EvidenceType.RETRIEVAL: "retrieved"}


@dataclass
class _Round:
    result: EcodexPollResult = field(default_factory=EcodexPollResult)

    def error(self, doing: str, err: Exception) -> None:
        log.warning("e-CODEX poll: %s failed: %s", doing, err)
        self.result.errors.append(f"{doing}: {err}")


def connectors(node: Any) -> list[EcodexOptions]:
    """Our connector clients: those of the e-CODEX routes to other states (each once). The node's own entry
    in a shared directory names the connector through which the *other* nodes reach it."""
    found: dict[str, EcodexOptions] = {}
    for state, entry in node.directory.states.items():
        if state == node.settings.state:
            continue
        for authority in entry.authorities:
            if authority.adapter == "ecodex":
                options = EcodexOptions.model_validate(authority.options)
                found.setdefault(options.connector_url, options)
    return list(found.values())


def as_delivery_evidence(ev: Evidence) -> DeliveryEvidence:
    kind = "rejected" if ev.is_failure else _KIND[ev.type]
    return DeliveryEvidence(message_id=ev.message_reference, kind=kind, at=ev.at, channel=ev.channel,  # type: ignore[arg-type]
                            recorded_by="e-CODEX", stage=str(ev.type), source_type=ev.source_type)


async def _audit(node: Any, action: str, case_id: str | None, reason: str | None, detail: dict[str, Any]) -> None:
    async with node.pool.connection() as conn:
        await audit.record(conn, user_name="e-CODEX", role="system", authority=None, case_id=case_id,
                           action=action, reason=reason, detail=detail)


@dataclass(frozen=True)
class _Taken:
    incoming: IncomingEcodexMessage
    answer: dict[str, Any]


async def _intake(node: Any, row: dict[str, Any]) -> _Taken:
    """The one place an e-CODEX arrival enters the node's intake."""
    from intake import accept_sealed

    incoming = read_incoming(row["message"])
    answer = await accept_sealed(node, incoming.body, incoming.headers, window=INTAKE_WINDOW, channel="ecodex")
    return _Taken(incoming=incoming, answer=answer)


async def _take_in(node: Any, options: EcodexOptions, rnd: _Round) -> None:
    for row in await books.waiting_intake(node.pool, options.connector_url):
        ebms_id = row["ebms_message_id"]
        message = row["message"] or {}
        try:
            taken = await _intake(node, row)
        except (IncomingUnreadable, EnvelopeRejected, ValidationError, ValueError) as err:
            reason = err.reason if isinstance(err, IncomingUnreadable | EnvelopeRejected) else str(err)
            await _refuse(node, ebms_id, message, reason, rnd)
            continue
        except Exception as err:  # a passing failure of ours: try again next round, then give up
            attempts = await books.intake_failed(node.pool, ebms_id)
            rnd.error(f"taking in {ebms_id} (attempt {attempts})", err)
            await _audit(node, "ecodex_intake_failed", None, str(err),
                         {"ebms_message_id": ebms_id, "action": message.get("action"), "attempt": attempts})
            if attempts >= books.MAX_INTAKE_ATTEMPTS:
                await _refuse(node, ebms_id, message, f"could not be taken in: {err}", rnd)
            continue
        incoming = taken.incoming
        envelope_id = str(taken.answer.get("message_id") or "")
        # The case is the envelope's conversation (verified by the intake), whatever the connector says.
        conversation = Envelope.model_validate_json(incoming.body).conversation_id
        await books.taken_in(node.pool, ebms_id, message_id=envelope_id, conversation_id=conversation,
                             trust=incoming.trust.model_dump(mode="json"), trust_pdf=incoming.token_pdf)
        if incoming.trust.is_warning:
            log.warning("e-CODEX message %s (case %s): trust-OK token %s: %s", ebms_id, conversation,
                        incoming.trust.colour, incoming.trust.comments)
            await _audit(node, "ecodex_trust_warning", conversation, incoming.trust.comments,
                         {"ebms_message_id": ebms_id, **incoming.trust.model_dump(mode="json")})
        rnd.result.received += 1


async def _refuse(node: Any, ebms_id: str, message: dict[str, Any], reason: str, rnd: _Round) -> None:
    log.warning("e-CODEX message %s (action %s) refused: %s", ebms_id, message.get("action"), reason)
    await books.refused(node.pool, ebms_id, reason)
    await _audit(node, "ecodex_refused", None, reason,
                 {"ebms_message_id": ebms_id, "action": message.get("action"),
                  "conversation_id": message.get("conversationId")})
    rnd.result.refused += 1


async def _answer(node: Any, options: EcodexOptions, rnd: _Round) -> None:
    for row in await books.unanswered(node.pool, options.connector_url):
        ebms_id = row["ebms_message_id"]
        steps = [] if row["delivery_sent_at"] else ["DELIVERY"]
        if row["answer"] and not row["answer_sent_at"]:
            steps.append(row["answer"])
        for confirmation_type in steps:
            try:
                await trigger_confirmation(options, ebms_id, confirmation_type)
            except DeliveryError as err:
                rnd.error(f"sending {confirmation_type} for {ebms_id}", err)
                if err.retryable:
                    return  # the connector is away: the rest waits for the next round
                break  # this message's original is unknown to the client: nothing more to send for it
            await books.mark_sent(node.pool, ebms_id, confirmation_type)


async def _pass_on(node: Any, evidences: list[Evidence], rnd: _Round) -> None:
    for ev in evidences:
        submission = _submission_id(ev)
        if not await books.first_evidence(node.pool, ebms_message_id=submission, confirmation_type=ev.source_type,
                                          message_id=ev.message_reference, event_at=ev.at, document=ev.document):
            continue
        try:
            told = await signal_evidence(node, as_delivery_evidence(ev))
        except Exception as err:
            await books.forget_evidence(node.pool, submission, ev.source_type)
            rnd.error(f"passing on {ev.source_type} for {ev.message_reference}", err)
            continue
        rnd.result.evidences += int(told)


def _submission_id(ev: Evidence) -> str:
    # One key per submission, whichever way the evidence came (the list carries the REM documents, the
    # look-up by backend id does not): the ebMS id, which each submission gets anew.
    return ev.transport_reference or ev.message_reference


async def signal_evidence(node: Any, ev: DeliveryEvidence) -> bool:
    """Through the intake (intake/evidence.py): bound to the case whose message it is, then told to its workflow."""
    from intake.evidence import bind_evidence, tell_case

    async with node.pool.connection() as conn:
        case = await bind_evidence(conn, ev.message_id)
    return case is not None and await tell_case(node.client, case, ev) is None


async def poll_once(node: Any) -> EcodexPollResult:
    """One round (see the module's docstring). Safe to repeat; a connector that is away is tried next round."""
    rnd = _Round()
    for options in connectors(node):
        try:
            fetched = await fetch_incoming(options)
        except DeliveryError as err:
            rnd.error("fetching new messages", err)
        else:
            await books.keep_fetched(node.pool, options.connector_url, fetched)
        await _take_in(node, options, rnd)
        await _answer(node, options, rnd)
        try:
            await _pass_on(node, await fetch_evidences(options), rnd)
        except DeliveryError as err:
            rnd.error("fetching evidences", err)
    for row in await books.awaiting_evidence(node.pool, within_hours=AWAITING_WITHIN_HOURS):
        try:
            route = node.directory.route(row["to_state"])
            if route.adapter != "ecodex":
                continue
            found = await evidences_for(EcodexOptions.model_validate(route.options), row["message_id"])
        except Exception as err:
            rnd.error(f"looking up evidences of {row['message_id']}", err)
            continue
        await _pass_on(node, found, rnd)
    return rnd.result


class EcodexActivities:
    """The poll as an activity of the node's worker; the schedule makes sure one runs at a time per node."""

    def __init__(self, node: Any) -> None:
        self.node = node

    @activity.defn(name="poll_ecodex")
    async def poll_ecodex(self, inp: EcodexPollInput) -> EcodexPollResult:
        return await poll_once(self.node)

    def all(self) -> list[Any]:
        return [self.poll_ecodex]


async def ensure_poll_schedule(client: Any, state: str, task_queue: str, every_seconds: int, *, wanted: bool) -> None:
    """Create (or update) the node's e-CODEX poll schedule, or delete it when no route uses e-CODEX."""
    from activities.schedules import ensure_interval_schedule

    if not wanted:
        try:
            await client.get_schedule_handle(poll_schedule_id(state)).delete()
        except RPCError:
            pass  # there was none
        return
    # Never two rounds at once (the schedule skips): the client's list endpoints do no locking.
    await ensure_interval_schedule(client, poll_schedule_id(state), "EcodexPoll", EcodexPollInput(state=state),
                                   workflow_id=f"ecodex-poll-{state}", task_queue=task_queue,
                                   every=timedelta(seconds=every_seconds))
