"""Reading ETSI REM evidence documents (ETSI TS 102 640-2), the receipts e-CODEX sends back.

The connector tells us the evidence type in its own JSON as well; the document adds what a court may
later ask for: the event time set by the issuing gateway, the evidence id, and the reason of a
rejection. We read it namespace-agnostically, because connector versions differ in prefixes and
versions of the schema, and only the element names are stable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import defusedxml.ElementTree as SafeET

from adapters.evidence import EvidenceOutcome, EvidenceType

REM_NAMESPACE = "http://uri.etsi.org/02640/v2#"

# The connector's confirmation types (DomibusConnectorConfirmationType) in lifecycle order.
CONFIRMATION_TYPES: dict[str, tuple[EvidenceType, EvidenceOutcome]] = {
    "SUBMISSION_ACCEPTANCE": (EvidenceType.SUBMISSION, EvidenceOutcome.POSITIVE),
    "SUBMISSION_REJECTION": (EvidenceType.SUBMISSION, EvidenceOutcome.NEGATIVE),
    "RELAY_REMMD_ACCEPTANCE": (EvidenceType.RELAY, EvidenceOutcome.POSITIVE),
    "RELAY_REMMD_REJECTION": (EvidenceType.RELAY, EvidenceOutcome.NEGATIVE),
    "RELAY_REMMD_FAILURE": (EvidenceType.RELAY, EvidenceOutcome.NEGATIVE),
    "DELIVERY": (EvidenceType.DELIVERY, EvidenceOutcome.POSITIVE),
    "NON_DELIVERY": (EvidenceType.DELIVERY, EvidenceOutcome.NEGATIVE),
    "RETRIEVAL": (EvidenceType.RETRIEVAL, EvidenceOutcome.POSITIVE),
    "NON_RETRIEVAL": (EvidenceType.RETRIEVAL, EvidenceOutcome.NEGATIVE),
}

# The event codes the connector writes, exactly as SpocsConstants.Evidences spells them (e-CODEX/connector
# at 0d4f5012, domibusConnectorEvidencesToolkit/src/main/java/eu/spocseu/common/SpocsConstants.java): note the
# "http:uri.etsi.org" without the two slashes, and that the negative codes of the relay failure and of the
# retrieval are *Expiration* codes, not "Non…" ones. Root element → (success code, fault code); the relay
# failure has no success code.
EVENT_PREFIX = "http:uri.etsi.org/02640/Event#"
EVENT_CODES: dict[str, tuple[str | None, str]] = {
    "SubmissionAcceptanceRejection": (EVENT_PREFIX + "Acceptance", EVENT_PREFIX + "Rejection"),
    "RelayREMMDAcceptanceRejection": (EVENT_PREFIX + "Acceptance", EVENT_PREFIX + "Rejection"),
    "RelayREMMDFailure": (None, EVENT_PREFIX + "DeliveryExpiration"),
    "DeliveryNonDeliveryToRecipient": (EVENT_PREFIX + "Delivery", EVENT_PREFIX + "NonDelivery"),
    "RetrievalNonRetrievalByRecipient": (EVENT_PREFIX + "Retrieval", EVENT_PREFIX + "RetrievalExpiration"),
}

# Root element of each REM evidence → the stage it speaks about.
_ROOTS: dict[str, EvidenceType] = {
    "SubmissionAcceptanceRejection": EvidenceType.SUBMISSION,
    "RelayREMMDAcceptanceRejection": EvidenceType.RELAY,
    "RelayREMMDFailure": EvidenceType.RELAY,
    "DeliveryNonDeliveryToRecipient": EvidenceType.DELIVERY,
    "RetrievalNonRetrievalByRecipient": EvidenceType.RETRIEVAL,
}


class EvidenceDocumentInvalid(ValueError):
    """The bytes are not a REM evidence we can read."""


@dataclass(frozen=True)
class EvidenceDocument:
    """What an ETSI REM evidence says."""

    type: EvidenceType
    outcome: EvidenceOutcome
    event_code: str
    at: datetime | None
    evidence_id: str | None
    ua_message_id: str | None
    """The sending back-end's message id (ours, for our messages)."""
    remmd_message_id: str | None
    """The id the gateways gave the message (the ebMS message id)."""
    reason: str | None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_text(root: ET.Element, *path: str) -> str | None:
    """Text of the first descendant reached by local names ``path``, ignoring namespaces."""
    candidates = [root]
    for name in path:
        candidates = [child for node in candidates for child in node.iter() if _local(child.tag) == name]
        if not candidates:
            return None
    text = (candidates[0].text or "").strip()
    return text or None


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # xsd:dateTime without a zone is local to the issuer; UTC is the only safe reading we have.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse(document: bytes) -> ET.Element:
    # No DTD, no entities: an evidence never needs them, and refusing them shuts out entity expansion
    # and external-entity tricks even if a compromised connector sent one.
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise EvidenceDocumentInvalid("evidence documents with a DTD are refused")
    try:
        return SafeET.fromstring(document)  # entities and DTDs refused (defusedxml)
    except ET.ParseError as exc:
        raise EvidenceDocumentInvalid(f"not well-formed XML: {exc}") from exc


def parse_evidence_document(document: bytes | str) -> EvidenceDocument:
    """Read one ETSI REM evidence; raises :class:`EvidenceDocumentInvalid` for anything else."""
    raw = document.encode("utf-8") if isinstance(document, str) else document
    root = _parse(raw)
    # Some connectors wrap the evidence (e.g. in REMEvidence or a signature envelope): find it inside.
    evidence = next((node for node in root.iter() if _local(node.tag) in _ROOTS), None)
    if evidence is None:
        raise EvidenceDocumentInvalid(f"no REM evidence element in <{_local(root.tag)}>")
    stage = _ROOTS[_local(evidence.tag)]
    root_name = _local(evidence.tag)
    event_code = _find_text(evidence, "EventCode") or ""
    success, fault = EVENT_CODES[root_name]
    if event_code == fault:
        negative = True
    elif event_code == success:
        negative = False
    else:
        # Neither of the two codes the connector writes for this evidence: refuse rather than guess; a
        # rejection read as positive would start the Art 12 clock on a message nobody has.
        raise EvidenceDocumentInvalid(f"event code {event_code!r} is not one a {root_name} carries")
    reason_code = _find_text(evidence, "EventReason", "Code")
    reason_details = _find_text(evidence, "EventReason", "Details")
    reason = " — ".join(part for part in (reason_code, reason_details) if part) or None
    return EvidenceDocument(
        type=stage,
        outcome=EvidenceOutcome.NEGATIVE if negative else EvidenceOutcome.POSITIVE,
        event_code=event_code,
        at=_parse_time(_find_text(evidence, "EventTime")),
        evidence_id=_find_text(evidence, "EvidenceIdentifier"),
        ua_message_id=_find_text(evidence, "SenderMessageDetails", "UAMessageIdentifier"),
        remmd_message_id=_find_text(evidence, "SenderMessageDetails", "MessageIdentifierByREMMD"),
        reason=reason,
    )
