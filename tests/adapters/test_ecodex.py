"""The e-CODEX adapter against a fake connector client on 127.0.0.1: submission, evidences, incoming."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.base import Attachment, DeliveryError, OutboundMessage, adapter_for
from adapters.ecodex import (
    DEFAULT_EVIDENCE_TIMEOUT,
    EcodexOptions,
    business_content,
    confirm_retrieval,
    evidences_for,
    fetch_evidences,
    fetch_incoming,
    read_business_content,
)
from adapters.ecodex_mapping import ACTIONS, action_for, message_type_for
from adapters.envelope import Envelope, open_envelope, seal
from adapters.evidence import EvidenceOutcome, EvidenceType, decisive_evidence, receipt_time
from adapters.rem_evidence import EvidenceDocumentInvalid, parse_evidence_document
from forms.messages import MessageType
from tests.adapters.common import NOW
from tests.adapters.fake_connector import FakeConnector, rem_evidence_xml

PDF = b"%PDF-1.7\n% certificate\n%%EOF\n"


@pytest.fixture
def connector() -> Iterator[FakeConnector]:
    with FakeConnector() as fake:
        yield fake


def options_for(connector: FakeConnector, **extra: Any) -> dict[str, Any]:
    return {
        "connector_url": connector.url,
        "timeout_seconds": 5,
        "to_party_id": "BE-GW",
        "original_sender": "LU-PG",
        "final_recipient": "BE-SPF-JUST",
        **extra,
    }


@pytest.fixture
def message(lu_key: Ed25519PrivateKey, envelope: Envelope) -> OutboundMessage:
    return OutboundMessage(
        sealed=seal(envelope, lu_key),
        attachments=[
            Attachment("certificate-fr.pdf", "application/pdf", PDF),
            Attachment("judgment.pdf", "application/pdf", b"%PDF judgment"),
        ],
    )


def test_every_message_type_has_one_distinct_action() -> None:
    assert set(ACTIONS) == set(MessageType)
    actions = [action_for(t) for t in MessageType]
    assert len(set(actions)) == len(actions)
    assert all(message_type_for(action_for(t)) is t for t in MessageType)
    assert message_type_for("SomebodyElsesAction") is None


def test_evidence_timeout_is_24_hours() -> None:
    assert timedelta(hours=24) == DEFAULT_EVIDENCE_TIMEOUT


async def test_submission_carries_service_action_conversation_and_files(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    result = await adapter_for("ecodex", options_for(connector)).deliver(message)

    assert result.delivered is False  # submission is not delivery: evidences will tell
    [submitted] = connector.submissions
    assert result.reference == submitted["ebmsMessageId"]
    assert submitted["backendMessageId"] == "msg-0001"
    assert submitted["conversationId"] == "conv-LU-2026-17"
    assert (submitted["service"], submitted["action"]) == ("FD2008-947-JHA", "ForwardJudgmentAndCertificate")
    assert (submitted["toPartyId"], submitted["finalRecipient"]) == ("BE-GW", "BE-SPF-JUST")
    files = {f["fileName"]: f for f in submitted["files"]["files"]}
    assert files["certificate-fr.pdf"]["fileType"] == "BUSINESS_DOCUMENT"
    assert base64.b64decode(files["certificate-fr.pdf"]["fileContent"]) == PDF
    assert files["judgment.pdf"]["fileType"] == "BUSINESS_ATTACHMENT"
    assert files["probatio-envelope.xml"]["fileType"] == "BUSINESS_CONTENT"


async def test_business_content_keeps_our_signature_end_to_end(
    connector: FakeConnector, message: OutboundMessage, lu_key: Ed25519PrivateKey
) -> None:
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    files = connector.submissions[0]["files"]["files"]
    content = base64.b64decode(next(f for f in files if f["fileType"] == "BUSINESS_CONTENT")["fileContent"])
    body, headers = read_business_content(content)
    opened = open_envelope(body, headers, public_key_for={"LU": lu_key.public_key()}.get, own_state="BE", now=NOW)
    assert opened == message.sealed.envelope


async def test_retry_after_success_does_not_send_twice(connector: FakeConnector, message: OutboundMessage) -> None:
    adapter = adapter_for("ecodex", options_for(connector))
    first = await adapter.deliver(message)
    second = await adapter.deliver(message)
    assert len(connector.submissions) == 1
    assert first.reference == second.reference
    assert second.response["submitted"] is False


async def test_connector_failure_is_retryable_and_the_retry_resubmits(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    connector.fail_submissions = 1
    adapter = adapter_for("ecodex", options_for(connector))
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message)
    assert (caught.value.retryable, caught.value.status) == (True, 500)
    assert connector.messages["msg-0001"]["messageStatus"] == "FAILED"

    result = await adapter.deliver(message)  # the activity's retry
    assert result.response["messageStatus"] == "CONFIRMED"
    assert len(connector.submissions) == 1


async def test_bad_request_is_final(connector: FakeConnector, message: OutboundMessage) -> None:
    adapter = adapter_for("ecodex", options_for(connector, service=""))
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message)
    assert (caught.value.retryable, caught.value.status) == (False, 400)
    assert "service" in str(caught.value)


async def test_wrong_credentials_are_final(
    connector: FakeConnector, message: OutboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.required_password = ("probatio", "s3cret")
    monkeypatch.setenv("ECODEX_PASSWORD", "wrong")
    adapter = adapter_for("ecodex", options_for(connector, username="probatio", password_env="ECODEX_PASSWORD"))
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message)
    assert (caught.value.retryable, caught.value.status) == (False, 401)
    monkeypatch.setenv("ECODEX_PASSWORD", "s3cret")
    assert (await adapter.deliver(message)).reference


async def test_connector_down_or_slow_is_retryable(connector: FakeConnector, message: OutboundMessage) -> None:
    connector.delay_seconds = 1.0
    adapter = adapter_for("ecodex", options_for(connector, timeout_seconds=0.2))
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message)
    assert caught.value.retryable is True
    adapter = adapter_for("ecodex", options_for(connector) | {"connector_url": "http://127.0.0.1:9"})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message)
    assert caught.value.retryable is True


async def test_evidences_arrive_in_order_and_receipt_starts_the_clock(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)

    [accepted] = await fetch_evidences(options)
    assert (accepted.type, accepted.outcome) == (EvidenceType.SUBMISSION, EvidenceOutcome.POSITIVE)
    assert accepted.message_reference == "msg-0001"
    assert accepted.channel == "ecodex"
    assert accepted.document is not None and "SubmissionAcceptanceRejection" in accepted.document
    assert await fetch_evidences(options) == []  # nothing new since

    submitted = accepted.at
    relayed, delivered = submitted + timedelta(minutes=3), submitted + timedelta(hours=2)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=relayed)
    connector.add_evidence("msg-0001", "DELIVERY", at=delivered)
    evidences = await fetch_evidences(options)
    assert [e.source_type for e in evidences][-2:] == ["RELAY_REMMD_ACCEPTANCE", "DELIVERY"]
    assert evidences[-1].at == delivered  # the gateway's event time, not our polling time
    assert evidences[-1].transport_reference == connector.messages["msg-0001"]["ebmsMessageId"]
    assert receipt_time(evidences) == delivered
    decisive = decisive_evidence(evidences)
    assert decisive is not None and decisive.type is EvidenceType.DELIVERY
    assert decisive.confirms_receipt


async def test_negative_evidence_with_its_reason(connector: FakeConnector, message: OutboundMessage) -> None:
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=NOW)
    connector.add_evidence("msg-0001", "NON_DELIVERY", at=NOW + timedelta(hours=24), reason="E300 delivery timeout")
    evidences = await evidences_for(options, "msg-0001")
    decisive = decisive_evidence(evidences)
    assert decisive is not None
    assert (decisive.type, decisive.outcome) == (EvidenceType.DELIVERY, EvidenceOutcome.NEGATIVE)
    assert decisive.reason is not None and "E300 delivery timeout" in decisive.reason
    assert receipt_time(evidences) is None
    assert await evidences_for(options, "msg-unknown") == []


async def test_rejected_submission(connector: FakeConnector, message: OutboundMessage) -> None:
    connector.reject_submissions = True
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    [rejected] = await fetch_evidences(options)
    assert (rejected.type, rejected.is_failure) == (EvidenceType.SUBMISSION, True)


async def test_incoming_messages_are_opened_and_retrieval_confirmed(
    connector: FakeConnector, be_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    # BE answers LU over e-CODEX; here we are LU's node fetching from its own connector.
    decision = envelope.model_copy(
        update={"message_id": "msg-be-7", "type": MessageType.DECISION, "from_state": "BE", "to_state": "LU"}
    )
    sealed = seal(decision, be_key)
    files = [
        {"fileName": "probatio-envelope.xml", "fileType": "BUSINESS_CONTENT",
         "fileContent": base64.b64encode(business_content(sealed)).decode()},
        {"fileName": "decision.pdf", "fileType": "BUSINESS_DOCUMENT", "fileContent": base64.b64encode(PDF).decode()},
    ]  # fmt: skip
    connector.queue_incoming(
        {"action": "NotifyDecision", "conversationId": "conv-LU-2026-17", "files": {"files": files}}
    )
    connector.queue_incoming({"action": "SomeOtherUseCase", "files": {"files": []}})
    options = EcodexOptions.model_validate(options_for(connector))

    [incoming] = await fetch_incoming(options)
    opened = open_envelope(
        incoming.body, incoming.headers, public_key_for={"BE": be_key.public_key()}.get, own_state="LU", now=NOW
    )
    assert opened.type is MessageType.DECISION
    assert [(a.filename, a.media_type, a.content) for a in incoming.attachments] == [
        ("decision.pdf", "application/pdf", PDF)
    ]
    assert await fetch_incoming(options) == []

    assert incoming.ebms_message_id is not None
    await confirm_retrieval(options, incoming.ebms_message_id)
    assert connector.triggered == [(incoming.ebms_message_id, "RETRIEVAL")]


def test_evidence_document_parsing() -> None:
    at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    document = parse_evidence_document(
        rem_evidence_xml("NON_RETRIEVAL", at=at, backend_message_id="m-1", ebms_message_id="e-1", reason="not opened")
    )
    assert (document.type, document.outcome, document.at) == (EvidenceType.RETRIEVAL, EvidenceOutcome.NEGATIVE, at)
    assert (document.ua_message_id, document.remmd_message_id) == ("m-1", "e-1")
    assert document.reason is not None and "not opened" in document.reason
    failure = parse_evidence_document(
        rem_evidence_xml("RELAY_REMMD_FAILURE", at=at, backend_message_id="m", ebms_message_id="e")
    )
    assert (failure.type, failure.outcome) == (EvidenceType.RELAY, EvidenceOutcome.NEGATIVE)


@pytest.mark.parametrize(
    "document",
    [
        b"not xml",
        b"<Something/>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><DeliveryNonDeliveryToRecipient/>',
    ],
)
def test_unreadable_evidence_documents_are_refused(document: bytes) -> None:
    with pytest.raises(EvidenceDocumentInvalid):
        parse_evidence_document(document)


def test_options_need_the_addressing() -> None:
    from adapters.base import AdapterOptionsInvalid

    with pytest.raises(AdapterOptionsInvalid, match="final_recipient"):
        adapter_for("ecodex", {"connector_url": "https://c", "to_party_id": "BE", "original_sender": "LU"})
