"""Taking in one message: the steps of the intake (see the package's docstring), each once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.envelope import Envelope, EnvelopeRejected, open_envelope
from forms.messages import (
    MESSAGES,
    CertificateMessage,
    Completion,
    DocumentInfo,
    Message,
    MessageRefused,
    MessageType,
    parse_message,
)
from forms.stages import Side
from intake.certificate_pdf import checked_pdf, keep_received_certificate
from intake.documents import DocumentRefused, keep_received, received_documents, without_document_content
from store import audit, cases, messages
from workflows.model import LinkMessage, TransferInput, workflow_id

log = logging.getLogger(__name__)

SIDE_OF_DIRECTION = {"outgoing": Side.ISSUING, "incoming": Side.EXECUTING}
FINAL_STAGES = frozenset({"closed", "returned"})
# Art 8(2): the executing side's deadline that shows a completion was asked for and is awaited.
COMPLETION_AWAITED = "completion"


class IntakeRefused(EnvelopeRejected):
    """A verified message that cannot be taken in: the status and reason the sender is answered with.
    `repeated`: the answer this message id got the first time (FINAL_REFUSALS), given again."""

    def __init__(self, status: int, reason: str, *, repeated: bool = False) -> None:
        super().__init__(status, reason)
        self.repeated = repeated


# Refusals for what a message is (its content or its sender), which the same id keeps (migration 0034); a 404
# (no such case yet) or a 409 (not in this stage) may change as the case moves on, and is judged afresh.
FINAL_REFUSALS = frozenset({403, 422})


@dataclass(frozen=True)
class Bound:
    """A message bound to its case: which side of it this node is, and whether the case is still open."""

    side: Side
    case: dict[str, Any] | None
    open: bool


async def accept_sealed(node: Any, body: bytes, headers: Mapping[str, str], *, window: timedelta | None = None,
                        channel: str = "link") -> dict[str, Any]:
    """Verify a sealed envelope (from the node link, an e-mail, e-CODEX or an officer's upload) and take it
    in; raises EnvelopeRejected (IntakeRefused once it is verified). A message id is acted on once."""
    now = datetime.now(UTC)
    envelope = open_envelope(body, headers, public_key_for=node.directory.public_key,
                             own_state=node.settings.state, now=now,
                             window=window or timedelta(seconds=node.settings.envelope_window_seconds))
    return await take_in(node, envelope, now, channel=channel)


async def take_in(node: Any, envelope: Envelope, now: datetime, *, channel: str = "link") -> dict[str, Any]:
    """Parse, bind, store and signal one verified envelope; the answer for the sender."""
    try:
        return await _take_in(node, envelope, now)
    except IntakeRefused as err:
        if err.repeated:
            raise  # recorded the first time
        await _record_refusal(node, envelope, err, channel)
        if err.status in FINAL_REFUSALS:
            await messages.remember_refusal(node.pool, message_id=envelope.message_id,
                                            from_state=envelope.from_state, status=err.status, reason=err.reason)
        raise


@dataclass(frozen=True)
class IncomingCase:
    """What the executing side's workflow of a case a certificate opened starts with: the values its row in
    `cases` was made with."""

    issuing_state: str
    authority: str
    created_by: str


@dataclass(frozen=True)
class HandOver:
    """What the case's workflow is told once the message is stored: the message, to the workflow of this side;
    for a certificate, the executing side's workflow is started with it (`opens`)."""

    case_id: str
    side: Side
    msg: LinkMessage
    opens: IncomingCase | None = None

    @classmethod
    def kept(cls, row: Mapping[str, Any]) -> HandOver:
        """From a kept message's row (messages.inbox_kept): its stored hand-over and its case's row."""
        side = SIDE_OF_DIRECTION[row["direction"]]
        opens = IncomingCase(issuing_state=row["issuing_state"], authority=row["authority"],
                             created_by=row["created_by"]) \
            if side == Side.EXECUTING and MESSAGES[MessageType(row["type"])].opens_case else None
        return cls(row["conversation_id"], side, LinkMessage.model_validate(row["hand_over"]), opens)


class HandOverPending(Exception):
    """The message is stored but its case's workflow could not be told now: the sender is asked to send it
    again (503 on the link, the next round on e-CODEX), and the same id is then handed over, not stored twice."""


async def _take_in(node: Any, envelope: Envelope, now: datetime) -> dict[str, Any]:
    answer: dict[str, Any] = {"accepted": True, "message_id": envelope.message_id, "received_at": now.isoformat()}
    async with node.pool.connection() as conn, conn.transaction():
        # Serialise concurrent deliveries of the same id (a retry racing a slow first attempt).
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (envelope.message_id,))
        first = await messages.inbox_answer(conn, envelope.message_id)
        if first is not None:
            kept, handed_over = first
            if handed_over:
                return kept
            # Stored the first time, its workflow not told: tell it now (it takes a message id once), as kept.
            row = await messages.inbox_kept(conn, envelope.message_id)
            answer, hand_over = kept, HandOver.kept(row) if row is not None else None
        else:
            hand_over = await _store(node, conn, envelope, now, answer)
    # Only now, the message committed, does the workflow hear of it: whatever it then reads (the completed
    # certificate, the documents) is there.
    if hand_over is not None:
        try:
            await _tell(node, hand_over, answer)
        except RPCError as err:
            raise HandOverPending(f"message {envelope.message_id} is kept; its case could not be told now "
                                  f"({err.message}): send it again") from err
        await messages.inbox_handed_over(node.pool, envelope.message_id, answer)
    return answer


