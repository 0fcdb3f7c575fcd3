"""The e-mail adapter (``"email"``): for authorities reachable only by e-mail, or while e-CODEX is down.

Each message is one e-mail: a short human explanation, the documents (certificate PDF, judgment), and
the signed envelope as ``probatio-envelope.json`` — the exact signed bytes, base64 transfer-encoded so no
relay rewrites a single byte, with the signature and sender as headers of that MIME part. A probatio
node on the other side reads it back with :func:`parse_email` and checks it with ``open_envelope`` exactly
like a node-link request; a replying officer's .eml upload goes through the same function.

SMTP acceptance is not receipt: :meth:`EmailAdapter.deliver` answers ``delivered=False`` with the e-mail's
Message-ID as reference; the reply (or an officer's record) is what confirms receipt. A retry after a lost
SMTP answer may send the e-mail twice; the receiving node de-duplicates on the envelope's message id.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adapters.base import (
    Adapter,
    Attachment,
    DeliveryError,
    DeliveryResult,
    OutboundMessage,
    register_adapter,
)
from adapters.envelope import MAX_ENVELOPE_WITH_DOCUMENTS_BYTES, SENDER_HEADER, SIGNATURE_HEADER, SealedEnvelope
from adapters.tls import client_context
from forms.documents import MAX_DOCUMENTS_TOTAL_BYTES

# The largest e-mail this adapter writes: its documents twice, inline in the signed envelope and as attachments
# to read, both base64 in the mail (lines of 76 characters and a line break: 78 bytes for 57 read), so about
# 167 MB at most; one 20 MB judgment makes an e-mail of about 64 MiB. A relay must take that size (say so
# to its operator: many take 25-35 MB), and the receiving node's upload takes up to this.
MAX_EMAIL_BYTES = -(-(MAX_ENVELOPE_WITH_DOCUMENTS_BYTES + MAX_DOCUMENTS_TOTAL_BYTES) // 57) * 78

ENVELOPE_FILENAME = "probatio-envelope.json"
MESSAGE_ID_HEADER = "Probatio-Message-Id"
"""Also on the e-mail itself, so mail rules and a clerk's search find it without opening attachments."""


class EmailOptions(BaseModel):
    """Options for the ``email`` adapter: our SMTP relay and the authority's address."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    starttls: bool = Field(default=True, description="upgrade with STARTTLS (port 587)")
    implicit_tls: bool = Field(default=False, description="TLS from the first byte (port 465)")
    verify: bool | str = Field(default=True, description="verify the relay's certificate, or a CA bundle path")
    username: str | None = None
    password_env: str | None = Field(default=None, description="environment variable holding the password")
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    cc: list[str] = Field(default_factory=list)
    subject_prefix: str = "[probatio] FD 2008/947/JHA"
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailOptions:
        if self.starttls and self.implicit_tls:
            raise ValueError("choose 'starttls' or 'implicit_tls', not both")
        return self

    def tls_context(self) -> ssl.SSLContext:
        return client_context(self.verify)


def subject_for(sealed: SealedEnvelope, prefix: str) -> str:
    envelope = sealed.envelope
    return f"{prefix}: {envelope.type} {envelope.message_id} ({envelope.from_state} → {envelope.to_state})"


_EXPLANATION = """\
This e-mail carries a communication under Council Framework Decision 2008/947/JHA
(mutual recognition of judgments and probation decisions).

  Message:       {type}
  Message id:    {message_id}
  Case:          {conversation_id}
  From / to:     {from_state} → {to_state}

