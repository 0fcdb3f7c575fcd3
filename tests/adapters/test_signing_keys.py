"""The node's key survives restarts, stays private on disk, and public keys paste cleanly into YAML."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.keys import generate_key, load_or_create_private_key, public_key_from_text, public_key_to_text


def test_key_is_created_once_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "node.pem"
    first = load_or_create_private_key(path)
    second = load_or_create_private_key(path)
    assert public_key_to_text(first.public_key()) == public_key_to_text(second.public_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_non_ed25519_key_file_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "node.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="not an Ed25519"):
        load_or_create_private_key(path)


def test_public_key_text_round_trip() -> None:
    public = generate_key().public_key()
    text = public_key_to_text(public)
    assert len(text) == 44 and text.endswith("=")
    assert public_key_to_text(public_key_from_text(f"  {text}\n")) == text


@pytest.mark.parametrize("text", ["", "not base64 at all", "AAAA"])
def test_bad_public_key_text_says_why(text: str) -> None:
    with pytest.raises(ValueError):
        public_key_from_text(text)