async def _store(node: Any, conn: Any, envelope: Envelope, now: datetime, answer: dict[str, Any]) -> HandOver | None:
    """Parse, bind and store one message (in the caller's transaction); what its workflow is then told."""
    refused = await messages.inbox_refusal(conn, envelope.message_id)
    if refused is not None:
        raise IntakeRefused(*refused, repeated=True)
    try:
        message = parse_message(envelope.type, envelope.payload)
    except MessageRefused as err:
        raise IntakeRefused(422, f"{envelope.type}: " + "; ".join(err.problems)) from err
    bound = await _bind(conn, node, envelope, message)
    try:
        documents = received_documents(envelope, message)  # Art 6(1): each against its sha256, before anything
    except DocumentRefused as err:
        raise IntakeRefused(422, str(err)) from err
    msg = _link_message(envelope, message, now)
    opens: IncomingCase | None = None
    if isinstance(message, CertificateMessage):
        opens = await _open_incoming_case(node, conn, envelope, message)
    elif isinstance(message, Completion) and bound.open and message.certificate_pdf is not None:
        # Checked now (the sender hears of a PDF that is not what it says); the completed certificate and
        # its PDF are kept once the case's workflow accepts the completion (accept_completion): a case that
        # has moved on since this read of its stage ignores it, and keeps the certificate it had.
        try:
            checked_pdf(message.certificate_pdf)
        except DocumentRefused as err:
            raise IntakeRefused(422, str(err)) from err
    if bound.open:
        await keep_received(conn, envelope, documents)
    else:
        answer["note"] = "the case has ended here; the message was kept but changes nothing"
    hand_over = None
    if opens is not None:
        hand_over = HandOver(envelope.conversation_id, Side.EXECUTING, msg, opens)
    elif bound.open:
        hand_over = HandOver(envelope.conversation_id, bound.side, msg)
    # The documents' bytes are kept once, in the documents table; the inbox keeps the rest of the envelope.
    await messages.inbox_record(conn, message_id=envelope.message_id, conversation_id=envelope.conversation_id,
                                type_=envelope.type, from_state=envelope.from_state,
                                envelope=without_document_content(envelope.model_dump(mode="json")),
                                response=answer,
                                hand_over=hand_over.msg.model_dump(mode="json") if hand_over else None)
    return hand_over


def _link_message(envelope: Envelope, message: Message, received_at: datetime) -> LinkMessage:
    return LinkMessage(message_id=envelope.message_id, type=envelope.type, from_state=envelope.from_state,
                       sent_at=envelope.sent_at, received_at=received_at, body=message.signal_body())


