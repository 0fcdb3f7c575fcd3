"""The outgoing transfer: the issuing side, from the officer's draft to the end of the case.

Workflow id `transfer-<id>`, task queue `probatio-<STATE>`. Once the executing state reports that
supervision began, the case continues as new: the years of supervision run in histories of their own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from forms.law import REVIEW_OUTCOME_CLOSES, SUBSEQUENT_DECISION_OUTCOME
    from forms.messages import (
        AcknowledgementFields,
        ActionFields,
        ActionInput,
        AmnestyPardonFields,
        ApproveFields,
        BreachReportFields,
        CertificateFields,
        CompletionFields,
        CompletionRequestFields,
        ConsultationFields,
        ConsultationReplyFields,
        DecisionFields,
        DelayNoticeFields,
        ForwardedFields,
        InformationFields,
        InformationRequestFields,
        JudgmentReviewFields,
        MaxCustodyFields,
        MessageFields,
        NoWithdrawalFields,
        PersonNotFoundFields,
        ReviewFields,
        SubsequentDecisionFields,
        SubsequentUpdate,
        SupervisionEndedFields,
        SupervisionStartedFields,
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
        CaseFacts,
        CaseState,
        LinkMessage,
        SubmissionCheck,
        TransferInput,
    )
    from workflows.rules import CONFLICT, INVALID, Refusal, art_9_4_withdrawal, art_14_subsequent
    from workflows.stages import IssuingStage as S
    from workflows.stages import Side

# Patch ids (workflow.patched): histories recorded before a change replay with the old behaviour.
# probation-from-judgment: the issuing side watches the end of the probation period too (Art 16(1)(d)).
PROBATION_FROM_JUDGMENT = "probation-from-judgment"
# complete-after-acceptance: the completed certificate is stored by the workflow once it accepted `complete`.
COMPLETE_AFTER_ACCEPTANCE = "complete-after-acceptance"
# approver-signs-box-l: approval writes the approving prosecutor, post and date into box (l) (Art 6(3)).
APPROVER_SIGNS_BOX_L = "approver-signs-box-l"
# approval-in-one-step: boxes (k) and (l), the rendering and the seal in one activity that stores the certificate
# and its PDF together, so a failed approval leaves the draft as it was.
APPROVAL_IN_ONE_STEP = "approval-in-one-step"
# completion-reloads-facts: a completed certificate's facts (box (j): the probation period, its start, the
# measures) replace the issuing side's, as the executing side's do on receipt.
COMPLETION_RELOADS_FACTS = "completion-reloads-facts"
# completion-in-one-step: the completed certificate is stored with its PDF once rendered and sealed, in one
# activity, so a completion whose rendering fails leaves the certificate as it was sent.
COMPLETION_IN_ONE_STEP = "completion-in-one-step"
# decision-ends-duties: once the executing state decided, completing the certificate or answering its
# consultation is no longer anyone's duty here (both actions are refused from then on): they are cancelled,
# not left to turn into an overdue alert nobody can clear.
DECISION_ENDS_DUTIES = "decision-ends-duties"

# The request that a `reply` in stage `transferred` answers.
INFORMATION_REQUEST = "information_request"


@workflow.defn(name="OutgoingTransfer")
class OutgoingTransfer(CaseWorkflow):
    side = Side.ISSUING

    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self._setup(inp, S.DRAFT)

    @workflow.run
    async def run(self, inp: TransferInput) -> CaseState:
        if inp.snapshot is None:
            self.event("created", inp.created_by, {"executing_state": inp.executing_state})
        await self.run_until_closed()
        return self.state()

    # --- rules that need the case's facts ------------------------------------------------------------

    def check_rule(self, action: str, inp: ActionInput[Any]) -> Refusal | None:
        if action == "withdraw":
            window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
            return art_9_4_withdrawal(supervision_started=self.m.supervision_started,
                                      window_due=window.due if window else None, now=self.now())
        if action == "confirm_no_withdrawal" and not self.in_withdrawal_window():
            return Refusal(CONFLICT, wording("no withdrawal window is open"))
        if action == "decide_subsequent" and isinstance(inp.body, SubsequentUpdate):
            return art_14_subsequent(inp.body.decision, side=self.side, issuing_competent=self.m.issuing_competent)
        if action == "reply" and self.stage != S.CONSULTATION and INFORMATION_REQUEST not in self.m.open_requests:
            return Refusal(CONFLICT, wording("no consultation or information request is open"))
        return None

    # --- actions (CONTRACT §3, issuing side) ---------------------------------------------------------

    @workflow.update
    async def submit(self, inp: ActionInput[ActionFields]) -> ActionResult:
        check: SubmissionCheck = await prepare("check_certificate", self.inp.case_id, SubmissionCheck)
        if check.errors:
            raise refuse(Refusal(INVALID, "; ".join(check.errors)))
        self.m.facts = await prepare("load_facts", self.inp.case_id, CaseFacts)
        # Known from the executing state's declaration; its decision message confirms it (Art 14(3)-(4)).
        self.m.issuing_competent = self.m.facts.art_14_3_applies
        self.event("submitted", inp.actor, {"warnings": len(check.warnings)}, new_stage=S.AWAITING_APPROVAL)
        await self.publish()
        return self.result()

    @submit.validator
    def _v_submit(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("submit", inp)

    @workflow.update(name="return")
    async def return_(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.event("returned_to_officer", inp.actor, {"note": inp.note_id}, new_stage=S.DRAFT)
        await self.publish()
        return self.result()

    @return_.validator
    def _v_return(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("return", inp)

    @workflow.update
    async def approve(self, inp: ActionInput[ApproveFields]) -> ActionResult:
        # Signed and certified (6(3)) by the approval itself; rendered in a language the executing state
        # accepts (21); kept as the document that was sent.
        separately = inp.body.judgment_sent_separately
        lang: str
        if workflow.patched(APPROVAL_IN_ONE_STEP):
            lang = await workflow.execute_activity(
                "approve_certificate", args=[self.inp.case_id, inp.actor.name, inp.note_id,
                                             str(separately) if separately else None],
                result_type=str, start_to_close_timeout=timedelta(minutes=2), retry_policy=PREPARE_RETRY)
        else:
            if workflow.patched(APPROVER_SIGNS_BOX_L):
                await workflow.execute_activity("sign_certificate",
                                                args=[self.inp.case_id, inp.actor.name, inp.note_id],
                                                start_to_close_timeout=timedelta(minutes=2),
                                                retry_policy=PREPARE_RETRY)
            lang = await prepare("prepare_certificate", self.inp.case_id, str)
        self.m.facts.certificate_language = lang
        ask = inp.body.ask_max_custody
        detail: dict[str, object] = {"language": lang, "max_custody_requested": ask}
        if separately:
            detail["judgment_sent_separately"] = str(separately)
        self.event("approved", inp.actor, detail, new_stage=S.SENT)
        # Art 16(2): the issuing state may ask, when it forwards the case, for the maximum custody.
        self.send(CertificateFields(language=lang, max_custody_requested=ask, judgment_sent_separately=separately),
                  attach_certificate=True)
        await self.publish()
        return self.result()

    @approve.validator
    def _v_approve(self, inp: ActionInput[ApproveFields]) -> None:
        self.validate_action("approve", inp)

    @workflow.update
    async def complete(self, inp: ActionInput[ActionFields]) -> ActionResult:
        lang: str
        if workflow.patched(COMPLETION_IN_ONE_STEP):
            # Stored only now that the completion is accepted, and only with its rendering (Art 8(2)).
            lang = await workflow.execute_activity("complete_certificate", args=[self.inp.case_id, inp.note_id],
                                                   result_type=str, start_to_close_timeout=timedelta(minutes=2),
                                                   retry_policy=PREPARE_RETRY)
        else:
            if workflow.patched(COMPLETE_AFTER_ACCEPTANCE):
                await workflow.execute_activity("apply_completion", args=[self.inp.case_id, inp.note_id],
                                                start_to_close_timeout=timedelta(minutes=2),
                                                retry_policy=PREPARE_RETRY)
            lang = await prepare("prepare_certificate", self.inp.case_id, str)
        if workflow.patched(COMPLETION_RELOADS_FACTS):
            self.m.facts = await prepare("load_facts", self.inp.case_id, CaseFacts)
            self.m.facts.certificate_language = lang
        self.end_deadline("duty:complete")
        self.resume_decision()
        self.event("completed_certificate", inp.actor, new_stage=S.UNDER_DECISION)
        self.send(CompletionFields(), attach_certificate=True)
        await self.publish()
        return self.result()

    @complete.validator
    def _v_complete(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("complete", inp)

    @workflow.update
    async def reply(self, inp: ActionInput[ActionFields]) -> ActionResult:
        if self.stage == S.CONSULTATION:
            self.end_deadline("duty:reply")
            self.event("consultation_replied", inp.actor, new_stage=S.UNDER_DECISION)
            self.send(ConsultationReplyFields(), note_id=inp.note_id)
        else:
            self.m.open_requests.discard(INFORMATION_REQUEST)
            self.end_deadline("duty:answer_information")
            self.event("information_given", inp.actor)
            self.send(InformationFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @reply.validator
    def _v_reply(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("reply", inp)

    @workflow.update
    async def withdraw(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.event("withdrawn", inp.actor, {"note": inp.note_id}, new_stage=S.CLOSED, outcome="withdrawn")
        self.send(WithdrawalFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @withdraw.validator
    def _v_withdraw(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("withdraw", inp)

    @workflow.update
    async def confirm_no_withdrawal(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
        new_stage = S.TRANSFERRED if self.stage == S.ADAPTED else None
        self.event("no_withdrawal", inp.actor, new_stage=new_stage)
        self.send(NoWithdrawalFields())
        await self.publish()
        return self.result()

    @confirm_no_withdrawal.validator
    def _v_confirm_no_withdrawal(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("confirm_no_withdrawal", inp)

    @workflow.update
    async def decide_subsequent(self, inp: ActionInput[SubsequentUpdate]) -> ActionResult:
        # Art 17(4): the issuing state decides (14(3) case) and tells the executing state immediately.
        decision = inp.body.decision
        self.end_deadline("duty:decide_subsequent")
        closing = SUBSEQUENT_DECISION_OUTCOME[decision]
        self.event("subsequent_decision", inp.actor, {"decision": str(decision)},
                   new_stage=S.CLOSED if closing else None, outcome=closing)
        self.send(SubsequentDecisionFields(decision=decision, measures_changed=inp.body.measures_changed),
                  note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide_subsequent.validator
    def _v_decide_subsequent(self, inp: ActionInput[SubsequentUpdate]) -> None:
        self.validate_action("decide_subsequent", inp)

    @workflow.update
    async def notify_amnesty(self, inp: ActionInput[ActionFields]) -> ActionResult:
        # Art 19(1): an amnesty or pardon granted in the issuing state ends the case on both sides.
        self.event("amnesty_pardon", inp.actor, new_stage=S.CLOSED, outcome="amnesty")
        self.send(AmnestyPardonFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @notify_amnesty.validator
    def _v_notify_amnesty(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("notify_amnesty", inp)

    @workflow.update
    async def request_information(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.event("information_requested", inp.actor)
        self.send(InformationRequestFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_information.validator
    def _v_request_information(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("request_information", inp)

    @workflow.update
    async def request_transfer_back(self, inp: ActionInput[ActionFields]) -> ActionResult:
        self.event("transfer_back_requested", inp.actor)
        self.send(TransferBackRequestFields(), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_transfer_back.validator
    def _v_request_transfer_back(self, inp: ActionInput[ActionFields]) -> None:
        self.validate_action("request_transfer_back", inp)

    @workflow.update
    async def notify_review(self, inp: ActionInput[ReviewFields]) -> ActionResult:
        # Art 19: only the issuing state reviews the judgment; an annulment ends the case on both sides.
        outcome = inp.body.outcome
        closing = REVIEW_OUTCOME_CLOSES[outcome]
        self.event("judgment_review_notified", inp.actor, {"outcome": str(outcome)},
                   new_stage=S.CLOSED if closing else None, outcome=closing)
        self.send(JudgmentReviewFields(outcome=outcome), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @notify_review.validator
    def _v_notify_review(self, inp: ActionInput[ReviewFields]) -> None:
        self.validate_action("notify_review", inp)

    # --- messages from the executing side ------------------------------------------------------------

    @workflow.signal
    async def receive(self, msg: LinkMessage) -> None:
        fields = self.take_message(msg)
        if fields is None:
            return
        self.on_message(msg, fields)
        await self.publish()

    def on_message(self, msg: LinkMessage, fields: MessageFields) -> None:
        """What each message of the executing side does here (the intake and take_message checked it)."""
        peer = msg.from_state
        ref = {"message_id": msg.message_id}
        match fields:
            case AcknowledgementFields(received_at=received):
                self.set_deadline(dl.Deadline(name=dl.DECISION, due=received + dl.DECISION_PERIOD, basis="law",
                                              article="12(1)"))
                self.event("received_by_executing", peer, {"received_at": received.isoformat()},
                           new_stage=S.UNDER_DECISION if self.stage == S.SENT else None)
            case ForwardedFields(authority=authority):
                # Art 6(7), 18(1): another authority of the executing state now has the case.
                self.m.authority = authority
                self.event("forwarded_by_executing", peer, {"authority": authority})
            case CompletionRequestFields(due_days=days):
                due = dl.completion_due(self.now(), days)
                self.set_deadline(dl.Deadline(name="duty:complete", due=due, basis="law", article="8(2)"))
                self.pause_decision(due)
                self.event("completion_requested", peer, {"due_days": days, **ref}, new_stage=S.COMPLETION_REQUESTED)
            case ConsultationFields(ground=ground):
                self.duty("reply", "11(3)")
                self.event("consultation_opened", peer, {"ground": str(ground), **ref}, new_stage=S.CONSULTATION)
            case DelayNoticeFields(expected_by=expected):
                self.watch_delay(expected)
                self.event("decision_delayed", peer, {"expected_by": expected.isoformat(), **ref})
            case MaxCustodyFields(max_custody_days=days):
                self._open_withdrawal_window("max_custody_received", peer, {"max_custody_days": days})
            case DecisionFields():
                self._on_decision(msg, fields)
            case SupervisionStartedFields():
                self.m.supervision_started = True
                self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
                end = dl.probation_end(self.m.facts.probation_end, self.m.facts.probation_period_days, self.now())
                if end is not None and workflow.patched(PROBATION_FROM_JUDGMENT):
                    # Art 16(1)(d): watched here too, so the issuing side sees when the end is to be reported.
                    self.set_deadline(dl.Deadline(name=dl.PROBATION_END, due=end, basis="law",
                                                  article="16(1)(d), 9(3)"))
                self.event("supervision_started", peer, new_stage=S.TRANSFERRED if self.stage != S.TRANSFERRED
                           else None)
                self.begin_new_run()
            case BreachReportFields():
                if self.m.issuing_competent:
                    # Art 17(4): the issuing state decides on the Annex II report and tells the executing state.
                    self.duty("decide_subsequent", "17(4)")
                self.m.breach_unanswered = True
                self.event("breach_reported", peer, ref)
            case InformationFields():
                self.event("information_received", peer, ref)
            case InformationRequestFields():
                self.m.open_requests.add(INFORMATION_REQUEST)
                self.duty("answer_information", "15")
                self.event("information_requested_by_executing", peer, ref)
            case SubsequentDecisionFields(decision=decision):
                closing = SUBSEQUENT_DECISION_OUTCOME[decision]
                self.event("subsequent_decision_received", peer, {"decision": str(decision)},
                           new_stage=S.CLOSED if closing else None, outcome=closing)
            case PersonNotFoundFields():
                self.event("person_not_found", peer, new_stage=S.CLOSED, outcome="person_not_found")
            case AmnestyPardonFields():
                self.event("amnesty_pardon", peer, new_stage=S.CLOSED, outcome="amnesty")
            case TransferBackDeclinedFields():
                # Art 20(2): the executing state keeps the supervision; its reasons are in the message.
                self.event("transfer_back_declined", peer, ref)
            case TransferBackFields(reason=reason):
                # Art 20(3): competence for the supervision returns to the issuing state; the transfer ends.
                self.event("transferred_back", peer, {"reason": str(reason)}, new_stage=S.RETURNED)
            case SupervisionEndedFields(outcome=outcome):
                self.event("supervision_ended", peer, {"outcome": outcome}, new_stage=S.CLOSED, outcome="completed")
            case _:
                self.event("message_received", peer, {"type": msg.type, **ref})

    def _on_decision(self, msg: LinkMessage, decision: DecisionFields) -> None:
        self.end_deadline(dl.DECISION)
        self.end_deadline(dl.DECISION_EXPECTED)
        moot = [name for name in ("duty:complete", "duty:reply")
                if (duty := self.deadline(name)) is not None and duty.status in ("open", "missed")]
        if moot and workflow.patched(DECISION_ENDS_DUTIES):
            for name in moot:
                self.end_deadline(name, "cancelled")
        if decision.art_14_3 is not None:
            # Art 14(3)-(4): the executing state says at recognition whether it leaves 14(1)(b)-(c) to us.
            self.m.issuing_competent = decision.art_14_3
        detail: dict[str, object] = {"outcome": str(decision.outcome), "grounds": [str(g) for g in decision.grounds],
                                     "message_id": msg.message_id, "art_14_3": self.m.issuing_competent}
        if decision.outcome == "refused":
            self.event("refused", msg.from_state, detail, new_stage=S.CLOSED, outcome="refused")
        elif decision.outcome == "adapted":
            detail["measures_changed"] = decision.measures_changed
            self._open_withdrawal_window("adapted", msg.from_state, detail, new_stage=S.ADAPTED)
        else:
            # Art 7(1): recognition notified, the issuing state's competence passes to the executing state.
            self.event("recognised", msg.from_state, detail, new_stage=S.TRANSFERRED)

    def _open_withdrawal_window(self, type_: str, peer: str, detail: dict[str, object], *,
                                new_stage: str | None = None) -> None:
        # From receipt of the adaptation (18(5)) or maximum-custody (16(2)) information.
        self.open_withdrawal_window()
        self.event(type_, peer, detail, new_stage=new_stage)

    def _refresh_alerts(self) -> None:
        # An adaptation whose window closed without withdrawal: the transfer is complete (Art 7(1), 9(4)).
        window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
        if self.stage == S.ADAPTED and window and self.now() >= window.due:
            self.event("withdrawal_window_closed", "system", new_stage=S.TRANSFERRED)
        super()._refresh_alerts()
