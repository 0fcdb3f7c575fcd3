"""The e-CODEX adapter: hand messages to a Domibus connector through its connector client REST API.

We talk to the back-end interface of the e-CODEX "Connector Client" (eu-LISA/domibusConnectorClient):

- ``POST /submissionrestservice/submitNewMessageFromBackendToConnectorClient`` — a message with its files
- ``GET  /restservice/getMessageByBackendMessageId?backendMessageId=`` — one message, with its evidences
- ``POST /restservice/submitStoredClientMessage`` — submit again a message the client holds but failed
- ``GET  /messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient`` — evidences that came in
- ``GET  /messagerestservice/requestNewMessagesFromConnectorClient`` — messages other states sent us
- ``POST /submissionrestservice/triggerConfirmationAtConnectorClient`` — send DELIVERY/RETRIEVAL evidence

Submission is never a delivery: the connector answers "taken", and what happened next arrives later as
ETSI REM evidences, which :func:`fetch_evidences` turns into :class:`~adapters.evidence.Evidence`.

The business content is our signed envelope wrapped in a small XML document (the connector expects XML
there), so the receiving probatio node checks our Ed25519 signature end to end, beyond the gateways'.
"""

from __future__ import annotations

import base64
import binascii
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
from pydantic import BaseModel, ConfigDict, Field

from adapters.base import (
    Adapter,
    Attachment,
    DeliveryError,
    DeliveryResult,
    OutboundMessage,
    register_adapter,
)
from adapters.ecodex_mapping import DEFAULT_SERVICE, DEFAULT_SERVICE_TYPE, action_for, message_type_for
from adapters.envelope import SENDER_HEADER, SIGNATURE_HEADER, SealedEnvelope
from adapters.evidence import DEFAULT_EVIDENCE_TIMEOUT, Evidence
from adapters.rem_evidence import CONFIRMATION_TYPES, EvidenceDocumentInvalid, parse_evidence_document
from adapters.tls import client_context

__all__ = [
    "CONTENT_NAMESPACE",
    "DEFAULT_EVIDENCE_TIMEOUT",
    "EcodexAdapter",
    "EcodexOptions",
    "IncomingEcodexMessage",
    "business_content",
    "confirm_retrieval",
    "evidences_for",
    "evidences_from_message",
    "fetch_evidences",
    "fetch_incoming",
    "read_business_content",
]

SUBMIT_PATH = "/submissionrestservice/submitNewMessageFromBackendToConnectorClient"
TRIGGER_CONFIRMATION_PATH = "/submissionrestservice/triggerConfirmationAtConnectorClient"
RESUBMIT_PATH = "/restservice/submitStoredClientMessage"
BY_BACKEND_ID_PATH = "/restservice/getMessageByBackendMessageId"
CONFIRMED_PATH = "/messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient"
NEW_MESSAGES_PATH = "/messagerestservice/requestNewMessagesFromConnectorClient"

CONTENT_NAMESPACE = "urn:probatio:envelope:1"
CHANNEL = "ecodex"
ET.register_namespace("", CONTENT_NAMESPACE)  # serialise as a default namespace, not "ns0:"

# Connector-client statuses of a message it holds but never got to the connector: submit it again.
_RESUBMIT_STATUSES = frozenset({"PREPARED", "FAILED"})
# The connector (or a proxy in front of it) says the request itself is wrong: retrying cannot help.
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 413, 415, 422})


class EcodexOptions(BaseModel):
    """Options for the ``ecodex`` adapter: where our connector client is and how to address the peer."""

    model_config = ConfigDict(extra="forbid")

    connector_url: str = Field(pattern=r"^https?://", description="base URL of our connector client")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    verify: bool | str = True
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="environment variable holding the password (kept out of the directory)"
    )
    service: str = DEFAULT_SERVICE
    service_type: str = DEFAULT_SERVICE_TYPE
    from_party_id: str | None = Field(default=None, description="our gateway party; default: the connector's")
    from_party_type: str | None = None
    from_party_role: str | None = None
    to_party_id: str = Field(min_length=1, description="the peer gateway's party id, as in the P-Mode")
    to_party_type: str | None = None
    to_party_role: str | None = None
    original_sender: str = Field(min_length=1, description="our authority, as e-CODEX names it")
    final_recipient: str = Field(min_length=1, description="the peer authority, as e-CODEX names it")