async def _bind(conn: Any, node: Any, envelope: Envelope, message: Message) -> Bound:
    """The case the message belongs to, or IntakeRefused saying why it belongs to none."""
    cur = await conn.execute(
        "SELECT id, direction, stage, issuing_state, executing_state, deadlines FROM cases WHERE id = %s",
        (envelope.conversation_id,))
    row: dict[str, Any] | None = await cur.fetchone()
    if message.opens_case:
        if row is not None:
            raise IntakeRefused(409, f"conversation {envelope.conversation_id} already exists here: a certificate "
                                     "opens a new conversation (a corrected one is sent as a completion)")
        if isinstance(message, CertificateMessage):
            _check_parties(node, envelope, message)
        return Bound(Side.EXECUTING, None, True)
    if row is None:
        raise IntakeRefused(404, f"no case {envelope.conversation_id} here: a {envelope.type} refers to a case "
                                 "opened by a certificate")
    side = SIDE_OF_DIRECTION[row["direction"]]
    other_party = row["executing_state"] if side == Side.ISSUING else row["issuing_state"]
    if envelope.from_state != other_party:
        raise IntakeRefused(403, f"{envelope.from_state} is not a party to case {envelope.conversation_id}: "
                                 f"only {other_party} may write about it")
    accepted = message.receivers.get(side)
    if accepted is None:
        raise IntakeRefused(409, f"a {envelope.type} is sent to the "
                                 f"{'executing' if side == Side.ISSUING else 'issuing'} side, and this node is the "
                                 f"{side} side of case {envelope.conversation_id}")
    if row["stage"] in FINAL_STAGES:
        # Crossing the end of the case (a decision while the withdrawal travels): kept, not acted on.
        return Bound(side, row, False)
    if row["stage"] not in accepted:
        raise IntakeRefused(409, f"a {envelope.type} is not acceptable while case {envelope.conversation_id} is "
                                 f"{row['stage']} (Art {message.article})")
    if isinstance(message, Completion) and not _completion_awaited(row):
        raise IntakeRefused(409, f"no completion of the certificate was asked for in case {envelope.conversation_id}"
                                 " (Art 8(2))")
    return Bound(side, row, True)


def _check_parties(node: Any, envelope: Envelope, message: CertificateMessage) -> None:
    """A certificate is for this state, from its issuing state, or forwarded ex officio by another authority
    of this state that was not competent (Art 6(7)) -- then for an authority this node serves."""
    own = node.settings.state
    cert = message.certificate
    if cert.executing_state != own:
        raise IntakeRefused(422, f"the certificate names {cert.executing_state} as executing state, not {own}")
    if message.forwarded is None:
        if cert.issuing_state != envelope.from_state:
            raise IntakeRefused(422, f"the certificate names {cert.issuing_state} as issuing state, and it comes "
                                     f"from {envelope.from_state}")
        return
    if envelope.from_state != own:
        raise IntakeRefused(403, f"only an authority of {own} forwards a certificate within {own} (Art 6(7)); "
                                 f"this one comes from {envelope.from_state}")
    if not node.directory.same_node(own, node.settings.node_authority, message.forwarded.to_authority):
        raise IntakeRefused(422, f"the certificate is forwarded to {message.forwarded.to_authority}, which this "
                                 f"node does not serve")


def _issuing_state(envelope: Envelope, message: CertificateMessage) -> str:
    """Who issued the certificate: its sender, or the certificate's issuing state when it was forwarded."""
    return message.certificate.issuing_state if message.forwarded else envelope.from_state


def _authority(node: Any, message: CertificateMessage) -> str:
    """The authority of this node that holds the new case: the one it was forwarded to, or the node's."""
    return message.forwarded.to_authority if message.forwarded else str(node.settings.node_authority)


def _completion_awaited(row: dict[str, Any]) -> bool:
    return any(d.get("name") == COMPLETION_AWAITED and d.get("status") in ("open", "missed")
               for d in row.get("deadlines") or [])


async def _open_incoming_case(node: Any, conn: Any, envelope: Envelope, message: CertificateMessage) -> IncomingCase:
    """The executing side's case a certificate opens; what its workflow is started with."""
    certificate = message.certificate
    opens = IncomingCase(issuing_state=_issuing_state(envelope, message), authority=_authority(node, message),
                         created_by=f"peer:{envelope.from_state}")
    await cases.insert_case(conn, case_id=envelope.conversation_id, direction="incoming",
                            authority=opens.authority, issuing_state=opens.issuing_state,
                            executing_state=node.settings.state, stage="received",
                            certificate=certificate.model_dump(mode="json"),
                            facts=certificate.facts().model_dump(mode="json"), created_by=opens.created_by)
    # The seal is the issuing authority's, also on a certificate forwarded within this state.
    await _keep_pdf(node, conn, envelope, message.certificate_pdf, sealed_by=opens.issuing_state)
    return opens


