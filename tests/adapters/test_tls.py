"""The node link over real TLS on 127.0.0.1, and the shared TLS contexts (adapters/tls.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from adapters.base import DeliveryError, adapter_for
from adapters.envelope import Envelope
from adapters.tls import client_context
from tests.adapters.fake_connector import QuietHTTPServer
from tests.adapters.test_nodelink import PeerInbox, _handler, message_now


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA, and a certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("probatio test CA")).issuer_name(_name("probatio test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def https_inbox(tmp_path: Path, lu_key: Ed25519PrivateKey) -> Iterator[tuple[PeerInbox, Path]]:
    ca, cert, key = _write_ca_and_server_cert(tmp_path)
    peer = PeerInbox(keys={"LU": lu_key.public_key()})
    server = QuietHTTPServer(("127.0.0.1", 0), _handler(peer))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    peer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield peer, ca
    server.shutdown()
    server.server_close()


async def test_delivery_over_tls_trusting_the_peers_ca(
    https_inbox: tuple[PeerInbox, Path], lu_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    inbox, ca = https_inbox
    url = inbox.url("/api/v1/inbox").replace("http://", "https://")
    adapter = adapter_for("nodelink", {"url": url, "verify": str(ca), "timeout_seconds": 5})
    for _ in range(3):  # the same context serves every delivery
        assert (await adapter.deliver(message_now(lu_key, envelope))).delivered
    assert len(inbox.received) == 1  # and the peer de-duplicated the repeats


async def test_a_peer_whose_ca_we_do_not_trust_is_not_delivered_to(
    https_inbox: tuple[PeerInbox, Path], lu_key: Ed25519PrivateKey, envelope: Envelope
) -> None:
    inbox, _ = https_inbox
    url = inbox.url("/api/v1/inbox").replace("http://", "https://")
    adapter = adapter_for("nodelink", {"url": url, "timeout_seconds": 5})  # the system's trust store only
    with pytest.raises(DeliveryError, match="could not reach"):
        await adapter.deliver(message_now(lu_key, envelope))
    assert inbox.received == []


def test_a_context_is_built_once_and_rebuilt_when_its_bundle_changes(tmp_path: Path) -> None:
    ca, _, _ = _write_ca_and_server_cert(tmp_path)
    first = client_context(str(ca))
    assert client_context(str(ca)) is first
    stat = ca.stat()
    os.utime(ca, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new bundle put in place
    assert client_context(str(ca)) is not first
    assert client_context(True) is client_context(True)
    assert client_context(False).verify_mode == ssl.CERT_NONE


def test_a_missing_bundle_is_a_final_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        client_context(str(tmp_path / "nowhere.pem"))
    assert caught.value.retryable is False and "nowhere.pem" in str(caught.value)
