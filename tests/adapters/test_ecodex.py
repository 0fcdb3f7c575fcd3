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
    EcodexOptions,
    IncomingUnreadable,
    business_content,
    evidences_for,
    fetch_evidences,
    fetch_incoming,
    read_business_content,
    read_incoming,
    trigger_confirmation,
)
from adapters.ecodex_mapping import ACTIONS, action_for, message_type_for
from adapters.envelope import Envelope, open_envelope, seal
from adapters.evidence import (
    CONNECTOR_EVIDENCE_TIMEOUTS,
    EvidenceOutcome,
    EvidenceType,
    decisive_evidence,
    receipt_time,
)
from adapters.rem_evidence import EvidenceDocumentInvalid, parse_evidence_document
from adapters.trust_token import TrustColour
from forms.messages import MessageType
from tests.adapters.common import NOW
from tests.adapters.fake_connector import FakeConnector, rem_evidence_xml, trust_token_xml

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


def test_evidence_timeouts_are_the_connectors() -> None:
    assert {t: d.total_seconds() / 3600 for t, d in CONNECTOR_EVIDENCE_TIMEOUTS.items()} == {
        EvidenceType.RELAY: 12, EvidenceType.DELIVERY: 24, EvidenceType.RETRIEVAL: 36}


async def test_submission_carries_service_action_conversation_and_files(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    result = await adapter_for("ecodex", options_for(connector)).deliver(message)

    assert result.delivered is False  # submission is not delivery: evidences will tell
    [submitted] = connector.outgoing()
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
    files = connector.outgoing()[0]["files"]["files"]
    content = base64.b64decode(next(f for f in files if f["fileType"] == "BUSINESS_CONTENT")["fileContent"])
    body, headers = read_business_content(content)
    opened = open_envelope(body, headers, public_key_for={"LU": lu_key.public_key()}.get, own_state="BE", now=NOW)
    assert opened == message.sealed.envelope


async def test_retry_after_success_does_not_send_twice(connector: FakeConnector, message: OutboundMessage) -> None:
    adapter = adapter_for("ecodex", options_for(connector))
    first = await adapter.deliver(message)
    second = await adapter.deliver(message)
    assert len(connector.outgoing()) == 1
    assert first.reference == second.reference
    assert second.response["submitted"] is False


async def test_outage_then_recovery_resends_under_a_new_backend_id(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    """The client never submits a FAILED message again, so the retry after an outage is a new message."""
    connector.connector_down = True
    adapter = adapter_for("ecodex", options_for(connector))
    for _ in range(2):  # the activity retries while the connector is down
        with pytest.raises(DeliveryError) as caught:
            await adapter.deliver(message)
        assert (caught.value.retryable, caught.value.status) == (True, 500)
    assert [m["messageStatus"] for m in connector.outgoing()] == ["FAILED", "FAILED"]

    connector.connector_down = False
    result = await adapter.deliver(message)  # the activity's retry once the connector is back
    assert result.response["backendMessageId"] == "msg-0001~3"
    assert result.response["messageStatus"] == "ACCEPTED"
    assert [m["backendMessageId"] for m in connector.outgoing()] == ["msg-0001", "msg-0001~2", "msg-0001~3"]
    # Evidences of the new backend id still name our message.
    options = EcodexOptions.model_validate(options_for(connector))
    connector.add_evidence("msg-0001~3", "DELIVERY")
    assert {e.message_reference for e in await fetch_evidences(options)} == {"msg-0001"}
    # A retry after success sends nothing more.
    await adapter.deliver(message)
    assert len(connector.outgoing()) == 3


async def test_a_prepared_message_is_submitted_again_as_stored(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    stored = connector.by_backend_id("msg-0001")
    assert stored is not None
    stored["messageStatus"] = "PREPARED"  # stored, but the client stopped before submitting it
    result = await adapter_for("ecodex", options_for(connector)).deliver(message)
    assert result.response["submitted"] is True
    assert len(connector.outgoing()) == 1
    assert ("POST", "/restservice/submitStoredClientMessage", "application/json") in connector.requests


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

    assert await fetch_evidences(options) == []  # ACCEPTED is never listed
    [accepted] = await evidences_for(options, "msg-0001")  # but is there when asked for
    assert (accepted.type, accepted.outcome) == (EvidenceType.SUBMISSION, EvidenceOutcome.POSITIVE)
    assert accepted.message_reference == "msg-0001"
    assert accepted.channel == "ecodex"

    submitted = accepted.at
    relayed, delivered = submitted + timedelta(minutes=3), submitted + timedelta(hours=2)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=relayed)
    connector.add_evidence("msg-0001", "DELIVERY", at=delivered)
    evidences = await fetch_evidences(options)
    assert [e.source_type for e in evidences][-2:] == ["RELAY_REMMD_ACCEPTANCE", "DELIVERY"]
    assert evidences[0].document is not None and "SubmissionAcceptanceRejection" in evidences[0].document
    assert await fetch_evidences(options) == []  # nothing new since
    assert evidences[-1].at == delivered  # the gateway's event time, not our polling time
    assert evidences[-1].transport_reference == (connector.by_backend_id("msg-0001") or {})["ebmsMessageId"]
    assert receipt_time(evidences) == delivered
    decisive = decisive_evidence(evidences)
    assert decisive is not None and decisive.type is EvidenceType.DELIVERY
    assert decisive.confirms_receipt


async def test_negative_evidence_with_its_reason(connector: FakeConnector, message: OutboundMessage) -> None:
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=NOW)
    connector.add_evidence("msg-0001", "NON_DELIVERY", at=NOW + timedelta(hours=24), reason="E300 delivery timeout")
    evidences = await fetch_evidences(options)  # REJECTED is listed, with the evidence documents
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


def _incoming_files(sealed_content: bytes) -> list[dict[str, str]]:
    return [
        {"fileName": "probatio-envelope.xml", "fileType": "BUSINESS_CONTENT",
         "fileContent": base64.b64encode(sealed_content).decode()},
        {"fileName": "decision.pdf", "fileType": "BUSINESS_DOCUMENT", "fileContent": base64.b64encode(PDF).decode()},
    ]  # fmt: skip


async def test_incoming_messages_are_opened_with_their_trust_token(
    connector: FakeConnector, be_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    # BE answers LU over e-CODEX; here we are LU's node fetching from its own connector.
    decision = envelope.model_copy(
        update={"message_id": "msg-be-7", "type": MessageType.DECISION, "from_state": "BE", "to_state": "LU"}
    )
    files = _incoming_files(business_content(seal(decision, be_key)))
    connector.queue_incoming(
        {"action": "NotifyDecision", "conversationId": "conv-LU-2026-17", "files": {"files": files}}
    )
    options = EcodexOptions.model_validate(options_for(connector))

    [raw] = await fetch_incoming(options)
    incoming = read_incoming(raw)
    opened = open_envelope(
        incoming.body, incoming.headers, public_key_for={"BE": be_key.public_key()}.get, own_state="LU", now=NOW
    )
    assert opened.type is MessageType.DECISION
    # The connector's Token.xml and Token.pdf are its verdict, not the sender's documents.
    assert [(a.filename, a.media_type, a.content) for a in incoming.attachments] == [
        ("decision.pdf", "application/pdf", PDF)
    ]
    assert incoming.trust.colour is TrustColour.GREEN
    assert incoming.token_pdf is not None and incoming.token_pdf.startswith(b"%PDF")
    assert await fetch_incoming(options) == []  # the client hands each message out once

    assert incoming.ebms_message_id is not None
    await trigger_confirmation(options, incoming.ebms_message_id, "DELIVERY")
    await trigger_confirmation(options, incoming.ebms_message_id, "RETRIEVAL")
    assert connector.triggered == [(incoming.ebms_message_id, "DELIVERY"), (incoming.ebms_message_id, "RETRIEVAL")]
    assert connector.refused_triggers == []


async def test_a_red_token_is_read_as_red(
    connector: FakeConnector, be_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    files = _incoming_files(business_content(seal(envelope, be_key)))
    connector.queue_incoming({"action": "NotifyDecision", "files": {"files": files}}, token=("FAIL", "NOT_SUCCESSFUL"))
    [raw] = await fetch_incoming(EcodexOptions.model_validate(options_for(connector)))
    incoming = read_incoming(raw)
    assert incoming.trust.colour is TrustColour.RED
    assert (incoming.trust.technical, incoming.trust.legal) == ("FAIL", "NOT_SUCCESSFUL")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"action": "SomeOtherUseCase", "files": {"files": []}}, "SomeOtherUseCase"),
        ({"action": "NotifyDecision", "files": {"files": []}}, "BUSINESS_CONTENT"),
        ({"action": "NotifyDecision", "files": {"files": [
            {"fileName": "x.xml", "fileType": "BUSINESS_CONTENT", "fileContent": base64.b64encode(b"<a/>").decode()}
        ]}}, "not a probatio envelope"),
    ],
)
def test_unreadable_incoming_messages_name_the_reason(message: dict[str, Any], reason: str) -> None:
    with pytest.raises(IncomingUnreadable, match=reason):
        read_incoming(message)


