"""What both sides of a transfer share: stage and timeline bookkeeping, deadlines as durable timers,
the projection written to PostgreSQL, sending over the link with retries, and action validation.

Deterministic and free of I/O: time is `workflow.now()`, ids are `workflow.uuid4()`, every side effect
is an activity called by name.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from forms.messages import (
        MESSAGE_NAMES,
        MESSAGES,
        ActionFields,
        ActionInput,
        Actor,
        CertificateFields,
        MessageFields,
        MessageType,
        SubsequentDecisionFields,
        message_type_of,
        parse_fields,
    )
    from forms.validation import wording
    from workflows import deadlines as dl
    from workflows.delivery import DeliveryEvidence, apply_evidence, await_evidence
    from workflows.model import (
        ActionResult,
        CaseMemory,
        CaseState,
        LinkMessage,
        OutgoingMessage,
        SendResult,
        TimelineEvent,
        TransferInput,
    )
    from workflows.projection import decision_due, projection, refresh_alerts, view
    from workflows.rules import CONFLICT, INVALID, Refusal, art_14_subsequent, check_role, check_stage, rule_for
    from workflows.stages import Alert, Side

STAGE_KEY = SearchAttributeKey.for_keyword("TransferStage")
ISSUING_KEY = SearchAttributeKey.for_keyword("IssuingState")
EXECUTING_KEY = SearchAttributeKey.for_keyword("ExecutingState")
DECISION_DUE_KEY = SearchAttributeKey.for_datetime("DecisionDue")

# Recording in PostgreSQL is retried without end: an outage of the database delays work, loses none.
_RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Rendering and checking are retried a few times; a failure then is reported to the person acting.
PREPARE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5,
                             non_retryable_error_types=["invalid"])

T = TypeVar("T")

# Patch ids (workflow.patched): histories recorded before a change replay with the old behaviour.
# publish-only-changes: the deadline loop's publish is skipped when nothing changed, and search
# attributes are set only when one of them changed.
PUBLISH_ONLY_CHANGES = "publish-only-changes"
# typed-receipt: a received message is parsed against the catalogue and acted on only when it comes from
# the case's other party in a stage that accepts it; otherwise it is noted and changes nothing.
TYPED_RECEIPT = "typed-receipt"
# quiet-end: a run continues as new or completes only once nothing is running, in flight or unpublished,
# with nothing awaited after that check (an update accepted in between was lost).
QUIET_END = "quiet-end"
# ecodex-stage-timers: a message sent over e-CODEX waits for relay, delivery and retrieval evidence, each with
# its own deadline (the connector's time-outs), instead of one 24 h wait for delivery.
ECODEX_STAGE_TIMERS = "ecodex-stage-timers"
# late-delay-notice: an Art 12(2) notice given after the 60 days leaves the decision overdue; its date is
# watched beside it as policy.
LATE_DELAY_NOTICE = "late-delay-notice"
# completion-pauses-decision: the Art 12(1) clock stops while a completed certificate is awaited (Art 8(2)).
COMPLETION_PAUSES_DECISION = "completion-pauses-decision"
# kept-deadline-timer: the deadline loop keeps its timer across wake-ups while the next due date stays the same,
# and leaves a timer about to fire to fire instead of cancelling it (see TIMER_LEFT_TO_FIRE).
KEPT_DEADLINE_TIMER = "kept-deadline-timer"
# subsequent-competence: a subsequent decision received from the state not competent for it in this case
# (Art 14(1), 14(3)) is noted and changes nothing, as one from a third party is.
SUBSEQUENT_COMPETENCE = "subsequent-competence"
# completion-overdue-alert: a missed completion period raises an alert on the executing side (Art 8(2)).
# breach-report-alert: a breach report shows as an alert on the issuing side until it is answered (Art 17).
PATCHED_ALERTS = {str(Alert.COMPLETION_OVERDUE): "completion-overdue-alert",
                  str(Alert.BREACH_REPORTED): "breach-report-alert"}

# A run continues as new once its history holds this many events. Monthly supervision adds about 25
# events a month, so a five-year supervision takes a handful of runs, each far below Temporal's warning
# (10,240 events) and quick to replay. The bound tested is HISTORY_BOUND: the threshold plus the largest
# burst one wake-up can add before the loop gets to check again.
CONTINUE_AS_NEW_AFTER = 500
HISTORY_BOUND = 800

# A timer due this soon is not cancelled when the loop's next due date changes: it is left to fire, and its
# wake-up finds nothing to do. Cancelling a timer that fires while the workflow task runs is a race the
# server settles, but Temporal's time-skipping test server refuses such a completion ("invalid history builder
# state for action", sdk-java temporal-test-server TestWorkflowMutableStateImpl.processCancelTimer) and the
# run stops; it did whenever an action came exactly one deadline after the action that set it.
TIMER_LEFT_TO_FIRE = timedelta(minutes=1)


async def prepare(activity: str, case_id: str, result_type: type[T]) -> T:
    """Run a short activity that reads the case from the database (check, facts, render)."""
    result: T = await workflow.execute_activity(activity, case_id, result_type=result_type,
                                                start_to_close_timeout=timedelta(minutes=2),
                                                retry_policy=PREPARE_RETRY)
    return result


def refuse(refusal: Refusal) -> ApplicationError:
    """A business refusal: not retryable, its type tells the web layer which HTTP status to answer; its
    wording and values ride along so a page can say it in the reader's language."""
    return ApplicationError(refusal.reason, {"template": refusal.template, "values": dict(refusal.values)},
                            type=refusal.kind, non_retryable=True)


