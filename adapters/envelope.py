"""The signed envelope of the node link (CONTRACT §5).

A sending node builds an :class:`Envelope`, seals it with its Ed25519 key (:func:`seal`) and POSTs the
exact body bytes with two headers; the receiving node checks them with :func:`open_envelope` before it
stores anything.

The signature covers the exact request body bytes, not a re-serialisation, so the receiver never has to
reproduce the sender's JSON encoder: it verifies what arrived, then parses it.

De-duplication by ``message_id`` is *not* done here: the caller (the intake, `intake/`) looks the id up in the
database after :func:`open_envelope` succeeds and, for a repeated id, answers what it answered the
first time (CONTRACT §5: "the same message_id twice is accepted once").
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from forms.documents import MAX_DOCUMENTS_TOTAL_BYTES
from forms.messages import MessageType

SIGNATURE_HEADER = "Probatio-Signature"
"""Base64 of the Ed25519 signature over the exact request body bytes."""

SENDER_HEADER = "Probatio-Sender"
"""The sending state's code; it is also the id of the key the receiver verifies with."""

MAX_ENVELOPE_BYTES = 5 * 1024 * 1024
"""A message without documents stays well under this; anything larger is refused unread."""

DOCUMENTS_HEADER = "Probatio-Documents"
"""How many documents (Art 6(1): judgment, probation decision) the payload carries inline. Outside the
signature: it only lets the receiver accept a larger body, and the signed payload must then hold them."""

MAX_ENVELOPE_WITH_DOCUMENTS_BYTES = MAX_ENVELOPE_BYTES + 4 * -(-MAX_DOCUMENTS_TOTAL_BYTES // 3) + 64 * 1024
"""A certificate with every document it may carry, base64 inline (4 bytes for 3), and room for their
descriptions: a 20 MB judgment passes in one signed message."""

DEFAULT_WINDOW = timedelta(minutes=10)
"""How far ``sent_at`` may lie from the receiver's clock: bounds replays of captured requests."""

# ISO 3166-1 alpha-2 as used by the EU (EL for Greece): two capital letters.
_STATE_PATTERN = r"^[A-Z]{2}$"


class Envelope(BaseModel):
    """One message between two nodes: who, to whom, when, in which conversation, and what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Printable: the ids are stored (PostgreSQL text cannot hold U+0000), logged and shown to the auditor.
    message_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    conversation_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    type: MessageType
    from_state: str = Field(pattern=_STATE_PATTERN)
    to_state: str = Field(pattern=_STATE_PATTERN)
    sent_at: AwareDatetime
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("sent_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # One time zone on the wire, so two nodes compare instants, not local readings.
        return value.astimezone(UTC)

    def canonical_json(self) -> bytes:
        """Sorted keys, no spaces, UTF-8: the same envelope always gives the same bytes."""
        return canonical_json(self.model_dump(mode="json"))


def canonical_json(value: Any) -> bytes:
    """The canonical encoding used for signed bodies (also handy for attachments and tests)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class SealedEnvelope:
    """An envelope with the exact bytes that were signed and the headers that go with them."""

    envelope: Envelope
    body: bytes
    headers: dict[str, str]


class EnvelopeRejected(Exception):
    """The inbox refuses a request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def sign(body: bytes, key: Ed25519PrivateKey) -> str:
    """Base64 signature of ``body``."""
    return base64.b64encode(key.sign(body)).decode("ascii")


def seal(envelope: Envelope, key: Ed25519PrivateKey) -> SealedEnvelope:
    """Serialise canonically and sign with the sending node's key."""
    body = envelope.canonical_json()
    headers = {SIGNATURE_HEADER: sign(body, key), SENDER_HEADER: envelope.from_state}
    documents = envelope.payload.get("documents")
    if isinstance(documents, list) and documents:
        headers[DOCUMENTS_HEADER] = str(len(documents))
    return SealedEnvelope(envelope=envelope, body=body, headers=headers)


def envelope_limit(headers: Mapping[str, str]) -> int:
    """The largest body to read for these headers: a message that says it carries documents may be larger."""
    declared = _header(headers, DOCUMENTS_HEADER)
    if declared and declared.strip().isdigit() and int(declared) > 0:
        return MAX_ENVELOPE_WITH_DOCUMENTS_BYTES
    return MAX_ENVELOPE_BYTES


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive; Starlette lower-cases them, e-mail keeps them as written.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def open_envelope(
    body: bytes,
    headers: Mapping[str, str],
    *,
    public_key_for: Callable[[str], Ed25519PublicKey | None],
    own_state: str,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    max_bytes: int = MAX_ENVELOPE_WITH_DOCUMENTS_BYTES,
) -> Envelope:
    """Verify and parse an incoming envelope, or raise :class:`EnvelopeRejected`.

    Order matters: size first (cheap, and we never parse or hash a huge body), then the signature (we
    never parse JSON from an unauthenticated sender), then the shape, then whether it is for us and
    recent. ``now`` is passed in so tests and replays control the clock.

    Whatever the channel, a body larger than :data:`MAX_ENVELOPE_BYTES` must carry documents in its signed
    payload (the HTTP inbox refuses such a body before reading it unless :data:`DOCUMENTS_HEADER` says so).

    The caller still has to de-duplicate on ``message_id`` against its database.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (use datetime.now(UTC))")
    if len(body) > max_bytes:
        raise EnvelopeRejected(413, f"envelope of {len(body)} bytes exceeds the limit of {max_bytes}")

    sender = _header(headers, SENDER_HEADER)
    signature_text = _header(headers, SIGNATURE_HEADER)
    if not sender:
        raise EnvelopeRejected(401, f"missing {SENDER_HEADER} header")
    if not signature_text:
        raise EnvelopeRejected(401, f"missing {SIGNATURE_HEADER} header")
    public_key = public_key_for(sender.strip())
    if public_key is None:
        raise EnvelopeRejected(401, f"unknown sender {sender.strip()!r}: no public key in the directory")
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeRejected(401, "signature is not valid base64") from exc
    try:
        public_key.verify(signature, body)
    except InvalidSignature as exc:
        raise EnvelopeRejected(401, f"signature does not verify with the key of {sender.strip()}") from exc

    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeRejected(422, f"body is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise EnvelopeRejected(422, "body is not a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'envelope'}: {err['msg']}" for err in exc.errors()
        )
        raise EnvelopeRejected(422, f"malformed envelope: {problems}") from exc
    if len(body) > MAX_ENVELOPE_BYTES and not envelope.payload.get("documents"):
        raise EnvelopeRejected(
            413, f"envelope of {len(body)} bytes carries no documents and exceeds the limit of {MAX_ENVELOPE_BYTES}"
        )

    # The signer must be the state the envelope claims to come from: BE's key cannot speak for LU.
    if envelope.from_state != sender.strip():
        raise EnvelopeRejected(
            401, f"from_state {envelope.from_state} does not match the signing sender {sender.strip()}"
        )
    if envelope.to_state != own_state:
        raise EnvelopeRejected(422, f"envelope is addressed to {envelope.to_state}, this node is {own_state}")
    skew = envelope.sent_at - now.astimezone(UTC)
    if abs(skew) > window:
        direction = "in the future" if skew > timedelta(0) else "old"
        raise EnvelopeRejected(
            422, f"sent_at {envelope.sent_at.isoformat()} is {abs(skew)} {direction}; the window is {window}"
        )
    return envelope