async def test_empty_lists_are_an_empty_body(connector: FakeConnector) -> None:
    """The real client returns null when nothing waits; Spring sends 200 with no body."""
    options = EcodexOptions.model_validate(options_for(connector))
    assert await fetch_incoming(options) == []
    assert await fetch_evidences(options) == []


async def test_trigger_without_json_content_type_is_refused_by_the_client(connector: FakeConnector) -> None:
    import httpx

    received = connector.queue_incoming({"action": "NotifyDecision", "files": {"files": []}})
    async with httpx.AsyncClient(base_url=connector.url) as http:
        bare = await http.post("/submissionrestservice/triggerConfirmationAtConnectorClient",
                               params={"refToMessageId": received["ebmsMessageId"], "confirmationType": "DELIVERY"})
    assert bare.status_code == 415
    await trigger_confirmation(EcodexOptions.model_validate(options_for(connector)), received["ebmsMessageId"],
                               "DELIVERY")
    assert connector.triggered == [(received["ebmsMessageId"], "DELIVERY")]


async def test_retrieval_before_delivery_gives_no_evidence(connector: FakeConnector) -> None:
    received = connector.queue_incoming({"action": "NotifyDecision", "files": {"files": []}})
    await trigger_confirmation(EcodexOptions.model_validate(options_for(connector)), received["ebmsMessageId"],
                               "RETRIEVAL")
    assert connector.refused_triggers == [(received["ebmsMessageId"], "RETRIEVAL")]


