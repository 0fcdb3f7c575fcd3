"""The node's electronic seal on the documents it issues (PAdES, with pyHanko), and its check on receipt.

Reg 2023/2844 (Arts 7–8) expects documents exchanged between judicial authorities to carry a qualified
electronic signature or seal. At approval the issuing node seals the certificate PDF with PAdES
baseline B (ETSI EN 319 142-1, /ETSI.CAdES.detached); the receiving node checks the seal against the
trust anchors its directory lists for the sending state and keeps the document exactly as received.

Two ways to hold the seal key:

- files (the default; `probatio dev` and the tests): an RSA key and its X.509 certificate, self-signed
  and created on first start where absent, as the node's Ed25519 link key is (adapters/keys.py);
- PKCS#11 (production, a qualified seal in an HSM or smart card): pyHanko's PKCS#11 signer with the
  module path, token label, key label and a PIN file; the certificate is read from the token.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from pydantic import BaseModel
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from adapters.keys import PRIVATE_KEY_MODE

# pyHanko logs each seal whose chain it cannot build (a peer's seal we do not trust) as a warning with a
# traceback; verify_seal reports the same as `untrusted`, to the prosecutor and in the receipt's log line.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)

SEAL_FIELD = "probatio-seal"
# A self-signed dev seal lasts as long as a node's data is likely to; a production seal comes from a QTSP.
DEV_SEAL_YEARS = 10
# RSA, not ECDSA: an ECDSA signature makes pyHanko raise the document to PDF 2.0, which PDF/A-3 (based
# on PDF 1.7) does not allow. 2048 bits: loading (and checking) an RSA-3072 key takes four times as long,
# a fifth of a second at each start (the key is loaded once, KeptKeySigner).
SEAL_KEY_BITS = 2048


class SealStatus(StrEnum):
    """What the receiving node concluded about a document's seal."""

    VALID = "valid"  # intact, covers the whole document, chains to a trust anchor of the sending state
    INVALID = "invalid"  # broken or changed after sealing
    UNTRUSTED = "untrusted"  # intact, but not by a seal the directory trusts for the sending state
    UNSIGNED = "unsigned"  # no seal at all


class SealCheck(BaseModel):
    status: SealStatus
    signer: str | None = None  # the seal certificate's subject
    signed_at: datetime | None = None  # the time the sealing node claims (/M, PAdES)
    detail: str = ""


# --- the node's own seal -------------------------------------------------------------------------------


def create_dev_seal(state: str, key_file: Path, certificate_file: Path) -> None:
    """A self-signed seal certificate for `state` and its key (mode 0600), unless the key exists already."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=SEAL_KEY_BITS)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_KEY_MODE)
    except FileExistsError:
        return  # another process won the race; its key and certificate stand
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, state if state != "EL" else "GR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"probatio node {state}"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"probatio seal {state} (self-signed, not qualified)"),
    ])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365 * DEV_SEAL_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class Pkcs11Seal:
    """Where a seal key held in a PKCS#11 token is found."""

    module: Path  # the token's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str
    key_label: str
    pin_file: Path
    certificate_label: str | None = None  # defaults to the key's label


class _KeptSigningCertificate(attributes.SigningCertificateV2Provider):
    """The ESS signing-certificate-v2 attribute (which certificate signed: PAdES requires it), built once and
    kept as read from its DER: built afresh from Python values, asn1crypto serialises it again at each level
    of the CMS container wrapped around it, some forty times a seal, most of the container's cost."""

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(signing_cert)  # type: ignore[no-untyped-call]
        self._value = tsp.SigningCertificateV2.load(as_signing_certificate_v2(signing_cert).dump())

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return self._value


class _KeptAttributes(attributes.SignedAttributeProviderSpec):
    """pyHanko's own signed attributes for the signature at hand, the signing certificate's kept."""

    def __init__(self, chosen: attributes.SignedAttributeProviderSpec, kept: _KeptSigningCertificate) -> None:
        self.chosen, self.kept = chosen, kept

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str
                              ) -> Iterator[attributes.CMSAttributeProvider]:
        for provider in self.chosen.signed_attr_providers(data_digest, digest_algorithm):
            yield self.kept if isinstance(provider, attributes.SigningCertificateV2Provider) else provider