class ConnectorUnavailable(DeliveryError):
    """Talking to our own connector client failed (not the peer)."""


class ConnectorClient:
    """A thin async client of the connector client's REST API. Use as ``async with``."""

    def __init__(self, options: EcodexOptions) -> None:
        self.options = options
        auth: httpx.BasicAuth | None = None
        if options.username is not None:
            password = os.environ.get(options.password_env, "") if options.password_env else ""
            auth = httpx.BasicAuth(options.username, password)
        self._http = httpx.AsyncClient(
            base_url=options.connector_url.rstrip("/"),
            timeout=options.timeout_seconds,
            verify=client_context(options.verify),
            auth=auth,
        )

    async def __aenter__(self) -> ConnectorClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ConnectorUnavailable(
                f"e-CODEX connector gave no answer within {self.options.timeout_seconds} s", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorUnavailable(f"could not reach the e-CODEX connector: {exc!r}", retryable=True) from exc
        return response

    @staticmethod
    def _fail(response: httpx.Response, doing: str) -> DeliveryError:
        text = response.text.strip()[:500]
        retryable = response.status_code not in _FINAL_STATUSES
        return ConnectorUnavailable(
            f"e-CODEX connector answered {response.status_code} when {doing}" + (f": {text}" if text else ""),
            retryable=retryable,
            status=response.status_code,
        )

    async def message_by_backend_id(self, backend_message_id: str) -> dict[str, Any] | None:
        response = await self._request("GET", BY_BACKEND_ID_PATH, params={"backendMessageId": backend_message_id})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"looking up message {backend_message_id}")
        message: dict[str, Any] = response.json()
        return message

    async def submit(self, message: dict[str, Any]) -> None:
        response = await self._request("POST", SUBMIT_PATH, json=message)
        if response.status_code != 200:
            raise self._fail(response, f"submitting message {message.get('backendMessageId')}")
        if response.json() is not True:
            raise ConnectorUnavailable("e-CODEX connector did not confirm the submission", retryable=True)

    async def resubmit(self, stored: dict[str, Any]) -> None:
        response = await self._request("POST", RESUBMIT_PATH, json=stored)
        if response.status_code != 200:
            raise self._fail(response, f"submitting stored message {stored.get('backendMessageId')} again")

    async def confirmed_or_rejected(self) -> list[dict[str, Any]]:
        response = await self._request("GET", CONFIRMED_PATH)
        if response.status_code != 200:
            raise self._fail(response, "fetching evidences")
        messages: list[dict[str, Any]] = response.json().get("messages") or []
        return messages

    async def new_messages(self) -> list[dict[str, Any]]:
        response = await self._request("GET", NEW_MESSAGES_PATH)
        if response.status_code != 200:
            raise self._fail(response, "fetching incoming messages")
        messages: list[dict[str, Any]] = response.json().get("messages") or []
        return messages

    async def trigger_confirmation(self, ref_to_message_id: str, confirmation_type: str) -> None:
        response = await self._request(
            "POST",
            TRIGGER_CONFIRMATION_PATH,
            params={"refToMessageId": ref_to_message_id, "confirmationType": confirmation_type},
        )
        if response.status_code != 200:
            raise self._fail(response, f"sending {confirmation_type} for {ref_to_message_id}")


# --- the business content: our signed envelope inside XML ------------------------------------------


def business_content(sealed: SealedEnvelope) -> bytes:
    """The XML the connector carries as business content: exact signed bytes, signature and sender."""
    root = ET.Element(
        f"{{{CONTENT_NAMESPACE}}}Envelope",
        {
            "sender": sealed.headers[SENDER_HEADER],
            "signature": sealed.headers[SIGNATURE_HEADER],
            "messageId": sealed.envelope.message_id,
        },
    )
    root.text = base64.b64encode(sealed.body).decode("ascii")
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml


