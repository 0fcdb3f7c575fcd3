"""The e-mail adapter against a real SMTP server (aiosmtpd on 127.0.0.1), and reading replies back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.base import Attachment, DeliveryError, OutboundMessage, adapter_for
from adapters.envelope import Envelope, EnvelopeRejected, open_envelope, seal
from adapters.mail import ImapMailbox, NoEnvelopeInEmail, ReceivedEmail, parse_email, parse_email_file
from forms.messages import MessageType
from tests.adapters.common import NOW

PDF = b"%PDF-1.7\n% certificat\n%%EOF\n"


@dataclass
class Relay:
    """What our SMTP relay received, and how it should answer recipients."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_answer: str = "250 OK"
    port: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def relay() -> Iterator[Relay]:
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def options_for(relay: Relay, **extra: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "starttls": False,
        "from_address": "probatio@justice.example.lu",
        "to_address": "fd947@just.example.be",
        "timeout_seconds": 5,
        **extra,
    }


@pytest.fixture
def message(lu_key: Ed25519PrivateKey, envelope: Envelope) -> OutboundMessage:
    return OutboundMessage(
        sealed=seal(envelope, lu_key), attachments=[Attachment("certificat-fr.pdf", "application/pdf", PDF)]
    )


async def test_email_carries_documents_and_the_signed_envelope(
    relay: Relay, message: OutboundMessage, lu_key: Ed25519PrivateKey
) -> None:
    result = await adapter_for("email", options_for(relay)).deliver(message)
    assert result.delivered is False  # the relay took it; the authority has not confirmed anything
    assert result.response["smtp"] == "accepted"

    [(mail_from, recipients, raw)] = relay.received
    assert (mail_from, recipients) == ("probatio@justice.example.lu", ["fd947@just.example.be"])
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert "msg-0001" in str(mail["Subject"]) and "certificate" in str(mail["Subject"])
    assert mail["Message-ID"] == result.reference
    assert mail["Probatio-Message-Id"] == "msg-0001"

    received = parse_email(raw)
    assert [(a.filename, a.media_type, a.content) for a in received.attachments] == [
        ("certificat-fr.pdf", "application/pdf", PDF)
    ]
    opened = open_envelope(
        received.body, received.headers, public_key_for={"LU": lu_key.public_key()}.get, own_state="BE", now=NOW
    )
    assert opened == message.sealed.envelope


async def test_cc_receives_a_copy(relay: Relay, message: OutboundMessage) -> None:
    await adapter_for("email", options_for(relay, cc=["archive@justice.example.lu"])).deliver(message)
    [(_, recipients, _)] = relay.received
    assert recipients == ["fd947@just.example.be", "archive@justice.example.lu"]


async def test_permanent_refusal_is_final(relay: Relay, message: OutboundMessage) -> None:
    relay.rcpt_answer = "550 5.1.1 No such mailbox"
    with pytest.raises(DeliveryError) as caught:
        await adapter_for("email", options_for(relay)).deliver(message)
    assert caught.value.retryable is False
    assert relay.received == []


async def test_temporary_refusal_is_retryable(relay: Relay, message: OutboundMessage) -> None:
    relay.rcpt_answer = "451 4.3.0 Try again later"
    with pytest.raises(DeliveryError) as caught:
        await adapter_for("email", options_for(relay)).deliver(message)
    assert caught.value.retryable is True


async def test_relay_down_is_retryable(message: OutboundMessage) -> None:
    options = {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "starttls": False,
               "from_address": "a@b.lu", "to_address": "c@d.be", "timeout_seconds": 2}  # fmt: skip
    with pytest.raises(DeliveryError) as caught:
        await adapter_for("email", options).deliver(message)
    assert caught.value.retryable is True


async def test_relay_without_starttls_is_final(relay: Relay, message: OutboundMessage) -> None:
    # Sending court documents in clear text because the relay lost its TLS is not an option.
    with pytest.raises(DeliveryError) as caught:
        await adapter_for("email", options_for(relay, starttls=True)).deliver(message)
    assert caught.value.retryable is False