The documents are attached as PDF. The file {envelope_file} is the same message in
machine-readable form, signed by the sending authority's system; please keep it with the
documents, and when you reply, keep the message id above in the subject.
"""


def compose_email(message: OutboundMessage, options: EmailOptions) -> EmailMessage:
    """The e-mail for one outbound message (public so the letter can be previewed or archived)."""
    sealed = message.sealed
    envelope = sealed.envelope
    mail = EmailMessage(policy=policy.SMTP)
    mail["Subject"] = subject_for(sealed, options.subject_prefix)
    mail["From"] = options.from_address
    mail["To"] = options.to_address
    if options.cc:
        mail["Cc"] = ", ".join(options.cc)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    # Short, so the header is never folded; our own id travels in MESSAGE_ID_HEADER.
    mail["Message-ID"] = make_msgid(domain=_domain(options))
    mail[MESSAGE_ID_HEADER] = envelope.message_id
    mail.set_content(
        _EXPLANATION.format(
            type=envelope.type,
            message_id=envelope.message_id,
            conversation_id=envelope.conversation_id,
            from_state=envelope.from_state,
            to_state=envelope.to_state,
            envelope_file=ENVELOPE_FILENAME,
        )
    )
    for attachment in message.attachments:
        main, _, sub = attachment.media_type.partition("/")
        mail.add_attachment(
            attachment.content, maintype=main, subtype=sub or "octet-stream", filename=attachment.filename
        )
    # Attached as bytes so it is base64-encoded: the signature covers these exact bytes.
    mail.add_attachment(
        sealed.body,
        maintype="application",
        subtype="json",
        filename=ENVELOPE_FILENAME,
        headers=[
            f"{SIGNATURE_HEADER}: {sealed.headers[SIGNATURE_HEADER]}",
            f"{SENDER_HEADER}: {sealed.headers[SENDER_HEADER]}",
        ],
    )
    return mail


def _domain(options: EmailOptions) -> str:
    return options.from_address.rsplit("@", 1)[-1]


def _send_blocking(mail: EmailMessage, options: EmailOptions) -> dict[str, tuple[int, bytes]]:
    password = os.environ.get(options.password_env, "") if options.password_env else ""
    smtp: smtplib.SMTP
    if options.implicit_tls:
        smtp = smtplib.SMTP_SSL(
            options.smtp_host, options.smtp_port, timeout=options.timeout_seconds, context=options.tls_context()
        )
    else:
        smtp = smtplib.SMTP(options.smtp_host, options.smtp_port, timeout=options.timeout_seconds)
    with smtp:
        if options.starttls:
            smtp.starttls(context=options.tls_context())
        if options.username:
            smtp.login(options.username, password)
        return smtp.send_message(mail)


@register_adapter
class EmailAdapter(Adapter):
    """Send through our SMTP relay; receipt is confirmed later by a reply or by an officer."""

    name = "email"
    Options = EmailOptions
    options: EmailOptions

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        options = self.options
        mail = compose_email(message, options)
        try:
            # smtplib blocks; a thread keeps the worker's event loop free for other activities.
            refused = await asyncio.to_thread(_send_blocking, mail, options)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}", retryable=False) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            retryable = all(400 <= code < 500 for code in codes)
            raise DeliveryError(f"recipient refused: {exc.recipients}", retryable=retryable) from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx: the relay asks us to come back later; 5xx: it will never take this message.
            retryable = 400 <= exc.smtp_code < 500
            raise DeliveryError(f"SMTP relay answered {exc.smtp_code} {exc.smtp_error!r}", retryable=retryable) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP relay lacks a required feature: {exc}", retryable=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"SMTP relay certificate not trusted: {exc}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP relay {options.smtp_host}:{options.smtp_port} unavailable: {exc!r}", retryable=True
            ) from exc
        return DeliveryResult(
            delivered=False,
            reference=str(mail["Message-ID"]),
            response={
                "smtp": "accepted",
                "to": options.to_address,
                "refused": {
                    address: [code, text.decode(errors="replace")] for address, (code, text) in refused.items()
                },
            },
        )


# --- the receiving side: an .eml back into an envelope ---------------------------------------------


class NoEnvelopeInEmail(ValueError):
    """The e-mail carries no signed probatio envelope (e.g. a reply typed by a person): handle by hand."""


@dataclass(frozen=True)
class ReceivedEmail:
    """What an e-mail brought: the envelope's bytes and headers for ``open_envelope``, and the documents."""

    body: bytes
    headers: dict[str, str]
    attachments: list[Attachment]
    subject: str
    sender: str
    email_message_id: str | None
    in_reply_to: str | None


