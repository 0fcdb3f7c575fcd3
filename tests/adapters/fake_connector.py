"""A fake e-CODEX connector client: a real HTTP server on 127.0.0.1 speaking the connector client's REST API,
with the part of the connector and gateway behind it that a back end can notice.

It follows these files, read at the commits named (never copied):

eu-LISA/domibusConnectorClient at e4eb25fb95b7a06fb36bdbc870fab64f2fca4402 (2024-09-23), under client-application/:
- client-app-rest-api/…/rest/DomibusConnectorClientRestAPI.java, …MessageRestAPI.java, …SubmissionRestAPI.java:
  paths, methods, request parameters and ``consumes = "application/json"`` (a POST without that Content-Type
  gets 415 from Spring before the controller runs, even where no body is read).
- client-app-rest-api/…/rest/exception/RestExceptionHandler.java: MessageNotFound → 404, Parameter → 400,
  Storage and MessageSubmission → 500, each with the exception's text as a plain body.
- client-app-controller/…/rest/impl/DomibusConnectorClientMessageRestAPIImpl.java: the two lists return ``null``
  (an empty 200) when nothing waits; "new messages" lists RECEIVED ones and marks them DELIVERED_BACKEND,
  "rejected or confirmed" lists REJECTED or CONFIRMED ones and marks them CONFIRMATION_DELIVERED_BACKEND,
  both with file and evidence contents (``mapMessagesFromModel(…, true)``).
- …/rest/impl/DomibusConnectorClientRestAPIImpl.java: getMessageByBackendMessageId without contents;
  submitStoredClientMessage by ``storageInfo``; loadFileContentFromStorage gives one stored file as its bytes.
- …/rest/util/DomibusConnectorClientRestUtil.java (``mapMessageFromModel``): with contents, each evidence's
  document is the stored file ``<confirmation type>.xml``; client-app-fs-storage/…/
  AbstractDomibusConnectorClientFileSystemReaderImpl.java (``loadFileContentFromMessageFolder``): a file that is
  not there is an empty byte array, and …/DomibusConnectorClientFSStorageImpl.java: a storage location that is not
  there is an exception the REST API answers with 400. An evidence thus has two times: the one its document
  states (EventTime, the connector's) and the client's ``received``, which
  …/persistence/service/DomibusConnectorClientPersistenceService.java ``persistNewConfirmation`` sets to the
  client's clock when it stores it (:meth:`FakeConnector.add_evidence` takes both). These points were read at
  the versions 3bb1dc90, 38c3c99c and 6565ca65 of the same repository, not at e4eb25fb.
- …/rest/impl/DomibusConnectorClientSubmissionRestAPIImpl.java and
  …/backend/impl/DomibusConnectorClientBackendImpl.java: a new message is stored PREPARED, then SENT, or
  FAILED with a 500 when the connector cannot be reached; a confirmation's file is written before its row
  (``deliverNewConfirmationToClientBackend``);
  only a PREPARED message may be submitted again; triggerConfirmation finds the original by ebMS id, then by
  backend id (404 if neither), and answers ``null``; a confirmation sets CONFIRMED (DELIVERY, RETRIEVAL),
  REJECTED (NON_DELIVERY, SUBMISSION_REJECTION, RELAY_REMMD_FAILURE, NON_RETRIEVAL, RELAY_REMMD_REJECTION) or
  ACCEPTED (SUBMISSION_ACCEPTANCE, RELAY_REMMD_ACCEPTANCE); its ``received`` is the client's clock.
- …/persistence/service/DomibusConnectorClientPersistenceService.java (findOriginalClientMessage) and
  client-app-fs-storage/…/standard/reader/DefaultFSReaderImpl.java (every extra file is a BUSINESS_ATTACHMENT,
  evidences are CONFIRMATION files named after their type).

e-CODEX/connector at 0d4f5012af083321944e98b6420095992e6dd148 (2024-10-14):
- domibusConnectorEvidencesToolkit/src/main/java/eu/spocseu/common/SpocsConstants.java: root elements and event
  codes of the REM evidences (``http:uri.etsi.org/02640/Event#…``; the relay failure's and the retrieval's
  negative codes are DeliveryExpiration and RetrievalExpiration).
- …/ecodex/connector/evidences/DomibusConnectorEvidencesToolkitImpl.java: RETRIEVAL and NON_RETRIEVAL only after
  a DELIVERY.
- domibusConnectorController/…/spring/default-connector.properties and CheckEvidencesTimeoutProcessorImpl.java:
  relay 12 h, delivery 24 h, retrieval 36 h; the sending connector then issues the negative evidence itself.
- domibusConnectorSecurityToolkit/…/DomibusSecurityToolkitImpl.java and the test token
  domibusConnectorController/src/test/resources/testmessages/msg1/Token.xml: the receiving connector adds
  ``Token.xml`` and ``Token.pdf`` (its trust-OK verdict on the business document's signature).

Simplifications, on purpose: no database or storage of its own (``storageInfo`` is a made-up path), the
ebMS id is given at submission, and the gateway is a method call to the peer fake (:meth:`FakeConnector.link`),
which is how ``probatio dev --link ecodex`` relays between the two nodes' emulators.

Use it as a context manager::

    with FakeConnector(party_id="LU-GW") as lu, FakeConnector(party_id="BE-GW") as be:
        lu.link(be)
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

# One lock for every fake in the process: a relay from one fake to its peer happens under it, as one step.
_GATEWAY = threading.RLock()

_EVENT = "http:uri.etsi.org/02640/Event#"
# Confirmation type → (REM root element, event code), after SpocsConstants.Evidences.
_REM_SHAPE: dict[str, tuple[str, str]] = {
    "SUBMISSION_ACCEPTANCE": ("SubmissionAcceptanceRejection", _EVENT + "Acceptance"),
    "SUBMISSION_REJECTION": ("SubmissionAcceptanceRejection", _EVENT + "Rejection"),
    "RELAY_REMMD_ACCEPTANCE": ("RelayREMMDAcceptanceRejection", _EVENT + "Acceptance"),
    "RELAY_REMMD_REJECTION": ("RelayREMMDAcceptanceRejection", _EVENT + "Rejection"),
    "RELAY_REMMD_FAILURE": ("RelayREMMDFailure", _EVENT + "DeliveryExpiration"),
    "DELIVERY": ("DeliveryNonDeliveryToRecipient", _EVENT + "Delivery"),
    "NON_DELIVERY": ("DeliveryNonDeliveryToRecipient", _EVENT + "NonDelivery"),
    "RETRIEVAL": ("RetrievalNonRetrievalByRecipient", _EVENT + "Retrieval"),
    "NON_RETRIEVAL": ("RetrievalNonRetrievalByRecipient", _EVENT + "RetrievalExpiration"),
}
_STATUS_AFTER = {
    "DELIVERY": "CONFIRMED", "RETRIEVAL": "CONFIRMED",
    "NON_DELIVERY": "REJECTED", "SUBMISSION_REJECTION": "REJECTED", "RELAY_REMMD_FAILURE": "REJECTED",
    "NON_RETRIEVAL": "REJECTED", "RELAY_REMMD_REJECTION": "REJECTED",
    "SUBMISSION_ACCEPTANCE": "ACCEPTED", "RELAY_REMMD_ACCEPTANCE": "ACCEPTED",
}  # fmt: skip
TRIGGERABLE = ("DELIVERY", "NON_DELIVERY", "RETRIEVAL", "NON_RETRIEVAL")
# The connector's default evidence time-outs (default-connector.properties).
RELAY_TIMEOUT = timedelta(hours=12)
DELIVERY_TIMEOUT = timedelta(hours=24)
RETRIEVAL_TIMEOUT = timedelta(hours=36)

SUBMIT = "/submissionrestservice/submitNewMessageFromBackendToConnectorClient"
TRIGGER = "/submissionrestservice/triggerConfirmationAtConnectorClient"
RESUBMIT = "/restservice/submitStoredClientMessage"
BY_BACKEND_ID = "/restservice/getMessageByBackendMessageId"
LOAD_FILE = "/restservice/loadFileContentFromStorage"
CONFIRMED_LIST = "/messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient"
NEW_LIST = "/messagerestservice/requestNewMessagesFromConnectorClient"
_JSON_POSTS = (SUBMIT, TRIGGER, RESUBMIT)


def rem_evidence_xml(
    confirmation_type: str,
    *,
    at: datetime,
    backend_message_id: str,
    ebms_message_id: str,
    reason: str | None = None,
    event_code: str | None = None,
) -> bytes:
    """An ETSI REM evidence document like the connector's (without its XML signature)."""
    root, event = _REM_SHAPE[confirmation_type]
    reasons = (
        "<EventReasons><EventReason><Code>http://uri.etsi.org/REM/EventReason#Other</Code>"
        f"<Details>{escape(reason)}</Details></EventReason></EventReasons>"
        if reason
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<{root} xmlns="http://uri.etsi.org/02640/v2#" version="2">'
        f"<EventCode>{escape(event_code or event)}</EventCode>{reasons}"
        f"<EvidenceIdentifier>{uuid.uuid4()}</EvidenceIdentifier>"
        f"<EventTime>{at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}</EventTime>"
        "<SenderMessageDetails><MessageSubject>probatio</MessageSubject>"
        f"<UAMessageIdentifier>{escape(backend_message_id)}</UAMessageIdentifier>"
        f"<MessageIdentifierByREMMD>{escape(ebms_message_id)}</MessageIdentifierByREMMD>"
        "</SenderMessageDetails>"
        f"</{root}>"
    ).encode()


