"""The node link against a real HTTP server on 127.0.0.1: what counts as delivered, what is worth a retry."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.base import DeliveryError, OutboundMessage, adapter_for
from adapters.envelope import Envelope, EnvelopeRejected, open_envelope, seal
from tests.adapters.fake_connector import QuietHTTPServer


@dataclass
class PeerInbox:
    """A stand-in for BE's /api/v1/inbox: verifies like the real one, answers as each path says."""

    keys: dict[str, Ed25519PublicKey]
    received: list[Envelope] = field(default_factory=list)
    answers: dict[str, dict[str, object]] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(inbox: PeerInbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def _answer(self, status: int, document: object, content_type: str = "application/json") -> None:
            body = json.dumps(document).encode() if content_type == "application/json" else str(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/slow":
                time.sleep(1.5)
            if self.path == "/crash":
                self._answer(500, "Internal Server Error", content_type="text/plain")
                return
            if self.path in ("/busy", "/gone"):
                self._answer(429 if self.path == "/busy" else 404, {"detail": "come back later"})
                return
            try:
                envelope = open_envelope(
                    body,
                    dict(self.headers.items()),
                    public_key_for=inbox.keys.get,
                    own_state="BE",
                    now=datetime.now(UTC),
                )
            except EnvelopeRejected as exc:
                self._answer(exc.status, {"detail": exc.reason})
                return
            assert self.headers["Content-Type"] == "application/json"
            # A repeated message id gets the first answer: that is what makes retries safe.
            if envelope.message_id not in inbox.answers:
                inbox.received.append(envelope)
                inbox.answers[envelope.message_id] = {"status": "accepted", "message_id": envelope.message_id}
            self._answer(200, inbox.answers[envelope.message_id])

    return Handler


@pytest.fixture
def inbox(lu_key: Ed25519PrivateKey) -> Iterator[PeerInbox]:
    peer = PeerInbox(keys={"LU": lu_key.public_key()})
    server = QuietHTTPServer(("127.0.0.1", 0), _handler(peer))
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield peer
    server.shutdown()
    server.server_close()


def message_now(lu_key: Ed25519PrivateKey, envelope: Envelope) -> OutboundMessage:
    return OutboundMessage(sealed=seal(envelope.model_copy(update={"sent_at": datetime.now(UTC)}), lu_key))


async def test_200_is_delivered(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/api/v1/inbox"), "timeout_seconds": 5})
    result = await adapter.deliver(message_now(lu_key, envelope))
    assert result.delivered is True
    assert result.reference == "msg-0001"
    assert result.response == {"status": "accepted", "message_id": "msg-0001"}
    assert [e.message_id for e in inbox.received] == ["msg-0001"]
    assert inbox.received[0].payload == envelope.payload


async def test_retry_of_the_same_message_is_received_once(
    inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/api/v1/inbox")})
    message = message_now(lu_key, envelope)
    first = await adapter.deliver(message)
    second = await adapter.deliver(message)
    assert first.response == second.response
    assert len(inbox.received) == 1


async def test_500_is_retryable(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/crash")})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert (caught.value.retryable, caught.value.status) == (True, 500)


async def test_429_is_retryable(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/busy")})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert (caught.value.retryable, caught.value.status) == (True, 429)


async def test_timeout_is_retryable(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/slow"), "timeout_seconds": 0.3})
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert caught.value.retryable is True
    assert "within 0.3 s" in str(caught.value)
    assert time.monotonic() - started < 1.4  # gave up at the timeout, did not wait for the slow peer


async def test_nobody_listening_is_retryable(lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = adapter_for("nodelink", {"url": f"http://127.0.0.1:{port}/api/v1/inbox", "timeout_seconds": 2})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert caught.value.retryable is True


async def test_422_is_final(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": inbox.url("/api/v1/inbox")})
    misdirected = envelope.model_copy(update={"to_state": "DE"})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, misdirected))
    assert (caught.value.retryable, caught.value.status) == (False, 422)
    assert "addressed to DE" in str(caught.value)  # the peer's reason reaches the officer
    assert inbox.received == []


async def test_401_is_final(inbox: PeerInbox, envelope: Envelope) -> None:
    from adapters.keys import generate_key

    adapter = adapter_for("nodelink", {"url": inbox.url("/api/v1/inbox")})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(generate_key(), envelope))  # signed with a key BE does not know
    assert (caught.value.retryable, caught.value.status) == (False, 401)


async def test_404_is_final(inbox: PeerInbox, lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    # A wrong URL in the directory will not fix itself by waiting: an operator must look.
    adapter = adapter_for("nodelink", {"url": inbox.url("/gone")})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert caught.value.retryable is False


async def test_missing_ca_bundle_is_final(lu_key: Ed25519PrivateKey, envelope: Envelope) -> None:
    adapter = adapter_for("nodelink", {"url": "https://127.0.0.1:9/api/v1/inbox", "verify": "/nonexistent/ca.pem"})
    with pytest.raises(DeliveryError) as caught:
        await adapter.deliver(message_now(lu_key, envelope))
    assert caught.value.retryable is False
