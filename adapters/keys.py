"""The node's Ed25519 signing key and the text form of peers' public keys.

The private key lives in one PEM file readable only by the node's user; public keys travel as base64 of
the raw 32 bytes, short enough to paste into the directory YAML or read out over the phone.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_KEY_MODE = 0o600


def generate_key() -> Ed25519PrivateKey:
    """A fresh signing key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM; the file mode, not a passphrase, protects it (the node starts unattended)."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Load the node's key from ``path``; on first start create it there with mode 0600.

    Created with ``O_EXCL`` so two processes starting at once cannot each write a different key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = generate_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_KEY_MODE)
        except FileExistsError:
            pass  # another process won the race; read its key below
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(private_key_to_pem(key))
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(loaded).__name__}, not an Ed25519 private key")
    return loaded


def public_key_to_text(public_key: Ed25519PublicKey) -> str:
    """Base64 of the raw 32-byte public key."""
    raw = public_key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse :func:`public_key_to_text` output; raises ``ValueError`` with a readable message."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)