def trust_token_xml(technical: str = "SUCCESSFUL", legal: str = "SUCCESSFUL", *, document: str = "document.pdf",
                    comments: str = "") -> bytes:
    """A ``Token.xml`` shaped like the connector's (TechnicalTrustLevel / LegalTrustLevel values)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><TrustOkToken xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        "<Issuer><ServiceProvider>probatio fake connector</ServiceProvider><Country>EU</Country>"
        "<AdvancedElectronicSystem>Signature-based</AdvancedElectronicSystem></Issuer>"
        f"<Document><Filename>{escape(document)}</Filename><Type>PDF</Type></Document>"
        f"<Validation><VerificationTime>{datetime.now(UTC).isoformat()}</VerificationTime>"
        f"<TechnicalResult><TrustLevel>{technical}</TrustLevel><Comments>{escape(comments)}</Comments></TechnicalResult>"
        f"<LegalResult><TrustLevel>{legal}</TrustLevel></LegalResult></Validation></TrustOkToken>"
    ).encode()


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that does not print a traceback when a client gave up waiting."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class FakeConnector:
    """One connector client with its connector and gateway; knobs a test turns to make it misbehave."""

    party_id: str = "FAKE-GW"
    """This gateway's party id: a peer relays to us what is addressed to it (``toPartyId``)."""
    connector_down: bool = False
    """The connector behind the client cannot be reached: submissions end FAILED with a 500."""
    fail_submissions: int = 0
    """That many next submissions fail as if the connector were down."""
    reject_submissions: bool = False
    """The connector refuses submissions: SUBMISSION_REJECTION instead of an acceptance."""
    token: tuple[str, str] = ("SUCCESSFUL", "SUCCESSFUL")
    """The trust-OK verdict (technical, legal) this connector gives to business documents it receives."""
    delay_seconds: float = 0.0
    """Every answer waits this long (to test time-outs)."""
    required_password: tuple[str, str] | None = None
    """When set, requests without this basic-auth user and password get 401 (the real client has no
    authentication at all: put it behind a proxy that does this, deploy/README.md)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    """Every message the client holds, outgoing and received, as the client's database would."""
    triggered: list[tuple[str, str]] = field(default_factory=list)
    """(refToMessageId, confirmationType) of every trigger the back end called."""
    refused_triggers: list[tuple[str, str]] = field(default_factory=list)
    """Triggers the connector could not turn into evidence (RETRIEVAL before DELIVERY)."""
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Content-Type) of every request."""
    peers: dict[str, FakeConnector] = field(default_factory=dict)
    _server: QuietHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "use FakeConnector as a context manager (or call start)"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> FakeConnector:
        self._server = QuietHTTPServer(("127.0.0.1", port), _handler(self))
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeConnector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def link(self, peer: FakeConnector) -> None:
        """Connect the two gateways both ways (each relays to the other what is addressed to its party)."""
        self.peers[peer.party_id] = peer
        peer.peers[self.party_id] = self

    # --- looking things up ---------------------------------------------------------------------------

    def by_backend_id(self, backend_message_id: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m.get("backendMessageId") == backend_message_id), None)

    def by_ebms_id(self, ebms_message_id: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m.get("ebmsMessageId") == ebms_message_id), None)

    def outgoing(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["direction"] == "out"]

    def received(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["direction"] == "in"]

    # --- what the connector, the gateways and the far side do ---------------------------------------

    def add_evidence(
        self,
        backend_message_id: str,
        confirmation_type: str,
        *,
        at: datetime | None = None,
        stored_at: datetime | None = None,
        reason: str | None = None,
        event_code: str | None = None,
    ) -> None:
        """An evidence arrives from the connector for one of the submitted messages: ``at`` is the event time its
        document states, ``stored_at`` when the client stored it (its ``received``; default: now)."""
        with _GATEWAY:
            message = self.by_backend_id(backend_message_id)
            assert message is not None, f"no message {backend_message_id}"
            self._evidence(message, confirmation_type, at=at or datetime.now(UTC), stored_at=stored_at,
                           reason=reason, event_code=event_code)

    def lose_evidence_file(self, backend_message_id: str, confirmation_type: str) -> None:
        """The client's storage no longer has this evidence's file (the row in its database stays)."""
        with _GATEWAY:
            message = self.by_backend_id(backend_message_id)
            assert message is not None, f"no message {backend_message_id}"
            for evidence in message["evidences"]:
                if evidence["confirmationType"] == confirmation_type:
                    evidence["confirmation"] = ""  # what the lists then send: an empty byte array

    def _evidence(self, message: dict[str, Any], confirmation_type: str, *, at: datetime,
                  stored_at: datetime | None = None, reason: str | None = None, event_code: str | None = None
                  ) -> None:
        document = rem_evidence_xml(confirmation_type, at=at, backend_message_id=message["backendMessageId"],
                                    ebms_message_id=message.get("ebmsMessageId") or "", reason=reason,
                                    event_code=event_code)
        message["evidences"].append({
            "id": sum(len(m["evidences"]) for m in self.messages) + 1,
            "confirmationType": confirmation_type,
            # The client's storage time (persistNewConfirmation: new Date()), not the event's.
            "received": _millis(stored_at or datetime.now(UTC)),
            # The stored file <confirmation type>.xml, shown only where the client loads contents.
            "confirmation": _b64(document),
        })  # fmt: skip
        message["lastConfirmationReceived"] = confirmation_type
        message["messageStatus"] = _STATUS_AFTER[confirmation_type]

    def has(self, message: dict[str, Any], confirmation_type: str) -> bool:
        return any(e["confirmationType"] == confirmation_type for e in message["evidences"])

    def queue_incoming(self, message: dict[str, Any], *, token: tuple[str, str] | None = None) -> dict[str, Any]:
        """A message from another state arrives through our gateway and connector, for the back end.

        Our connector validated its business document and adds the trust-OK token as two attachments.
        """
        with _GATEWAY:
            files = [dict(f) for f in (message.get("files") or {}).get("files") or []]
            document = next((f for f in files if f.get("fileType") == "BUSINESS_DOCUMENT"), None)
            technical, legal = token or self.token
            files.append({"fileName": "Token.xml", "fileType": "BUSINESS_ATTACHMENT",
                          "fileContent": _b64(trust_token_xml(technical, legal,
                                                              document=(document or {}).get("fileName", "")))})
            files.append({"fileName": "Token.pdf", "fileType": "BUSINESS_ATTACHMENT",
                          "fileContent": _b64(b"%PDF-1.4\n% trust-OK token\n%%EOF\n")})
            received = {
                **{k: v for k, v in message.items()
                   if k not in ("files", "evidences", "id", "storageInfo", "submittedAt", "_given")},
                "id": len(self.messages) + 1,
                "direction": "in",
                "ebmsMessageId": message.get("ebmsMessageId") or f"{uuid.uuid4()}@{self.party_id.lower()}",
                # A received message's backend id is the client's own (generateBackendMessageId).
                "backendMessageId": f"{uuid.uuid4()}@client",
                "messageStatus": "RECEIVED",
                "storageStatus": "STORED",
                "storageInfo": f"/messages/in/{len(self.messages) + 1}",
                "created": _millis(datetime.now(UTC)),
                "evidences": [],
                "files": {"files": files},
            }
            self.messages.append(received)
            return received

    def _relay(self, message: dict[str, Any]) -> None:
        """The gateway carries a submitted message to the peer the P-Mode names (its ``toPartyId``)."""
        peer = self.peers.get(str(message.get("toPartyId") or ""))
        if peer is None:
            return  # nobody answers: the relay time-out will tell
        # The connector fills in its own party where the back end left it out.
        peer.queue_incoming({**message, "fromPartyId": message.get("fromPartyId") or self.party_id})
        self._evidence(message, "RELAY_REMMD_ACCEPTANCE", at=datetime.now(UTC))

    def _submit(self, message: dict[str, Any]) -> tuple[int, Any]:
        if self.connector_down or self.fail_submissions > 0:
            self.fail_submissions = max(0, self.fail_submissions - 1)
            message["messageStatus"] = "FAILED"
            return 500, "Client backend failure: Exception submitting message through domibusConnectorClientLibrary!"
        message["messageStatus"] = "SENT"
        message["ebmsMessageId"] = message.get("ebmsMessageId") or f"{uuid.uuid4()}@{self.party_id.lower()}"
        message["submittedAt"] = datetime.now(UTC).isoformat()
        if self.reject_submissions:
            self._evidence(message, "SUBMISSION_REJECTION", at=datetime.now(UTC), reason="refused by the fake")
        else:
            self._evidence(message, "SUBMISSION_ACCEPTANCE", at=datetime.now(UTC))
            self._relay(message)
        return 200, True

    def _trigger(self, ref: str, confirmation_type: str) -> tuple[int, Any]:
        original = self.by_ebms_id(ref) or self.by_backend_id(ref)
        if original is None:
            return 404, f"Original client message with refToMessageId {ref} not found!"
        if confirmation_type not in _STATUS_AFTER:
            # DomibusConnectorConfirmationType.valueOf throws; no handler maps it, so Spring answers 500.
            return 500, f"No enum constant DomibusConnectorConfirmationType.{confirmation_type}"
        self.triggered.append((ref, confirmation_type))
        if confirmation_type not in TRIGGERABLE:
            return 500, f"Client backend failure: ConfirmationType invalid for connectorClient to trigger! {ref}"
        original["messageStatus"] = "CONFIRMATION_TRIGGERED"
        sender = self.peers.get(str(original.get("fromPartyId") or ""))
        sent = sender.by_ebms_id(str(original.get("ebmsMessageId"))) if sender else None
        given: list[str] = original.setdefault("_given", [])
        if confirmation_type in ("RETRIEVAL", "NON_RETRIEVAL") and "DELIVERY" not in given:
            self.refused_triggers.append((ref, confirmation_type))  # the connector's toolkit refuses it
            return 200, None
        given.append(confirmation_type)
        if sender is not None and sent is not None:
            sender._evidence(sent, confirmation_type, at=datetime.now(UTC))
        return 200, None

    def check_timeouts(self, now: datetime) -> list[tuple[str, str]]:
        """The connector's hourly time-out check, at ``now``: negative evidences for what is overdue."""
        issued: list[tuple[str, str]] = []
        with _GATEWAY:
            for message in self.outgoing():
                if message["messageStatus"] in ("REJECTED", "FAILED", "PREPARED") or "submittedAt" not in message:
                    continue
                age = now - datetime.fromisoformat(message["submittedAt"])
                for needed, timeout, negative in (("RELAY_REMMD_ACCEPTANCE", RELAY_TIMEOUT, "RELAY_REMMD_FAILURE"),
                                                  ("DELIVERY", DELIVERY_TIMEOUT, "NON_DELIVERY"),
                                                  ("RETRIEVAL", RETRIEVAL_TIMEOUT, "NON_RETRIEVAL")):
                    if not self.has(message, needed) and age > timeout:
                        self._evidence(message, negative, at=now, reason=f"{needed} not received within {timeout}")
                        issued.append((message["backendMessageId"], negative))
                        break
        return issued

    # --- the REST endpoints -------------------------------------------------------------------------

    def _public(self, message: dict[str, Any], *, contents: bool) -> dict[str, Any]:
        """The message as the REST API shows it (DomibusConnectorClientRestUtil.mapMessageFromModel)."""
        shown = {k: v for k, v in message.items() if k not in ("direction", "submittedAt", "_given")}
        shown["evidences"] = [e if contents else {**e, "confirmation": None} for e in message["evidences"]]
        files = message["files"]["files"]
        shown["files"] = {"files": [f if contents else {**f, "fileContent": None} for f in files]}
        return shown

    def _load_file(self, query: dict[str, str]) -> tuple[int, Any]:
        """loadFileContentFromStorage: the bytes of one stored file, empty when the folder has no such file."""
        if "storageLocation" not in query or "fileName" not in query:
            return 400, "Required request parameter is not present"
        stored = next((m for m in self.messages if m.get("storageInfo") == query["storageLocation"]), None)
        if stored is None:
            return 400, f"Parameter failure: Storage location is not valid! {query['storageLocation']}"
        name = query["fileName"]
        # An evidence file is overwritten by a later one of the same type (writeConfirmationToFileSystem).
        evidence = next((e for e in reversed(stored["evidences"]) if f"{e['confirmationType']}.xml" == name), None)
        if evidence is not None:
            return 200, base64.b64decode(evidence["confirmation"] or "")
        file = next((f for f in stored["files"]["files"] if f.get("fileName") == name), None)
        return 200, base64.b64decode((file or {}).get("fileContent") or "")

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with _GATEWAY:
            if (method, path) == ("POST", SUBMIT):
                missing = [k for k in ("backendMessageId", "service", "action", "finalRecipient") if not body.get(k)]
                files = (body.get("files") or {}).get("files") or []
                if not any(f.get("fileType") == "BUSINESS_CONTENT" for f in files):
                    missing.append("BUSINESS_CONTENT file")
                if missing:
                    # A simplification: the real client fails later, but a request it cannot use is 400 too.
                    return 400, "Parameter failure: missing " + ", ".join(missing)
                if self.by_backend_id(body["backendMessageId"]) is not None:
                    # persistNewMessage stores a second row; the client's later lookup by backend id fails.
                    return 500, "Storage failure: query did not return a unique result"
                message = {
                    **{k: v for k, v in body.items() if k not in ("id", "messageStatus", "evidences")},
                    "id": len(self.messages) + 1,
                    "direction": "out",
                    "messageStatus": "PREPARED",
                    "storageStatus": "STORED",
                    "storageInfo": f"/messages/out/{len(self.messages) + 1}",
                    "created": _millis(datetime.now(UTC)),
                    "evidences": [],
                    "files": {"files": files},
                }
                self.messages.append(message)
                return self._submit(message)
            if (method, path) == ("POST", RESUBMIT):
                stored = next((m for m in self.messages if m.get("storageInfo") == body.get("storageInfo")), None)
                if not body.get("storageInfo"):
                    return 400, "Parameter failure: Storage location is null or empty! "
                if stored is None:
                    return 500, "Storage failure: ClientMessage could not be read from storage!"
                if stored["messageStatus"] != "PREPARED":
                    return 500, ("Client backend failure: ClientMessage in database to submit must have the "
                                 f"messageStatus set as PREPARED! Database id: {stored['id']}")
                return self._submit(stored)
            if (method, path) == ("GET", BY_BACKEND_ID):
                found = self.by_backend_id(query.get("backendMessageId", ""))
                if found is None:
                    return 404, f"No message with backendMessageId found in database: {query.get('backendMessageId')}"
                return 200, self._public(found, contents=False)
            if (method, path) == ("GET", LOAD_FILE):
                return self._load_file(query)
            if (method, path) == ("GET", CONFIRMED_LIST):
                listed = [m for m in self.outgoing() if m["messageStatus"] in ("REJECTED", "CONFIRMED")]
                answer = {"messages": [self._public(m, contents=True) for m in listed]}
                for m in listed:
                    m["messageStatus"] = "CONFIRMATION_DELIVERED_BACKEND"
                return 200, answer if listed else None
            if (method, path) == ("GET", NEW_LIST):
                listed = [m for m in self.received() if m["messageStatus"] == "RECEIVED"]
                for m in listed:
                    m["messageStatus"] = "DELIVERED_BACKEND"  # before answering, as the real client does
                return 200, {"messages": [self._public(m, contents=True) for m in listed]} if listed else None
            if (method, path) == ("POST", TRIGGER):
                if "refToMessageId" not in query or "confirmationType" not in query:
                    return 400, "Required request parameter is not present"
                return self._trigger(query["refToMessageId"], query["confirmationType"])
        return 404, f"no endpoint {method} {path}"


