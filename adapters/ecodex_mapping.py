"""How our messages appear on e-CODEX: one service for FD 2008/947/JHA, one action per message type.

There is no published e-CODEX use case for FD 947 yet (fd947.md §8: not in the first group of
implementing acts), so the service and actions below are ours. They sit in the P-Mode of both gateways,
so both sides must agree on them: change them here and in the P-Mode together, never only one side.
The service is an option of the adapter, so a future official name can be configured without code.

Conversation: our ``conversation_id`` is the AS4 conversation id, so the connector groups a transfer's
messages exactly as our workflows do. Backend message id: our ``message_id``, which is what makes
submission idempotent (the adapter looks it up before submitting) and what evidences refer back to.
"""

from __future__ import annotations

from types import MappingProxyType

from forms.messages import MessageType

DEFAULT_SERVICE = "FD2008-947-JHA"
DEFAULT_SERVICE_TYPE = "urn:probatio:e-codex:service"

# message type → (e-CODEX action, FD 947 article), read by people comparing with the P-Mode.
ACTIONS: MappingProxyType[MessageType, tuple[str, str]] = MappingProxyType(
    {
        MessageType.CERTIFICATE: ("ForwardJudgmentAndCertificate", "Art 6(1), Annex I"),
        MessageType.ACKNOWLEDGEMENT: ("AcknowledgeReceipt", "Art 12(1)"),
        MessageType.FORWARDED: ("NotifyForwarded", "Art 6(7)"),
        MessageType.COMPLETION_REQUEST: ("RequestCompletion", "Art 8(2), 11(1)(a)"),
        MessageType.COMPLETION: ("CompleteCertificate", "Art 8(2)"),
        MessageType.CONSULTATION: ("Consult", "Art 11(3)"),
        MessageType.CONSULTATION_REPLY: ("ReplyToConsultation", "Art 11(3)"),
        MessageType.DELAY_NOTICE: ("NotifyDelay", "Art 12(2)"),
        MessageType.MAX_CUSTODY_INFO: ("InformMaximumCustody", "Art 16(2)"),
        MessageType.DECISION: ("NotifyDecision", "Art 12(1), 18(3)-(5)"),
        MessageType.WITHDRAWAL: ("WithdrawCertificate", "Art 9(4)"),
        MessageType.NO_WITHDRAWAL: ("ConfirmNoWithdrawal", "Art 9(4)"),
        MessageType.SUPERVISION_STARTED: ("NotifySupervisionStarted", "Art 8(1)"),
        MessageType.BREACH_REPORT: ("ReportBreach", "Art 17, Annex II"),
        MessageType.INFORMATION_REQUEST: ("RequestInformation", "Art 17(1)(c)"),
        MessageType.INFORMATION: ("ProvideInformation", "Art 17(1)(c)"),
        MessageType.SUBSEQUENT_DECISION: ("NotifySubsequentDecision", "Art 16(1), 17(4)"),
        MessageType.PERSON_NOT_FOUND: ("NotifyPersonNotFound", "Art 18(2)"),
        MessageType.AMNESTY_PARDON: ("NotifyAmnestyOrPardon", "Art 18(6), 19"),
        MessageType.TRANSFER_BACK_REQUEST: ("RequestTransferBack", "Art 20(2)"),
        MessageType.TRANSFER_BACK: ("TransferBack", "Art 20"),
        MessageType.JUDGMENT_REVIEW: ("NotifyJudgmentReview", "Art 19"),
        MessageType.SUPERVISION_ENDED: ("NotifySupervisionEnded", "Art 16(1)(d)"),
    }
)

_BY_ACTION = {action: message_type for message_type, (action, _) in ACTIONS.items()}


def action_for(message_type: MessageType) -> str:
    """The e-CODEX action that carries ``message_type``."""
    return ACTIONS[message_type][0]


def message_type_for(action: str) -> MessageType | None:
    """The message type an incoming e-CODEX action carries, or None for an action that is not ours."""
    return _BY_ACTION.get(action)
