"""Every side effect of the workflows, each small and idempotent: the case projection and audit (via
store/), certificate checks and documents (via forms/), dispatch through the adapter the directory names.

Activities are registered under the names the workflows call them by.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.documents import render_certificate_pdf
from adapters.base import Attachment, DeliveryError, OutboundMessage, adapter_for
from adapters.directory import Directory, UnknownDestination
from adapters.envelope import Envelope, seal
from adapters.seal import NodeSeal, seal_pdf
from forms.documents import outgoing_documents
from forms.messages import MessageType
from probatio import telemetry
from store import cases, documents, messages
from workflows.deadlines import DEADLINES
from workflows.model import (
    AdaptationCheck,
    CaseFacts,
    CaseProjection,
    OutgoingMessage,
    SendResult,
    SubmissionCheck,
)

log = logging.getLogger(__name__)
# The operator's log line for each delivery attempt (ids only: no personal data).
_ATTEMPT = "message %s (%s, case %s) to %s over %s, attempt %d"


@dataclass
class NodeContext:
    """What the activities of one node share: its state, database, directory and signing key."""

    state: str
    pool: AsyncConnectionPool[Any]
    directory: Directory
    signing_key: Ed25519PrivateKey
    # e-CODEX: stage → hours to wait for its evidence (Settings.ecodex_evidence_hours); the workflow sets one
    # deadline per stage from what send_message returns.
    ecodex_evidence_hours: dict[str, int] = field(
        default_factory=lambda: {"relay": 12, "delivery": 24, "retrieval": 36})
    seal: NodeSeal | None = None  # the PAdES seal on issued certificates; None: they go unsealed


# The web or inbox transaction that creates a case commits just after it starts the case's workflow (a
# start that fails then leaves no row behind), so the workflow's first activity can come before the row.
_COMMIT_WAIT_SECONDS = 2.0


async def committed_case(pool: AsyncConnectionPool[Any], case_id: str, direction: str | None = None
                         ) -> dict[str, Any]:
    """The case's row, waiting a moment for the transaction that creates it to commit; after that a
    LookupError, which Temporal retries (with a warning and a traceback in the worker's log)."""
    deadline = time.monotonic() + _COMMIT_WAIT_SECONDS
    while (row := await cases.get_case(pool, case_id, direction)) is None:
        if time.monotonic() > deadline:
            raise LookupError(f"case {case_id} is not in the database yet")
        await asyncio.sleep(0.05)
    return row


def certificate_of(row: dict[str, Any], case_id: str) -> Any:
    from forms.annex1 import Certificate

    if row.get("certificate") is None:
        raise ApplicationError(f"case {case_id} has no certificate", type="invalid", non_retryable=True)
    return Certificate.model_validate(row["certificate"])


class NodeActivities:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    @activity.defn(name="record_case")
    async def record_case(self, projection: CaseProjection) -> None:
        await cases.apply_projection(
            self.ctx.pool,
            case_id=projection.case_id,
            revision=projection.revision,
            stage=projection.stage,
            outcome=projection.outcome,
            decision_due=projection.decision_due,
            deadlines=DEADLINES.dump_python(projection.deadlines, mode="json"),
            alerts=projection.alerts,
            alerts_seen=projection.alerts_seen,
            closed_at=projection.closed_at,
            events=[e.model_dump() for e in projection.events],
        )

    @activity.defn(name="check_certificate")
    async def check_certificate(self, case_id: str) -> SubmissionCheck:
        """Art 5, 6(4), 11(1)(a), 21 before the prosecutor sees it: `path: reason` lines, no values."""
        from forms.validation import validate_certificate

        row = await committed_case(self.ctx.pool, case_id, "outgoing")
        problems = validate_certificate(row["certificate"], executing=row["executing_state"],
                                        today=datetime.now(UTC).date())
        return SubmissionCheck(errors=[str(p) for p in problems if p.severity == "error"],
                               warnings=[str(p) for p in problems if p.severity == "warning"])

    @activity.defn(name="load_facts")
    async def load_facts(self, case_id: str) -> CaseFacts:
        from forms.states import load_state

        row = await committed_case(self.ctx.pool, case_id)
        try:
            cert = certificate_of(row, case_id)
        except (ApplicationError, ValueError):
            # An incomplete certificate is still received (Art 8(2)); its facts come with the completion.
            return CaseFacts()
        facts = cert.facts()
        executing = load_state(cert.executing_state)
        return CaseFacts(
            judgment_type=str(facts.judgment_type),
            measure_count=len(facts.measures),
            measure_days=[m.duration_days for m in facts.measures],
            measure_hours=[m.hours for m in facts.measures],
            probation_period_days=facts.probation_period_days,
            probation_start=facts.supervision_start,
            probation_end=facts.probation_end,
            executing_declared_14_3=bool(executing.art_14_3_declaration.made),
            art_14_3_applies=art_14_3_applies(executing.art_14_3_declaration, facts),
        )

    @activity.defn(name="apply_completion")
    async def apply_completion(self, case_id: str, note_id: str | None) -> None:
        """Art 8(2): the completed certificate (checked by the web layer, kept in the action's note) replaces
        the stored one, now that the workflow accepted the completion (histories before completion-in-one-step)."""
        completed = await self._completed(case_id, note_id)
        await cases.update_certificate(self.ctx.pool, case_id, completed.model_dump(mode="json"),
                                       completed.facts().model_dump(mode="json"))

    @activity.defn(name="accept_completion")
    async def accept_completion(self, case_id: str, message_id: str) -> CaseFacts:
        """Art 8(2) on the executing side, once the case's workflow accepted the completion: the completed
        certificate (kept by the intake with the message) replaces the one received, and its PDF is kept with
        its seal checked, in one transaction; the case's facts follow it."""
        from forms.messages import Completion, parse_message
        from intake.certificate_pdf import keep_received_certificate

        payload = await messages.inbox_payload(self.ctx.pool, message_id)
        if payload is None:
            raise ApplicationError(f"completion {message_id} is not in the inbox", type="invalid", non_retryable=True)
        # The documents' bytes are kept apart (documents table; the inbox keeps their descriptions only).
        completion = parse_message("completion", {k: v for k, v in payload.items() if k != "documents"})
        if not isinstance(completion, Completion):  # parse_message gives the model of the type it is asked for
            raise ApplicationError(f"message {message_id} is not a completion", type="invalid", non_retryable=True)
        row = await committed_case(self.ctx.pool, case_id, "incoming")
        async with self.ctx.pool.connection() as conn, conn.transaction():
            await cases.write_certificate(conn, case_id, completion.certificate.model_dump(mode="json"),
                                          completion.certificate.facts().model_dump(mode="json"))
            await keep_received_certificate(conn, self.ctx.directory, case_id=case_id, from_state=row["issuing_state"],
                                            message_id=message_id, pdf=completion.certificate_pdf)
        facts: CaseFacts = await self.load_facts(case_id)
        return facts

    @activity.defn(name="complete_certificate")
    async def complete_certificate(self, case_id: str, note_id: str | None) -> str:
        """Art 8(2) in one step: the completed certificate (kept in the action's note) with box (l) the approving
        prosecutor's and box (k) what is attached, rendered and sealed; it and its PDF are stored together once
        all of it succeeded, so a completion that fails leaves the certificate as it was sent."""
        completed = await self._completed(case_id, note_id)
        lang, pdf = await self._render(completed)
        async with self.ctx.pool.connection() as conn, conn.transaction():
            await cases.write_certificate(conn, case_id, completed.model_dump(mode="json"),
                                          completed.facts().model_dump(mode="json"))
            await cases.write_document(conn, case_id, "certificate", lang, "application/pdf", pdf)
        return lang

    async def _completed(self, case_id: str, note_id: str | None) -> Any:
        """The completed certificate as it is to be kept: the officer completes the content, not the signature
        (box (l) stays the approving prosecutor's, Art 6(3)); box (k) keeps listing what goes with it."""
        from forms.annex1 import Certificate
        from forms.documents import Art6_1Documents, sent_separately

        texts = await cases.note_texts(self.ctx.pool, note_id) if note_id else {}
        certificate = texts.get("certificate")
        if not isinstance(certificate, dict):
            raise ApplicationError("certificate: the completed certificate is missing from the action's note",
                                   type="invalid", non_retryable=True)
        row = await committed_case(self.ctx.pool, case_id, "outgoing")
        cert = Certificate.model_validate(certificate)
        if row.get("certificate") is not None:
            cert = cert.model_copy(update={"signature": certificate_of(row, case_id).signature})
        rule = Art6_1Documents.of_listed(await documents.listed(self.ctx.pool, case_id),
                                         sent_separately(row.get("certificate")))
        return Certificate.model_validate(rule.box_k(cert.model_dump(mode="json")))

    @activity.defn(name="sign_certificate")
    async def sign_certificate(self, case_id: str, approver: str, note_id: str | None) -> None:
        """Art 6(3): the approval is the signature. Box (l) gets the approving prosecutor, the post they gave
        (kept in the approval's note) and the day of the approval, before the certificate is rendered."""
        row = await committed_case(self.ctx.pool, case_id, "outgoing")
        texts = await cases.note_texts(self.ctx.pool, note_id) if note_id else {}
        post = texts.get("post") if isinstance(texts.get("post"), str) else None
        signed = certificate_of(row, case_id).signed_by(approver, post, activity.info().scheduled_time.date())
        await cases.update_certificate(self.ctx.pool, case_id, signed.model_dump(mode="json"),
                                       row.get("facts") or signed.facts().model_dump(mode="json"))

    @activity.defn(name="approve_certificate")
    async def approve_certificate(self, case_id: str, approver: str, note_id: str | None,
                                  judgment_sent_separately: str | None) -> str:
        """The approval in one step (Art 6(1), 6(3), 21): box (k) lists the documents attached and how the
        judgment is sent otherwise, box (l) is the approving prosecutor's signature, the certificate is rendered
        in a language the executing state accepts and sealed; the certificate and its PDF are stored together,
        once all of it succeeded, so an approval that fails (or is refused) leaves the draft as it was."""
        from forms.documents import Art6_1Documents

        row = await committed_case(self.ctx.pool, case_id, "outgoing")
        texts = await cases.note_texts(self.ctx.pool, note_id) if note_id else {}
        post = texts.get("post") if isinstance(texts.get("post"), str) else None
        rule = Art6_1Documents.of_listed(await documents.listed(self.ctx.pool, case_id), judgment_sent_separately)
        boxed = certificate_of({**row, "certificate": rule.box_k(row["certificate"])}, case_id)
        signed = boxed.signed_by(approver, post, activity.info().scheduled_time.date())
        lang, pdf = await self._render(signed)
        async with self.ctx.pool.connection() as conn, conn.transaction():
            await cases.write_certificate(conn, case_id, signed.model_dump(mode="json"),
                                          row.get("facts") or signed.facts().model_dump(mode="json"))
            await cases.write_document(conn, case_id, "certificate", lang, "application/pdf", pdf)
        return lang

    @activity.defn(name="reassign_case")
    async def reassign_case(self, case_id: str, authority: str) -> None:
        """Art 6(7), 18(1): the case goes to the competent authority this node also serves."""
        await cases.reassign(self.ctx.pool, case_id, authority)

    @activity.defn(name="check_adaptation")
    async def check_adaptation(self, case_id: str, note_id: str | None) -> AdaptationCheck:
        """Art 9: the measures a prosecutor adapts (kept in the note) checked against the certificate."""
        from pydantic import TypeAdapter, ValidationError

        from forms.adaptation import MeasureChange
        from forms.adaptation import check_adaptation as check
        from forms.states import load_state

        texts = await cases.note_texts(self.ctx.pool, note_id) if note_id else {}
        raw = texts.get("measures")
        if not isinstance(raw, list) or not raw:
            return AdaptationCheck(errors=["measures: an adaptation names at least one changed measure (Art 9)"])
        try:
            changes = TypeAdapter(list[MeasureChange]).validate_python(raw)
        except ValidationError as err:
            return AdaptationCheck(errors=[
                "measures" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]) + f": {e['msg']}"
                for e in err.errors()])
        row = await committed_case(self.ctx.pool, case_id, "incoming")
        cert = certificate_of(row, case_id)
        problems = check(cert, changes, executing=load_state(self.ctx.state))
        return AdaptationCheck(errors=[str(p) for p in problems if p.severity == "error"],
                               measures_changed=sorted({c.measure for c in changes}))

    @activity.defn(name="prepare_certificate")
    async def prepare_certificate(self, case_id: str) -> str:
        """Render the certificate in a language the executing state accepts (Art 21) and keep the PDF."""
        row = await committed_case(self.ctx.pool, case_id, "outgoing")
        lang, pdf = await self._render(certificate_of(row, case_id))
        await cases.save_document(self.ctx.pool, case_id, "certificate", lang, "application/pdf", pdf)
        return lang

    async def _render(self, cert: Any) -> tuple[str, bytes]:
        """The certificate's PDF in the first language the executing state accepts that can be rendered, sealed
        by the node."""
        from forms.render import RENDER_LANGUAGES
        from forms.states import certificate_language

        lang = certificate_language(cert.executing_state, [cert.language, *RENDER_LANGUAGES])
        if lang is None or lang not in RENDER_LANGUAGES:
            raise ApplicationError(
                f"no language accepted by {cert.executing_state} can be rendered yet", type="invalid",
                non_retryable=True)
        # The approval is the certificate's issue: its time (the activity's first scheduling, the same on a
        # retry) is the PDF's creation date, and the node seals the document then (Art 6(3); Reg 2023/2844).
        issued_at = activity.info().scheduled_time
        pdf = await render_certificate_pdf(cert.model_dump(mode="json"), lang, issued_at)
        if self.ctx.seal is not None:
            pdf = await seal_pdf(pdf, self.ctx.seal, location=self.ctx.state,
                                 reason="Certificate under Article 6 of Framework Decision 2008/947/JHA, "
                                        "certified as accurate by the issuing authority (Art 6(3))")
        return lang, pdf

    @activity.defn(name="send_message")
    async def send_message(self, msg: OutgoingMessage) -> SendResult:
        """Seal and deliver one message. Safe to repeat: the message id is the idempotency key end to end."""
        payload: dict[str, Any] = dict(msg.body)
        if msg.note_id:
            payload.update(await cases.note_texts(self.ctx.pool, msg.note_id))
        attachments: list[Attachment] = []
        if msg.attach_certificate:
            # Art 6(7): the executing side forwards the certificate as it received it (its PDF, seal intact).
            row = await cases.get_case(self.ctx.pool, msg.case_id, "incoming" if msg.forwarding else "outgoing")
            if row is None:
                raise ApplicationError(f"case {msg.case_id} not found", type="rejected", non_retryable=True)
            payload["certificate"] = row["certificate"]
            doc = await cases.latest_document(self.ctx.pool, msg.case_id, "certificate")
            if doc is not None:
                payload["certificate_pdf"] = {"lang": doc["lang"], "sha256": doc["sha256"],
                                              "content": base64.b64encode(doc["content"]).decode()}
                attachments.append(Attachment(f"certificate-{doc['lang']}.pdf", "application/pdf",
                                              bytes(doc["content"])))
            # Art 6(1): the judgment and the other documents go with the certificate (and a completion),
            # inline in the signed payload for the peer node and as attachments for people.
            attached = await documents.with_content(self.ctx.pool, msg.case_id)
            if attached:
                payload["documents"] = outgoing_documents(attached)
                attachments.extend(Attachment(str(d["filename"]), "application/pdf", bytes(d["content"]))
                                   for d in attached)
        try:
            route = self.ctx.directory.route_for(msg.to_state, msg.to_authority, exact=msg.forwarding)
        except UnknownDestination as err:
            raise ApplicationError(str(err), type="rejected", non_retryable=True) from err
        info = activity.info()
        # The first attempt's time is the message's time, so a retry carries the same envelope.
        sent_at = info.scheduled_time if info.attempt > 1 else datetime.now(UTC)
        envelope = Envelope(message_id=msg.message_id, conversation_id=msg.case_id, type=MessageType(msg.type),
                            from_state=self.ctx.state, to_state=msg.to_state, sent_at=sent_at, payload=payload)
        await messages.outbox_attempt(self.ctx.pool, message_id=msg.message_id, conversation_id=msg.case_id,
                                      type_=msg.type, to_state=msg.to_state, adapter=route.adapter,
                                      payload=payload)
        adapter = adapter_for(route.adapter, route.options)
        attempt = (msg.message_id, msg.type, msg.case_id, msg.to_state, route.adapter, info.attempt)
        try:
            with telemetry.span(f"adapter.deliver {route.adapter}", {
                    "probatio.adapter": route.adapter, "probatio.case_id": msg.case_id,
                    "probatio.message_id": msg.message_id, "probatio.message_type": msg.type,
                    "probatio.to_state": msg.to_state, "probatio.attempt": info.attempt}):
                result = await adapter.deliver(OutboundMessage(seal(envelope, self.ctx.signing_key), attachments))
        except DeliveryError as err:
            log.warning(_ATTEMPT + ", not delivered: %s", *attempt, err)
            await messages.outbox_result(self.ctx.pool, msg.message_id, delivered=False, response=None,
                                         error=str(err))
            if err.retryable:
                raise
            raise ApplicationError(f"{route.authority_code} refused the message: {err}", type="rejected",
                                   non_retryable=True) from err
        log.info(_ATTEMPT + ": %s", *attempt, "delivered" if result.delivered else "handed over")
        await messages.outbox_result(self.ctx.pool, msg.message_id, delivered=result.delivered,
                                     response=result.response, error=None)
        return SendResult(message_id=msg.message_id, delivered=result.delivered, adapter=route.adapter,
                          reference=result.reference,
                          evidence_hours=self.ctx.ecodex_evidence_hours if route.adapter == "ecodex" else {})

    def all(self) -> list[Any]:
        return [self.record_case, self.check_certificate, self.load_facts, self.prepare_certificate,
                self.send_message, self.check_adaptation, self.apply_completion,
                self.sign_certificate, self.approve_certificate, self.complete_certificate, self.accept_completion,
                self.reassign_case]


def art_14_3_applies(declaration: Any, facts: Any) -> bool:
    """Whether the executing state's Art 14(3) declaration covers this judgment: (a) an alternative sanction
    with no custody in default, (b) a conditional sentence. Case (c), double criminality, needs a
    prosecutor's finding, so a declaration of (c) alone does not move competence by itself."""
    if not declaration.made:
        return False
    cases_declared = {str(c) for c in declaration.cases}
    kind = str(facts.judgment_type)
    return bool(("a" in cases_declared and kind == "alternative_sanction" and facts.custody_in_default is not True)
                or ("b" in cases_declared and kind == "conditional_sentence"))