def _handler(fake: FakeConnector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b""
            if fake.delay_seconds:
                time.sleep(fake.delay_seconds)
            parsed = urlparse(self.path)
            fake.requests.append((method, parsed.path, self.headers.get("Content-Type")))
            if fake.required_password is not None:
                expected = "Basic " + base64.b64encode(":".join(fake.required_password).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, "Unauthorized")
                    return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if method == "POST" and parsed.path in _JSON_POSTS and content_type != "application/json":
                # @PostMapping(consumes = "application/json"): HttpMediaTypeNotSupportedException.
                self._send(415, {"status": 415, "error": "Unsupported Media Type", "path": parsed.path})
                return
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            try:
                body = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                self._send(400, {"status": 400, "error": "Bad Request", "path": parsed.path})
                return
            status, answer = fake.handle(method, parsed.path, query, body)
            self._send(status, answer)

        def _send(self, status: int, answer: Any) -> None:
            # RestExceptionHandler answers errors as plain text; results are JSON; null is an empty body; a
            # byte[] goes out as it is (Spring's byte-array converter).
            if answer is None:
                data, kind = b"", None
            elif isinstance(answer, bytes):
                data, kind = answer, "application/octet-stream"
            elif isinstance(answer, str):
                data, kind = answer.encode(), "text/plain;charset=UTF-8"
            else:
                data, kind = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