def read_business_content(content: bytes) -> tuple[bytes, dict[str, str]]:
    """Body and headers to give :func:`adapters.envelope.open_envelope`, from an incoming business content."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise ValueError("business content with a DTD is refused")
    try:
        root = SafeET.fromstring(content)  # entities and DTDs refused (defusedxml)
    except ET.ParseError as exc:
        raise ValueError(f"business content is not XML: {exc}") from exc
    if root.tag != f"{{{CONTENT_NAMESPACE}}}Envelope":
        raise ValueError(f"business content is a {root.tag}, not a probatio envelope")
    try:
        body = base64.b64decode((root.text or "").strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError("business content does not hold a base64 envelope") from exc
    headers = {SENDER_HEADER: root.get("sender", ""), SIGNATURE_HEADER: root.get("signature", "")}
    return body, headers


def _file(name: str, file_type: str, content: bytes) -> dict[str, Any]:
    # Jackson reads a JSON string into byte[] as base64.
    return {"fileName": name, "fileType": file_type, "fileContent": base64.b64encode(content).decode("ascii")}


def _client_message(options: EcodexOptions, message: OutboundMessage) -> dict[str, Any]:
    envelope = message.sealed.envelope
    files = [_file("probatio-envelope.xml", "BUSINESS_CONTENT", business_content(message.sealed))]
    # The first PDF is the business document (the certificate or form); the rest ride as attachments.
    document: Attachment | None = next((a for a in message.attachments if a.media_type == "application/pdf"), None)
    for attachment in message.attachments:
        kind = "BUSINESS_DOCUMENT" if attachment is document else "BUSINESS_ATTACHMENT"
        files.append(_file(attachment.filename, kind, attachment.content))
    return {
        "backendMessageId": envelope.message_id,
        "conversationId": envelope.conversation_id,
        "originalSender": options.original_sender,
        "finalRecipient": options.final_recipient,
        "fromPartyId": options.from_party_id,
        "fromPartyType": options.from_party_type,
        "fromPartyRole": options.from_party_role,
        "toPartyId": options.to_party_id,
        "toPartyType": options.to_party_type,
        "toPartyRole": options.to_party_role,
        "service": options.service,
        "serviceType": options.service_type,
        "action": action_for(envelope.type),
        "files": {"files": files},
    }


@register_adapter
class EcodexAdapter(Adapter):
    """Submit to our connector client; evidences come later through :func:`fetch_evidences`."""

    name = "ecodex"
    Options = EcodexOptions
    options: EcodexOptions

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        message_id = message.sealed.envelope.message_id
        async with ConnectorClient(self.options) as client:
            # Idempotent by backend message id: a retry after a lost answer must not send twice.
            existing = await client.message_by_backend_id(message_id)
            if existing is None:
                await client.submit(_client_message(self.options, message))
            elif existing.get("messageStatus") in _RESUBMIT_STATUSES:
                await client.resubmit(existing)
            stored = await client.message_by_backend_id(message_id) or {}
        reference = stored.get("ebmsMessageId") or message_id
        return DeliveryResult(
            delivered=False,
            reference=reference,
            response={
                "submitted": existing is None,
                "backendMessageId": message_id,
                "ebmsMessageId": stored.get("ebmsMessageId"),
                "messageStatus": stored.get("messageStatus"),
                "action": action_for(message.sealed.envelope.type),
            },
        )


# --- the receiving side: evidences and incoming messages -------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    """Jackson writes ``java.util.Date`` as epoch milliseconds or as ISO text, depending on settings."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def evidences_from_message(message: dict[str, Any], *, now: datetime | None = None) -> list[Evidence]:
    """Every evidence the connector client lists for one of our messages, oldest first.

    The connector's confirmation type decides type and outcome; the REM document, when readable, gives
    the event time and the reason. Unknown confirmation types are skipped, not guessed.
    """
    found: list[Evidence] = []
    for confirmation in message.get("evidences") or []:
        source_type = str(confirmation.get("confirmationType", ""))
        if source_type not in CONFIRMATION_TYPES:
            continue
        stage, outcome = CONFIRMATION_TYPES[source_type]
        at = _timestamp(confirmation.get("received"))
        reason: str | None = None
        document_text: str | None = None
        raw = confirmation.get("confirmation")
        if isinstance(raw, str) and raw:
            try:
                document = base64.b64decode(raw, validate=True)
                parsed = parse_evidence_document(document)
                document_text = document.decode("utf-8", errors="replace")
                at = parsed.at or at
                reason = parsed.reason
            except (binascii.Error, EvidenceDocumentInvalid):
                reason = "evidence document unreadable"
        found.append(
            Evidence(
                type=stage,
                outcome=outcome,
                at=at or now or datetime.now(UTC),
                message_reference=str(message.get("backendMessageId") or ""),
                channel=CHANNEL,
                source_type=source_type,
                transport_reference=message.get("ebmsMessageId"),
                reason=reason,
                document=document_text,
            )
        )
    return sorted(found, key=lambda e: (e.at, e.type))


