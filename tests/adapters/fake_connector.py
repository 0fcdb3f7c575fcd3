"""A fake e-CODEX connector client: a real HTTP server on 127.0.0.1 speaking the connector client's REST API.

It follows the back-end interface of eu-LISA/domibusConnectorClient closely enough for our adapter and
for anyone testing the receiving side: submissions are stored by backend message id, evidences are
ETSI REM XML documents (base64 in JSON, as Jackson writes ``byte[]``), and the "rejected or confirmed"
and "new messages" lists hand each message out once per change, as the real client does.

Use it as a context manager::

    with FakeConnector() as connector:
        options = {"connector_url": connector.url, ...}
        connector.add_evidence("msg-1", "DELIVERY")
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

# Root element and event code of each confirmation type, as ETSI TS 102 640-2 names them.
_REM_SHAPE: dict[str, tuple[str, str]] = {
    "SUBMISSION_ACCEPTANCE": ("SubmissionAcceptanceRejection", "Acceptance"),
    "SUBMISSION_REJECTION": ("SubmissionAcceptanceRejection", "Rejection"),
    "RELAY_REMMD_ACCEPTANCE": ("RelayREMMDAcceptanceRejection", "Acceptance"),
    "RELAY_REMMD_REJECTION": ("RelayREMMDAcceptanceRejection", "Rejection"),
    "RELAY_REMMD_FAILURE": ("RelayREMMDFailure", "Failure"),
    "DELIVERY": ("DeliveryNonDeliveryToRecipient", "Delivery"),
    "NON_DELIVERY": ("DeliveryNonDeliveryToRecipient", "NonDelivery"),
    "RETRIEVAL": ("RetrievalNonRetrievalByRecipient", "Retrieval"),
    "NON_RETRIEVAL": ("RetrievalNonRetrievalByRecipient", "NonRetrieval"),
}


def rem_evidence_xml(
    confirmation_type: str,
    *,
    at: datetime,
    backend_message_id: str,
    ebms_message_id: str,
    reason: str | None = None,
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
        f"<EventCode>http://uri.etsi.org/REM/Event#{event}</EventCode>{reasons}"
        f"<EvidenceIdentifier>{uuid.uuid4()}</EvidenceIdentifier>"
        f"<EventTime>{at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}</EventTime>"
        "<SenderMessageDetails><MessageSubject>probatio</MessageSubject>"
        f"<UAMessageIdentifier>{escape(backend_message_id)}</UAMessageIdentifier>"
        f"<MessageIdentifierByREMMD>{escape(ebms_message_id)}</MessageIdentifierByREMMD>"
        "</SenderMessageDetails>"
        f"</{root}>"
    ).encode()


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that does not print a traceback when a client gave up waiting."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class FakeConnector:
    """State of the fake, and knobs a test turns to make it misbehave."""

    fail_submissions: int = 0
    """That many next submissions are stored as FAILED and answered 500 (like a connector outage)."""
    reject_submissions: bool = False
    """Submissions get a SUBMISSION_REJECTION evidence instead of an acceptance."""
    delay_seconds: float = 0.0
    """Every answer waits this long (to test time-outs)."""
    required_password: tuple[str, str] | None = None
    """When set, requests without this basic-auth user and password get 401."""

    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    triggered: list[tuple[str, str]] = field(default_factory=list)
    incoming: list[dict[str, Any]] = field(default_factory=list)
    _changed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: QuietHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "use FakeConnector as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeConnector:
        self._server = QuietHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # --- what the far side and the gateways do -----------------------------------------------------

    def add_evidence(
        self, backend_message_id: str, confirmation_type: str, *, at: datetime | None = None, reason: str | None = None
    ) -> None:
        """An evidence arrives for one of the submitted messages."""
        moment = at or datetime.now(UTC)
        with self._lock:
            message = self.messages[backend_message_id]
            document = rem_evidence_xml(
                confirmation_type,
                at=moment,
                backend_message_id=backend_message_id,
                ebms_message_id=message["ebmsMessageId"],
                reason=reason,
            )
            message["evidences"].append(
                {
                    "id": len(message["evidences"]) + 1,
                    "confirmationType": confirmation_type,
                    "received": int(moment.timestamp() * 1000),
                    "confirmation": base64.b64encode(document).decode(),
                }
            )
            message["lastConfirmationReceived"] = confirmation_type
            negative = confirmation_type.startswith(("NON_", "SUBMISSION_REJ", "RELAY_REMMD_REJ", "RELAY_REMMD_F"))
            message["messageStatus"] = "REJECTED" if negative else "CONFIRMED"
            self._changed.add(backend_message_id)

    def queue_incoming(self, message: dict[str, Any]) -> None:
        """A message from another state arrives for the back-end."""
        with self._lock:
            self.incoming.append({"ebmsMessageId": f"{uuid.uuid4()}@fake.gw", "messageStatus": "RECEIVED", **message})

    # --- the REST endpoints -----------------------------------------------------------------------

    def _accept(self, message: dict[str, Any]) -> None:
        message["ebmsMessageId"] = message.get("ebmsMessageId") or f"{uuid.uuid4()}@fake.gw"
        message["messageStatus"] = "SENT"
        self.submissions.append(message)
        backend_id = message["backendMessageId"]
        self._lock.release()
        try:
            self.add_evidence(
                backend_id, "SUBMISSION_REJECTION" if self.reject_submissions else "SUBMISSION_ACCEPTANCE"
            )
        finally:
            self._lock.acquire()

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            if (method, path) == ("POST", "/submissionrestservice/submitNewMessageFromBackendToConnectorClient"):
                missing = [k for k in ("backendMessageId", "service", "action", "finalRecipient") if not body.get(k)]
                files = (body.get("files") or {}).get("files") or []
                if not any(f.get("fileType") == "BUSINESS_CONTENT" for f in files):
                    missing.append("BUSINESS_CONTENT file")
                if missing:
                    return 400, "Parameter failure: missing " + ", ".join(missing)
                message = {**body, "id": len(self.messages) + 1, "evidences": [], "created": int(time.time() * 1000)}
                self.messages[body["backendMessageId"]] = message
                if self.fail_submissions > 0:
                    self.fail_submissions -= 1
                    message["messageStatus"] = "FAILED"
                    return 500, "Client backend failure: connector not reachable"
                self._accept(message)
                return 200, True
            if (method, path) == ("POST", "/restservice/submitStoredClientMessage"):
                stored = self.messages.get(body.get("backendMessageId", ""))
                if stored is None:
                    return 400, "Parameter failure: no such message"
                if self.fail_submissions > 0:
                    self.fail_submissions -= 1
                    return 500, "Client backend failure: connector not reachable"
                self._accept(stored)
                return 200, True
            if (method, path) == ("GET", "/restservice/getMessageByBackendMessageId"):
                found = self.messages.get(query.get("backendMessageId", ""))
                return (200, found) if found else (404, "Message not found")
            if (method, path) == ("GET", "/messagerestservice/requestRejectedOrConfirmedMessagesFromConnectorClient"):
                changed = [self.messages[i] for i in sorted(self._changed)]
                self._changed.clear()
                return 200, {"messages": changed}
            if (method, path) == ("GET", "/messagerestservice/requestNewMessagesFromConnectorClient"):
                handed, self.incoming = self.incoming, []
                return 200, {"messages": [{**m, "messageStatus": "DELIVERED_BACKEND"} for m in handed]}
            if (method, path) == ("POST", "/submissionrestservice/triggerConfirmationAtConnectorClient"):
                self.triggered.append((query.get("refToMessageId", ""), query.get("confirmationType", "")))
                return 200, True
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
            if fake.required_password is not None:
                expected = "Basic " + base64.b64encode(":".join(fake.required_password).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, "Unauthorized")
                    return
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                self._send(400, "JSON parse error")
                return
            status, answer = fake.handle(method, parsed.path, query, body)
            self._send(status, answer)

        def _send(self, status: int, answer: Any) -> None:
            # Spring answers errors as plain text (RestExceptionHandler) and results as JSON.
            if isinstance(answer, str):
                data, kind = answer.encode(), "text/plain"
            else:
                data, kind = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
