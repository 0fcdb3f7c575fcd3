"""Shared fixtures for the adapter tests: two nodes' keys and a fixed clock."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.envelope import Envelope
from adapters.keys import generate_key
from forms.messages import MessageType
from tests.adapters.common import NOW


@pytest.fixture(scope="session")
def lu_key() -> Ed25519PrivateKey:
    return generate_key()


@pytest.fixture(scope="session")
def be_key() -> Ed25519PrivateKey:
    return generate_key()


@pytest.fixture
def envelope() -> Envelope:
    return Envelope(
        message_id="msg-0001",
        conversation_id="conv-LU-2026-17",
        type=MessageType.CERTIFICATE,
        from_state="LU",
        to_state="BE",
        sent_at=NOW,
        payload={"certificate": {"person": "Jean Dupont", "measures": [{"category": "community_service"}]}},
    )


@pytest.fixture
def keys_of(lu_key: Ed25519PrivateKey, be_key: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    """What BE's directory knows: LU's and BE's public keys, nobody else's."""
    return {"LU": lu_key.public_key(), "BE": be_key.public_key()}
