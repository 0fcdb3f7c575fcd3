"""The catalogue of the exchange: every message that crosses between the issuing and the executing
authority, and every action a person takes on a case, each a pydantic model named after its article.

Each model declares, once, what the rest of the house needs:
- who sends it (for a message, the receiving side and the stages of the receiving case in which it is
  acceptable; for an action, the side, the roles and the stages);
- its body: fields with types and limits. Free text and documents (`text_fields`) may carry personal
  data: they stay in PostgreSQL and never enter a workflow history. The rest — codes, numbers, dates —
  is the model's `Fields` base class, which is all a workflow ever sees;
- how it reads to a person: a label and a one-line summary.

The intake parses every arriving message against this catalogue before anything else happens; the API
publishes each action's body schema from it; pages draw their fields from it; workflows dispatch on its
`Fields` models. Adding a message costs a model here and its handlers, not seven files.

Most messages have no annexed form (fd947.md §6): their names are CONTRACT §3's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from forms.adaptation import MeasureChange
from forms.annex1 import Certificate
from forms.annex2 import BreachReport
from forms.common import MemberStateCode
from forms.documents import MAX_DOCUMENTS, SeparateChannel, TransmittedDocument
from forms.law import (
    ART_11_1_WORDING,
    CONSULTATION_REPLY_DAYS_POLICY,
    DecisionOutcome,
    RefusalGround,
    ReviewOutcome,
    SubsequentDecision,
    TransferBackReason,
)
from forms.stages import ExecutingStage as E
from forms.stages import IssuingStage as I
from forms.stages import Side


class MessageType(StrEnum):
    """Every message that crosses between two nodes, named as in CONTRACT §3, with its article."""

    CERTIFICATE = "certificate"  # Art 6(1): judgment + Annex I certificate
    ACKNOWLEDGEMENT = "acknowledgement"  # receipt, starts the Art 12(1) clock
    FORWARDED = "forwarded"  # Art 6(7), 18(1)
    COMPLETION_REQUEST = "completion_request"  # Art 8(2), 11(1)(a)
    COMPLETION = "completion"  # Art 8(2)
    CONSULTATION = "consultation"  # Art 11(3)
    CONSULTATION_REPLY = "consultation_reply"  # Art 11(3)
    DELAY_NOTICE = "delay_notice"  # Art 12(2)
    MAX_CUSTODY_INFO = "max_custody_info"  # Art 16(2)
    DECISION = "decision"  # Art 12(1), 18(3)-(5)
    WITHDRAWAL = "withdrawal"  # Art 9(4)
    NO_WITHDRAWAL = "no_withdrawal"  # Art 9(4): issuing confirms it will not withdraw
    SUPERVISION_STARTED = "supervision_started"  # Art 8(1)
    BREACH_REPORT = "breach_report"  # Art 17, Annex II
    INFORMATION_REQUEST = "information_request"  # Art 17(1)(c)
    INFORMATION = "information"  # Art 17(1)(c)
    SUBSEQUENT_DECISION = "subsequent_decision"  # Art 16(1), 17(4)
    PERSON_NOT_FOUND = "person_not_found"  # Art 18(2)
    AMNESTY_PARDON = "amnesty_pardon"  # Art 18(6), 19
    TRANSFER_BACK_REQUEST = "transfer_back_request"  # Art 20(2)
    TRANSFER_BACK = "transfer_back"  # Art 20
    TRANSFER_BACK_DECLINED = "transfer_back_declined"  # Art 20(2): the executing state does not agree
    JUDGMENT_REVIEW = "judgment_review"  # Art 19
    SUPERVISION_ENDED = "supervision_ended"  # Art 16(1)(d)


OFFICER = "officer"
PROSECUTOR = "prosecutor"
ADMIN = "admin"

# Free text a person writes to another authority: a page of a letter, not a book.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
# A period set in days by an authority: at least a day, at most ten years.
PeriodDays = Annotated[int, Field(ge=1, le=3_650)]
# The days an authority gives the other to complete a certificate (Art 8(2)) or answer a consultation
# (Art 11(3)), and a maximum custody (Art 16(2), up to a century): held by the update's input too, so that a
# workflow never computes a date from an unbounded number.
CompletionDays = Annotated[int, Field(ge=1, le=90)]
ReplyDays = Annotated[int, Field(ge=1, le=90)]
CustodyDays = Annotated[int, Field(ge=1, le=36_600)]
AuthorityCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                                 pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
# A time or date a peer or a person gives (a receipt, an expected decision): within this century, so that no
# deadline computed from it (a receipt plus 60 days, a watched date) falls outside what dates and timers hold.
_FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _this_century(value: datetime) -> datetime:
    if not _LONG_AGO <= value < _FAR_FUTURE:
        raise PydanticCustomError("this_century", "must be a time between 2000 and 2100")
    return value


def _this_century_date(value: date) -> date:
    if not _LONG_AGO.date() <= value < _FAR_FUTURE.date():
        raise PydanticCustomError("this_century", "must be a date between 2000 and 2100")
    return value


ReachableTime = Annotated[AwareDatetime, AfterValidator(_this_century)]
ReachableDate = Annotated[date, AfterValidator(_this_century_date)]


def _no_nul(value: Any, path: str = "") -> list[str]:
    """PostgreSQL's jsonb cannot hold U+0000; a payload carrying it is refused before anything is stored."""
    if isinstance(value, str):
        return [path or "payload"] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _no_nul(str(k), path) + _no_nul(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _no_nul(v, f"{path}[{i}]")]
    return []


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _grounds(grounds: list[RefusalGround]) -> str:
    return ", ".join(f"({g})" for g in grounds)


# --- messages -------------------------------------------------------------------------------------------