async def test_two_connectors_relay_submission_delivery_and_retrieval(
    message: OutboundMessage,
) -> None:
    with FakeConnector(party_id="LU-GW") as lu, FakeConnector(party_id="BE-GW") as be:
        lu.link(be)
        await adapter_for("ecodex", options_for(lu)).deliver(message)
        lu_options = EcodexOptions.model_validate(options_for(lu))
        be_options = EcodexOptions.model_validate(options_for(be))
        # Relay acceptance leaves the message ACCEPTED: never listed, but there when asked for.
        assert await fetch_evidences(lu_options) == []
        relayed = await evidences_for(lu_options, "msg-0001")
        assert [e.source_type for e in relayed] == ["SUBMISSION_ACCEPTANCE", "RELAY_REMMD_ACCEPTANCE"]

        [raw] = await fetch_incoming(be_options)
        await trigger_confirmation(be_options, raw["ebmsMessageId"], "DELIVERY")
        await trigger_confirmation(be_options, raw["ebmsMessageId"], "RETRIEVAL")
        evidences = await fetch_evidences(lu_options)
        assert [e.source_type for e in evidences] == [
            "SUBMISSION_ACCEPTANCE", "RELAY_REMMD_ACCEPTANCE", "DELIVERY", "RETRIEVAL"]
        assert all(e.message_reference == "msg-0001" for e in evidences)


@pytest.mark.parametrize(
    ("stage_missing", "hours", "negative", "event"),
    [
        ("relay", 13, "RELAY_REMMD_FAILURE", "DeliveryExpiration"),
        ("delivery", 25, "NON_DELIVERY", "NonDelivery"),
        ("retrieval", 37, "NON_RETRIEVAL", "RetrievalExpiration"),
    ],
)
async def test_connector_time_outs_give_negative_evidences(
    message: OutboundMessage, stage_missing: str, hours: int, negative: str, event: str
) -> None:
    with FakeConnector(party_id="LU-GW") as lu, FakeConnector(party_id="BE-GW") as be:
        if stage_missing != "relay":
            lu.link(be)
        await adapter_for("ecodex", options_for(lu)).deliver(message)
        if stage_missing == "retrieval":
            [received] = be.received()
            be._trigger(received["ebmsMessageId"], "DELIVERY")
        now = datetime.now(UTC)
        assert lu.check_timeouts(now + timedelta(hours=hours - 2)) == []
        assert lu.check_timeouts(now + timedelta(hours=hours)) == [("msg-0001", negative)]
        evidences = await fetch_evidences(EcodexOptions.model_validate(options_for(lu)))
        decisive = decisive_evidence(evidences)
        assert decisive is not None and decisive.is_failure and decisive.source_type == negative
        assert decisive.document is not None and f"Event#{event}<" in decisive.document


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
    ("confirmation_type", "outcome"),
    [
        ("SUBMISSION_ACCEPTANCE", EvidenceOutcome.POSITIVE),
        ("SUBMISSION_REJECTION", EvidenceOutcome.NEGATIVE),
        ("RELAY_REMMD_ACCEPTANCE", EvidenceOutcome.POSITIVE),
        ("RELAY_REMMD_REJECTION", EvidenceOutcome.NEGATIVE),
        ("RELAY_REMMD_FAILURE", EvidenceOutcome.NEGATIVE),
        ("DELIVERY", EvidenceOutcome.POSITIVE),
        ("NON_DELIVERY", EvidenceOutcome.NEGATIVE),
        ("RETRIEVAL", EvidenceOutcome.POSITIVE),
        ("NON_RETRIEVAL", EvidenceOutcome.NEGATIVE),
    ],
)
def test_the_connectors_event_codes(confirmation_type: str, outcome: EvidenceOutcome) -> None:
    """Acceptance / Rejection / Delivery / NonDelivery / Retrieval and the two Expiration codes."""
    at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    document = rem_evidence_xml(confirmation_type, at=at, backend_message_id="m", ebms_message_id="e")
    assert parse_evidence_document(document).outcome is outcome