class CaseWorkflow:
    side: Side

    def _setup(self, inp: TransferInput, stage: str) -> None:
        self.inp = inp
        # The case's whole state, handed as it is to the next run when the workflow continues as new. The
        # handed-over snapshot is this run's own (decoded for it alone): taken, not copied, so a cached
        # supervision holds one copy of it.
        self.m = inp.snapshot if inp.snapshot is not None else CaseMemory(stage=stage)
        # What this run alone keeps: events not yet written, what was last published, deliveries in flight.
        self._pending: list[TimelineEvent] = []
        # Each event a little later than the one before: two handlers of one workflow task share its time, and
        # publish in activities that may land in either order; the timeline is read in time order.
        self._last_event_at: datetime | None = None
        self._published: bytes | None = None  # a digest of the projection last written, without its revision
        self._indexed: tuple[Any, ...] | None = None  # the search attributes last set
        if inp.snapshot is not None and inp.snapshot_published:
            # The previous run wrote exactly this; search attributes carry over when continuing as new.
            self._published = self._view()
            self._indexed = self._index()
        self._only_changes: bool | None = None
        self._keeps_timer: bool | None = None  # see KEPT_DEADLINE_TIMER
        self._timer: tuple[datetime, asyncio.Task[None]] | None = None  # the deadline loop's: due, sleep
        self._deliveries = 0
        self._wake = False
        self._continue_as_new_asked = False

    def snapshot(self) -> CaseMemory:
        return copy.deepcopy(self.m)

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
        return self.m.closed

    @property
    def stage(self) -> str:
        return self.m.stage

    def now(self) -> datetime:
        return workflow.now()

    def peer_state(self) -> str:
        return self.inp.executing_state if self.side == Side.ISSUING else self.inp.issuing_state

    def event(self, type_: str, actor: Actor | str, detail: dict[str, Any] | None = None, *,
              new_stage: str | None = None, outcome: str | None = None) -> None:
        """Record what happened; with `new_stage`, also move the case (and audit the change)."""
        old = self.m.stage
        if new_stage is not None:
            if new_stage in ("closed", "returned"):
                self.m.close(new_stage, outcome)
            else:
                self.m.stage = new_stage
        if isinstance(actor, Actor):
            name, role = actor.name, actor.role
        else:
            # A name without a role: the node itself, the officer who created the case (its first event), or
            # the other state's node, whose messages the case acts on.
            name = actor
            role = ("system" if actor == "system" else
                    "officer" if actor == self.inp.created_by and not actor.startswith("peer:") else "peer")
        at = self.now()
        if self._last_event_at is not None and at <= self._last_event_at:
            at = self._last_event_at + timedelta(microseconds=1)
        self._last_event_at = at
        self._pending.append(TimelineEvent(
            key=f"{self.inp.case_id}:{self.side}:{workflow.uuid4()}",
            at=at, type=type_, actor=name, role=role, detail=detail or {},
            old_stage=old if new_stage is not None else None, new_stage=new_stage,
        ))
        self._wake = True

    def set_deadline(self, deadline: dl.Deadline) -> None:
        self.m.set_deadline(deadline)
        self._wake = True

    def end_deadline(self, name: str, status: str = "met") -> None:
        self.m.end_deadline(name, status)
        self._wake = True

    def deadline(self, name: str) -> dl.Deadline | None:
        return self.m.deadline(name)

    def duty(self, name: str, article: str) -> None:
        self.set_deadline(dl.duty(name, self.now(), article, self.inp.duty_working_days))

    def _refresh_alerts(self) -> None:
        for new in refresh_alerts(self.m, self.now()):
            patch = PATCHED_ALERTS.get(new)
            if patch is not None and not workflow.patched(patch):
                # A history recorded before this alert existed: raising it would add an event and a wake-up.
                self.m.alerts.discard(new)
                self.m.alerts_seen.discard(new)
                continue
            self.event("alert", "system", {"alert": new})

    def decision_due(self) -> datetime | None:
        return decision_due(self.m)

    def _view(self) -> bytes:
        return view(self.m)

    def _index(self) -> tuple[Any, ...]:
        """What the search attributes say: stage, the two states, the watched decision date."""
        return (self.stage, self.inp.issuing_state, self.inp.executing_state, self.decision_due())

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
        self.m.revision += 1
        events, self._pending = self._pending, []
        due = self.decision_due()
        indexed = self._index()
        if indexed != self._indexed or not self._only_changes:  # each upsert is an event and an index write
            workflow.upsert_search_attributes([
                STAGE_KEY.value_set(self.stage),
                ISSUING_KEY.value_set(self.inp.issuing_state),
                EXECUTING_KEY.value_set(self.inp.executing_state),
                DECISION_DUE_KEY.value_set(due) if due else DECISION_DUE_KEY.value_unset(),
            ])
            self._indexed = indexed
        await workflow.execute_activity("record_case", projection(self.m, self.inp.case_id, events, self.now()),
                                        start_to_close_timeout=timedelta(seconds=30), retry_policy=_RECORD_RETRY)

    # --- the link --------------------------------------------------------------------------------------

    def send(self, fields: MessageFields, *, note_id: str | None = None, attach_certificate: bool = False,
             forward_to: str | None = None, then: Callable[[], None] | None = None,
             otherwise: Callable[[], None] | None = None) -> None:
        """Queue a message of the catalogue to the other side; delivery runs beside the workflow, with retries.
        The free text of the message (if any) is in the note; the send activity adds it from PostgreSQL.
        `forward_to`: the certificate goes on to that authority of this (executing) state instead (Art 6(7)).
        `then` runs once the message is delivered or handed over, `otherwise` if its delivery fails."""
        type_ = message_type_of(fields)
        self.m.breach_unanswered = False  # whatever goes out answers a breach report (Art 17(4)): it was read
        # The issuing side writes to the authority the executing state named when it forwarded the case.
        to_authority = forward_to or (self.m.authority if self.side == Side.ISSUING else None)
        msg = OutgoingMessage(case_id=self.inp.case_id, message_id=str(workflow.uuid4()), type=type_,
                              to_state=self.inp.executing_state if forward_to else self.peer_state(),
                              body=fields.model_dump(mode="json"), note_id=note_id,
                              attach_certificate=attach_certificate, to_authority=to_authority,
                              forwarding=forward_to is not None)
        self.m.messages_sent.append(type_)
        self._deliveries += 1
        asyncio.create_task(self._deliver(msg, then, otherwise))  # noqa: RUF006 - tracked by self._deliveries

    async def _deliver(self, msg: OutgoingMessage, then: Callable[[], None] | None = None,
                       otherwise: Callable[[], None] | None = None) -> None:
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
                await_evidence(self.m, msg, result, self.now(),
                               stage_timers=bool(result.evidence_hours) and workflow.patched(ECODEX_STAGE_TIMERS))
            if then is not None:
                then()  # inside the try: a follow-up that queues a message is counted before this one ends
        except ActivityError as err:
            if otherwise is not None:
                otherwise()  # the caller says what a failure means (no resend: that would not finish its work)
            else:
                self.m.failed[msg.message_id] = msg
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
        settled = apply_evidence(self.m, ev)
        if settled is None:
            return  # unknown or already settled: evidences repeat, and that changes nothing
        event, msg = settled
        detail = {"message_id": ev.message_id, "type": msg.type, "evidence": ev.kind, "channel": ev.channel,
                  "at": ev.at.isoformat()}
        if ev.stage:
            detail["stage"] = ev.stage
        self.event(event, ev.recorded_by, detail)
        if not self.closed:
            await self.publish()

    # --- what both sides answer alike ----------------------------------------------------------------

    @workflow.query
    def case_state(self) -> CaseState:
        return self.state()

    @workflow.query
    def full_state(self) -> CaseMemory:
        return self.snapshot()

    @workflow.update
    async def resend(self, inp: ActionInput[ActionFields]) -> ActionResult:
        """Send again, with the same message ids, what could not be delivered (the peer de-duplicates)."""
        self.resend_failed(inp.actor)
        await self.publish()
        return self.result()

    @resend.validator
    def _v_resend(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("resend", inp)

    def resend_failed(self, actor: Actor) -> None:
        failed, self.m.failed = self.m.failed, {}
        for msg in failed.values():
            self._deliveries += 1
            asyncio.create_task(self._deliver(msg))  # noqa: RUF006
        self.event("resend", actor, {"messages": [m.type for m in failed.values()]})

    def take_message(self, msg: LinkMessage) -> MessageFields | None:
        """A received message as its model, when it is to be acted on: seen for the first time, of the
        catalogue, from the case's other party, acceptable in this stage, and the case still open. Anything
        else is noted on the timeline and changes nothing: no handler ever raises on what a peer sent."""
        if not self.m.first_receipt(msg.message_id):
            return None
        if not workflow.patched(TYPED_RECEIPT):
            # Histories recorded before the catalogue: every message of an open case was acted on as it came.
            self.m.taken(msg.type)
            if self.closed and msg.type != MessageType.CERTIFICATE:
                return None
            return parse_fields(msg.type, msg.body) or MessageFields()
        if self.closed:
            return None  # a message crossing the end of the case is kept by the intake, not acted on
        fields = parse_fields(msg.type, msg.body)
        model = MESSAGES.get(MessageType(msg.type)) if msg.type in MESSAGE_NAMES else None
        accepted = model.receivers.get(self.side, frozenset()) if model else frozenset()
        why = None
        if fields is None or model is None:
            why = "it does not match its model in the catalogue of the exchange"
        elif msg.from_state != self.peer_state() and not self._forwarded_within(msg, fields):
            why = f"it comes from {msg.from_state}, which is not the other party of this case"
        elif self.stage not in accepted:
            why = f"a {msg.type} is not acceptable while this case is {self.stage}"
        elif isinstance(fields, SubsequentDecisionFields) and (refusal := art_14_subsequent(
                fields.decision, side=Side.ISSUING if self.side == Side.EXECUTING else Side.EXECUTING,
                issuing_competent=self.m.issuing_competent)) is not None and workflow.patched(SUBSEQUENT_COMPETENCE):
            # Art 14: a subsequent decision counts only from the state competent for it in this case.
            why = f"{msg.from_state} is not competent for this subsequent decision: {refusal.reason}"
        if why:
            self.event("message_ignored", msg.from_state, {"type": msg.type, "message_id": msg.message_id,
                                                           "why": why})
            return None
        self.m.taken(msg.type)
        return fields

    def _forwarded_within(self, msg: LinkMessage, fields: MessageFields) -> bool:
        """Art 6(7): a certificate another authority of this executing state forwarded, the intake checked."""
        return (self.side == Side.EXECUTING and msg.from_state == self.inp.executing_state
                and isinstance(fields, CertificateFields) and fields.forwarded is not None)

    # --- actions ---------------------------------------------------------------------------------------

    def validate_action(self, action: str, inp: ActionInput[Any]) -> None:
        """Role and stage from the catalogue (the body was parsed against it on the way in), then this
        side's own rules that need the case's facts."""
        rule = rule_for(self.side, action)
        if rule is None:
            raise refuse(Refusal(INVALID, f"unknown action {action}"))
        for refusal in (check_role(rule, inp.actor.role), check_stage(rule, self.stage)):
            if refusal:
                raise refuse(refusal)
        if action == "resend" and not self.m.failed:
            raise refuse(Refusal(CONFLICT, wording("no message is waiting to be sent again")))
        extra = self.check_rule(action, inp)
        if extra:
            raise refuse(extra)

    def check_rule(self, action: str, inp: ActionInput[Any]) -> Refusal | None:
        """This side's rules that need the case's facts; the default has none."""
        return None

    def pause_decision(self, until: datetime) -> None:
        """Art 8(2), 12(1): the decision may wait for the completed or corrected certificate, within the period
        set; the 60 days do not run meanwhile. The watched date moves by the whole period now, and back by
        what is left of it when the completion comes (resume_decision)."""
        if self.m.decision_paused_at is not None:
            # A second request while the first is awaited (the issuing side cannot stop a peer asking twice):
            # what is left of the first period is given back before the new one runs, so the two do not add up.
            self.resume_decision()
        decision = self.deadline(dl.DECISION)
        if decision is None or decision.status != "open" or not workflow.patched(COMPLETION_PAUSES_DECISION):
            return
        self.m.decision_paused_at, self.m.decision_paused_until = self.now(), until
        self.set_deadline(dataclasses.replace(
            decision, due=decision.due + (until - self.now()), note="completion_awaited"))

    def resume_decision(self) -> None:
        """The completion came (or the decision was taken): the 60 days run again from now."""
        at, until = self.m.decision_paused_at, self.m.decision_paused_until
        if at is None or until is None:
            return
        self.m.decision_paused_at = self.m.decision_paused_until = None
        decision = self.deadline(dl.DECISION)
        if decision is None or decision.status not in ("open", "missed"):
            return
        now = self.now()
        waited = min(now, until) - at
        days = round(waited.total_seconds() / 86400)
        self.set_deadline(dataclasses.replace(
            decision, due=decision.due - max(until - now, timedelta(0)), status="open", note="completion_waited",
            moved_days=days))

    def watch_delay(self, expected: datetime) -> None:
        """Art 12(2): within the 60 days, the date the executing state expects to decide by becomes the watched
        date. Given after the 60 days ran out, it changes nothing of that: the decision stays overdue, and the
        date is watched beside it as policy (the executing authority's word), not law."""
        decision = self.deadline(dl.DECISION)
        if decision is not None and self.now() >= decision.due and workflow.patched(LATE_DELAY_NOTICE):
            self.set_deadline(dl.Deadline(name=dl.DECISION_EXPECTED, due=expected, basis="policy", article="12(2)",
                                          note="after_60_days"))
            return
        self.set_deadline(dl.Deadline(name=dl.DECISION, due=expected, basis="law", article="12(2)"))

    def open_withdrawal_window(self) -> None:
        """Art 9(4): the issuing state may withdraw for 10 days; supervision waits unless it waives them."""
        self.set_deadline(dl.Deadline(name=dl.WITHDRAWAL_WINDOW_NAME, due=self.now() + dl.WITHDRAWAL_WINDOW,
                                      basis="law", article="9(4)"))

    def in_withdrawal_window(self) -> bool:
        """Art 9(4): the 10 days after an adaptation or maximum-custody notice, unless waived."""
        window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
        return bool(window and window.status == "open" and self.now() < window.due)

    def result(self) -> ActionResult:
        return ActionResult(stage=self.stage, outcome=self.m.outcome)

    async def run_until_closed(self) -> None:
        """The deadline loop: sleep until the next due date or until something happens, then publish.

        Continues as new (same workflow id, fresh history) when asked or when the history grows, and
        completes once closed — in both cases only when every running handler and delivery has finished
        and everything is published, with nothing awaited after that last check: an update accepted in
        between would be lost with its message."""
        if self._published is None:
            await self.publish()
        else:
            # Handed over published (snapshot_published): only what changed since then is written, by the loop.
            self._refresh_alerts()
        while not self.closed:
            if self._should_continue_as_new():
                quiet_end = workflow.patched(QUIET_END)
                if quiet_end:
                    await self._quiet()
                else:
                    await workflow.wait_condition(lambda: self._deliveries == 0 and workflow.all_handlers_finished())
                    if not self.closed:
                        await self.publish()
                if not self.closed:
                    self.m.runs += 1
                    # The input of the next run only: its payload is not part of what a replay compares.
                    workflow.continue_as_new(dataclasses.replace(self.inp, snapshot=self.snapshot(),
                                                                  snapshot_published=quiet_end))
                break
            await self._sleep_until(dl.next_wakeup(self.m.deadlines, self.now()))
            self._wake = False
            await self.publish(only_if_changed=True)
        # Let deliveries (e.g. the final decision) and running handlers finish before completing.
        if workflow.patched(QUIET_END):
            await self._quiet()
        else:
            await workflow.wait_condition(lambda: self._deliveries == 0 and workflow.all_handlers_finished())
            await self.publish(only_if_changed=True)

    async def _sleep_until(self, wake: datetime | None) -> None:
        """Wait until `wake` (the next due date, if any) or until something happens."""
        if self._keeps_timer is None:
            self._keeps_timer = workflow.patched(KEPT_DEADLINE_TIMER)
        if not self._keeps_timer:
            try:
                await workflow.wait_condition(lambda: self._wake, timeout=(wake - self.now()) if wake else None)
            except TimeoutError:
                pass
            return
        if self._timer is not None and self._timer[0] != wake:
            due, sleeping = self._timer
            if not sleeping.done() and due - self.now() > TIMER_LEFT_TO_FIRE:
                sleeping.cancel()
            self._timer = None
        if wake is not None and self._timer is None:
            self._timer = (wake, asyncio.create_task(asyncio.sleep((wake - self.now()).total_seconds())))
        timer = self._timer[1] if self._timer else None
        await workflow.wait_condition(lambda: self._wake or (timer is not None and timer.done()))
        if timer is not None and timer.done():
            self._timer = None

    async def _quiet(self) -> None:
        """Return once nothing runs, nothing is in flight and nothing is left to publish. The last check
        and the caller's end of the run happen in the same workflow task, so no update slips between."""
        while True:
            await workflow.wait_condition(lambda: self._deliveries == 0 and workflow.all_handlers_finished())
            if not self._unpublished():
                return
            await self.publish()

    def _unpublished(self) -> bool:
        self._refresh_alerts()
        return bool(self._pending) or self._view() != self._published

    def state(self) -> CaseState:
        return CaseState(
            case_id=self.inp.case_id, side=self.side, stage=self.stage, outcome=self.m.outcome,
            issuing_state=self.inp.issuing_state, executing_state=self.inp.executing_state,
            deadlines=self.m.deadlines, alerts=sorted(self.m.alerts), alerts_seen=sorted(self.m.alerts_seen),
            consulted_grounds=sorted(self.m.consulted_grounds), supervision_started=self.m.supervision_started,
            messages_sent=self.m.messages_sent, messages_received=self.m.messages_received,
            failed_messages=[m.type for m in self.m.failed.values()], issuing_competent=self.m.issuing_competent,
            open_requests=sorted(self.m.open_requests), next_wakeup=dl.next_wakeup(self.m.deadlines, self.now()),
            run=self.m.runs,
        )