def parse_email(raw: bytes) -> ReceivedEmail:
    """Read a raw RFC 822 message (from IMAP or an uploaded .eml) and find its signed envelope.

    Only checks structure: the caller verifies with ``open_envelope(result.body, result.headers, ...)``.
    """
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    envelope_part = None
    attachments: list[Attachment] = []
    for part in mail.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if part.get(SIGNATURE_HEADER) is not None and (
            filename == ENVELOPE_FILENAME or part.get_content_type() == "application/json"
        ):
            envelope_part = part
            continue
        if filename:
            content = part.get_payload(decode=True)
            if isinstance(content, bytes):
                attachments.append(Attachment(filename, part.get_content_type(), content))
    if envelope_part is None:
        raise NoEnvelopeInEmail(
            f"the e-mail {mail.get('Subject', '')!r} from {mail.get('From', '?')} has no signed {ENVELOPE_FILENAME}"
        )
    body = envelope_part.get_payload(decode=True)
    if not isinstance(body, bytes):
        raise NoEnvelopeInEmail(f"{ENVELOPE_FILENAME} could not be decoded")
    headers = {
        SIGNATURE_HEADER: str(envelope_part.get(SIGNATURE_HEADER, "")).strip(),
        SENDER_HEADER: str(envelope_part.get(SENDER_HEADER, "")).strip(),
    }
    return ReceivedEmail(
        body=body,
        headers=headers,
        attachments=attachments,
        subject=str(mail.get("Subject", "")),
        sender=str(mail.get("From", "")),
        email_message_id=_stripped(mail.get("Message-ID")),
        in_reply_to=_stripped(mail.get("In-Reply-To")),
    )


def _stripped(value: object) -> str | None:
    return str(value).strip() if value is not None else None


def parse_email_file(path: Path) -> ReceivedEmail:
    """The same for an .eml an officer uploaded or saved."""
    return parse_email(Path(path).read_bytes())


class ImapMailbox:
    """Takes replies in from an IMAP mailbox: each unseen e-mail is parsed and handed to ``handle``.

    An e-mail is flagged \\Seen only after ``handle`` returned, so a crash mid-way means it is read again
    (the inbox de-duplicates by message id). E-mails without an envelope go to ``unreadable`` for a person.
    Run :meth:`poll_once` from a periodic job; it opens and closes its own connection each time.
    """

    def __init__(
        self,
        *,
        host: str,
        username: str,
        password: str,
        port: int = 993,
        mailbox: str = "INBOX",
        use_ssl: bool = True,
        connect: Callable[[], imaplib.IMAP4] | None = None,
    ) -> None:
        self.mailbox = mailbox
        self._username = username
        self._password = password
        self._connect = connect or (
            (lambda: imaplib.IMAP4_SSL(host, port)) if use_ssl else (lambda: imaplib.IMAP4(host, port))
        )

    def _unseen(self) -> tuple[imaplib.IMAP4, list[tuple[str, bytes]]]:
        imap = self._connect()
        imap.login(self._username, self._password)
        imap.select(self.mailbox)
        _, found = imap.uid("SEARCH", "UNSEEN")
        messages: list[tuple[str, bytes]] = []
        for uid in (found[0] or b"").decode("ascii").split():
            _, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if isinstance(raw, bytes):
                messages.append((uid, raw))
        return imap, messages

    async def poll_once(
        self,
        handle: Callable[[ReceivedEmail], Awaitable[None]],
        unreadable: Callable[[bytes, NoEnvelopeInEmail], Awaitable[None]] | None = None,
    ) -> int:
        """Process every unseen e-mail once; returns how many were handled (either way)."""
        imap, messages = await asyncio.to_thread(self._unseen)
        handled = 0
        try:
            for uid, raw in messages:
                try:
                    received = parse_email(raw)
                except NoEnvelopeInEmail as exc:
                    if unreadable is None:
                        continue  # leave it unseen for a person to find in the mailbox
                    await unreadable(raw, exc)
                else:
                    await handle(received)
                await asyncio.to_thread(imap.uid, "STORE", uid, "+FLAGS", "(\\Seen)")
                handled += 1
        finally:
            await asyncio.to_thread(imap.logout)
        return handled