async def fetch_evidences(options: EcodexOptions) -> list[Evidence]:
    """Poll the connector client for evidences that arrived since the last call.

    A message comes back each time a new evidence arrives for it, with all its evidences, so callers
    store them de-duplicated on ``(message_reference, source_type, at)``; repeating one is harmless.
    """
    async with ConnectorClient(options) as client:
        messages = await client.confirmed_or_rejected()
    return [evidence for message in messages for evidence in evidences_from_message(message)]


async def evidences_for(options: EcodexOptions, message_id: str) -> list[Evidence]:
    """All evidences so far for one of our messages (for a case page, or a check before alerting)."""
    async with ConnectorClient(options) as client:
        message = await client.message_by_backend_id(message_id)
    return evidences_from_message(message) if message else []


@dataclass(frozen=True)
class IncomingEcodexMessage:
    """A message another state sent us over e-CODEX, ready for the inbox's ``open_envelope``."""

    body: bytes
    headers: dict[str, str]
    attachments: list[Attachment]
    ebms_message_id: str | None
    action: str
    conversation_id: str | None


async def fetch_incoming(options: EcodexOptions) -> list[IncomingEcodexMessage]:
    """New messages for us. The connector client marks them delivered once fetched, so keep them.

    After storing one, call :func:`confirm_retrieval` so the sender gets its RETRIEVAL evidence.
    Messages whose business content is not a probatio envelope, or whose action is not ours, are
    skipped here: they were never meant for this software.
    """
    async with ConnectorClient(options) as client:
        messages = await client.new_messages()
    incoming: list[IncomingEcodexMessage] = []
    for message in messages:
        action = str(message.get("action") or "")
        if message_type_for(action) is None:
            continue
        files = (message.get("files") or {}).get("files") or []
        content = next((f for f in files if f.get("fileType") == "BUSINESS_CONTENT"), None)
        if content is None:
            continue
        try:
            body, headers = read_business_content(base64.b64decode(content.get("fileContent") or ""))
        except (ValueError, binascii.Error):
            continue
        attachments = [
            Attachment(
                filename=str(f.get("fileName") or "attachment"),
                media_type="application/pdf"
                if str(f.get("fileName", "")).lower().endswith(".pdf")
                else "application/octet-stream",
                content=base64.b64decode(f.get("fileContent") or ""),
            )
            for f in files
            if f.get("fileType") in ("BUSINESS_DOCUMENT", "BUSINESS_ATTACHMENT")
        ]
        incoming.append(
            IncomingEcodexMessage(
                body=body,
                headers=headers,
                attachments=attachments,
                ebms_message_id=message.get("ebmsMessageId"),
                action=action,
                conversation_id=message.get("conversationId"),
            )
        )
    return incoming


async def confirm_retrieval(options: EcodexOptions, ebms_message_id: str, *, accepted: bool = True) -> None:
    """Tell the sender we have (or could not take) its message: RETRIEVAL or NON_RETRIEVAL evidence."""
    async with ConnectorClient(options) as client:
        await client.trigger_confirmation(ebms_message_id, "RETRIEVAL" if accepted else "NON_RETRIEVAL")
