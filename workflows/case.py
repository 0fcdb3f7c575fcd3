"""What both sides of a transfer share: stage and timeline bookkeeping, deadlines as durable timers,
the projection written to PostgreSQL, sending over the link with retries, and action validation.

Deterministic and free of I/O: time is `workflow.now()`, ids are `workflow.uuid4()`, every side effect
is an activity called by name.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import deadlines as dl
    from workflows.delivery import (
        EVIDENCE_STAGES,
        EVIDENCE_TIMEOUT,
        DeliveryEvidence,
        delivery_deadline_name,
        stage_deadline_name,
        stages_reached,
    )
    from workflows.model import (
        ActionInput,
        ActionResult,
        Actor,
        CaseFacts,
        CaseProjection,
        CaseSnapshot,
        CaseState,
        LinkMessage,
        OutgoingMessage,
        SendResult,
        TimelineEvent,
        TransferInput,
    )
    from workflows.rules import CONFLICT, INVALID, Refusal, check_body, check_role, check_stage, rule_for
    from workflows.stages import Alert, Side

STAGE_KEY = SearchAttributeKey.for_keyword("TransferStage")
ISSUING_KEY = SearchAttributeKey.for_keyword("IssuingState")
EXECUTING_KEY = SearchAttributeKey.for_keyword("ExecutingState")
DECISION_DUE_KEY = SearchAttributeKey.for_datetime("DecisionDue")

# Recording in PostgreSQL is retried without end: an outage of the database delays work, loses none.
_RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Rendering and checking are retried a few times; a failure then is reported to the person acting.
_PREPARE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5,
                             non_retryable_error_types=["invalid"])

T = TypeVar("T")

# Patch ids (workflow.patched): histories recorded before a change replay with the old behaviour.
# publish-only-changes: the deadline loop's publish is skipped when nothing changed, and search
# attributes are set only when one of them changed.
PUBLISH_ONLY_CHANGES = "publish-only-changes"
# ecodex-stage-timers: a message sent over e-CODEX waits for relay, delivery and retrieval evidence, each with
# its own deadline (the connector's time-outs), instead of one 24 h wait for delivery.
ECODEX_STAGE_TIMERS = "ecodex-stage-timers"

# A run continues as new once its history holds this many events. Monthly supervision adds about 25
# events a month, so a five-year supervision takes a handful of runs, each far below Temporal's warning
# (10,240 events) and quick to replay. The bound tested is HISTORY_BOUND: the threshold plus the largest
# burst one wake-up can add before the loop gets to check again.
CONTINUE_AS_NEW_AFTER = 500
HISTORY_BOUND = 800


async def prepare(activity: str, case_id: str, result_type: type[T]) -> T:
    """Run a short activity that reads the case from the database (check, facts, render)."""
    result: T = await workflow.execute_activity(activity, case_id, result_type=result_type,
                                                start_to_close_timeout=timedelta(minutes=2),
                                                retry_policy=_PREPARE_RETRY)
    return result


def refuse(refusal: Refusal) -> ApplicationError:
    """A business refusal: not retryable, its type tells the web layer which HTTP status to answer."""
    return ApplicationError(refusal.reason, type=refusal.kind, non_retryable=True)


class CaseWorkflow:
    side: Side

    def _setup(self, inp: TransferInput, stage: str) -> None:
        self.inp = inp
        self.stage = stage
        self.outcome: str | None = None
        self.deadlines: list[dl.Deadline] = []
        self.alerts: set[str] = set()
        self.alerts_seen: set[str] = set()
        self.facts = CaseFacts()
        self.consulted_grounds: set[str] = set()
        self.supervision_started = False
        self.withdrawal_window_used = False
        # Art 14(3): the executing state declared it will not take the 14(1)(b)-(c) decisions for this case.
        self.issuing_competent = False
        self.received_at: datetime | None = None
        # Requests from the other side that wait for an answer (information, transfer back).
        self.open_requests: set[str] = set()
        self.seen_message_ids: set[str] = set()
        self.messages_sent: list[str] = []
        self.messages_received: list[str] = []
        self.failed: dict[str, OutgoingMessage] = {}
        self.awaiting_evidence: dict[str, OutgoingMessage] = {}
        self._pending: list[TimelineEvent] = []
        self._published: tuple[Any, ...] | None = None  # the projection last written, without its revision
        self._indexed: tuple[Any, ...] | None = None  # the search attributes last set
        self._only_changes: bool | None = None
        self._revision = 0
        self._deliveries = 0
        self._wake = False
        self._runs = 1
        self._continue_as_new_asked = False
        if inp.snapshot is not None:
            self._restore(inp.snapshot)

    def _restore(self, snap: CaseSnapshot) -> None:
        self.stage = snap.stage
        self.outcome = snap.outcome
        self.deadlines = list(snap.deadlines)
        self.alerts = set(snap.alerts)
        self.alerts_seen = set(snap.alerts_seen)
        self.facts = snap.facts
        self.consulted_grounds = set(snap.consulted_grounds)
        self.supervision_started = snap.supervision_started
        self.issuing_competent = snap.issuing_competent
        self.received_at = snap.received_at
        self.open_requests = set(snap.open_requests)
        self.seen_message_ids = set(snap.seen_message_ids)
        self.messages_sent = list(snap.messages_sent)
        self.messages_received = list(snap.messages_received)
        self.failed = {m.message_id: m for m in snap.failed}
        self.awaiting_evidence = {m.message_id: m for m in snap.awaiting_evidence}
        self._revision = snap.revision
        self._runs = snap.runs

    def snapshot(self) -> CaseSnapshot:
        return CaseSnapshot(
            stage=self.stage, outcome=self.outcome, deadlines=self.deadlines, alerts=sorted(self.alerts),
            alerts_seen=sorted(self.alerts_seen), facts=self.facts, consulted_grounds=sorted(self.consulted_grounds),
            supervision_started=self.supervision_started, issuing_competent=self.issuing_competent,
            received_at=self.received_at, open_requests=sorted(self.open_requests),
            seen_message_ids=sorted(self.seen_message_ids), messages_sent=self.messages_sent,
            messages_received=self.messages_received, failed=list(self.failed.values()),
            awaiting_evidence=list(self.awaiting_evidence.values()), revision=self._revision, runs=self._runs,
        )

    def begin_new_run(self) -> None:
        """Ask for a fresh history at the next quiet moment: supervision starts in a run of its own."""
        self._continue_as_new_asked = True
        self._wake = True

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (self._continue_as_new_asked or info.get_current_history_length() >= CONTINUE_AS_NEW_AFTER
                or info.is_continue_as_new_suggested())

    # --- bookkeeping -----------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        # `returned` ends an outgoing transfer too: the supervision is back with the issuing state (Art 20(3)).
        return self.stage in ("closed", "returned")

    def now(self) -> datetime:
        return workflow.now()

    def event(self, type_: str, actor: Actor | str, detail: dict[str, Any] | None = None, *,
              new_stage: str | None = None, outcome: str | None = None) -> None:
        """Record what happened; with `new_stage`, also move the case (and audit the change)."""
        old = self.stage
        if new_stage is not None:
            self.stage = new_stage
            if new_stage in ("closed", "returned"):
                self.outcome = outcome
                for d in self.deadlines:
                    if d.status == "open":
                        d.status = "cancelled"
        name, role = (actor.name, actor.role) if isinstance(actor, Actor) else (actor, "peer")
        self._pending.append(TimelineEvent(
            key=f"{self.inp.case_id}:{self.side}:{workflow.uuid4()}",
            at=self.now(), type=type_, actor=name, role=role, detail=detail or {},
            old_stage=old if new_stage is not None else None, new_stage=new_stage,
        ))
        self._wake = True

    def set_deadline(self, deadline: dl.Deadline) -> None:
        self.deadlines = [d for d in self.deadlines if d.name != deadline.name] + [deadline]
        self._wake = True

    def end_deadline(self, name: str, status: str = "met") -> None:
        for d in self.deadlines:
            if d.name == name and d.status in ("open", "missed"):
                d.status = status  # type: ignore[assignment]
        self._wake = True

    def deadline(self, name: str) -> dl.Deadline | None:
        return next((d for d in self.deadlines if d.name == name), None)

    def duty(self, name: str, article: str) -> None:
        self.set_deadline(dl.duty(name, self.now(), article, self.inp.duty_working_days))

    def _refresh_alerts(self) -> None:
        dl.mark_missed(self.deadlines, self.now())
        alerts = {str(a) for a in dl.alerts_at(self.deadlines, self.now())}
        if self.failed:
            alerts.add(Alert.DELIVERY_FAILED)
        for new in sorted(alerts - self.alerts):
            self.event("alert", "system", {"alert": new})
        self.alerts = alerts
        self.alerts_seen |= alerts

    def decision_due(self) -> datetime | None:
        d = self.deadline(dl.DECISION)
        return d.due if d and d.status in ("open", "missed") else None

    def _view(self) -> tuple[Any, ...]:
        return (self.stage, self.outcome, self.decision_due(), [d.model_dump() for d in self.deadlines],
                sorted(self.alerts), sorted(self.alerts_seen), self.closed)

    async def publish(self, *, only_if_changed: bool = False) -> None:
        """Write the projection and new timeline events to PostgreSQL, and refresh search attributes.

        `only_if_changed`: the deadline loop wakes after every handler, which has published already;
        writing the same projection again was an activity per step for nothing."""
        if self._only_changes is None:  # asked once per run, at its first publish (see PUBLISH_ONLY_CHANGES)
            self._only_changes = workflow.patched(PUBLISH_ONLY_CHANGES)
        self._refresh_alerts()
        view = self._view()
        if only_if_changed and not self._pending and view == self._published and self._only_changes:
            return
        self._published = view
        self._revision += 1
        events, self._pending = self._pending, []
        due = self.decision_due()
        indexed = (self.stage, self.inp.issuing_state, self.inp.executing_state, due)
        if indexed != self._indexed or not self._only_changes:  # each upsert is an event and an index write
            workflow.upsert_search_attributes([
                STAGE_KEY.value_set(self.stage),
                ISSUING_KEY.value_set(self.inp.issuing_state),
                EXECUTING_KEY.value_set(self.inp.executing_state),
                DECISION_DUE_KEY.value_set(due) if due else DECISION_DUE_KEY.value_unset(),
            ])
            self._indexed = indexed
        projection = CaseProjection(
            case_id=self.inp.case_id, revision=self._revision, stage=self.stage, outcome=self.outcome,
            decision_due=self.decision_due(), deadlines=self.deadlines, alerts=sorted(self.alerts),
            alerts_seen=sorted(self.alerts_seen), closed_at=self.now() if self.closed else None, events=events,
        )
        await workflow.execute_activity("record_case", projection, start_to_close_timeout=timedelta(seconds=30),
                                        retry_policy=_RECORD_RETRY)

    # --- the link --------------------------------------------------------------------------------------

    def send(self, type_: str, body: dict[str, Any] | None = None, *, note_id: str | None = None,
             attach_certificate: bool = False) -> None:
        """Queue a message to the other side; delivery runs beside the workflow, with retries."""
        to_state = self.inp.executing_state if self.side == Side.ISSUING else self.inp.issuing_state
        msg = OutgoingMessage(case_id=self.inp.case_id, message_id=str(workflow.uuid4()), type=type_,
                              to_state=to_state, body=body or {}, note_id=note_id,
                              attach_certificate=attach_certificate)
        self.messages_sent.append(type_)
        self._deliveries += 1
        asyncio.create_task(self._deliver(msg))  # noqa: RUF006 - tracked by self._deliveries

    async def _deliver(self, msg: OutgoingMessage) -> None:
        try:
            result: SendResult = await workflow.execute_activity(
                "send_message", msg, result_type=SendResult,
                # Back-off doubles up to an hour; after the retry period the case shows delivery_failed
                # and an officer can resend (the peer de-duplicates on the message id).
                schedule_to_close_timeout=timedelta(hours=self.delivery_hours()),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0,
                                         maximum_interval=timedelta(hours=1),
                                         non_retryable_error_types=["rejected"]),
            )
            self.event("message_sent", "system", {"type": msg.type, "message_id": msg.message_id,
                                                  "adapter": result.adapter})
            if not result.delivered:
                # e-CODEX, e-mail, post: receipt is confirmed later by evidence; watch for it.
                self.awaiting_evidence[msg.message_id] = msg
                if result.evidence_hours and workflow.patched(ECODEX_STAGE_TIMERS):
                    for stage in EVIDENCE_STAGES:
                        if stage in result.evidence_hours:
                            self.set_deadline(dl.Deadline(
                                name=stage_deadline_name(msg.message_id, stage), basis="policy", article="6(2)",
                                due=self.now() + timedelta(hours=result.evidence_hours[stage])))
                else:
                    self.set_deadline(dl.Deadline(name=delivery_deadline_name(msg.message_id),
                                                  due=self.now() + EVIDENCE_TIMEOUT, basis="policy", article="6(2)"))
        except ActivityError as err:
            self.failed[msg.message_id] = msg
            self.event("delivery_failed", "system", {"type": msg.type, "message_id": msg.message_id,
                                                     "error": str(err.cause or err)})
        finally:
            self._deliveries -= 1
            self._wake = True

    def delivery_hours(self) -> int:
        return self.inp.delivery_retry_hours

    @workflow.signal
    async def evidence(self, ev: DeliveryEvidence) -> None:
        """Delivery evidence for one of our messages (e-CODEX poller, or an officer for e-mail and post)."""
        msg = self.awaiting_evidence.get(ev.message_id)
        if msg is None:
            return  # unknown or already settled: evidences repeat, and that changes nothing
        detail = {"message_id": ev.message_id, "type": msg.type, "evidence": ev.kind, "channel": ev.channel,
                  "at": ev.at.isoformat()}
        if ev.stage:
            detail["stage"] = ev.stage
        if self.deadline(stage_deadline_name(ev.message_id, EVIDENCE_STAGES[0])) is not None:
            self._stage_evidence(ev, msg, detail)
        elif ev.kind == "rejected":
            del self.awaiting_evidence[ev.message_id]
            self.end_deadline(delivery_deadline_name(ev.message_id), "cancelled")
            self.failed[ev.message_id] = msg
            self.event("delivery_failed", ev.recorded_by, detail)
        elif ev.confirms_receipt:
            del self.awaiting_evidence[ev.message_id]
            self.end_deadline(delivery_deadline_name(ev.message_id))
            self.event("delivered", ev.recorded_by, detail)
        else:
            self.event("delivery_evidence", ev.recorded_by, detail)
        if not self.closed:
            await self.publish()

    def _stage_evidence(self, ev: DeliveryEvidence, msg: OutgoingMessage, detail: dict[str, Any]) -> None:
        """e-CODEX: each positive evidence settles its stage and the earlier ones; the message waits until
        retrieval. Delivery is receipt (the timeline's `delivered`); a negative one at any stage fails it."""
        names = {stage: stage_deadline_name(ev.message_id, stage) for stage in EVIDENCE_STAGES}
        if ev.kind == "rejected":
            del self.awaiting_evidence[ev.message_id]
            for name in names.values():
                self.end_deadline(name, "cancelled")
            self.failed[ev.message_id] = msg
            self.event("delivery_failed", ev.recorded_by, detail)
            return
        delivery = self.deadline(names["delivery"])
        first_receipt = ev.confirms_receipt and delivery is not None and delivery.status in ("open", "missed")
        for stage in stages_reached(ev.kind):
            self.end_deadline(names[stage])
        if ev.kind == "retrieved":
            del self.awaiting_evidence[ev.message_id]
        self.event("delivered" if first_receipt else "delivery_evidence", ev.recorded_by, detail)

    # --- what both sides answer alike ----------------------------------------------------------------

    @workflow.query
    def case_state(self) -> CaseState:
        return self.state()

    @workflow.query
    def full_state(self) -> CaseSnapshot:
        return self.snapshot()

    @workflow.update
    async def resend(self, inp: ActionInput) -> ActionResult:
        """Send again, with the same message ids, what could not be delivered (the peer de-duplicates)."""
        self.resend_failed(inp.actor)
        await self.publish()
        return self.result()

    @resend.validator
    def _v_resend(self, inp: ActionInput) -> None:
        self.validate_action("resend", inp)

    def resend_failed(self, actor: Actor) -> None:
        failed, self.failed = self.failed, {}
        for msg in failed.values():
            self._deliveries += 1
            asyncio.create_task(self._deliver(msg))  # noqa: RUF006
        self.event("resend", actor, {"messages": [m.type for m in failed.values()]})

    def accept_message(self, msg: LinkMessage) -> bool:
        """De-duplicate on receipt: a message id is handled once, however often it arrives."""
        if msg.message_id in self.seen_message_ids:
            return False
        self.seen_message_ids.add(msg.message_id)
        self.messages_received.append(msg.type)
        return True

    # --- actions ---------------------------------------------------------------------------------------

    def validate_action(self, action: str, inp: ActionInput) -> None:
        """Role, stage and required fields from the one matrix, then this side's own rules."""
        rule = rule_for(self.side, action)
        if rule is None:
            raise refuse(Refusal(INVALID, f"unknown action {action}"))
        for refusal in (check_role(rule, inp.actor.role), check_stage(rule, self.stage),
                        check_body(rule, inp.body, structured_only=True)):
            if refusal:
                raise refuse(refusal)
        if action == "resend" and not self.failed:
            raise refuse(Refusal(CONFLICT, "no message is waiting to be sent again"))
        extra = self.check_rule(action, inp)
        if extra:
            raise refuse(extra)

    def check_rule(self, action: str, inp: ActionInput) -> Refusal | None:
        """This side's rules that need the case's facts; the default has none."""
        return None

    def open_withdrawal_window(self) -> None:
        """Art 9(4): the issuing state may withdraw for 10 days; supervision waits unless it waives them."""
        self.set_deadline(dl.Deadline(name=dl.WITHDRAWAL_WINDOW_NAME, due=self.now() + dl.WITHDRAWAL_WINDOW,
                                      basis="law", article="9(4)"))

    def in_withdrawal_window(self) -> bool:
        """Art 9(4): the 10 days after an adaptation or maximum-custody notice, unless waived."""
        window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
        return bool(window and window.status == "open" and self.now() < window.due)

    def result(self) -> ActionResult:
        return ActionResult(stage=self.stage, outcome=self.outcome)

    async def run_until_closed(self) -> None:
        """The deadline loop: sleep until the next due date or until something happens, then publish.

        Continues as new (same workflow id, fresh history) when asked or when the history grows, after
        every running handler and delivery has finished, so nothing in flight is lost."""
        await self.publish()
        while not self.closed:
            if self._should_continue_as_new():
                await workflow.wait_condition(lambda: self._deliveries == 0 and workflow.all_handlers_finished())
                if not self.closed:
                    await self.publish()
                    self._runs += 1
                    workflow.continue_as_new(self.inp.model_copy(update={"snapshot": self.snapshot()}))
                break
            wake = dl.next_wakeup(self.deadlines, self.now())
            timeout = (wake - self.now()) if wake else None
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=timeout)
            except TimeoutError:
                pass
            self._wake = False
            await self.publish(only_if_changed=True)
        # Let deliveries (e.g. the final decision) and running handlers finish before completing.
        await workflow.wait_condition(lambda: self._deliveries == 0 and workflow.all_handlers_finished())
        await self.publish(only_if_changed=True)

    def state(self) -> CaseState:
        return CaseState(
            case_id=self.inp.case_id, side=self.side, stage=self.stage, outcome=self.outcome,
            issuing_state=self.inp.issuing_state, executing_state=self.inp.executing_state,
            deadlines=self.deadlines, alerts=sorted(self.alerts), alerts_seen=sorted(self.alerts_seen),
            consulted_grounds=sorted(self.consulted_grounds), supervision_started=self.supervision_started,
            messages_sent=self.messages_sent, messages_received=self.messages_received,
            failed_messages=[m.type for m in self.failed.values()], issuing_competent=self.issuing_competent,
            open_requests=sorted(self.open_requests), next_wakeup=dl.next_wakeup(self.deadlines, self.now()),
            run=self._runs,
        )
