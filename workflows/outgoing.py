"""The outgoing transfer: the issuing side, from the officer's draft to the end of the case.

Workflow id `transfer-<id>`, task queue `probatio-<STATE>`. Once the executing state reports that
supervision began, the case continues as new: the years of supervision run in histories of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from forms.documents import SeparateChannel
    from workflows import deadlines as dl
    from workflows.case import CaseWorkflow, prepare, refuse
    from workflows.model import (
        ActionInput,
        ActionResult,
        CaseFacts,
        CaseState,
        LinkMessage,
        SubmissionCheck,
        TransferInput,
    )
    from workflows.rules import (
        CONFLICT,
        INVALID,
        REVIEW_OUTCOMES,
        SUBSEQUENT_DECISIONS,
        Refusal,
        art_9_4_withdrawal,
        art_14_subsequent,
    )
    from workflows.stages import IssuingStage as S
    from workflows.stages import Side

# The request that a `reply` in stage `transferred` answers.
INFORMATION_REQUEST = "information_request"


def _parse_dt(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


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

    def check_rule(self, action: str, inp: ActionInput) -> Refusal | None:
        if action == "withdraw":
            window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
            return art_9_4_withdrawal(supervision_started=self.supervision_started,
                                      window_due=window.due if window else None, now=self.now())
        if action == "confirm_no_withdrawal" and not self.in_withdrawal_window():
            return Refusal(CONFLICT, "no withdrawal window is open")
        if action == "decide_subsequent":
            return art_14_subsequent(inp.body.get("decision"), side=self.side,
                                     issuing_competent=self.issuing_competent)
        if action == "notify_review" and inp.body.get("outcome") not in REVIEW_OUTCOMES:
            return Refusal(INVALID, "outcome: must be " + ", ".join(REVIEW_OUTCOMES))
        if action == "reply" and self.stage != S.CONSULTATION and INFORMATION_REQUEST not in self.open_requests:
            return Refusal(CONFLICT, "no consultation or information request is open")
        if action == "approve" and not isinstance(inp.body.get("ask_max_custody", False), bool):
            return Refusal(INVALID, "ask_max_custody: must be true or false")
        if action == "approve" and inp.body.get("judgment_sent_separately") not in (None, *SeparateChannel):
            return Refusal(INVALID, "judgment_sent_separately: must be " + ", ".join(SeparateChannel))
        return None

    # --- actions (CONTRACT §3, issuing side) ---------------------------------------------------------

    @workflow.update
    async def submit(self, inp: ActionInput) -> ActionResult:
        check: SubmissionCheck = await prepare("check_certificate", self.inp.case_id, SubmissionCheck)
        if check.errors:
            raise refuse(Refusal(INVALID, "; ".join(check.errors)))
        self.facts = await prepare("load_facts", self.inp.case_id, CaseFacts)
        # Known from the executing state's declaration; its decision message confirms it (Art 14(3)-(4)).
        self.issuing_competent = self.facts.art_14_3_applies
        self.event("submitted", inp.actor, {"warnings": len(check.warnings)}, new_stage=S.AWAITING_APPROVAL)
        await self.publish()
        return self.result()

    @submit.validator
    def _v_submit(self, inp: ActionInput) -> None:
        self.validate_action("submit", inp)

    @workflow.update(name="return")
    async def return_(self, inp: ActionInput) -> ActionResult:
        self.event("returned_to_officer", inp.actor, {"note": inp.note_id}, new_stage=S.DRAFT)
        await self.publish()
        return self.result()

    @return_.validator
    def _v_return(self, inp: ActionInput) -> None:
        self.validate_action("return", inp)

    @workflow.update
    async def approve(self, inp: ActionInput) -> ActionResult:
        # Signed and certified (6(3)) by the approval itself; rendered in a language the executing state
        # accepts (21); kept as the document that was sent.
        lang: str = await prepare("prepare_certificate", self.inp.case_id, str)
        self.facts.certificate_language = lang
        ask = bool(inp.body.get("ask_max_custody", False))
        body: dict[str, object] = {"language": lang, "max_custody_requested": ask}
        separately = inp.body.get("judgment_sent_separately")
        if separately:
            # Art 6(1): the judgment is not attached; how it travels is recorded and told to the executing side.
            body["judgment_sent_separately"] = str(separately)
        self.event("approved", inp.actor, dict(body), new_stage=S.SENT)
        # Art 16(2): the issuing state may ask, when it forwards the case, for the maximum custody.
        self.send("certificate", body, attach_certificate=True)
        await self.publish()
        return self.result()

    @approve.validator
    def _v_approve(self, inp: ActionInput) -> None:
        self.validate_action("approve", inp)

    @workflow.update
    async def complete(self, inp: ActionInput) -> ActionResult:
        await prepare("prepare_certificate", self.inp.case_id, str)
        self.end_deadline("duty:complete")
        self.event("completed_certificate", inp.actor, new_stage=S.UNDER_DECISION)
        self.send("completion", attach_certificate=True)
        await self.publish()
        return self.result()

    @complete.validator
    def _v_complete(self, inp: ActionInput) -> None:
        self.validate_action("complete", inp)

    @workflow.update
    async def reply(self, inp: ActionInput) -> ActionResult:
        if self.stage == S.CONSULTATION:
            self.end_deadline("duty:reply")
            self.event("consultation_replied", inp.actor, new_stage=S.UNDER_DECISION)
            self.send("consultation_reply", note_id=inp.note_id)
        else:
            self.open_requests.discard(INFORMATION_REQUEST)
            self.end_deadline("duty:answer_information")
            self.event("information_given", inp.actor)
            self.send("information", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @reply.validator
    def _v_reply(self, inp: ActionInput) -> None:
        self.validate_action("reply", inp)

    @workflow.update
    async def withdraw(self, inp: ActionInput) -> ActionResult:
        self.event("withdrawn", inp.actor, {"note": inp.note_id}, new_stage=S.CLOSED, outcome="withdrawn")
        self.send("withdrawal", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @withdraw.validator
    def _v_withdraw(self, inp: ActionInput) -> None:
        self.validate_action("withdraw", inp)

    @workflow.update
    async def confirm_no_withdrawal(self, inp: ActionInput) -> ActionResult:
        self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
        new_stage = S.TRANSFERRED if self.stage == S.ADAPTED else None
        self.event("no_withdrawal", inp.actor, new_stage=new_stage)
        self.send("no_withdrawal")
        await self.publish()
        return self.result()

    @confirm_no_withdrawal.validator
    def _v_confirm_no_withdrawal(self, inp: ActionInput) -> None:
        self.validate_action("confirm_no_withdrawal", inp)

    @workflow.update
    async def decide_subsequent(self, inp: ActionInput) -> ActionResult:
        # Art 17(4): the issuing state decides (14(3) case) and tells the executing state immediately.
        decision = str(inp.body["decision"])
        self.end_deadline("duty:decide_subsequent")
        closing = SUBSEQUENT_DECISIONS[decision]
        self.event("subsequent_decision", inp.actor, {"decision": decision},
                   new_stage=S.CLOSED if closing else None, outcome=closing)
        self.send("subsequent_decision", {"decision": decision}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide_subsequent.validator
    def _v_decide_subsequent(self, inp: ActionInput) -> None:
        self.validate_action("decide_subsequent", inp)

    @workflow.update
    async def request_information(self, inp: ActionInput) -> ActionResult:
        self.event("information_requested", inp.actor)
        self.send("information_request", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_information.validator
    def _v_request_information(self, inp: ActionInput) -> None:
        self.validate_action("request_information", inp)

    @workflow.update
    async def request_transfer_back(self, inp: ActionInput) -> ActionResult:
        self.event("transfer_back_requested", inp.actor)
        self.send("transfer_back_request", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_transfer_back.validator
    def _v_request_transfer_back(self, inp: ActionInput) -> None:
        self.validate_action("request_transfer_back", inp)

    @workflow.update
    async def notify_review(self, inp: ActionInput) -> ActionResult:
        # Art 19: only the issuing state reviews the judgment; an annulment ends the case on both sides.
        outcome = str(inp.body["outcome"])
        closing = REVIEW_OUTCOMES[outcome]
        self.event("judgment_review_notified", inp.actor, {"outcome": outcome},
                   new_stage=S.CLOSED if closing else None, outcome=closing)
        self.send("judgment_review", {"outcome": outcome}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @notify_review.validator
    def _v_notify_review(self, inp: ActionInput) -> None:
        self.validate_action("notify_review", inp)

    # --- messages from the executing side ------------------------------------------------------------

    @workflow.signal
    async def receive(self, msg: LinkMessage) -> None:
        if not self.accept_message(msg) or self.closed:
            return
        peer = msg.from_state
        b = msg.body
        match msg.type:
            case "acknowledgement":
                received = _parse_dt(b.get("received_at")) or msg.received_at
                self.set_deadline(dl.Deadline(name=dl.DECISION, due=received + dl.DECISION_PERIOD, basis="law",
                                              article="12(1)"))
                self.event("received_by_executing", peer, {"received_at": received.isoformat()},
                           new_stage=S.UNDER_DECISION if self.stage == S.SENT else None)
            case "forwarded":
                # Art 6(7), 18(1): another authority of the executing state now has the case.
                self.event("forwarded_by_executing", peer, {"authority": b.get("authority")})
            case "completion_request":
                days = int(b.get("due_days") or 14)
                self.set_deadline(dl.Deadline(name="duty:complete", due=self.now() + timedelta(days=days),
                                              basis="law", article="8(2)"))
                self.event("completion_requested", peer, {"due_days": days, "message_id": msg.message_id},
                           new_stage=S.COMPLETION_REQUESTED)
            case "consultation":
                self.duty("reply", "11(3)")
                self.event("consultation_opened", peer, {"ground": b.get("ground"), "message_id": msg.message_id},
                           new_stage=S.CONSULTATION)
            case "delay_notice":
                # Art 12(2): the date the executing state expects to decide by becomes the watched date.
                expected = _parse_dt(b.get("expected_by"))
                if expected:
                    self.set_deadline(dl.Deadline(name=dl.DECISION, due=expected, basis="law", article="12(2)"))
                self.event("decision_delayed", peer, {"expected_by": b.get("expected_by"),
                                                      "message_id": msg.message_id})
            case "max_custody_info":
                self._open_withdrawal_window("max_custody_received", peer, {"max_custody_days":
                                                                            b.get("max_custody_days")})
            case "decision":
                self._on_decision(msg)
            case "supervision_started":
                self.supervision_started = True
                self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
                self.event("supervision_started", peer, new_stage=S.TRANSFERRED if self.stage != S.TRANSFERRED
                           else None)
                self.begin_new_run()
            case "breach_report":
                if self.issuing_competent:
                    # Art 17(4): the issuing state decides on the Annex II report and tells the executing state.
                    self.duty("decide_subsequent", "17(4)")
                self.event("breach_reported", peer, {"message_id": msg.message_id})
            case "information":
                self.event("information_received", peer, {"message_id": msg.message_id})
            case "information_request":
                self.open_requests.add(INFORMATION_REQUEST)
                self.duty("answer_information", "15")
                self.event("information_requested_by_executing", peer, {"message_id": msg.message_id})
            case "subsequent_decision":
                decision = str(b.get("decision"))
                closing = SUBSEQUENT_DECISIONS.get(decision)
                self.event("subsequent_decision_received", peer, {"decision": decision},
                           new_stage=S.CLOSED if closing else None, outcome=closing)
            case "person_not_found":
                self.event("person_not_found", peer, new_stage=S.CLOSED, outcome="person_not_found")
            case "amnesty_pardon":
                self.event("amnesty_pardon", peer, new_stage=S.CLOSED, outcome="amnesty")
            case "transfer_back":
                # Art 20(3): competence for the supervision returns to the issuing state; the transfer ends.
                self.event("transferred_back", peer, {"reason": b.get("reason")}, new_stage=S.RETURNED)
            case "supervision_ended":
                self.event("supervision_ended", peer, {"outcome": b.get("outcome")}, new_stage=S.CLOSED,
                           outcome="completed")
            case _:
                self.event("message_received", peer, {"type": msg.type, "message_id": msg.message_id})
        await self.publish()

    def _on_decision(self, msg: LinkMessage) -> None:
        outcome = str(msg.body.get("outcome"))
        self.end_deadline(dl.DECISION)
        if isinstance(msg.body.get("art_14_3"), bool):
            # Art 14(3)-(4): the executing state says at recognition whether it leaves 14(1)(b)-(c) to us.
            self.issuing_competent = bool(msg.body["art_14_3"])
        detail = {"outcome": outcome, "grounds": msg.body.get("grounds", []), "message_id": msg.message_id,
                  "art_14_3": self.issuing_competent}
        if outcome == "refused":
            self.event("refused", msg.from_state, detail, new_stage=S.CLOSED, outcome="refused")
        elif outcome == "adapted":
            detail["measures_changed"] = msg.body.get("measures_changed", [])
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
