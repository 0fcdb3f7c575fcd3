"""The incoming transfer: the executing side, from receipt of the certificate to the end of supervision.

Workflow id `incoming-<id>` (the same id as the issuing node's transfer: the conversation id). Started by
the inbox with signal-with-start, so the certificate message is its first event. Supervision is its own
long-running part: it begins in a fresh run (continue-as-new) and continues as new again whenever the
history grows, so five years of monthly events never make a large history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from forms.law import REVIEW_OUTCOME_CLOSES, SUBSEQUENT_DECISION_OUTCOME, TransferBackReason
    from forms.messages import (
        AcknowledgementFields,
        ActionFields,
        ActionInput,
        AmnestyPardonFields,
        AnswerTransferBackFields,
        BreachReportFields,
        CertificateFields,
        CompletionFields,
        CompletionRequestFields,
        ConsultationFields,
        ConsultationReplyFields,
        ConsultFields,
        DecideUpdate,
        DecisionFields,
        DelayNoticeFields,
        EndSupervisionFields,
        ForwardedFields,
        ForwardedWithin,
        ForwardUpdate,
        InformationFields,
        InformationRequestFields,
        JudgmentReviewFields,
        MaxCustodyActionFields,
        MaxCustodyFields,
        MessageFields,
        NotifyDelayFields,
        NoWithdrawalFields,
        PersonNotFoundFields,
        RequestCompletionFields,
        SubsequentDecisionFields,
        SubsequentUpdate,
        SupervisionEndedFields,
        SupervisionStartedFields,
        TransferBackActionFields,
        TransferBackDeclinedFields,
        TransferBackFields,
        TransferBackRequestFields,
        WithdrawalFields,
    )
    from forms.validation import wording
    from workflows import deadlines as dl
    from workflows.case import PREPARE_RETRY, CaseWorkflow, prepare, refuse
    from workflows.model import (
        ActionResult,
        AdaptationCheck,
        CaseFacts,
        CaseState,
        LinkMessage,
        TransferInput,
    )
    from workflows.rules import CONFLICT, INVALID, Refusal, art_11_refusal, art_14_subsequent
    from workflows.stages import ExecutingStage as S
    from workflows.stages import Side

# Requests from the issuing side that wait for an answer here.
INFORMATION_REQUEST = "information_request"  # Art 17(1)(c)
TRANSFER_BACK_REQUEST = "transfer_back_request"  # Art 20(2)
MAX_CUSTODY_REQUEST = "max_custody_request"  # Art 16(2)

# Patch ids (workflow.patched): histories recorded before a change replay with the old behaviour.
# probation-from-judgment: the probation period ends when the judgment says (box (j) start, or finality).
PROBATION_FROM_JUDGMENT = "probation-from-judgment"
# max-custody-after-recognition: the maximum custody given after recognition moves the duty to start supervision.
MAX_CUSTODY_AFTER_RECOGNITION = "max-custody-after-recognition"
# consultation-answer: a consultation waits for the issuing side's answer, or the period set (Art 11(3)).
CONSULTATION_ANSWER = "consultation-answer"
# measure-timers: each measure with a duration gets its own deadline when supervision begins (§7 row 25).
MEASURE_TIMERS = "measure-timers"
# forward-to-another-node: the certificate is sent on to a competent authority another node serves, and the
# case closes as `forwarded` once it has it (before, the case closed and nothing went anywhere).
FORWARD_TO_ANOTHER_NODE = "forward-to-another-node"
# completion-accepted-here: the completed certificate replaces the one received once this case accepts the
# completion (an activity), no longer at the intake, which read the case's stage before the case had moved on.
COMPLETION_ACCEPTED_HERE = "completion-accepted-here"

CONSULTATION_REPLY = "consultation_reply"

START_SUPERVISION = "duty:start_supervision"
END_SUPERVISION = "duty:end_supervision"


@workflow.defn(name="IncomingTransfer")
class IncomingTransfer(CaseWorkflow):
    side = Side.EXECUTING

    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self._setup(inp, S.RECEIVED)

    @workflow.run
    async def run(self, inp: TransferInput) -> CaseState:
        if inp.snapshot is None:
            # The certificate arrives with the start (signal-with-start); its handler has run by now.
            await workflow.wait_condition(lambda: self.m.received_at is not None)
            assert self.m.received_at is not None
            self.m.facts = await prepare("load_facts", inp.case_id, CaseFacts)
            self.m.issuing_competent = self.m.facts.art_14_3_applies
            # Art 12(1): decide within 60 days of receiving the judgment and the certificate.
            self.set_deadline(dl.Deadline(name=dl.DECISION, due=self.m.received_at + dl.DECISION_PERIOD,
                                          basis="law", article="12(1)"))
            if MAX_CUSTODY_REQUEST in self.m.open_requests:
                # Art 16(2): the maximum custody is given immediately after receipt.
                self.duty("give_max_custody", "16(2)")
            self.send(AcknowledgementFields(received_at=self.m.received_at))
            self.event("under_decision", "system", new_stage=S.UNDER_DECISION)
        await self.run_until_closed()
        return self.state()

    # --- rules that need the case's facts ------------------------------------------------------------

    def _consultations_answered(self) -> set[str]:
        """The grounds whose consultation the issuing side answered (Art 11(3))."""
        if self.m.consultation_answered and not self.m.consultations_answered:
            # Kept before the grounds were: the last reply answered every consultation.
            return set(self.m.consultation_due)
        return set(self.m.consultations_answered)

    def check_rule(self, action: str, inp: ActionInput[Any]) -> Refusal | None:
        b = inp.body
        if self.m.forwarding_to and action != "resend":
            return Refusal(CONFLICT, wording("the case is being forwarded to %(authority)s, the competent authority "
                                             "(Art 6(7))"), {"authority": self.m.forwarding_to})
        if action == "decide" and isinstance(b, DecideUpdate) and b.outcome == "refused":
            return art_11_refusal([str(g) for g in b.grounds], self.m.consulted_grounds,
                                  answer_due=self.m.consultation_due, answered=self._consultations_answered(),
                                  now=self.now())
        if action == "start_supervision" and MAX_CUSTODY_REQUEST in self.m.open_requests:
            return Refusal(CONFLICT, wording("the issuing state asked for the maximum custody (Art 16(2)) and has not "
                                             "had it: send it first; the issuing state may then withdraw within 10 "
                                             "days (Art 9(4))"))
        if action == "start_supervision" and self.in_withdrawal_window():
            window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
            assert window is not None
            return Refusal(CONFLICT, wording("the issuing state may still withdraw the certificate until %(date)s "
                                             "(Art 9(4)); wait, or ask it to confirm"),
                           {"date": window.due.date().isoformat()})
        if action == "decide_subsequent" and isinstance(b, SubsequentUpdate):
            return art_14_subsequent(b.decision, side=self.side, issuing_competent=self.m.issuing_competent)
        if (action == "transfer_back" and isinstance(b, TransferBackActionFields)
                and b.reason == TransferBackReason.ISSUING_REQUEST
                and TRANSFER_BACK_REQUEST not in self.m.open_requests):
            return Refusal(CONFLICT, wording("the issuing state has not asked for the supervision back (Art 20(2))"))
        if action == "answer_transfer_back" and TRANSFER_BACK_REQUEST not in self.m.open_requests:
            return Refusal(CONFLICT, wording("the issuing state has not asked for the supervision back (Art 20(2))"))
        if action == "answer_information" and INFORMATION_REQUEST not in self.m.open_requests:
            return Refusal(CONFLICT, wording("the issuing state has asked for no information (Art 17(1)(c))"))
        completion = self.deadline(dl.COMPLETION)
        if (action == "request_completion" and completion is not None and completion.status == "open"
                and self.now() < completion.due):
            return Refusal(CONFLICT, wording("a completed certificate is already awaited (Art 8(2)): decide, or wait "
                                             "for it until its period ends"))
        if action == "notify_delay" and isinstance(b, NotifyDelayFields) and b.expected_by <= self.now().date():
            return Refusal(INVALID, wording("expected_by: must be in the future"))
        return None

    # --- actions (CONTRACT §3, executing side) -------------------------------------------------------

    @workflow.update
    async def forward(self, inp: ActionInput[ForwardUpdate]) -> ActionResult:
        # Art 6(7), 18(1): the case goes to the competent authority, and the issuing state is told.
        authority = inp.body.authority
        if inp.body.served_here:
            # The competent authority is served by this node too: the case is reassigned to it and goes on.
            await workflow.execute_activity("reassign_case", args=[self.inp.case_id, authority],
                                            start_to_close_timeout=timedelta(minutes=1))
            self.m.authority = authority
            self.event("forwarded", inp.actor, {"authority": authority})
        elif workflow.patched(FORWARD_TO_ANOTHER_NODE):
            # Served by another node: the certificate, its PDF as received and the documents go on to it; once
            # it has them this case closes and the issuing state learns who holds the case (Art 6(7)).
            self.m.forwarding_to = authority
            self.event("forwarding", inp.actor, {"authority": authority})
            forwarded = ForwardedWithin(by_authority=self.m.authority or self.inp.authority,
                                        to_authority=authority, received_at=self.m.received_at or self.now())
            self.send(CertificateFields(max_custody_requested=MAX_CUSTODY_REQUEST in self.m.open_requests,
                                        forwarded=forwarded),
                      attach_certificate=True, forward_to=authority, then=lambda: self._forwarded(authority),
                      otherwise=lambda: self._not_forwarded(authority))
            await self.publish()
            return self.result()
        else:
            self.event("forwarded", inp.actor, {"authority": authority}, new_stage=S.CLOSED, outcome="forwarded")
        self.send(ForwardedFields(authority=authority))
        await self.publish()
        return self.result()

    def _not_forwarded(self, authority: str) -> None:
        """The competent authority could not be reached: the case stays here, in its stage, and the prosecutor
        may forward it again (a new message) or decide; the timeline says what failed."""
        self.m.forwarding_to = None
        self.event("forwarding_failed", "system", {"authority": authority})

    def _forwarded(self, authority: str) -> None:
        """The competent authority has the certificate: this case ends here and the issuing state is told."""
        self.m.forwarding_to = None
        self.event("forwarded", "system", {"authority": authority}, new_stage=S.CLOSED, outcome="forwarded")
        self.send(ForwardedFields(authority=authority))

    @forward.validator
    def _v_forward(self, inp: ActionInput[ForwardUpdate]) -> None:
        self.validate_action("forward", inp)

    @workflow.update
    async def request_completion(self, inp: ActionInput[RequestCompletionFields]) -> ActionResult:
        # Art 8(2): the decision may wait for the completed certificate until the period set here.
        days = inp.body.due_days
        due = dl.completion_due(self.now(), days)
        self.set_deadline(dl.Deadline(name=dl.COMPLETION, due=due, basis="law", article="8(2)"))
        self.pause_decision(due)
        self.event("completion_requested", inp.actor, {"due_days": days})
        self.send(CompletionRequestFields(due_days=days), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_completion.validator
    def _v_request_completion(self, inp: ActionInput[RequestCompletionFields]) -> None:
        self.validate_action("request_completion", inp)

    @workflow.update
    async def consult(self, inp: ActionInput[ConsultFields]) -> ActionResult:
        ground = inp.body.ground
        self.m.consulted_grounds.add(str(ground))
        if workflow.patched(CONSULTATION_ANSWER):
            # Art 11(3): the answer is awaited for the period set here (policy), shown as a deadline.
            due = self.now() + timedelta(days=inp.body.reply_days)
            self.m.consultation_due[str(ground)] = due
            self.m.consultations_answered = self._consultations_answered() - {str(ground)}
            self.m.consultation_answered = False
            self.set_deadline(dl.Deadline(name=CONSULTATION_REPLY, due=due, basis="policy", article="11(3)"))
        self.event("consulted", inp.actor, {"ground": str(ground)})
        self.send(ConsultationFields(ground=ground), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @consult.validator
    def _v_consult(self, inp: ActionInput[ConsultFields]) -> None:
        self.validate_action("consult", inp)

    @workflow.update
    async def notify_delay(self, inp: ActionInput[NotifyDelayFields]) -> ActionResult:
        expected = inp.body.expected_by
        due = datetime.combine(expected, self.now().timetz())
        self.watch_delay(due)
        self.event("delay_notified", inp.actor, {"expected_by": expected.isoformat()})
        self.send(DelayNoticeFields(expected_by=due), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @notify_delay.validator
    def _v_notify_delay(self, inp: ActionInput[NotifyDelayFields]) -> None:
        self.validate_action("notify_delay", inp)

    @workflow.update
    async def give_max_custody(self, inp: ActionInput[MaxCustodyActionFields]) -> ActionResult:
        days = inp.body.max_custody_days
        self.m.open_requests.discard(MAX_CUSTODY_REQUEST)
        self.end_deadline("duty:give_max_custody")
        # Art 9(4): the issuing state may withdraw within 10 days of this information; supervision waits.
        self.open_withdrawal_window()
        if self.stage == S.RECOGNISED and workflow.patched(MAX_CUSTODY_AFTER_RECOGNITION):
            self._start_supervision_duty()  # Art 8(1) counts from the end of the new window
        self.event("max_custody_given", inp.actor, {"max_custody_days": days})
        self.send(MaxCustodyFields(max_custody_days=days))
        await self.publish()
        return self.result()

    @give_max_custody.validator
    def _v_give_max_custody(self, inp: ActionInput[MaxCustodyActionFields]) -> None:
        self.validate_action("give_max_custody", inp)

    @workflow.update
    async def decide(self, inp: ActionInput[DecideUpdate]) -> ActionResult:
        outcome = str(inp.body.outcome)
        grounds = [str(g) for g in inp.body.grounds]
        changed: list[int] = []
        if outcome == "adapted":
            # Art 9(1)-(3): checked against the certificate, which only the activity may read.
            check: AdaptationCheck = await workflow.execute_activity(
                "check_adaptation", args=[self.inp.case_id, inp.note_id], result_type=AdaptationCheck,
                start_to_close_timeout=timedelta(minutes=1))
            if check.errors:
                raise refuse(Refusal(INVALID, "; ".join(check.errors)))
            changed = check.measures_changed
        self.end_deadline(dl.DECISION)
        self.end_deadline(dl.DECISION_EXPECTED)
        self.end_deadline(CONSULTATION_REPLY, "cancelled")
        self.end_deadline("completion", "cancelled")
        decision = DecisionFields(outcome=inp.body.outcome, grounds=inp.body.grounds, measures_changed=changed,
                                  art_14_3=self.m.issuing_competent)
        if outcome == "refused":
            self.event("refused", inp.actor, {"grounds": grounds}, new_stage=S.CLOSED, outcome="refused")
        else:
            if outcome == "adapted":
                # Art 9(4): the issuing state has 10 days to withdraw; supervision waits (NL 3:14(2) practice).
                self.open_withdrawal_window()
            self._start_supervision_duty()
            self.event(outcome, inp.actor, {"grounds": grounds, "measures_changed": changed,
                                            "art_14_3": self.m.issuing_competent}, new_stage=S.RECOGNISED)
        # Art 12(1), 18(3)-(5): the decision goes to the issuing state at once, with reasons (the note).
        self.send(decision, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide.validator
    def _v_decide(self, inp: ActionInput[DecideUpdate]) -> None:
        self.validate_action("decide", inp)

    def _start_supervision_duty(self) -> None:
        """Art 8(1): supervise without delay, counted from the end of an open withdrawal window (9(4))."""
        window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
        start = window.due if window and self.in_withdrawal_window() else self.now()
        self.set_deadline(dl.duty("start_supervision", start, "8(1)", self.inp.duty_working_days))

    @workflow.update
    async def start_supervision(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.m.supervision_started = True
        self.end_deadline(START_SUPERVISION)
        self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
        if workflow.patched(PROBATION_FROM_JUDGMENT):
            end = dl.probation_end(self.m.facts.probation_end, self.m.facts.probation_period_days, self.now())
            if end is not None:
                self.set_deadline(dl.Deadline(name=dl.PROBATION_END, due=end, basis="law", article="16(1)(d), 9(3)"))
        elif self.m.facts.probation_period_days:
            # Histories recorded before: the period was counted from the day supervision began here.
            self.set_deadline(dl.Deadline(name=dl.PROBATION_END,
                                          due=self.now() + timedelta(days=self.m.facts.probation_period_days),
                                          basis="law", article="16(1)(d)"))
        if workflow.patched(MEASURE_TIMERS):
            # §7 row 25: a measure with a duration (community service, training, damages, treatment) is to be
            # carried out within it, counted from the start of supervision here (Art 13, 14(2)).
            for deadline in dl.measure_deadlines(self.m.facts.measure_days, self.m.facts.measure_hours, self.now()):
                self.set_deadline(deadline)
        self.event("supervision_started", inp.actor, new_stage=S.SUPERVISING)
        self.send(SupervisionStartedFields())
        self.begin_new_run()
        await self.publish()
        return self.result()

    @start_supervision.validator
    def _v_start_supervision(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("start_supervision", inp)

    @workflow.update
    async def report_breach(self, inp: ActionInput[ActionFields]) -> ActionResult:
        # Art 17(1)-(2): on the Annex II form (the note); where we are competent it informs (Art 15).
        self.event("breach_reported", inp.actor, {"art_14_3": self.m.issuing_competent})
        self.send(BreachReportFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @report_breach.validator
    def _v_report_breach(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("report_breach", inp)

    @workflow.update
    async def answer_information(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.m.open_requests.discard(INFORMATION_REQUEST)
        self.end_deadline("duty:answer_information")
        self.event("information_given", inp.actor)
        self.send(InformationFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @answer_information.validator
    def _v_answer_information(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("answer_information", inp)

    async def _close(self, inp: ActionInput[Any], type_: str, message: MessageFields, outcome: str) -> ActionResult:
        self.event(type_, inp.actor, message.model_dump(mode="json"), new_stage=S.CLOSED, outcome=outcome)
        self.send(message, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @workflow.update
    async def report_not_found(self, inp: ActionInput[ActionFields]) -> ActionResult:
        # Art 18(2): supervision is impossible in practice; the obligation to supervise ends.
        return await self._close(inp, "person_not_found", PersonNotFoundFields(), "person_not_found")

    @report_not_found.validator
    def _v_report_not_found(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("report_not_found", inp)

    @workflow.update
    async def notify_amnesty(self, inp: ActionInput[ActionFields]) -> ActionResult:
        # Art 18(6), 19: an amnesty or pardon here ends supervision.
        return await self._close(inp, "amnesty_pardon", AmnestyPardonFields(), "amnesty")

    @notify_amnesty.validator
    def _v_notify_amnesty(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("notify_amnesty", inp)

    @workflow.update
    async def decide_subsequent(self, inp: ActionInput[SubsequentUpdate]) -> ActionResult:
        # Art 16(1): where we are competent, we decide and inform the issuing state without delay.
        decision = inp.body.decision
        message = SubsequentDecisionFields(decision=decision, measures_changed=inp.body.measures_changed)
        closing = SUBSEQUENT_DECISION_OUTCOME[decision]
        if closing:
            return await self._close(inp, "subsequent_decision", message, closing)
        self.event("subsequent_decision", inp.actor, {"decision": str(decision)})
        self.send(message, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide_subsequent.validator
    def _v_decide_subsequent(self, inp: ActionInput[SubsequentUpdate]) -> None:
        self.validate_action("decide_subsequent", inp)

    @workflow.update
    async def transfer_back(self, inp: ActionInput[TransferBackActionFields]) -> ActionResult:
        # Art 20: the supervision and every further decision go back to the issuing state.
        self.m.open_requests.discard(TRANSFER_BACK_REQUEST)
        self.end_deadline("duty:answer_transfer_back_request")
        return await self._close(inp, "transferred_back", TransferBackFields(reason=inp.body.reason),
                                 "transferred_back")

    @transfer_back.validator
    def _v_transfer_back(self, inp: ActionInput[TransferBackActionFields]) -> None:
        self.validate_action("transfer_back", inp)

    @workflow.update
    async def answer_transfer_back(self, inp: ActionInput[AnswerTransferBackFields]) -> ActionResult:
        # Art 20(2): the executing state "may agree"; yes gives the supervision back, no keeps it. Either way
        # the request is answered, with reasons (the note), and the duty to answer ends.
        self.m.open_requests.discard(TRANSFER_BACK_REQUEST)
        self.end_deadline("duty:answer_transfer_back_request")
        if inp.body.agree:
            return await self._close(inp, "transferred_back",
                                     TransferBackFields(reason=TransferBackReason.ISSUING_REQUEST), "transferred_back")
        self.event("transfer_back_declined", inp.actor)
        self.send(TransferBackDeclinedFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @answer_transfer_back.validator
    def _v_answer_transfer_back(self, inp: ActionInput[AnswerTransferBackFields]) -> None:
        self.validate_action("answer_transfer_back", inp)

    @workflow.update
    async def end_supervision(self, inp: ActionInput[EndSupervisionFields]) -> ActionResult:
        # Art 16(1)(d): the probation period is over and the measures were complied with.
        self.end_deadline(dl.PROBATION_END)
        self.end_deadline(END_SUPERVISION)
        return await self._close(inp, "supervision_ended", SupervisionEndedFields(), "completed")

    @end_supervision.validator
    def _v_end_supervision(self, inp: ActionInput[EndSupervisionFields]) -> None:
        self.validate_action("end_supervision", inp)

    def _refresh_alerts(self) -> None:
        # Art 16(1)(d): once the probation period is over, telling the issuing state is a duty without delay.
        end = self.deadline(dl.PROBATION_END)
        if (self.stage == S.SUPERVISING and end and end.status == "open" and self.now() >= end.due
                and self.deadline(END_SUPERVISION) is None):
            self.set_deadline(dl.duty("end_supervision", end.due, "16(1)(d)", self.inp.duty_working_days))
            self.event("probation_period_ended", "system")
        super()._refresh_alerts()

    # --- messages from the issuing side --------------------------------------------------------------

    @workflow.signal
    async def receive(self, msg: LinkMessage) -> None:
        fields = self.take_message(msg)
        if fields is None:
            return
        if isinstance(fields, CertificateFields):
            if self.m.received_at is None:
                # Workflow time, not the inbox's clock: deadlines and time-skipping tests stay consistent. A
                # certificate forwarded within the executing state keeps its first receipt (Art 6(7), 12(1)).
                self.m.received_at = fields.forwarded.received_at if fields.forwarded else self.now()
                if fields.max_custody_requested:
                    self.m.open_requests.add(MAX_CUSTODY_REQUEST)
                detail: dict[str, object] = {"message_id": msg.message_id,
                                             "max_custody_requested": MAX_CUSTODY_REQUEST in self.m.open_requests}
                if fields.judgment_sent_separately:
                    detail["judgment_sent_separately"] = str(fields.judgment_sent_separately)
                if fields.forwarded:
                    detail["forwarded_by"] = fields.forwarded.by_authority
                self.event("certificate_received", msg.from_state, detail)
            return  # run() publishes once the case is set up
        await self.on_message(msg, fields)
        await self.publish()

    async def on_message(self, msg: LinkMessage, fields: MessageFields) -> None:
        """What each message of the issuing side does here (the intake and take_message checked it)."""
        peer = msg.from_state
        ref = {"message_id": msg.message_id}
        match fields:
            case CompletionFields():
                # Art 8(2): the completed certificate replaces the one received (now that this case accepts
                # it); its facts may have changed.
                self.end_deadline("completion")
                self.resume_decision()
                if workflow.patched(COMPLETION_ACCEPTED_HERE):
                    self.m.facts = await workflow.execute_activity(
                        "accept_completion", args=[self.inp.case_id, msg.message_id], result_type=CaseFacts,
                        start_to_close_timeout=timedelta(minutes=2), retry_policy=PREPARE_RETRY)
                else:
                    # Histories recorded before: the intake had stored it already.
                    self.m.facts = await prepare("load_facts", self.inp.case_id, CaseFacts)
                self.event("completion_received", peer, ref)
            case ConsultationReplyFields():
                self.m.consultations_answered = set(self.m.consultation_due)  # every consultation open until now
                self.m.consultation_answered = True
                self.end_deadline(CONSULTATION_REPLY)
                self.event("consultation_reply_received", peer, ref)
            case WithdrawalFields():
                self.event("withdrawn", peer, ref, new_stage=S.CLOSED, outcome="withdrawn")
            case NoWithdrawalFields():
                # Art 9(4): the issuing state waived the window; supervision may begin at once.
                self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
                if self.stage == S.RECOGNISED:
                    self._start_supervision_duty()
                self.event("withdrawal_waived", peer)
            case SubsequentDecisionFields(decision=decision):
                # Art 17(4): the issuing state decided (14(3) case); a revocation or lapse ends supervision.
                closing = SUBSEQUENT_DECISION_OUTCOME[decision]
                self.event("subsequent_decision_received", peer, {"decision": str(decision)},
                           new_stage=S.CLOSED if closing else None, outcome=closing)
            case InformationRequestFields():
                self.m.open_requests.add(INFORMATION_REQUEST)
                self.duty("answer_information", "17(1)(c)")
                self.event("information_requested", peer, ref)
            case InformationFields():
                self.event("information_received", peer, ref)
            case TransferBackRequestFields():
                self.m.open_requests.add(TRANSFER_BACK_REQUEST)
                self.duty("answer_transfer_back_request", "20(2)")
                self.event("transfer_back_requested", peer, ref)
            case AmnestyPardonFields():
                # Art 19(1): the issuing state granted an amnesty or pardon; nothing is left to supervise.
                self.event("amnesty_pardon", peer, ref, new_stage=S.CLOSED, outcome="amnesty")
            case JudgmentReviewFields(outcome=outcome):
                # Art 19: only the issuing state reviews; an annulled judgment leaves nothing to supervise.
                closing = REVIEW_OUTCOME_CLOSES[outcome]
                self.event("judgment_review_received", peer, {"outcome": str(outcome), **ref},
                           new_stage=S.CLOSED if closing else None, outcome=closing)
            case _:
                self.event("message_received", peer, {"type": msg.type, **ref})