class KeptKeySigner(signers.SimpleSigner):
    """pyHanko's signer for a key held in a file, with the key parsed once for the process's life, and
    the attribute naming its certificate built once (_KeptSigningCertificate).

    SimpleSigner parses the private key again for every signature it makes, and cryptography checks an
    RSA key as it loads it: two thirds of a seal's time went there (a load for the size estimate and one
    for the signature, ~50 ms each on this machine's cores). Any other mechanism than the node seal's
    RSA PKCS#1 v1.5 goes to pyHanko's own code."""

    def __init__(self, signing_cert: asn1_x509.Certificate, signing_key: asn1_keys.PrivateKeyInfo) -> None:
        super().__init__(signing_cert=signing_cert, signing_key=signing_key,  # type: ignore[no-untyped-call]
                         cert_registry=SimpleCertificateStore())  # type: ignore[no-untyped-call]
        self._private_key = serialization.load_der_private_key(signing_key.dump(), password=None)
        self._signing_certificate = _KeptSigningCertificate(signing_cert)

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> attributes.SignedAttributeProviderSpec:
        chosen: attributes.SignedAttributeProviderSpec = super()._signed_attr_provider_spec(*args, **kwargs)
        return _KeptAttributes(chosen, self._signing_certificate)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)  # type: ignore[no-untyped-call]
        if mechanism.signature_algo != "rsassa_pkcs1v15" or not isinstance(self._private_key, rsa.RSAPrivateKey):
            return self.sign_raw(data, digest_algorithm)  # type: ignore[no-untyped-call,no-any-return]
        if dry_run:  # only the signature's length matters
            return bytes(self._private_key.key_size // 8)
        return self._private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


@dataclass
class NodeSeal:
    """The signer that seals this node's documents, and its certificate (for the peers' directories)."""

    signer: signers.Signer
    certificate_pem: str
    _session: Any = None  # a PKCS#11 session, kept open for the process's life
    _reserved: int | None = None  # room for the signature in each sealed PDF, estimated once

    async def reserved_bytes(self) -> int:
        """Room in the PDF for the seal's CMS container (hex digits), as pyHanko estimates it: a dry-run
        signature's size plus half again. Its size depends on the signer alone (key, certificates, signed
        attributes), so it is estimated once rather than with a dry-run signature before every seal."""
        if self._reserved is None:
            dry_run = await self.signer.async_sign(
                hashes.Hash(hashes.SHA256()).finalize(), "sha256", use_pades=True, dry_run=True,
                signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)))
            hex_length = len(dry_run.dump()) * 2
            self._reserved = hex_length + 2 * (hex_length // 4)
        return self._reserved

    @classmethod
    def from_files(cls, state: str, key_file: Path, certificate_file: Path) -> NodeSeal:
        if not key_file.exists():
            try:
                create_dev_seal(state, key_file, certificate_file)
            except OSError as err:
                raise RuntimeError(f"no seal key at {key_file} and none can be created there ({err}); give the "
                                   "node its seal with PROBATIO_SEAL_KEY_FILE and PROBATIO_SEAL_CERTIFICATE_FILE, "
                                   "or PROBATIO_SEAL_PKCS11_MODULE") from err
        try:
            signer = KeptKeySigner(load_cert_from_pemder(str(certificate_file)),  # type: ignore[no-untyped-call]
                                   load_private_key_from_pemder(str(key_file), passphrase=None))
        except (OSError, ValueError, TypeError) as err:
            raise ValueError(f"the seal key {key_file} or certificate {certificate_file} could not be read ({err})"
                             ) from err
        return cls(signer, certificate_file.read_text(encoding="ascii"))

    @classmethod
    def from_pkcs11(cls, token: Pkcs11Seal) -> NodeSeal:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11

        pin = token.pin_file.read_text(encoding="utf-8").strip()
        session = pkcs11.open_pkcs11_session(str(token.module), token_criteria=TokenCriteria(label=token.token_label),
                                             user_pin=pin)
        signer = pkcs11.PKCS11Signer(session, key_label=token.key_label,
                                     cert_label=token.certificate_label or token.key_label)
        certificate = signer.signing_cert
        if certificate is None:
            raise ValueError(f"no certificate labelled {token.certificate_label or token.key_label!r} on token "
                             f"{token.token_label!r}")
        pem = x509.load_der_x509_certificate(certificate.dump()).public_bytes(serialization.Encoding.PEM)
        return cls(signer, pem.decode("ascii"), session)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


async def seal_pdf(document: bytes, seal: NodeSeal, *, reason: str, location: str) -> bytes:
    """`document` with the node's PAdES seal appended as an incremental update (the bytes before it stay
    exactly as they were, so the sealed revision is the rendered PDF/A document)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(document))
    # pyHanko names itself the producer in the document information and in the XMP packet; unless the
    # two already agree on that name, the former keeps ours beside it and the two no longer match,
    # which PDF/A forbids. So the information dictionary says it first.
    info_ref = writer.trailer.raw_get("/Info")
    info = info_ref.get_object()
    info["/Producer"] = generic.TextStringObject(VENDOR)
    writer.mark_update(info_ref)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=reason, location=location)
    signer = signers.PdfSigner(meta, seal.signer)
    sealed: io.BytesIO = await signer.async_sign_pdf(writer, bytes_reserved=await seal.reserved_bytes())
    return sealed.getvalue()


# --- checking a peer's seal ----------------------------------------------------------------------------


def load_certificates(pem_texts: list[str]) -> list[asn1_x509.Certificate]:
    """PEM texts (each may hold several certificates) as the certificates pyHanko validates against."""
    found: list[asn1_x509.Certificate] = []
    for text in pem_texts:
        for certificate in x509.load_pem_x509_certificates(text.encode("ascii")):
            found.append(asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)))
    return found


async def verify_seal(document: bytes, trust_anchors: list[asn1_x509.Certificate]) -> SealCheck:
    """The seal of a received document, checked offline against the sending state's trust anchors.

    Never raises on what a peer sent: a document that cannot be read is `invalid`, one without a
    signature `unsigned`."""
    try:
        reader = PdfFileReader(io.BytesIO(document), strict=False)
        seals = reader.embedded_regular_signatures
    except Exception as err:  # pyHanko raises many kinds on a damaged file; each is the same finding
        return SealCheck(status=SealStatus.INVALID, detail=f"the PDF cannot be read: {err}")
    if not seals:
        return SealCheck(status=SealStatus.UNSIGNED, detail="the document carries no seal")
    embedded = seals[-1]
    # No network: revocation information is neither fetched nor required (the peers' CRL and OCSP
    # services are not reachable from every node); trust comes from the directory.
    context = ValidationContext(trust_roots=trust_anchors, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = await async_validate_pdf_signature(embedded, context)
    except Exception as err:
        return SealCheck(status=SealStatus.INVALID, detail=f"the seal cannot be checked: {err}")
    signer = status.signing_cert.subject.human_friendly
    signed_at = status.signer_reported_dt
    if not (status.intact and status.valid):
        return SealCheck(status=SealStatus.INVALID, signer=signer, signed_at=signed_at,
                         detail="the seal does not match the document: it was changed after sealing")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SealCheck(status=SealStatus.INVALID, signer=signer, signed_at=signed_at,
                         detail="the document was extended after it was sealed")
    if not status.trusted:
        return SealCheck(status=SealStatus.UNTRUSTED, signer=signer, signed_at=signed_at,
                         detail="the seal is intact but its certificate is not among the sending state's "
                                "trust anchors in the directory")
    return SealCheck(status=SealStatus.VALID, signer=signer, signed_at=signed_at,
                     detail="intact, covers the whole document, issued under a trust anchor of the sending state")
