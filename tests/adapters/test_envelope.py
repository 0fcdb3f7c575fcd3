"""The inbox's first line of defence: every forged, broken or misdirected envelope gets the right status."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.envelope import (
    DOCUMENTS_HEADER,
    MAX_ENVELOPE_BYTES,
    MAX_ENVELOPE_WITH_DOCUMENTS_BYTES,
    SENDER_HEADER,
    SIGNATURE_HEADER,
    Envelope,
    EnvelopeRejected,
    envelope_limit,
    open_envelope,
    seal,
    sign,
)
from adapters.keys import generate_key
from tests.adapters.common import NOW


def open_at_be(body: bytes, headers: dict[str, str], keys: dict[str, Ed25519PublicKey], **kwargs: Any) -> Envelope:
    options: dict[str, Any] = {"own_state": "BE", "now": NOW, **kwargs}
    return open_envelope(body, headers, public_key_for=keys.get, **options)


def rejected(
    body: bytes, headers: dict[str, str], keys: dict[str, Ed25519PublicKey], **kwargs: Any
) -> EnvelopeRejected:
    with pytest.raises(EnvelopeRejected) as caught:
        open_at_be(body, headers, keys, **kwargs)
    return caught.value


def signed_raw(document: Any, key: Ed25519PrivateKey, sender: str = "LU") -> tuple[bytes, dict[str, str]]:
    """A body that is validly signed but whose content we choose, to test checks after the signature."""
    body = json.dumps(document).encode() if not isinstance(document, bytes) else document
    return body, {SIGNATURE_HEADER: sign(body, key), SENDER_HEADER: sender}


def test_round_trip(envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]) -> None:
    sealed = seal(envelope, lu_key)
    assert sealed.headers == {SIGNATURE_HEADER: sealed.headers[SIGNATURE_HEADER], SENDER_HEADER: "LU"}
    assert open_at_be(sealed.body, sealed.headers, keys_of) == envelope


def test_body_is_canonical_json(envelope: Envelope, lu_key: Ed25519PrivateKey) -> None:
    body = seal(envelope, lu_key).body
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
    assert b'"sent_at":"2026-03-02T09:30:00Z"' in body


def test_headers_are_case_insensitive(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope, lu_key)
    lowered = {name.lower(): value for name, value in sealed.headers.items()}
    assert open_at_be(sealed.body, lowered, keys_of).message_id == "msg-0001"


def test_non_utc_sent_at_is_normalised(envelope: Envelope) -> None:
    from datetime import timezone

    local = envelope.model_copy(update={"sent_at": NOW.astimezone(timezone(timedelta(hours=1)))})
    again = Envelope.model_validate(local.model_dump())
    assert again.sent_at.utcoffset() == timedelta(0)


def test_naive_sent_at_is_refused() -> None:
    with pytest.raises(ValueError):
        Envelope.model_validate(
            {
                "message_id": "m",
                "conversation_id": "c",
                "type": "certificate",
                "from_state": "LU",
                "to_state": "BE",
                "sent_at": "2026-03-02T09:30:00",
                "payload": {},
            }
        )


# --- 401: who sent it? ---------------------------------------------------------------------------


def test_wrong_key_is_401(envelope: Envelope, keys_of: dict[str, Ed25519PublicKey]) -> None:
    sealed = seal(envelope, generate_key())  # an impostor claiming to be LU
    error = rejected(sealed.body, sealed.headers, keys_of)
    assert error.status == 401
    assert "does not verify" in error.reason


def test_tampered_body_is_401(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope, lu_key)
    tampered = sealed.body.replace(b"Jean Dupont", b"Jean Dupond")
    assert tampered != sealed.body
    assert rejected(tampered, sealed.headers, keys_of).status == 401


def test_unknown_sender_is_401(envelope: Envelope, keys_of: dict[str, Ed25519PublicKey]) -> None:
    fr_key = generate_key()
    sealed = seal(envelope.model_copy(update={"from_state": "FR"}), fr_key)
    error = rejected(sealed.body, sealed.headers, keys_of)
    assert (error.status, "unknown sender") == (401, error.reason[:14])


def test_missing_headers_are_401(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope, lu_key)
    assert rejected(sealed.body, {SENDER_HEADER: "LU"}, keys_of).status == 401
    assert rejected(sealed.body, {SIGNATURE_HEADER: sealed.headers[SIGNATURE_HEADER]}, keys_of).status == 401
    assert rejected(sealed.body, {}, keys_of).status == 401


def test_garbage_signature_is_401(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope, lu_key)
    assert rejected(sealed.body, {**sealed.headers, SIGNATURE_HEADER: "not base64!!"}, keys_of).status == 401
    short = base64.b64encode(b"short").decode()
    assert rejected(sealed.body, {**sealed.headers, SIGNATURE_HEADER: short}, keys_of).status == 401


def test_sender_cannot_speak_for_another_state(
    envelope: Envelope, be_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    # BE signs correctly with its own key, but the envelope claims to come from LU.
    sealed = seal(envelope, be_key)
    headers = {**sealed.headers, SENDER_HEADER: "BE"}
    error = rejected(sealed.body, headers, keys_of, own_state="BE")
    assert error.status == 401
    assert "from_state LU" in error.reason


# --- 413: too large, refused before any work ------------------------------------------------------


def test_oversized_is_413_before_the_signature(envelope: Envelope, keys_of: dict[str, Ed25519PublicKey]) -> None:
    body = b"{" + b" " * 2000 + b"}"
    error = rejected(body, {}, keys_of, max_bytes=1000)  # no headers at all: size is checked first
    assert error.status == 413


def test_default_limit_accepts_a_realistic_certificate(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    big = envelope.model_copy(update={"payload": {"judgment_pdf": "A" * 2_000_000}})
    sealed = seal(big, lu_key)
    assert open_at_be(sealed.body, sealed.headers, keys_of).payload["judgment_pdf"].startswith("AAA")


# --- 422: signed, but not a usable envelope -------------------------------------------------------


def test_not_json_is_422(lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]) -> None:
    for body in (b"certificate please", b"\xff\xfe", b"[1, 2]", b'"text"'):
        assert rejected(*signed_raw(body, lu_key), keys_of).status == 422


@pytest.mark.parametrize("field", ["message_id", "conversation_id", "type", "from_state", "to_state", "sent_at"])
def test_missing_field_is_422(
    field: str, envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    document = envelope.model_dump(mode="json")
    del document[field]
    error = rejected(*signed_raw(document, lu_key), keys_of)
    assert error.status == 422
    assert field in error.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "love_letter"),
        ("sent_at", "yesterday"),
        ("payload", ["not", "an", "object"]),
        ("message_id", 42),
        ("to_state", "Belgium"),
        ("sent_at", "2026-03-02T09:30:00"),  # no time zone
    ],
)
def test_wrong_type_is_422(
    field: str, value: Any, envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    document = {**envelope.model_dump(mode="json"), field: value}
    error = rejected(*signed_raw(document, lu_key), keys_of)
    assert error.status == 422
    assert field in error.reason


def test_unknown_field_is_422(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    document = {**envelope.model_dump(mode="json"), "priority": "urgent"}
    assert rejected(*signed_raw(document, lu_key), keys_of).status == 422


@pytest.mark.parametrize("offset", [timedelta(minutes=-11), timedelta(minutes=11), timedelta(days=-1)])
def test_outside_the_window_is_422(
    offset: timedelta, envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope.model_copy(update={"sent_at": NOW + offset}), lu_key)
    error = rejected(sealed.body, sealed.headers, keys_of)
    assert error.status == 422
    assert "window" in error.reason


@pytest.mark.parametrize("offset", [timedelta(minutes=-9), timedelta(minutes=9)])
def test_inside_the_window_is_accepted(
    offset: timedelta, envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope.model_copy(update={"sent_at": NOW + offset}), lu_key)
    assert open_at_be(sealed.body, sealed.headers, keys_of).sent_at == NOW + offset


def test_window_is_configurable(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope.model_copy(update={"sent_at": NOW - timedelta(hours=1)}), lu_key)
    assert open_at_be(sealed.body, sealed.headers, keys_of, window=timedelta(hours=2)).message_id


def test_wrong_to_state_is_422(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope.model_copy(update={"to_state": "DE"}), lu_key)
    error = rejected(sealed.body, sealed.headers, keys_of)
    assert error.status == 422
    assert "addressed to DE" in error.reason


@settings(max_examples=50, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=10), st.text(max_size=20) | st.integers(), max_size=5))
def test_any_payload_survives_the_round_trip(payload: dict[str, Any]) -> None:
    key = generate_key()
    envelope = Envelope(
        message_id="m",
        conversation_id="c",
        type="decision",  # type: ignore[arg-type]
        from_state="BE",
        to_state="LU",
        sent_at=NOW,
        payload=payload,
    )
    sealed = seal(envelope, key)
    opened = open_envelope(
        sealed.body,
        sealed.headers,
        public_key_for={"BE": key.public_key()}.get,
        own_state="LU",
        now=NOW,
    )
    assert opened.payload == payload


def test_a_naive_clock_is_a_programming_error(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    sealed = seal(envelope, lu_key)
    with pytest.raises(ValueError, match="timezone-aware"):
        open_at_be(sealed.body, sealed.headers, keys_of, now=NOW.replace(tzinfo=None))


# --- documents: a larger body is allowed only when its signed payload carries them ------------------------


def test_a_certificate_with_documents_says_so_and_may_pass_the_plain_limit(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    content = base64.b64encode(b"%PDF-" + b"\0" * (MAX_ENVELOPE_BYTES)).decode()
    with_documents = envelope.model_copy(update={"payload": {**envelope.payload, "documents": [
        {"id": "d1", "kind": "judgment", "content": content}]}})
    sealed = seal(with_documents, lu_key)
    assert sealed.headers[DOCUMENTS_HEADER] == "1"
    assert envelope_limit(sealed.headers) == MAX_ENVELOPE_WITH_DOCUMENTS_BYTES > len(sealed.body) > MAX_ENVELOPE_BYTES
    assert open_at_be(sealed.body, sealed.headers, keys_of).payload["documents"][0]["id"] == "d1"
    # Without documents the header is absent and the plain limit holds.
    plain = seal(envelope, lu_key)
    assert DOCUMENTS_HEADER not in plain.headers and envelope_limit(plain.headers) == MAX_ENVELOPE_BYTES


def test_a_large_body_without_documents_is_413_whatever_its_headers_say(
    envelope: Envelope, lu_key: Ed25519PrivateKey, keys_of: dict[str, Ed25519PublicKey]
) -> None:
    padded = envelope.model_copy(update={"payload": {"padding": "x" * MAX_ENVELOPE_BYTES}})
    sealed = seal(padded, lu_key)
    error = rejected(sealed.body, {**sealed.headers, DOCUMENTS_HEADER: "3"}, keys_of)
    assert error.status == 413 and "carries no documents" in error.reason