async def _keep_pdf(node: Any, conn: Any, envelope: Envelope, pdf: DocumentInfo | None, *,
                    sealed_by: str | None = None) -> None:
    """The certificate's PDF exactly as it was received, its digest and seal checked (Reg 2023/2844 Art 7-8)."""
    try:
        await keep_received_certificate(conn, node.directory, case_id=envelope.conversation_id,
                                        from_state=sealed_by or envelope.from_state, message_id=envelope.message_id,
                                        pdf=pdf)
    except DocumentRefused as err:
        raise IntakeRefused(422, str(err)) from err


async def _tell(node: Any, hand_over: HandOver, answer: dict[str, Any]) -> None:
    """Tell the case's workflow of a stored message: start the executing side's workflow with a certificate,
    or signal the case's. Told already (a copy racing this one) is told."""
    if hand_over.opens is None:
        await _signal(node.client, workflow_id(hand_over.side, hand_over.case_id), hand_over.msg, answer)
        return
    opens, client = hand_over.opens, node.client
    try:
        await client.start_workflow(
            "IncomingTransfer",
            TransferInput(case_id=hand_over.case_id, issuing_state=opens.issuing_state,
                          executing_state=node.settings.state, authority=opens.authority,
                          created_by=opens.created_by, duty_working_days=node.settings.duty_working_days,
                          delivery_retry_hours=node.settings.delivery_retry_hours),
            id=workflow_id(Side.EXECUTING, hand_over.case_id), task_queue=node.settings.task_queue,
            start_signal="receive", start_signal_args=[hand_over.msg],
        )
    except WorkflowAlreadyStartedError:
        pass


# A message kept and not handed over is handed over by the node itself once it is this old: younger ones are
# still in the hands of the intake that stored them (it tells the workflow right after its commit).
HAND_OVER_GRACE = timedelta(seconds=30)


async def hand_over_kept(node: Any, *, older_than: timedelta = HAND_OVER_GRACE) -> int:
    """Tell each case's workflow of the messages kept for it and not handed over (Temporal did not answer
    after the intake's commit), oldest first; how many were handed over. Stops at the first that still cannot
    be told: the next round tries again. A workflow takes a message id once, so a message handed over twice
    (this racing a sender's copy sent again) changes its case once."""
    told = 0
    for row in await messages.inbox_awaiting_hand_over(node.pool, older_than=older_than):
        answer = dict(row["response"])
        try:
            await _tell(node, HandOver.kept(row), answer)
        except RPCError as err:
            log.warning("message %s is kept; its case still cannot be told (%s)", row["message_id"], err.message)
            break
        await messages.inbox_handed_over(node.pool, row["message_id"], answer)
        log.info("message %s handed over to case %s", row["message_id"], row["conversation_id"])
        told += 1
    return told


async def _signal(client: Client, wf_id: str, msg: LinkMessage, answer: dict[str, Any]) -> None:
    """Hand a message to the case's workflow. A message for a case whose workflow has ended is kept."""
    try:
        await client.get_workflow_handle(wf_id).signal("receive", msg)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        answer["note"] = "the case has ended here; the message was kept but changes nothing"


async def _record_refusal(node: Any, envelope: Envelope, err: IntakeRefused, channel: str) -> None:
    """For the auditor: who sent what that was refused, and why. Ids only: the payload is not kept."""
    log.warning("message %s (%s, case %s) from %s refused over %s: %s", envelope.message_id, envelope.type,
                envelope.conversation_id, envelope.from_state, channel, err.reason)
    async with node.pool.connection() as conn:
        # The node's own authority: its auditor answers for what its intake refused.
        await audit.record(conn, user_name=f"peer:{envelope.from_state}", role="peer",
                           authority=node.settings.node_authority, case_id=None, action="inbox_rejected",
                           reason=err.reason[:500],
                           detail={"status": err.status, "type": envelope.type, "message_id": envelope.message_id,
                                   "conversation_id": envelope.conversation_id, "channel": channel})