class MessageFields(BaseModel):
    """The structured part of a message: what the receiving workflow sees. Peers are not trusted, so
    unknown fields are ignored and every known field is checked; a workflow parses with `parse_fields`,
    which never raises."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Message(MessageFields):
    """A message of the exchange as it crosses the wire (the envelope's `payload`)."""

    kind: ClassVar[MessageType]
    article: ClassVar[str]
    label: ClassVar[str]
    # The receiving side and the stages of its case in which the message is acceptable.
    receivers: ClassVar[dict[Side, frozenset[str]]]
    # Free text and documents: they may carry personal data and stay in PostgreSQL.
    text_fields: ClassVar[frozenset[str]] = frozenset()
    # The structured part, which the receiving workflow gets.
    fields_model: ClassVar[type[MessageFields]] = MessageFields
    # Only a `certificate` opens a conversation; every other message refers to an existing case.
    opens_case: ClassVar[bool] = False
    # The e-CODEX action that carries it (adapters/ecodex_mapping.py): ours until the Commission publishes the
    # FD 947 schema, to be agreed with partners and written in both gateways' P-Modes (deploy/README.md).
    ecodex_action: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        bad = _no_nul(data)
        if bad:
            raise ValueError(f"{bad[0]}: contains the character U+0000, which no text may hold")
        return data

    def summary(self) -> str:
        """One line a person reads in the conversation panel and the timeline."""
        return self.label

    def signal_body(self) -> dict[str, Any]:
        """The structured fields, as the receiving workflow gets them (JSON types)."""
        return self.model_dump(mode="json", include=set(self.fields_model.model_fields))

    @classmethod
    def senders(cls) -> frozenset[Side]:
        return frozenset(Side.ISSUING if s == Side.EXECUTING else Side.EXECUTING for s in cls.receivers)


# Stages of the issuing side's case while the executing state has the certificate and has not decided.
_ISSUING_AWAITING = frozenset({I.SENT, I.UNDER_DECISION, I.COMPLETION_REQUESTED, I.CONSULTATION})
_ISSUING_DECIDED = frozenset({I.ADAPTED, I.TRANSFERRED})
_EXECUTING_BEFORE_DECISION = frozenset({E.RECEIVED, E.UNDER_DECISION})
_EXECUTING_OPEN = frozenset({E.RECEIVED, E.UNDER_DECISION, E.RECOGNISED, E.SUPERVISING})


class DocumentInfo(BaseModel):
    """A document attached to a message (the certificate's PDF, the judgment): its bytes in base64."""

    model_config = ConfigDict(extra="ignore")

    lang: str | None = Field(default=None, max_length=8)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    content: str = Field(max_length=40_000_000)


class ForwardedWithin(MessageFields):
    """Art 6(7), 18(1): the certificate comes from an authority of the executing state that was not competent
    and forwarded it ex officio; the issuing state is the certificate's, not the sender's."""

    by_authority: AuthorityCode
    to_authority: AuthorityCode
    # When the executing state first received the certificate: the Art 12(1) period runs from it, not from
    # this second receipt (the issuing state's watched date does not move). [U] fd947.md §7 row 3: the
    # Framework Decision does not say; this is the reading that never lengthens the period.
    received_at: ReachableTime


class CertificateFields(MessageFields):
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    max_custody_requested: bool = False
    judgment_sent_separately: SeparateChannel | None = None
    forwarded: ForwardedWithin | None = None


class CertificateMessage(CertificateFields, Message):
    """Art 6(1): the judgment and the Annex I certificate, forwarded to the executing State."""

    kind = MessageType.CERTIFICATE
    ecodex_action = "ForwardJudgmentAndCertificate"
    article = "6(1)"
    label = "Certificate and judgment"
    receivers = {Side.EXECUTING: frozenset({E.RECEIVED})}
    text_fields = frozenset({"certificate", "certificate_pdf", "documents"})
    fields_model = CertificateFields
    opens_case = True

    certificate: Certificate
    certificate_pdf: DocumentInfo | None = None
    # The judgment and other documents (Art 6(1)); each is checked against its digest by the intake.
    documents: list[TransmittedDocument] | None = Field(default=None, max_length=MAX_DOCUMENTS)

    def summary(self) -> str:
        ask = "; the maximum custody is asked for (Art 16(2))" if self.max_custody_requested else ""
        if self.forwarded:
            return (f"Certificate forwarded by {self.forwarded.by_authority}, which is not competent (Art 6(7)), "
                    f"for recognition and supervision{ask}")
        return f"Certificate sent for recognition and supervision{ask}"


class AcknowledgementFields(MessageFields):
    received_at: ReachableTime


class Acknowledgement(AcknowledgementFields, Message):
    """Receipt of the certificate: the Art 12(1) clock runs from it."""

    kind = MessageType.ACKNOWLEDGEMENT
    ecodex_action = "AcknowledgeReceipt"
    article = "12(1)"
    label = "Receipt of the certificate"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    fields_model = AcknowledgementFields

    def summary(self) -> str:
        return f"Certificate received on {self.received_at.date().isoformat()}"


class ForwardedFields(MessageFields):
    authority: AuthorityCode


class Forwarded(ForwardedFields, Message):
    """Art 6(7), 18(1): the certificate went to the competent authority of the executing State."""

    kind = MessageType.FORWARDED
    ecodex_action = "NotifyForwarded"
    article = "6(7), 18(1)"
    label = "Forwarded to the competent authority"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    fields_model = ForwardedFields

    def summary(self) -> str:
        return f"Forwarded to the competent authority {self.authority}"


class CompletionRequestFields(MessageFields):
    due_days: Annotated[int, Field(ge=1, le=90)]


class CompletionRequest(CompletionRequestFields, Message):
    """Art 8(2), 11(1)(a): the certificate is incomplete or wrong; complete or correct it within the period."""

    kind = MessageType.COMPLETION_REQUEST
    ecodex_action = "RequestCompletion"
    article = "8(2), 11(1)(a)"
    label = "Request to complete the certificate"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    text_fields = frozenset({"missing"})
    fields_model = CompletionRequestFields

    missing: Text | None = None

    def summary(self) -> str:
        return f"Complete or correct the certificate within {_days(self.due_days)}"


class CompletionFields(MessageFields):
    pass


class Completion(CompletionFields, Message):
    """Art 8(2): the completed or corrected certificate."""

    kind = MessageType.COMPLETION
    ecodex_action = "CompleteCertificate"
    fields_model = CompletionFields
    article = "8(2)"
    label = "Completed certificate"
    # Only while a completion is awaited: the intake also checks that one was asked for.
    receivers = {Side.EXECUTING: _EXECUTING_BEFORE_DECISION}
    text_fields = frozenset({"certificate", "certificate_pdf", "documents"})

    certificate: Certificate
    certificate_pdf: DocumentInfo | None = None
    documents: list[TransmittedDocument] | None = Field(default=None, max_length=MAX_DOCUMENTS)

    def summary(self) -> str:
        return "The completed or corrected certificate"


class ConsultationFields(MessageFields):
    ground: RefusalGround


class Consultation(ConsultationFields, Message):
    """Art 11(3): before refusing on this ground, the executing authority consults the issuing authority."""

    kind = MessageType.CONSULTATION
    ecodex_action = "Consult"
    article = "11(3)"
    label = "Consultation before a refusal"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    text_fields = frozenset({"question"})
    fields_model = ConsultationFields

    question: Text | None = None

    def summary(self) -> str:
        return f"Consultation on refusal ground ({self.ground}) of Art 11(1)"


class ConsultationReplyFields(MessageFields):
    pass


class ConsultationReply(ConsultationReplyFields, Message):
    """Art 11(3): the issuing authority's answer to a consultation."""

    kind = MessageType.CONSULTATION_REPLY
    ecodex_action = "ReplyToConsultation"
    fields_model = ConsultationReplyFields
    article = "11(3)"
    label = "Answer to the consultation"
    receivers = {Side.EXECUTING: frozenset({E.UNDER_DECISION})}
    text_fields = frozenset({"text"})

    text: Text | None = None


class DelayNoticeFields(MessageFields):
    expected_by: ReachableTime


class DelayNotice(DelayNoticeFields, Message):
    """Art 12(2): the 60 days cannot be kept; the reasons and the date the decision is expected by."""

    kind = MessageType.DELAY_NOTICE
    ecodex_action = "NotifyDelay"
    article = "12(2)"
    label = "The decision will take longer"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    text_fields = frozenset({"reasons"})
    fields_model = DelayNoticeFields

    reasons: Text | None = None

    def summary(self) -> str:
        return f"The decision is expected by {self.expected_by.date().isoformat()}"


class MaxCustodyFields(MessageFields):
    max_custody_days: Annotated[int, Field(ge=1, le=36_600)]


class MaxCustodyInfo(MaxCustodyFields, Message):
    """Art 16(2): the maximum custody that could be imposed in the executing State on non-compliance."""

    kind = MessageType.MAX_CUSTODY_INFO
    ecodex_action = "InformMaximumCustody"
    article = "16(2)"
    label = "Maximum custody on non-compliance"
    receivers = {Side.ISSUING: _ISSUING_AWAITING | _ISSUING_DECIDED}
    fields_model = MaxCustodyFields

    def summary(self) -> str:
        return f"At most {_days(self.max_custody_days)} of custody could be imposed on non-compliance"


class DecisionFields(MessageFields):
    outcome: DecisionOutcome
    grounds: list[RefusalGround] = Field(default_factory=list, max_length=11)
    measures_changed: list[Annotated[int, Field(ge=0, le=1000)]] = Field(default_factory=list, max_length=100)
    art_14_3: bool | None = None

    @model_validator(mode="after")
    def _grounds_for_refusal(self) -> DecisionFields:
        if self.outcome == DecisionOutcome.REFUSED and not self.grounds:
            raise ValueError("grounds: a refusal names at least one ground of Art 11(1)")
        return self


class Decision(DecisionFields, Message):
    """Art 12(1), 18(3)-(5): the decision on recognition, with reasons for a refusal or an adaptation."""

    kind = MessageType.DECISION
    ecodex_action = "NotifyDecision"
    article = "12(1), 18(3)-(5)"
    label = "Decision on recognition"
    receivers = {Side.ISSUING: _ISSUING_AWAITING}
    text_fields = frozenset({"reasons", "measures"})
    fields_model = DecisionFields

    reasons: Text | None = None
    measures: list[MeasureChange] | None = Field(default=None, max_length=100)

    def summary(self) -> str:
        if self.outcome == DecisionOutcome.REFUSED:
            return f"Recognition refused on ground(s) {_grounds(self.grounds)} of Art 11(1)"
        if self.outcome == DecisionOutcome.ADAPTED:
            changed = ", ".join(str(i + 1) for i in self.measures_changed)
            return f"Recognised with adapted measures ({changed}) (Art 9)"
        return "Recognised: the executing State takes over the supervision"


class WithdrawalFields(MessageFields):
    pass


class Withdrawal(WithdrawalFields, Message):
    """Art 9(4): the issuing authority withdraws the certificate, before supervision began."""

    kind = MessageType.WITHDRAWAL
    ecodex_action = "WithdrawCertificate"
    fields_model = WithdrawalFields
    article = "9(4)"
    label = "Withdrawal of the certificate"
    receivers = {Side.EXECUTING: frozenset({E.RECEIVED, E.UNDER_DECISION, E.RECOGNISED})}
    text_fields = frozenset({"reason"})

    reason: Text | None = None


class NoWithdrawalFields(MessageFields):
    pass


class NoWithdrawal(NoWithdrawalFields, Message):
    """Art 9(4): the issuing authority will not withdraw; supervision may begin at once."""

    kind = MessageType.NO_WITHDRAWAL
    ecodex_action = "ConfirmNoWithdrawal"
    fields_model = NoWithdrawalFields
    article = "9(4)"
    label = "No withdrawal"
    receivers = {Side.EXECUTING: frozenset({E.UNDER_DECISION, E.RECOGNISED})}

    def summary(self) -> str:
        return "The issuing State will not withdraw the certificate: supervision may begin"


class SupervisionStartedFields(MessageFields):
    pass


class SupervisionStarted(SupervisionStartedFields, Message):
    """Art 8(1): the executing State began supervising."""

    kind = MessageType.SUPERVISION_STARTED
    ecodex_action = "NotifySupervisionStarted"
    fields_model = SupervisionStartedFields
    article = "8(1)"
    label = "Supervision began"
    receivers = {Side.ISSUING: _ISSUING_DECIDED}


class BreachReportFields(MessageFields):
    pass


class BreachReportMessage(BreachReportFields, Message):
    """Art 17, Annex II: a breach of a measure, or findings that could lead to a subsequent decision."""

    kind = MessageType.BREACH_REPORT
    ecodex_action = "ReportBreach"
    fields_model = BreachReportFields
    article = "17"
    label = "Report of a breach (Annex II)"
    receivers = {Side.ISSUING: frozenset({I.TRANSFERRED})}
    text_fields = frozenset({"breach"})

    breach: BreachReport | None = None


class InformationRequestFields(MessageFields):
    pass


class InformationRequest(InformationRequestFields, Message):
    """Art 15, 17(1)(c): one authority asks the other for facts it needs."""

    kind = MessageType.INFORMATION_REQUEST
    ecodex_action = "RequestInformation"
    fields_model = InformationRequestFields
    article = "15, 17(1)(c)"
    label = "Request for information"
    receivers = {Side.EXECUTING: frozenset({E.RECOGNISED, E.SUPERVISING}),
                 Side.ISSUING: frozenset({I.TRANSFERRED})}
    text_fields = frozenset({"question", "text"})

    question: Text | None = None


class InformationFields(MessageFields):
    pass


class Information(InformationFields, Message):
    """Art 15, 17(1)(c): the answer to a request for information."""

    kind = MessageType.INFORMATION
    ecodex_action = "ProvideInformation"
    fields_model = InformationFields
    article = "15, 17(1)(c)"
    label = "Information"
    receivers = {Side.EXECUTING: frozenset({E.RECOGNISED, E.SUPERVISING}),
                 Side.ISSUING: _ISSUING_DECIDED}
    text_fields = frozenset({"text"})

    text: Text | None = None


class SubsequentDecisionFields(MessageFields):
    decision: SubsequentDecision
    measures_changed: list[Annotated[int, Field(ge=0, le=1000)]] = Field(default_factory=list, max_length=100)


class SubsequentDecisionMessage(SubsequentDecisionFields, Message):
    """Art 16(1), 17(4): a decision taken while the measures are supervised, by the competent State."""

    kind = MessageType.SUBSEQUENT_DECISION
    ecodex_action = "NotifySubsequentDecision"
    article = "16(1), 17(4)"
    label = "Subsequent decision"
    receivers = {Side.EXECUTING: frozenset({E.SUPERVISING}), Side.ISSUING: frozenset({I.TRANSFERRED})}
    text_fields = frozenset({"reasons", "measures"})
    fields_model = SubsequentDecisionFields

    reasons: Text | None = None
    measures: list[MeasureChange] | None = Field(default=None, max_length=100)

    def summary(self) -> str:
        return {
            SubsequentDecision.MODIFY: "The measures are modified",
            SubsequentDecision.REVOKE: "The suspension or conditional release is revoked",
            SubsequentDecision.EXECUTE_CUSTODY: "The custodial sentence is to be executed",
            SubsequentDecision.LAPSE: "The measures lapse",
        }[self.decision]


class PersonNotFoundFields(MessageFields):
    pass


class PersonNotFound(PersonNotFoundFields, Message):
    """Art 18(2): the sentenced person cannot be found in the executing State."""

    kind = MessageType.PERSON_NOT_FOUND
    ecodex_action = "NotifyPersonNotFound"
    fields_model = PersonNotFoundFields
    article = "18(2)"
    label = "The person cannot be found"
    receivers = {Side.ISSUING: _ISSUING_DECIDED}


class AmnestyPardonFields(MessageFields):
    pass


class AmnestyPardon(AmnestyPardonFields, Message):
    """Art 18(6), 19(1): an amnesty or pardon ends the supervision."""

    kind = MessageType.AMNESTY_PARDON
    ecodex_action = "NotifyAmnestyOrPardon"
    fields_model = AmnestyPardonFields
    article = "18(6), 19(1)"
    label = "Amnesty or pardon"
    # Art 19(1): either state may grant one. The executing state tells from recognition on (18(6)); the
    # issuing state tells of one it granted at any time before the case ends.
    receivers = {Side.ISSUING: _ISSUING_DECIDED, Side.EXECUTING: _EXECUTING_OPEN}
    text_fields = frozenset({"reasons"})

    reasons: Text | None = None


class TransferBackRequestFields(MessageFields):
    pass


class TransferBackRequest(TransferBackRequestFields, Message):
    """Art 20(2): new proceedings in the issuing State; it asks for the supervision back."""

    kind = MessageType.TRANSFER_BACK_REQUEST
    ecodex_action = "RequestTransferBack"
    fields_model = TransferBackRequestFields
    article = "20(2)"
    label = "Request to transfer the supervision back"
    receivers = {Side.EXECUTING: frozenset({E.SUPERVISING})}
    text_fields = frozenset({"reason"})

    reason: Text | None = None


class TransferBackFields(MessageFields):
    reason: TransferBackReason


class TransferBack(TransferBackFields, Message):
    """Art 20: competence for the supervision returns to the issuing State."""

    kind = MessageType.TRANSFER_BACK
    ecodex_action = "TransferBack"
    article = "20"
    label = "Supervision transferred back"
    receivers = {Side.ISSUING: frozenset({I.TRANSFERRED})}
    fields_model = TransferBackFields

    def summary(self) -> str:
        return {
            TransferBackReason.ABSCONDED: "Transferred back: the person absconded (Art 20(1))",
            TransferBackReason.RESIDENCE_LOST: "Transferred back: the person no longer resides there (Art 20(1))",
            TransferBackReason.ISSUING_REQUEST: "Transferred back at the issuing State's request (Art 20(2))",
        }[self.reason]


class TransferBackDeclinedFields(MessageFields):
    pass


class TransferBackDeclined(TransferBackDeclinedFields, Message):
    """Art 20(2): the executing State "may agree" to give the supervision back; here it does not, with reasons."""

    kind = MessageType.TRANSFER_BACK_DECLINED
    ecodex_action = "DeclineTransferBack"
    fields_model = TransferBackDeclinedFields
    article = "20(2)"
    label = "Transfer back declined"
    receivers = {Side.ISSUING: frozenset({I.TRANSFERRED})}
    text_fields = frozenset({"reasons"})

    reasons: Text | None = None

    def summary(self) -> str:
        return "The executing State does not agree to give the supervision back (Art 20(2))"


class JudgmentReviewFields(MessageFields):
    outcome: ReviewOutcome


class JudgmentReview(JudgmentReviewFields, Message):
    """Art 19: only the issuing State reviews the judgment; it tells the executing State the outcome."""

    kind = MessageType.JUDGMENT_REVIEW
    ecodex_action = "NotifyJudgmentReview"
    article = "19"
    label = "Review of the judgment"
    receivers = {Side.EXECUTING: _EXECUTING_OPEN}
    text_fields = frozenset({"reasons"})
    fields_model = JudgmentReviewFields

    reasons: Text | None = None

    def summary(self) -> str:
        return f"The judgment was {self.outcome} on review"


class SupervisionEndedFields(MessageFields):
    outcome: Literal["completed"] = "completed"


class SupervisionEnded(SupervisionEndedFields, Message):
    """Art 16(1)(d): the probation period is over and the measures were complied with."""

    kind = MessageType.SUPERVISION_ENDED
    ecodex_action = "NotifySupervisionEnded"
    article = "16(1)(d)"
    label = "Supervision ended"
    receivers = {Side.ISSUING: frozenset({I.TRANSFERRED})}
    fields_model = SupervisionEndedFields


MESSAGES: dict[MessageType, type[Message]] = {m.kind: m for m in (
    CertificateMessage, Acknowledgement, Forwarded, CompletionRequest, Completion, Consultation, ConsultationReply,
    DelayNotice, MaxCustodyInfo, Decision, Withdrawal, NoWithdrawal, SupervisionStarted, BreachReportMessage,
    InformationRequest, Information, SubsequentDecisionMessage, PersonNotFound, AmnestyPardon, TransferBackRequest,
    TransferBack, TransferBackDeclined, JudgmentReview, SupervisionEnded,
)}
assert set(MESSAGES) == set(MessageType), "every message type has its model"
_BY_NAME: dict[str, type[Message]] = {str(k): v for k, v in MESSAGES.items()}
MESSAGE_NAMES: frozenset[str] = frozenset(_BY_NAME)
_TYPE_OF_FIELDS: dict[type[MessageFields], MessageType] = {m.fields_model: t for t, m in MESSAGES.items()}
assert len(_TYPE_OF_FIELDS) == len(MESSAGES), "each message has a structured part of its own"


def message_type_of(fields: MessageFields) -> MessageType:
    """The message a structured part belongs to: a workflow sends the model, not a loose string."""
    for cls in type(fields).__mro__:
        if cls in _TYPE_OF_FIELDS:
            return _TYPE_OF_FIELDS[cls]  # type: ignore[index]
    raise TypeError(f"{type(fields).__name__} is not the structured part of a message")


class MessageRefused(ValueError):
    """A message that does not match its model: `problems` are `path: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_message(type_: str, payload: Any) -> Message:
    """The message, checked against the catalogue; MessageRefused naming each field otherwise."""
    model = _BY_NAME.get(type_)
    if model is None:
        raise MessageRefused([f"type: {type_!r} is not a message of the exchange"])
    if not isinstance(payload, dict):
        raise MessageRefused(["payload: must be a JSON object"])
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        raise MessageRefused([problem_line("payload", e) for e in err.errors()]) from err


def parse_fields(type_: str, body: Any) -> MessageFields | None:
    """What a workflow uses: the structured part of a received message, or None when it does not match.
    Never raises, whatever a peer sent."""
    model = _BY_NAME.get(type_)
    if model is None or not isinstance(body, dict):
        return None
    try:
        return model.fields_model.model_validate(body)
    except (ValidationError, ValueError, TypeError):
        return None


def problem_line(prefix: str, error: Any) -> str:
    """`path: reason` from one pydantic error, the path as the API names fields."""
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ()))
    message = str(error.get("msg", "is not valid"))
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        if ": " in message and not loc:  # a model validator names its own field
            field, _, why = message.partition(": ")
            return f"{prefix}.{field}: {why}"
    return f"{prefix}{loc}: {message}"


# --- actions -------------------------------------------------------------------------------------------


class Actor(BaseModel):
    """Who acts: a user of this node, or the peer node (role `peer`) for messages."""

    name: str
    role: str
    authorities: list[str] = Field(default_factory=list)


class ActionFields(BaseModel):
    """The structured part of an action's body: what the workflow's update gets. Lenient on what it does
    not know, so that inputs recorded in running histories keep replaying."""

    model_config = ConfigDict(extra="ignore")


BodyT = TypeVar("BodyT", bound=BaseModel)


class ActionInput(BaseModel, Generic[BodyT]):
    """The input of every update: who acts, the structured body, and the note holding the free text."""

    actor: Actor
    body: BodyT
    note_id: str | None = None


class Action(ActionFields):
    """An action a person takes on a case (CONTRACT §3): its body as the API and pages take it."""

    model_config = ConfigDict(extra="forbid")

    side: ClassVar[Side]
    name: ClassVar[str]
    roles: ClassVar[frozenset[str]]
    stages: ClassVar[frozenset[str]]
    article: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]
    # Free text: kept in a note in PostgreSQL, sent to the other authority, never in a workflow history.
    text_fields: ClassVar[frozenset[str]] = frozenset()
    fields_model: ClassVar[type[ActionFields]] = ActionFields
    # The message it sends to the other authority, if any.
    message: ClassVar[MessageType | None] = None
    # Asks for a confirmation step on the pages: it cannot be undone and concerns the other State.
    serious: ClassVar[bool] = False

    def structured(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(self.fields_model.model_fields), exclude_none=True)

    def texts(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(self.text_fields), exclude_none=True)


class Submit(Action):
    side, name, roles, stages = Side.ISSUING, "submit", frozenset({OFFICER}), frozenset({I.DRAFT})
    article, label, summary = "5, 6(4), 21", "Submit for approval", "send to the prosecutor for approval"


class ReturnToOfficer(Action):
    side, name, roles, stages = Side.ISSUING, "return", frozenset({PROSECUTOR}), frozenset({I.AWAITING_APPROVAL})
    article, label, summary = "6(3)", "Return to the officer", "send back to the officer"
    text_fields = frozenset({"reason"})

    reason: Text = Field(title="Why it goes back to the officer")


class ApproveFields(ActionFields):
    ask_max_custody: bool = Field(default=False, title="Ask for the maximum custody (Art 16(2))")
    judgment_sent_separately: SeparateChannel | None = Field(
        default=None, title="Only if the judgment is not attached: how it is sent separately (Art 6(1))")


class Approve(ApproveFields, Action):
    side, name, roles, stages = Side.ISSUING, "approve", frozenset({PROSECUTOR}), frozenset({I.AWAITING_APPROVAL})
    article, label = "6(1)-(3), 21", "Sign and send to the executing State (Art 6(3))"
    summary = "sign and send the certificate"
    fields_model, message, serious = ApproveFields, MessageType.CERTIFICATE, True
    # Box (l) is the approver's: their name and the date come with the approval, their post from here.
    text_fields = frozenset({"post"})

    post: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, title="Your post (title or grade), for box (l) of the certificate")


class CompletedCertificate(Certificate):
    """Art 8(2): the completed or corrected certificate as the officer sends it. Its States are the case's:
    given or not, the node fills box (a)'s States from the case before the certificate's own rules run."""

    issuing_state: MemberStateCode | None = None  # type: ignore[assignment]
    executing_state: MemberStateCode | None = None  # type: ignore[assignment]


class Complete(Action):
    side, name, roles = Side.ISSUING, "complete", frozenset({OFFICER})
    stages = frozenset({I.COMPLETION_REQUESTED})
    article, label, summary = "8(2)", "Send the completed certificate", "send the completed certificate"
    text_fields, message = frozenset({"certificate"}), MessageType.COMPLETION

    certificate: CompletedCertificate = Field(title="Completed certificate (Annex I)")


class Reply(Action):
    side, name, roles = Side.ISSUING, "reply", frozenset({PROSECUTOR})
    stages = frozenset({I.CONSULTATION, I.UNDER_DECISION, I.TRANSFERRED})
    article, label = "11(3), 17(1)(c)", "Answer the consultation or request"
    summary = "answer a consultation or information request"
    text_fields = frozenset({"text"})

    text: Text = Field(title="Answer")


_BEFORE_SUPERVISION = _ISSUING_AWAITING | _ISSUING_DECIDED


class Withdraw(Action):
    side, name, roles, stages = Side.ISSUING, "withdraw", frozenset({PROSECUTOR}), _BEFORE_SUPERVISION
    article, label, summary = "9(4)", "Withdraw the certificate (Art 9(4))", "withdraw the certificate"
    text_fields, message, serious = frozenset({"reason"}), MessageType.WITHDRAWAL, True

    reason: Text = Field(title="Reason")


class ConfirmNoWithdrawal(Action):
    side, name, roles = Side.ISSUING, "confirm_no_withdrawal", frozenset({PROSECUTOR})
    stages = frozenset({I.ADAPTED, I.UNDER_DECISION, I.TRANSFERRED})
    article, label = "9(4)", "Confirm that the certificate will not be withdrawn"
    summary, message = "let supervision start at once", MessageType.NO_WITHDRAWAL


class SubsequentFields(ActionFields):
    decision: SubsequentDecision


class SubsequentUpdate(SubsequentFields):
    """What the workflow gets: which measures changed is worked out from the certificate by the web layer."""

    measures_changed: list[int] = Field(default_factory=list)


class IssuingSubsequentDecision(SubsequentFields, Action):
    side, name, roles = Side.ISSUING, "decide_subsequent", frozenset({PROSECUTOR})
    stages = frozenset({I.TRANSFERRED})
    article, label = "17(4)", "Take a subsequent decision (Art 14(3), 17(4))"
    summary = "subsequent decision (issuing state competent, 14(3))"
    text_fields, fields_model = frozenset({"reasons", "measures"}), SubsequentUpdate
    message, serious = MessageType.SUBSEQUENT_DECISION, True

    decision: SubsequentDecision = Field(title="Decision")
    reasons: Text | None = Field(default=None, title="Reasons")
    measures: list[MeasureChange] | None = Field(default=None, title="Measures as modified")


class RequestTransferBack(Action):
    side, name, roles = Side.ISSUING, "request_transfer_back", frozenset({PROSECUTOR})
    stages = frozenset({I.TRANSFERRED})
    article, label = "20(2)", "Ask for the supervision back (Art 20(2))"
    summary = "ask for the supervision back"
    text_fields, message, serious = frozenset({"reason"}), MessageType.TRANSFER_BACK_REQUEST, True

    reason: Text = Field(title="Reason (new proceedings)")


class ReviewFields(ActionFields):
    outcome: ReviewOutcome


class NotifyReview(ReviewFields, Action):
    side, name, roles = Side.ISSUING, "notify_review", frozenset({PROSECUTOR})
    stages = _BEFORE_SUPERVISION
    article, label = "19", "Tell the executing State of a review of the judgment (Art 19)"
    summary = "tell the executing state of a review of the judgment (annulled, amended, confirmed)"
    text_fields, fields_model, message = frozenset({"reasons"}), ReviewFields, MessageType.JUDGMENT_REVIEW

    outcome: ReviewOutcome = Field(title="Outcome of the review")
    reasons: Text | None = Field(default=None, title="Reasons")


class IssuingNotifyAmnesty(Action):
    side, name, roles = Side.ISSUING, "notify_amnesty", frozenset({PROSECUTOR})
    stages = _ISSUING_AWAITING | _ISSUING_DECIDED
    article, label = "19(1)", "Notify an amnesty or pardon granted here (Art 19(1))"
    summary = "an amnesty or pardon granted by the issuing state"
    text_fields, message, serious = frozenset({"reasons"}), MessageType.AMNESTY_PARDON, True

    reasons: Text = Field(title="Reasons")


class RequestInformation(Action):
    side, name, roles = Side.ISSUING, "request_information", frozenset({PROSECUTOR})
    stages = frozenset({I.TRANSFERRED})
    article, label = "17(1)(c)", "Ask the executing State for information"
    summary = "ask the executing state for facts needed for a subsequent decision"
    text_fields, message = frozenset({"question"}), MessageType.INFORMATION_REQUEST

    question: Text = Field(title="Question")


class ResendFields(ActionFields):
    pass


class IssuingResend(Action):
    side, name, roles = Side.ISSUING, "resend", frozenset({OFFICER, PROSECUTOR, ADMIN})
    stages = frozenset(s for s in I if s != I.DRAFT)
    article, label, summary = "6(2)", "Send again", "send again the messages whose delivery failed"
    text_fields = frozenset({"reason"})

    reason: Text = Field(title="Reason")


_EXECUTING_DECIDING = frozenset({E.UNDER_DECISION})


class ForwardFields(ActionFields):
    authority: str


class ForwardUpdate(ForwardFields):
    """What the workflow gets: whether the directory says this node serves the competent authority too (the
    web layer looks it up); then the case is reassigned to it and continues here."""

    served_here: bool = False


class Forward(ForwardFields, Action):
    side, name, roles, stages = Side.EXECUTING, "forward", frozenset({PROSECUTOR}), _EXECUTING_BEFORE_DECISION
    article, label = "6(7), 18(1)", "Forward to the competent authority (Art 6(7))"
    summary, fields_model, message = "forward to the competent authority", ForwardUpdate, MessageType.FORWARDED
    serious = True

    authority: AuthorityCode = Field(title="Competent authority (code)")


class RequestCompletionFields(ActionFields):
    due_days: CompletionDays


class RequestCompletion(RequestCompletionFields, Action):
    side, name, roles, stages = Side.EXECUTING, "request_completion", frozenset({PROSECUTOR}), _EXECUTING_DECIDING
    article, label = "8(2), 11(1)(a)", "Ask for a completed certificate (Art 8(2))"
    summary = "ask for a completed certificate"
    text_fields, fields_model = frozenset({"missing"}), RequestCompletionFields
    message = MessageType.COMPLETION_REQUEST

    missing: Text = Field(title="What is missing")
    due_days: CompletionDays = Field(title="Days given to complete")


class ConsultFields(ActionFields):
    ground: RefusalGround
    reply_days: ReplyDays = CONSULTATION_REPLY_DAYS_POLICY


class Consult(ConsultFields, Action):
    side, name, roles, stages = Side.EXECUTING, "consult", frozenset({PROSECUTOR}), _EXECUTING_DECIDING
    article, label, summary = "11(3)", "Consult before refusing (Art 11(3))", "consult before refusing"
    text_fields, fields_model, message = frozenset({"question"}), ConsultFields, MessageType.CONSULTATION

    ground: RefusalGround = Field(title="Refusal ground consulted on (Art 11(1))")
    question: Text = Field(title="Question to the issuing State")
    reply_days: ReplyDays = Field(default=CONSULTATION_REPLY_DAYS_POLICY, title="Days given to answer (policy)")


class NotifyDelayFields(ActionFields):
    expected_by: ReachableDate


class NotifyDelay(NotifyDelayFields, Action):
    side, name, roles, stages = Side.EXECUTING, "notify_delay", frozenset({PROSECUTOR}), _EXECUTING_DECIDING
    article, label = "12(2)", "Tell the issuing State the 60 days cannot be kept (Art 12(2))"
    summary = "the 60 days cannot be kept"
    text_fields, fields_model, message = frozenset({"reasons"}), NotifyDelayFields, MessageType.DELAY_NOTICE

    reasons: Text = Field(title="Reasons")
    expected_by: ReachableDate = Field(title="Decision expected by")


class MaxCustodyActionFields(ActionFields):
    max_custody_days: CustodyDays


class GiveMaxCustody(MaxCustodyActionFields, Action):
    side, name, roles = Side.EXECUTING, "give_max_custody", frozenset({PROSECUTOR})
    # Art 16(2): until supervision begins, also after recognition (the 9(4) window opens then too).
    stages = _EXECUTING_BEFORE_DECISION | frozenset({E.RECOGNISED})
    article, label = "16(2)", "Send the maximum custody (Art 16(2))"
    summary, fields_model = "maximum custody on non-compliance", MaxCustodyActionFields
    message = MessageType.MAX_CUSTODY_INFO

    max_custody_days: CustodyDays = Field(title="Maximum custody (days)")


class DecideFields(ActionFields):
    outcome: DecisionOutcome
    grounds: list[RefusalGround] = Field(default_factory=list)


class DecideUpdate(DecideFields):
    """What the workflow gets: which measures an adaptation changes is worked out from the certificate."""

    measures_changed: list[int] = Field(default_factory=list)


class Decide(DecideFields, Action):
    side, name, roles, stages = Side.EXECUTING, "decide", frozenset({PROSECUTOR}), _EXECUTING_DECIDING
    article, label = "8, 9, 11, 12(1), 18(3)-(5)", "Decide on recognition"
    summary = "recognise, adapt or refuse"
    text_fields, fields_model, message, serious = (frozenset({"reasons", "measures"}), DecideUpdate,
                                                   MessageType.DECISION, True)

    outcome: DecisionOutcome = Field(title="Decision")
    grounds: list[RefusalGround] = Field(default_factory=list, max_length=11, title="Grounds for refusal (Art 11(1))",
                                         json_schema_extra={"items": {"type": "string", "oneOf": [
                                             {"const": g.value, "title": words}
                                             for g, words in ART_11_1_WORDING.items()]}})
    measures: list[MeasureChange] = Field(default_factory=list, max_length=100, title="Adapted measures (Art 9)")
    reasons: Text | None = Field(default=None, title="Reasons")

    @model_validator(mode="after")
    def _what_each_outcome_needs(self) -> Decide:
        # Art 11(1), 12(1), 18(3)-(5): a refusal names its grounds; an adaptation its measures; both give reasons.
        problems = []
        if self.outcome == DecisionOutcome.REFUSED and not self.grounds:
            problems.append("grounds: a refusal names at least one ground of Art 11(1)")
        if self.outcome == DecisionOutcome.ADAPTED and not self.measures:
            problems.append("measures: an adaptation names the measures it changes (Art 9, 18(5))")
        if self.outcome in (DecisionOutcome.REFUSED, DecisionOutcome.ADAPTED) and not self.reasons:
            problems.append(f"reasons: required when the certificate is {self.outcome} (Art 12(1), 18(3)-(5))")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class StartSupervision(Action):
    side, name, roles, stages = Side.EXECUTING, "start_supervision", frozenset({OFFICER}), frozenset({E.RECOGNISED})
    article, label, summary = "8(1)", "Start supervision", "supervision begins"
    message = MessageType.SUPERVISION_STARTED


class ReportBreach(Action):
    side, name, roles, stages = Side.EXECUTING, "report_breach", frozenset({OFFICER}), frozenset({E.SUPERVISING})
    article, label, summary = "17", "Report a breach (Annex II)", "report a breach on the Annex II form"
    text_fields, message = frozenset({"breach"}), MessageType.BREACH_REPORT

    breach: BreachReport = Field(title="Breach report (Annex II)")


class AnswerInformation(Action):
    side, name, roles = Side.EXECUTING, "answer_information", frozenset({OFFICER, PROSECUTOR})
    # Whenever a request is open (the workflow checks that one is): it can come from recognition on.
    stages = frozenset({E.RECOGNISED, E.SUPERVISING})
    article, label = "17(1)(c)", "Give the information asked for"
    summary = "give the facts the issuing state asked for"
    text_fields, message = frozenset({"text"}), MessageType.INFORMATION

    text: Text = Field(title="Answer")


class ReportNotFound(Action):
    side, name, roles = Side.EXECUTING, "report_not_found", frozenset({OFFICER})
    stages = frozenset({E.RECOGNISED, E.SUPERVISING})
    article, label = "18(2)", "Report that the person cannot be found (Art 18(2))"
    summary, message, serious = "the person cannot be found", MessageType.PERSON_NOT_FOUND, True


class NotifyAmnesty(Action):
    side, name, roles = Side.EXECUTING, "notify_amnesty", frozenset({PROSECUTOR})
    # Art 18(6), 19(1): from recognition on, not only once supervision began.
    stages = frozenset({E.RECOGNISED, E.SUPERVISING})
    article, label, summary = "18(6)", "Notify an amnesty or pardon (Art 18(6))", "amnesty or pardon"
    text_fields, message, serious = frozenset({"reasons"}), MessageType.AMNESTY_PARDON, True

    reasons: Text | None = Field(default=None, title="Reasons")


class ExecutingSubsequentDecision(SubsequentFields, Action):
    side, name, roles = Side.EXECUTING, "decide_subsequent", frozenset({PROSECUTOR})
    stages = frozenset({E.SUPERVISING})
    article, label = "16(1)", "Take a subsequent decision (Art 16(1))"
    summary = "subsequent decision (executing state competent)"
    text_fields, fields_model = frozenset({"reasons", "measures"}), SubsequentUpdate
    message, serious = MessageType.SUBSEQUENT_DECISION, True

    decision: SubsequentDecision = Field(title="Decision")
    reasons: Text | None = Field(default=None, title="Reasons")
    measures: list[MeasureChange] | None = Field(default=None, title="Measures as modified")


class TransferBackActionFields(ActionFields):
    reason: TransferBackReason


class TransferBackAction(TransferBackActionFields, Action):
    side, name, roles = Side.EXECUTING, "transfer_back", frozenset({PROSECUTOR})
    stages = frozenset({E.SUPERVISING})
    article, label = "20", "Transfer the supervision back (Art 20)"
    summary, fields_model = "give the supervision back", TransferBackActionFields
    message, serious = MessageType.TRANSFER_BACK, True

    reason: TransferBackReason = Field(title="Why")


class AnswerTransferBackFields(ActionFields):
    agree: bool


class AnswerTransferBack(AnswerTransferBackFields, Action):
    side, name, roles = Side.EXECUTING, "answer_transfer_back", frozenset({PROSECUTOR})
    stages = frozenset({E.SUPERVISING})
    article, label = "20(2)", "Answer the request to give the supervision back (Art 20(2))"
    summary, fields_model = "agree or not, with reasons, to give the supervision back", AnswerTransferBackFields
    text_fields, serious = frozenset({"reasons"}), True

    agree: bool = Field(title="Agree to give the supervision back")
    reasons: Text = Field(title="Reasons")


class EndSupervisionFields(ActionFields):
    outcome: Literal["completed"] = "completed"


class EndSupervision(EndSupervisionFields, Action):
    side, name, roles = Side.EXECUTING, "end_supervision", frozenset({OFFICER})
    stages = frozenset({E.SUPERVISING})
    article, label = "16(1)(d)", "End the supervision: measures complied with (Art 16(1)(d))"
    summary, fields_model = "probation period over, measures complied with", EndSupervisionFields
    message, serious = MessageType.SUPERVISION_ENDED, True


class ExecutingResend(Action):
    side, name, roles = Side.EXECUTING, "resend", frozenset({OFFICER, PROSECUTOR, ADMIN})
    stages = frozenset(E)
    article, label, summary = "6(2)", "Send again", "send again the messages whose delivery failed"
    text_fields = frozenset({"reason"})

    reason: Text = Field(title="Reason")


ACTIONS: dict[Side, dict[str, type[Action]]] = {
    Side.ISSUING: {a.name: a for a in (
        Submit, ReturnToOfficer, Approve, Complete, Reply, Withdraw, ConfirmNoWithdrawal, IssuingSubsequentDecision,
        RequestTransferBack, NotifyReview, RequestInformation, IssuingNotifyAmnesty, IssuingResend)},
    Side.EXECUTING: {a.name: a for a in (
        Forward, RequestCompletion, Consult, NotifyDelay, GiveMaxCustody, Decide, StartSupervision, ReportBreach,
        AnswerInformation, ReportNotFound, NotifyAmnesty, ExecutingSubsequentDecision, TransferBackAction,
        AnswerTransferBack, EndSupervision, ExecutingResend)},
}


def action_model(side: Side, name: str) -> type[Action] | None:
    return ACTIONS[side].get(name)


class ActionRefused(ValueError):
    """An action body that does not match its model: `problems` are `(path, reason)` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems


def required_for(action: str) -> str:
    """What a refused action body says of a required field left out (the pages put it in words)."""
    return f"required for {action}"


def parse_action(side: Side, name: str, body: Any) -> Action:
    model = action_model(side, name)
    if model is None:
        raise ActionRefused([("action", f"{name} is not an action on this side of a transfer")])
    if not isinstance(body, dict):
        raise ActionRefused([("body", "must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            # Pydantic's words for a missing or unknown field, said as the action's own.
            if e["type"] == "missing":
                e = {**e, "msg": required_for(name)}
            elif e["type"] == "extra_forbidden":
                e = {**e, "msg": f"is not a field of {name}"}
            lines.append(problem_line("", e).lstrip("."))
        split = []
        for line in lines:
            for part in line.split("; "):
                path, _, why = part.partition(": ")
                split.append((path or "body", why))
        raise ActionRefused(split) from err