async def test_reply_from_the_other_node_is_read_back_as_its_envelope(
    relay: Relay, be_key: Ed25519PrivateKey, envelope: Envelope, tmp_path: Path
) -> None:
    # BE's probatio node answers LU by e-mail; LU's officer saves the e-mail and uploads the .eml.
    decision = envelope.model_copy(
        update={"message_id": "msg-be-9", "type": MessageType.DECISION, "from_state": "BE", "to_state": "LU",
                "payload": {"outcome": "recognised"}}
    )  # fmt: skip
    be_options = options_for(relay, from_address="fd947@just.example.be", to_address="probatio@justice.example.lu")
    await adapter_for("email", be_options).deliver(OutboundMessage(sealed=seal(decision, be_key)))
    [(_, _, raw)] = relay.received
    eml = tmp_path / "reply.eml"
    eml.write_bytes(raw)

    received = parse_email_file(eml)
    opened = open_envelope(
        received.body, received.headers, public_key_for={"BE": be_key.public_key()}.get, own_state="LU", now=NOW
    )
    assert (opened.type, opened.payload) == (MessageType.DECISION, {"outcome": "recognised"})

    # The same file with one byte of the JSON changed in transit is refused.
    forged = ReceivedEmail(**{**received.__dict__, "body": received.body.replace(b"recognised", b"refused")})
    with pytest.raises(EnvelopeRejected) as caught:
        open_envelope(
            forged.body, forged.headers, public_key_for={"BE": be_key.public_key()}.get, own_state="LU", now=NOW
        )
    assert caught.value.status == 401


def test_a_reply_typed_by_a_person_says_so() -> None:
    mail = EmailMessage()
    mail["Subject"] = "Re: [probatio] certificate msg-0001"
    mail["From"] = "clerk@just.example.be"
    mail.set_content("Bien reçu, merci.")
    with pytest.raises(NoEnvelopeInEmail, match=r"clerk@just.example.be"):
        parse_email(mail.as_bytes())


class FakeImap:
    """Stands in for imaplib.IMAP4: two unseen e-mails, one from a node, one from a person."""

    def __init__(self, messages: dict[str, bytes]) -> None:
        self.messages = messages
        self.seen: list[str] = []
        self.logged_out = False

    def login(self, user: str, password: str) -> tuple[str, list[bytes]]:
        return "OK", [b"logged in"]

    def select(self, mailbox: str) -> tuple[str, list[bytes]]:
        return "OK", [str(len(self.messages)).encode()]

    def uid(self, command: str, *args: str) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            return "OK", [" ".join(self.messages).encode()]
        if command == "FETCH":
            return "OK", [(f"{args[0]} (BODY[] {{n}}".encode(), self.messages[args[0]]), b")"]
        if command == "STORE":
            self.seen.append(args[0])
            return "OK", []
        raise AssertionError(command)

    def logout(self) -> tuple[str, list[bytes]]:
        self.logged_out = True
        return "BYE", []


async def test_imap_mailbox_hands_over_envelopes_and_flags_them_seen(message: OutboundMessage, relay: Relay) -> None:
    await adapter_for("email", options_for(relay)).deliver(message)
    human = EmailMessage()
    human["From"] = "clerk@just.example.be"
    human.set_content("merci")
    fake = FakeImap({"7": relay.received[0][2], "8": human.as_bytes()})
    mailbox = ImapMailbox(host="imap.example", username="u", password="p", connect=lambda: fake)  # type: ignore[arg-type,return-value]

    handled: list[str] = []

    async def handle(received: ReceivedEmail) -> None:
        handled.append(received.subject)

    assert await mailbox.poll_once(handle) == 1
    assert len(handled) == 1 and "msg-0001" in handled[0]
    assert fake.seen == ["7"]  # the person's e-mail stays unseen for a person to read
    assert fake.logged_out
