"""The incoming transfer: the executing side, from receipt of the certificate to the end of supervision.

Workflow id `incoming-<id>` (the same id as the issuing node's transfer: the conversation id). Started by
the inbox with signal-with-start, so the certificate message is its first event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import deadlines as dl
    from workflows.case import CaseWorkflow, prepare
    from workflows.model import ActionInput, ActionResult, CaseFacts, CaseState, LinkMessage, TransferInput
    from workflows.rules import CONFLICT, INVALID, Refusal
    from workflows.stages import ExecutingStage as S
    from workflows.stages import Outcome, Side

# Art 11(3): refusal on these grounds only after consulting the issuing state.
CONSULT_BEFORE_REFUSAL = frozenset("abchijk")
REFUSAL_GROUNDS = frozenset("abcdefghijk")
SUBSEQUENT = {"modify": None, "revoke": Outcome.REVOKED, "execute_custody": Outcome.REVOKED, "lapse": Outcome.LAPSED}


@workflow.defn(name="IncomingTransfer")
class IncomingTransfer(CaseWorkflow):
    side = Side.EXECUTING

    @workflow.init
    def __init__(self, inp: TransferInput) -> None:
        self._setup(inp, S.RECEIVED)
        self.received_at: datetime | None = None

    @workflow.run
    async def run(self, inp: TransferInput) -> CaseState:
        # The certificate arrives with the start (signal-with-start); its handler has run by now.
        await workflow.wait_condition(lambda: self.received_at is not None)
        assert self.received_at is not None
        self.facts = await prepare("load_facts", inp.case_id, CaseFacts)
        # Art 12(1): decide within 60 days of receiving the judgment and the certificate.
        self.set_deadline(dl.Deadline(name=dl.DECISION, due=self.received_at + dl.DECISION_PERIOD, basis="law",
                                      article="12(1)"))
        self.send("acknowledgement", {"received_at": self.received_at.isoformat()})
        self.event("under_decision", "system", new_stage=S.UNDER_DECISION)
        await self.run_until_closed()
        return self.state()

    @workflow.query
    def case_state(self) -> CaseState:
        return self.state()

    def delivery_hours(self) -> int:
        return 48

    # --- rules that need the case's facts ------------------------------------------------------------

    def check_rule(self, action: str, inp: ActionInput) -> Refusal | None:
        b = inp.body
        if action == "decide":
            outcome = b.get("outcome")
            if outcome not in ("recognised", "adapted", "refused"):
                return Refusal(INVALID, "outcome: must be recognised, adapted or refused")
            grounds = [str(g) for g in b.get("grounds") or []]
            if outcome == "refused":
                if not grounds:
                    return Refusal(INVALID, "grounds: a refusal names at least one ground of Art 11(1)")
                unknown = [g for g in grounds if g not in REFUSAL_GROUNDS]
                if unknown:
                    return Refusal(INVALID, f"grounds: {', '.join(unknown)} is not a letter of Art 11(1) (a)-(k)")
                unconsulted = [g for g in grounds if g in CONSULT_BEFORE_REFUSAL and g not in self.consulted_grounds]
                if unconsulted:
                    return Refusal(CONFLICT, "refusing on ground(s) " + ", ".join(f"({g})" for g in unconsulted)
                                   + " needs an earlier consultation of the issuing state (Art 11(3))")
        if action == "consult" and str(b.get("ground")) not in REFUSAL_GROUNDS:
            return Refusal(INVALID, "ground: must be a letter of Art 11(1) (a)-(k)")
        if action == "start_supervision":
            window = self.deadline(dl.WITHDRAWAL_WINDOW_NAME)
            if window and window.status == "open" and self.now() < window.due:
                return Refusal(CONFLICT, "the issuing state may still withdraw the certificate until "
                                         f"{window.due.date().isoformat()} (Art 9(4)); wait, or ask it to confirm")
        if action == "decide_subsequent":
            if self.facts.executing_declared_14_3 and b.get("decision") in ("revoke", "execute_custody"):
                return Refusal(CONFLICT, "under this state's Art 14(3) declaration the issuing state takes this "
                                         "decision: report the breach on the Annex II form instead")
            if b.get("decision") not in SUBSEQUENT:
                return Refusal(INVALID, "decision: must be modify, revoke, execute_custody or lapse")
        if action == "transfer_back" and b.get("reason") not in ("absconded", "residence_lost", "issuing_request"):
            return Refusal(INVALID, "reason: must be absconded, residence_lost or issuing_request")
        if action == "notify_delay":
            try:
                expected = date.fromisoformat(str(b.get("expected_by")))
            except ValueError:
                return Refusal(INVALID, "expected_by: must be a date (YYYY-MM-DD)")
            if expected <= self.now().date():
                return Refusal(INVALID, "expected_by: must be in the future")
        if action == "give_max_custody" and not (isinstance(b.get("max_custody_days"), int)
                                                 and b["max_custody_days"] > 0):
            return Refusal(INVALID, "max_custody_days: must be a positive whole number of days")
        if action == "request_completion" and not (isinstance(b.get("due_days"), int) and 0 < b["due_days"] <= 90):
            return Refusal(INVALID, "due_days: must be a whole number of days between 1 and 90")
        if action == "resend" and not self.failed:
            return Refusal(CONFLICT, "no message is waiting to be sent again")
        return None

    # --- actions (CONTRACT §3, executing side) -------------------------------------------------------

    @workflow.update
    async def forward(self, inp: ActionInput) -> ActionResult:
        authority = str(inp.body["authority"])
        self.event("forwarded", inp.actor, {"authority": authority}, new_stage=S.CLOSED, outcome=Outcome.FORWARDED)
        self.send("forwarded", {"authority": authority})
        await self.publish()
        return self.result()

    @forward.validator
    def _v_forward(self, inp: ActionInput) -> None:
        self.validate_action("forward", inp)

    @workflow.update
    async def request_completion(self, inp: ActionInput) -> ActionResult:
        days = int(inp.body["due_days"])
        self.event("completion_requested", inp.actor, {"due_days": days})
        self.send("completion_request", {"due_days": days}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @request_completion.validator
    def _v_request_completion(self, inp: ActionInput) -> None:
        self.validate_action("request_completion", inp)

    @workflow.update
    async def consult(self, inp: ActionInput) -> ActionResult:
        ground = str(inp.body["ground"])
        self.consulted_grounds.add(ground)
        self.event("consulted", inp.actor, {"ground": ground})
        self.send("consultation", {"ground": ground}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @consult.validator
    def _v_consult(self, inp: ActionInput) -> None:
        self.validate_action("consult", inp)

    @workflow.update
    async def notify_delay(self, inp: ActionInput) -> ActionResult:
        expected = str(inp.body["expected_by"])
        due = datetime.combine(date.fromisoformat(expected), self.now().timetz())
        # Art 12(2): the expected date becomes the watched date.
        self.set_deadline(dl.Deadline(name=dl.DECISION, due=due, basis="law", article="12(2)"))
        self.event("delay_notified", inp.actor, {"expected_by": expected})
        self.send("delay_notice", {"expected_by": due.isoformat()}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @notify_delay.validator
    def _v_notify_delay(self, inp: ActionInput) -> None:
        self.validate_action("notify_delay", inp)

    @workflow.update
    async def give_max_custody(self, inp: ActionInput) -> ActionResult:
        days = int(inp.body["max_custody_days"])
        self._open_withdrawal_window()
        self.event("max_custody_given", inp.actor, {"max_custody_days": days})
        self.send("max_custody_info", {"max_custody_days": days})
        await self.publish()
        return self.result()

    @give_max_custody.validator
    def _v_give_max_custody(self, inp: ActionInput) -> None:
        self.validate_action("give_max_custody", inp)

    @workflow.update
    async def decide(self, inp: ActionInput) -> ActionResult:
        outcome = str(inp.body["outcome"])
        grounds = [str(g) for g in inp.body.get("grounds") or []]
        self.end_deadline(dl.DECISION)
        body = {"outcome": outcome, "grounds": grounds,
                "measures_changed": inp.body.get("measures_changed", [])}
        if outcome == "refused":
            self.event("refused", inp.actor, {"grounds": grounds}, new_stage=S.CLOSED, outcome=Outcome.REFUSED)
        else:
            if outcome == "adapted":
                # Art 9(4): the issuing state has 10 days to withdraw; supervision waits (NL 3:14(2) practice).
                self._open_withdrawal_window()
            self.duty("start_supervision", "8(1)")
            self.event(outcome, inp.actor, {"grounds": grounds}, new_stage=S.RECOGNISED)
        self.send("decision", body, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide.validator
    def _v_decide(self, inp: ActionInput) -> None:
        self.validate_action("decide", inp)

    @workflow.update
    async def start_supervision(self, inp: ActionInput) -> ActionResult:
        self.supervision_started = True
        self.end_deadline("duty:start_supervision")
        self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
        if self.facts.probation_period_days:
            self.set_deadline(dl.Deadline(name=dl.PROBATION_END,
                                          due=self.now() + timedelta(days=self.facts.probation_period_days),
                                          basis="law", article="16(1)(d)"))
        self.event("supervision_started", inp.actor, new_stage=S.SUPERVISING)
        self.send("supervision_started")
        await self.publish()
        return self.result()

    @start_supervision.validator
    def _v_start_supervision(self, inp: ActionInput) -> None:
        self.validate_action("start_supervision", inp)

    @workflow.update
    async def report_breach(self, inp: ActionInput) -> ActionResult:
        self.event("breach_reported", inp.actor)
        self.send("breach_report", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @report_breach.validator
    def _v_report_breach(self, inp: ActionInput) -> None:
        self.validate_action("report_breach", inp)

    @workflow.update
    async def answer_information(self, inp: ActionInput) -> ActionResult:
        self.end_deadline("duty:answer_information")
        self.event("information_given", inp.actor)
        self.send("information", note_id=inp.note_id)
        await self.publish()
        return self.result()

    @answer_information.validator
    def _v_answer_information(self, inp: ActionInput) -> None:
        self.validate_action("answer_information", inp)

    async def _close(self, inp: ActionInput, type_: str, message: str, outcome: Outcome,
                     body: dict[str, object] | None = None) -> ActionResult:
        self.event(type_, inp.actor, dict(body or {}), new_stage=S.CLOSED, outcome=outcome)
        self.send(message, dict(body or {}), note_id=inp.note_id)
        await self.publish()
        return self.result()

    @workflow.update
    async def report_not_found(self, inp: ActionInput) -> ActionResult:
        return await self._close(inp, "person_not_found", "person_not_found", Outcome.PERSON_NOT_FOUND)

    @report_not_found.validator
    def _v_report_not_found(self, inp: ActionInput) -> None:
        self.validate_action("report_not_found", inp)

    @workflow.update
    async def notify_amnesty(self, inp: ActionInput) -> ActionResult:
        return await self._close(inp, "amnesty_pardon", "amnesty_pardon", Outcome.AMNESTY)

    @notify_amnesty.validator
    def _v_notify_amnesty(self, inp: ActionInput) -> None:
        self.validate_action("notify_amnesty", inp)

    @workflow.update
    async def decide_subsequent(self, inp: ActionInput) -> ActionResult:
        decision = str(inp.body["decision"])
        closing = SUBSEQUENT[decision]
        if closing:
            return await self._close(inp, "subsequent_decision", "subsequent_decision", closing,
                                     {"decision": decision})
        self.event("subsequent_decision", inp.actor, {"decision": decision})
        self.send("subsequent_decision", {"decision": decision}, note_id=inp.note_id)
        await self.publish()
        return self.result()

    @decide_subsequent.validator
    def _v_decide_subsequent(self, inp: ActionInput) -> None:
        self.validate_action("decide_subsequent", inp)

    @workflow.update
    async def transfer_back(self, inp: ActionInput) -> ActionResult:
        return await self._close(inp, "transferred_back", "transfer_back", Outcome.TRANSFERRED_BACK,
                                 {"reason": str(inp.body["reason"])})

    @transfer_back.validator
    def _v_transfer_back(self, inp: ActionInput) -> None:
        self.validate_action("transfer_back", inp)

    @workflow.update
    async def end_supervision(self, inp: ActionInput) -> ActionResult:
        self.end_deadline(dl.PROBATION_END)
        return await self._close(inp, "supervision_ended", "supervision_ended", Outcome.COMPLETED,
                                 {"outcome": "completed"})

    @end_supervision.validator
    def _v_end_supervision(self, inp: ActionInput) -> None:
        self.validate_action("end_supervision", inp)

    @workflow.update
    async def resend(self, inp: ActionInput) -> ActionResult:
        self.resend_failed(inp.actor)
        await self.publish()
        return self.result()

    @resend.validator
    def _v_resend(self, inp: ActionInput) -> None:
        self.validate_action("resend", inp)

    def _open_withdrawal_window(self) -> None:
        self.set_deadline(dl.Deadline(name=dl.WITHDRAWAL_WINDOW_NAME, due=self.now() + dl.WITHDRAWAL_WINDOW,
                                      basis="law", article="9(4)"))

    # --- messages from the issuing side --------------------------------------------------------------

    @workflow.signal
    async def receive(self, msg: LinkMessage) -> None:
        if not self.accept_message(msg):
            return
        peer = msg.from_state
        if msg.type == "certificate":
            if self.received_at is None:
                # Workflow time, not the inbox's clock: deadlines and time-skipping tests stay consistent.
                self.received_at = self.now()
                self.event("certificate_received", peer, {"message_id": msg.message_id})
            return  # run() publishes once the case is set up
        if self.closed:
            return
        match msg.type:
            case "completion":
                self.event("completion_received", peer, {"message_id": msg.message_id})
            case "consultation_reply":
                self.event("consultation_reply_received", peer, {"message_id": msg.message_id})
            case "withdrawal":
                self.event("withdrawn", peer, {"message_id": msg.message_id}, new_stage=S.CLOSED,
                           outcome=Outcome.WITHDRAWN)
            case "no_withdrawal":
                self.end_deadline(dl.WITHDRAWAL_WINDOW_NAME, "cancelled")
                self.event("withdrawal_waived", peer)
            case "subsequent_decision":
                decision = str(msg.body.get("decision"))
                closing = SUBSEQUENT.get(decision)
                if closing:
                    self.event("subsequent_decision_received", peer, {"decision": decision}, new_stage=S.CLOSED,
                               outcome=closing)
                else:
                    self.event("subsequent_decision_received", peer, {"decision": decision})
            case "information_request":
                self.duty("answer_information", "17(1)(c)")
                self.event("information_requested", peer, {"message_id": msg.message_id})
            case "transfer_back_request":
                self.duty("answer_transfer_back_request", "20(2)")
                self.event("transfer_back_requested", peer, {"message_id": msg.message_id})
            case "judgment_review":
                self.event("judgment_review_received", peer, {"message_id": msg.message_id})
            case _:
                self.event("message_received", peer, {"type": msg.type, "message_id": msg.message_id})
        await self.publish()