def test_an_event_code_the_evidence_cannot_carry_is_refused() -> None:
    document = rem_evidence_xml("DELIVERY", at=NOW, backend_message_id="m", ebms_message_id="e",
                                event_code="http://uri.etsi.org/REM/Event#Delivery")
    with pytest.raises(EvidenceDocumentInvalid, match="event code"):
        parse_evidence_document(document)


def test_trust_tokens() -> None:
    from adapters.trust_token import read_trust_token

    assert read_trust_token(trust_token_xml()).colour is TrustColour.GREEN
    assert read_trust_token(trust_token_xml("SUFFICIENT", "UNDETERMINED")).colour is TrustColour.AMBER
    assert read_trust_token(trust_token_xml("FAIL", "NOT_SUCCESSFUL")).colour is TrustColour.RED
    assert read_trust_token(b"<x/>").colour is TrustColour.RED


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


# --- evidence times: the connector's, not the client's -----------------------------------------------

TEN = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


async def test_a_relay_evidence_keeps_the_time_its_document_states(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    """The connector documented the relay at 10:00; the client stored it at 10:07. The case shows 10:00."""
    from activities.ecodex import as_delivery_evidence

    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=TEN, stored_at=TEN + timedelta(minutes=7))

    assert await fetch_evidences(options) == []  # ACCEPTED: never listed, only looked up
    [relayed] = [e for e in await evidences_for(options, "msg-0001") if e.type is EvidenceType.RELAY]
    assert relayed.at == TEN
    assert relayed.document is not None and "RelayREMMDAcceptanceRejection" in relayed.document
    delivery_record = as_delivery_evidence(relayed)  # what the poller signals to the case's workflow
    assert (delivery_record.kind, delivery_record.at) == ("relayed", TEN)
    assert ("GET", "/restservice/loadFileContentFromStorage", None) in connector.requests

    # Once the message is CONFIRMED the list carries the same evidence with the same document and time.
    connector.add_evidence("msg-0001", "DELIVERY", at=TEN + timedelta(hours=1), stored_at=TEN + timedelta(hours=2))
    listed = {e.source_type: e.at for e in await fetch_evidences(options)}
    assert (listed["RELAY_REMMD_ACCEPTANCE"], listed["DELIVERY"]) == (TEN, TEN + timedelta(hours=1))


async def test_an_evidence_without_its_document_keeps_the_clients_storage_time(
    connector: FakeConnector, message: OutboundMessage
) -> None:
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    stored = TEN + timedelta(minutes=7)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=TEN, stored_at=stored)
    connector.lose_evidence_file("msg-0001", "RELAY_REMMD_ACCEPTANCE")
    [relayed] = [e for e in await evidences_for(options, "msg-0001") if e.type is EvidenceType.RELAY]
    assert (relayed.at, relayed.document) == (stored, None)


async def test_an_evidence_document_the_client_cannot_give_now_is_not_passed_on(
    connector: FakeConnector, message: OutboundMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passing failure reading the document fails the look-up (the poller tries again next round) rather
    than hand the case the client's storage time."""
    options = EcodexOptions.model_validate(options_for(connector))
    await adapter_for("ecodex", options_for(connector)).deliver(message)
    connector.add_evidence("msg-0001", "RELAY_REMMD_ACCEPTANCE", at=TEN, stored_at=TEN + timedelta(minutes=7))
    original = connector.handle

    def failing(method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/restservice/loadFileContentFromStorage":
            return 500, "Internal Server Error"
        return original(method, path, query, body)

    monkeypatch.setattr(connector, "handle", failing)
    with pytest.raises(DeliveryError) as caught:
        await evidences_for(options, "msg-0001")
    assert caught.value.retryable is True
    monkeypatch.setattr(connector, "handle", original)
    assert TEN in {e.at for e in await evidences_for(options, "msg-0001")}


async def test_a_stored_file_sent_as_json_base64_is_read_too(connector: FakeConnector) -> None:
    """loadFileContentFromStorage declares no ``produces``: a JSON converter may answer with base64."""
    import httpx

    from adapters.ecodex import _file_bytes

    document = rem_evidence_xml("DELIVERY", at=TEN, backend_message_id="m", ebms_message_id="e")
    as_json = httpx.Response(200, json=base64.b64encode(document).decode(), request=httpx.Request("GET", "http://x"))
    raw = httpx.Response(200, content=document, request=httpx.Request("GET", "http://x"))
    assert _file_bytes(as_json) == _file_bytes(raw) == document
