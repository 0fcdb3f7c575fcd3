"""The messages the Framework Decision requires between issuing and executing authorities.

Most of them have no annexed form (fd947.md §6); each is a type on the node link (CONTRACT §3).
"""

from enum import StrEnum


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
    JUDGMENT_REVIEW = "judgment_review"  # Art 19
    SUPERVISION_ENDED = "supervision_ended"  # Art 16(1)(d)
