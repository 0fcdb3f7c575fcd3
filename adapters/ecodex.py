"""The e-CODEX adapter: hand messages to a Domibus connector through its connector client REST API.

Written against eu-LISA/domibusConnectorClient at e4eb25fb (2024-09-23), the files named below under
``client-application/``; where that source leaves a point open, the comment at the point says so.

- ``POST /submissionrestservice/submitNewMessageFromBackendToConnectorClient`` (JSON in, ``true`` out) — a new
  message with its files. The client stores it as PREPARED, submits it, and marks it SENT, or FAILED with a 500
  when the connector did not take it (client-app-controller/…/rest/impl/
  DomibusConnectorClientSubmissionRestAPIImpl.java, …/backend/impl/DomibusConnectorClientBackendImpl.java
  ``submitAndUpdateMessage``).
- ``POST /restservice/submitStoredClientMessage`` — submit again a stored message; the client accepts only
  one still PREPARED (``submitStoredClientBackendMessage``) and finds it by ``storageInfo``. A FAILED one can
  never be submitted again, so a retry after FAILED goes out as a new message with a new backend message id
  (:func:`backend_message_id`).
- ``GET /restservice/getMessageByBackendMessageId`` — one message (404 if unknown), evidences without content.
- ``GET /restservice/loadFileContentFromStorage?storageLocation=&fileName=`` — one file of a stored message; an
  evidence is the file ``<confirmation type>.xml`` beside its message, which is what the lists load too
  (client-app-controller/…/rest/util/DomibusConnectorClientRestUtil.java ``mapMessageFromModel``). A file that is
  not there comes back empty (client-app-fs-storage/…/AbstractDomibusConnectorClientFileSystemReaderImpl.java
  ``loadFileContentFromMessageFolder``), a storage location that is not there as a 400 (ParameterException).
  (Read at the versions 3bb1dc90, 38c3c99c and 6565ca65 of the client's repository.)
- ``GET /messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient`` — our messages now in
  REJECTED or CONFIRMED, with all their evidences; the client then marks them CONFIRMATION_DELIVERED_BACKEND.
  ACCEPTED ones (submission and relay acceptance only) are never listed: :func:`evidences_for` asks for them,
  and reads each evidence's document from the client's storage, so its time is the connector's as well.
- ``GET /messagerestservice/requestNewMessagesFromConnectorClient`` — messages for us (status RECEIVED); the
  client marks them DELIVERED_BACKEND *before* answering (…/rest/impl/DomibusConnectorClientMessageRestAPIImpl.java),
  so what it returns must be kept by the caller before anything else can fail.
  Both lists answer ``null`` when empty, which Spring writes as 200 with an empty body.
- ``POST /submissionrestservice/triggerConfirmationAtConnectorClient?refToMessageId=&confirmationType=`` —
  DELIVERY, NON_DELIVERY, RETRIEVAL or NON_RETRIEVAL for a received message. Declared
  ``consumes = "application/json"`` (client-app-rest-api/…/rest/DomibusConnectorClientSubmissionRestAPI.java),
  so it needs that Content-Type although it reads no body; it answers ``null`` (empty 200).

Submission is never a delivery: the connector answers "taken", and what happened next arrives later as
ETSI REM evidences, which :func:`fetch_evidences` turns into :class:`~adapters.evidence.Evidence`.

The business content is our signed envelope wrapped in a small XML document (the connector expects XML
there), so the receiving probatio node checks our Ed25519 signature end to end, beyond the gateways'.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
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
from adapters.ecodex_mapping import (
    DEFAULT_SERVICE,
    DEFAULT_SERVICE_TYPE,
    action_for,
    client_files,
    message_type_for,
    split_incoming_files,
)
from adapters.envelope import SENDER_HEADER, SIGNATURE_HEADER, SealedEnvelope
from adapters.evidence import DEFAULT_EVIDENCE_TIMEOUT, Evidence
from adapters.rem_evidence import CONFIRMATION_TYPES, EvidenceDocumentInvalid, parse_evidence_document
from adapters.tls import client_context
from adapters.trust_token import NO_TOKEN, TrustVerdict, read_trust_token

__all__ = [
    "CONTENT_NAMESPACE",
    "DEFAULT_EVIDENCE_TIMEOUT",
    "EcodexAdapter",
    "EcodexOptions",
    "IncomingEcodexMessage",
    "IncomingUnreadable",
    "backend_message_id",
    "business_content",
    "evidences_for",
    "evidences_from_message",
    "fetch_evidences",
    "fetch_incoming",
    "our_message_id",
    "read_business_content",
    "read_incoming",
    "trigger_confirmation",
]

SUBMIT_PATH = "/submissionrestservice/submitNewMessageFromBackendToConnectorClient"
TRIGGER_CONFIRMATION_PATH = "/submissionrestservice/triggerConfirmationAtConnectorClient"
RESUBMIT_PATH = "/restservice/submitStoredClientMessage"
BY_BACKEND_ID_PATH = "/restservice/getMessageByBackendMessageId"
LOAD_FILE_PATH = "/restservice/loadFileContentFromStorage"
CONFIRMED_PATH = "/messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient"
NEW_MESSAGES_PATH = "/messagerestservice/requestNewMessagesFromConnectorClient"

log = logging.getLogger(__name__)

CONTENT_NAMESPACE = "urn:probatio:envelope:1"
CHANNEL = "ecodex"
ET.register_namespace("", CONTENT_NAMESPACE)  # serialise as a default namespace, not "ns0:"

# PDomibusConnectorClientMessageStatus (client-app-controller/…/persistence/model/): a PREPARED message was
# stored but never submitted, and submitStoredClientMessage takes it; a FAILED or REJECTED one is finished
# for the client, so sending it again takes a new backend message id. Any other status means it is on its way.
_RESUBMIT_STATUS = "PREPARED"
_NEW_ID_STATUSES = frozenset({"FAILED", "REJECTED"})
# Backend message ids of one message: ours, then ours + "~2", "~3"… for each time it had to go out anew.
_ATTEMPT_SUFFIX = re.compile(r"~(\d+)$")
# Enough for every retry of the send activity over its 48 hours (back-off doubling from 5 s to an hour: about
# 60 tries) and for officers' resends after it; each try walks the ids it already used (one GET each).
MAX_SUBMISSIONS = 500
# The confirmation types a back end may trigger (DomibusConnectorClientBackendImpl.triggerConfirmationForMessage).
TRIGGERABLE = frozenset({"DELIVERY", "NON_DELIVERY", "RETRIEVAL", "NON_RETRIEVAL"})
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
        if response.status_code == 404:  # MessageNotFoundException → RestExceptionHandler → 404
            return None
        if response.status_code != 200:
            raise self._fail(response, f"looking up message {backend_message_id}")
        message = _json_or_none(response)
        return message if isinstance(message, dict) else None

    async def stored_file(self, storage_location: str, file_name: str) -> bytes | None:
        """One file of a message in the client's storage, or None when the client has none to give."""
        response = await self._request(
            "GET", LOAD_FILE_PATH, params={"storageLocation": storage_location, "fileName": file_name}
        )
        if response.status_code == 400:
            # ParameterException (RestExceptionHandler → 400): the message's storage folder is gone, e.g. cleaned
            # up on the client (DomibusConnectorClientFSStorageImpl.checkStorageLocationAndMessageFolder). Final.
            return None
        if response.status_code != 200:
            raise self._fail(response, f"reading {file_name} of the stored message {storage_location}")
        return _file_bytes(response) or None  # empty: no such file (or it could not be read)

    async def submit(self, message: dict[str, Any]) -> None:
        response = await self._request("POST", SUBMIT_PATH, json=message)
        if response.status_code != 200:
            raise self._fail(response, f"submitting message {message.get('backendMessageId')}")
        if _json_or_none(response) is not True:
            raise ConnectorUnavailable("e-CODEX connector did not confirm the submission", retryable=True)

    async def resubmit(self, stored: dict[str, Any]) -> None:
        # The client reads only storageInfo from this body (DomibusConnectorClientRestAPIImpl).
        response = await self._request("POST", RESUBMIT_PATH, json=stored)
        if response.status_code != 200:
            raise self._fail(response, f"submitting stored message {stored.get('backendMessageId')} again")

    async def _list(self, path: str, doing: str) -> list[dict[str, Any]]:
        response = await self._request("GET", path)
        if response.status_code != 200:
            raise self._fail(response, doing)
        answer = _json_or_none(response)  # null when nothing waits: an empty 200
        if not isinstance(answer, dict):
            return []
        messages = answer.get("messages") or []
        return [m for m in messages if isinstance(m, dict)]

    async def confirmed_or_rejected(self) -> list[dict[str, Any]]:
        return await self._list(CONFIRMED_PATH, "fetching evidences")

    async def new_messages(self) -> list[dict[str, Any]]:
        return await self._list(NEW_MESSAGES_PATH, "fetching incoming messages")

    async def trigger_confirmation(self, ref_to_message_id: str, confirmation_type: str) -> None:
        if confirmation_type not in TRIGGERABLE:
            raise ValueError(f"a back end cannot trigger {confirmation_type}")
        response = await self._request(
            "POST",
            TRIGGER_CONFIRMATION_PATH,
            params={"refToMessageId": ref_to_message_id, "confirmationType": confirmation_type},
            # consumes = "application/json": without this header Spring answers 415, though no body is read.
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise self._fail(response, f"sending {confirmation_type} for {ref_to_message_id}")


def _json_or_none(response: httpx.Response) -> Any:
    """The answer's JSON, or None for Spring's empty body (a controller that returned null)."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorUnavailable(
            f"e-CODEX connector answered {response.status_code} with something that is not JSON", retryable=True
        ) from exc


def _file_bytes(response: httpx.Response) -> bytes:
    """The ``byte[]`` of loadFileContentFromStorage.

    Ambiguous in the source: the method (client-app-rest-api/…/rest/DomibusConnectorClientRestAPI.java) declares
    no ``produces``, so Spring's message converters decide how a ``byte[]`` goes out: as the raw bytes, or, where
    a JSON converter answers first, as a JSON string in base64. Both are read; an evidence document is XML and
    never starts with a quote.
    """
    data = response.content
    stripped = data.strip()
    if stripped.startswith(b'"') and stripped.endswith(b'"'):
        try:
            text = json.loads(stripped)
            return base64.b64decode(text, validate=True) if isinstance(text, str) else data
        except (ValueError, binascii.Error):
            return data
    return data


def backend_message_id(message_id: str, attempt: int) -> str:
    """The backend message id of the ``attempt``-th submission of our message (1 = the message id itself)."""
    return message_id if attempt <= 1 else f"{message_id}~{attempt}"


def our_message_id(backend_id: str) -> str:
    """Our message id behind a backend message id (see :func:`backend_message_id`)."""
    return _ATTEMPT_SUFFIX.sub("", backend_id)


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


def _client_message(options: EcodexOptions, message: OutboundMessage, backend_id: str) -> dict[str, Any]:
    envelope = message.sealed.envelope
    return {
        "backendMessageId": backend_id,
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
        "files": {"files": client_files(business_content(message.sealed), message.attachments)},
    }


@register_adapter
class EcodexAdapter(Adapter):
    """Submit to our connector client; evidences come later through :func:`fetch_evidences`."""

    name = "ecodex"
    Options = EcodexOptions
    options: EcodexOptions

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        message_id = message.sealed.envelope.message_id
        submitted = False
        async with ConnectorClient(self.options) as client:
            # Idempotent by backend message id: a retry after a lost answer must not send twice. Walk the
            # message's backend ids to the first one the client does not have or still holds on its way.
            for attempt in range(1, MAX_SUBMISSIONS + 1):
                backend_id = backend_message_id(message_id, attempt)
                existing = await client.message_by_backend_id(backend_id)
                if existing is None:
                    await client.submit(_client_message(self.options, message, backend_id))
                    submitted = True
                    break
                status = existing.get("messageStatus")
                if status == _RESUBMIT_STATUS:
                    await client.resubmit(existing)
                    submitted = True
                    break
                if status not in _NEW_ID_STATUSES:
                    break  # SENDING, SENT, ACCEPTED, CONFIRMED…: already on its way
            else:
                raise ConnectorUnavailable(
                    f"message {message_id} failed {MAX_SUBMISSIONS} submissions to the e-CODEX connector",
                    retryable=False,
                )
            stored = await client.message_by_backend_id(backend_id) or {}
        reference = stored.get("ebmsMessageId") or backend_id
        return DeliveryResult(
            delivered=False,
            reference=reference,
            response={
                "submitted": submitted,
                "backendMessageId": backend_id,
                "ebmsMessageId": stored.get("ebmsMessageId"),
                "messageStatus": stored.get("messageStatus"),
                "action": action_for(message.sealed.envelope.type),
            },
        )


# --- the receiving side: evidences and incoming messages -------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    """A ``java.util.Date`` as Jackson wrote it.

    Ambiguous in the source: DomibusConnectorClientConfirmation.received and DomibusConnectorClientMessage.created
    (client-app-rest-api/…/rest/model/) carry no @JsonFormat and the client sets no date format of its own, so
    Spring Boot's defaults decide: epoch milliseconds, or ISO text where an operator turned
    WRITE_DATES_AS_TIMESTAMPS off. Both are read.
    """
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

    The connector's confirmation type decides type and outcome. The time is the one the connector documented:
    the REM document's EventTime, set by the connector or gateway that issued the evidence. The client's own
    ``received`` is only when the client stored it (client-app-controller/…/persistence/service/
    DomibusConnectorClientPersistenceService.java ``persistNewConfirmation``: ``new Date()``), minutes or hours
    after the event when the client was down or its connector slow. It is used only when the evidence carries
    no time of its own: no document (the client had no file for it), a document that cannot be read, or one
    without an EventTime; the confirmation DTO (client-app-rest-api/…/rest/model/
    DomibusConnectorClientConfirmation.java) has no other date. ``now`` is the last resort, when neither is
    there. Unknown confirmation types are skipped, not guessed.
    """
    found: list[Evidence] = []
    backend_id = str(message.get("backendMessageId") or "")
    for confirmation in message.get("evidences") or []:
        source_type = str(confirmation.get("confirmationType", ""))
        if source_type not in CONFIRMATION_TYPES:
            continue
        stage, outcome = CONFIRMATION_TYPES[source_type]
        stored_at = _timestamp(confirmation.get("received"))
        documented_at: datetime | None = None
        reason: str | None = None
        document_text: str | None = None
        raw = confirmation.get("confirmation")
        if isinstance(raw, str) and raw:
            try:
                document = base64.b64decode(raw, validate=True)
                parsed = parse_evidence_document(document)
                document_text = document.decode("utf-8", errors="replace")
                documented_at = parsed.at
                reason = parsed.reason
            except (binascii.Error, EvidenceDocumentInvalid) as exc:
                reason = f"evidence document unreadable: {exc}"
        if documented_at is None:
            # The client's storage cannot give this evidence's document (a file missing or unreadable: the
            # client answers both alike, AbstractDomibusConnectorClientFileSystemReaderImpl), or the document
            # has no EventTime: the case shows when the client stored it instead (debug: the poller looks a
            # waiting message up every round).
            log.debug("e-CODEX evidence %s of %s carries no time of its own: using the client's storage time %s",
                      source_type, backend_id, stored_at)
        found.append(
            Evidence(
                type=stage,
                outcome=outcome,
                # The connector's time; the client's storage time only for an evidence that carries none.
                at=documented_at or stored_at or now or datetime.now(UTC),
                message_reference=our_message_id(backend_id),
                channel=CHANNEL,
                source_type=source_type,
                transport_reference=message.get("ebmsMessageId"),
                reason=reason,
                document=document_text,
            )
        )
    return sorted(found, key=lambda e: (e.at, e.type))


async def fetch_evidences(options: EcodexOptions) -> list[Evidence]:
    """Evidences for our messages that became CONFIRMED or REJECTED since the last call.

    A message comes back each time it becomes CONFIRMED or REJECTED again, with all its evidences, so
    callers de-duplicate (the poller on the submission's ebMS id and the confirmation type); repeating one
    is harmless. The first arrival of an evidence may be kept: it has the same document, and so the same
    time, whichever way it came (see :func:`evidences_for`).
    """
    async with ConnectorClient(options) as client:
        messages = await client.confirmed_or_rejected()
    return [evidence for message in messages for evidence in evidences_from_message(message)]


# The client stores each evidence beside its message as "<confirmation type>.xml" and the lists read it back
# under that name (DomibusConnectorClientRestUtil.mapMessageFromModel: confirmationType + ".xml"; written by
# client-app-fs-storage/…/AbstractDomibusConnectorClientFileSystemWriterImpl.java writeConfirmationToFileSystem).
_EVIDENCE_FILE_SUFFIX = ".xml"


async def _with_documents(client: ConnectorClient, message: dict[str, Any]) -> dict[str, Any]:
    """The message with each evidence's document read from the client's storage, as the lists give it.

    getMessageByBackendMessageId sends evidences without their documents (DomibusConnectorClientRestAPIImpl:
    ``mapMessageFromModel(…, false)``), so the time they document would be lost. The file is the one the
    lists load, and it is there as soon as the evidence is listed: the client writes it before it records
    the confirmation (client-app-controller/…/backend/impl/DomibusConnectorClientBackendImpl.java
    ``deliverNewConfirmationToClientBackend``: storeConfirmationToMessage, then persistNewConfirmation). An
    evidence whose file the client does not have keeps its storage time, as in the lists. A failure to read
    it raises (the poller tries again next round) rather than pass the evidence on with the storage time.
    """
    storage = str(message.get("storageInfo") or "")
    evidences: list[Any] = []
    for confirmation in message.get("evidences") or []:
        if (
            storage
            and isinstance(confirmation, dict)
            and not confirmation.get("confirmation")
            and confirmation.get("confirmationType") in CONFIRMATION_TYPES  # also keeps the file name safe
        ):
            name = f"{confirmation['confirmationType']}{_EVIDENCE_FILE_SUFFIX}"
            document = await client.stored_file(storage, name)
            if document:
                confirmation = {**confirmation, "confirmation": base64.b64encode(document).decode("ascii")}
        evidences.append(confirmation)
    return {**message, "evidences": evidences}


async def evidences_for(options: EcodexOptions, message_id: str) -> list[Evidence]:
    """All evidences so far for one of our messages, across its backend ids (for messages still ACCEPTED,
    which the client never lists, and for a check before alerting), each with its document and the time it
    documents, as :func:`fetch_evidences` gives them."""
    found: list[Evidence] = []
    async with ConnectorClient(options) as client:
        for attempt in range(1, MAX_SUBMISSIONS + 1):
            message = await client.message_by_backend_id(backend_message_id(message_id, attempt))
            if message is None:
                break
            found.extend(evidences_from_message(await _with_documents(client, message)))
    return sorted(found, key=lambda e: (e.at, e.type))


class IncomingUnreadable(ValueError):
    """A message from our connector that probatio cannot take in; ``reason`` goes back as NON_RETRIEVAL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IncomingEcodexMessage:
    """A message another state sent us over e-CODEX, ready for the intake's ``open_envelope``."""

    body: bytes
    headers: dict[str, str]
    attachments: list[Attachment]
    """The sender's business document and attachments (never the connector's Token.pdf / Token.xml)."""
    ebms_message_id: str | None
    action: str
    conversation_id: str | None
    trust: TrustVerdict = NO_TOKEN
    """The sending connector's trust-OK token, read from Token.xml."""
    token_pdf: bytes | None = None


def read_incoming(message: dict[str, Any]) -> IncomingEcodexMessage:
    """Unpack one message of the "new messages" list; raises :class:`IncomingUnreadable` with the reason."""
    action = str(message.get("action") or "")
    if message_type_for(action) is None:
        raise IncomingUnreadable(f"action {action!r} is not one of the FD 2008/947/JHA actions of this node")
    try:
        files = split_incoming_files(message)
    except ValueError as exc:
        raise IncomingUnreadable(str(exc)) from exc
    if files.business_content is None:
        raise IncomingUnreadable("the message has no business content (BUSINESS_CONTENT file)")
    try:
        body, headers = read_business_content(files.business_content)
    except ValueError as exc:
        raise IncomingUnreadable(str(exc)) from exc
    trust = read_trust_token(files.token_xml) if files.token_xml is not None else NO_TOKEN
    return IncomingEcodexMessage(
        body=body,
        headers=headers,
        attachments=files.attachments,
        ebms_message_id=message.get("ebmsMessageId"),
        action=action,
        conversation_id=message.get("conversationId"),
        trust=trust,
        token_pdf=files.token_pdf,
    )


async def fetch_incoming(options: EcodexOptions) -> list[dict[str, Any]]:
    """New messages for us, as the client sends them. The client has already marked them delivered to the
    back end and will never list them again: keep every one before reading any (:func:`read_incoming`)."""
    async with ConnectorClient(options) as client:
        return await client.new_messages()


async def trigger_confirmation(options: EcodexOptions, ebms_message_id: str, confirmation_type: str) -> None:
    """Ask our connector to send DELIVERY, NON_DELIVERY, RETRIEVAL or NON_RETRIEVAL for a received message.

    The connector issues RETRIEVAL and NON_RETRIEVAL only after a DELIVERY for the same message
    (e-CODEX/connector, domibusConnectorEvidencesToolkit/…/DomibusConnectorEvidencesToolkitImpl.java
    ``createRetrievalEvidence``), so DELIVERY goes first. The client's REST trigger carries no reason
    (DomibusConnectorClientSubmissionRestAPIImpl passes none on): the reason of a NON_RETRIEVAL stays in
    our audit log, and the sender learns it from the connector's own rejection reason only.
    """
    async with ConnectorClient(options) as client:
        await client.trigger_confirmation(ebms_message_id, confirmation_type)
