"""The documents that go with the certificate (Art 6(1)): the judgment, the probation decision, others.

Art 6(1): "the issuing authority … shall forward the judgment and, where applicable, the probation
decision, together with the certificate". A judgment may also travel by another way than the certificate
(a paper original by post, an e-mail, e-CODEX); the certificate then says so in box (k). The rule is
here once; the web layer asks it at `approve` and box (k) is filled from :class:`Art6_1Documents`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from forms.common import LanguageCode

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""One attached PDF may be at most this large (a scanned judgment of a few hundred pages)."""

MAX_DOCUMENTS = 10
"""At most this many documents with one certificate: they all travel in one signed message."""

MAX_DOCUMENTS_TOTAL_BYTES = 50 * 1024 * 1024
"""All documents of one certificate together: bounds the size of the message that carries them."""

PDF_MAGIC = b"%PDF-"
"""Every PDF starts with this header (ISO 32000-1, 7.5.2); anything else is not a PDF."""

_FILENAME_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


class DocumentKind(StrEnum):
    """What an attached document is (Art 6(1))."""

    JUDGMENT = "judgment"
    PROBATION_DECISION = "probation_decision"
    OTHER = "other"


class SeparateChannel(StrEnum):
    """How a judgment not attached to the certificate is sent instead (said in box (k))."""

    POST = "post"
    EMAIL = "email"
    ECODEX = "ecodex"


class AttachedDocument(BaseModel):
    """One document listed in box (k): what it is, not its content (the content travels beside)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=100)
    kind: DocumentKind
    filename: str = Field(min_length=1, max_length=200)
    language: LanguageCode
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1, le=MAX_DOCUMENT_BYTES)

    @classmethod
    def of_listed(cls, row: Mapping[str, Any]) -> AttachedDocument:
        """From a row of the case's document list (store/documents.py `listed`)."""
        return cls(id=row["id"], kind=row["kind"], filename=row["filename"], language=row["language"],
                   sha256=row["sha256"], size=int(row["size"]))


class TransmittedDocument(AttachedDocument):
    """One document as a certificate or a completion carries it (Art 6(1)): what box (k) lists of it, and its
    bytes in base64 inside the signed payload (the receiver checks them against the sha256 and the size before
    keeping anything: intake/documents.py)."""

    content: str = Field(min_length=1, max_length=4 * ((MAX_DOCUMENT_BYTES + 2) // 3), pattern=r"^[A-Za-z0-9+/=]+$")


class Art6_1Documents(BaseModel):
    """Art 6(1): the judgment goes with the certificate, or the certificate says how it is sent instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attached: list[AttachedDocument] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    judgment_sent_separately: SeparateChannel | None = None

    @property
    def judgment_attached(self) -> bool:
        return any(d.kind == DocumentKind.JUDGMENT for d in self.attached)

    @classmethod
    def of_listed(cls, rows: Iterable[Mapping[str, Any]], separately: str | None) -> Art6_1Documents:
        """From the case's document list (store/documents.py `listed`) and how the judgment goes otherwise."""
        return cls(attached=[AttachedDocument.of_listed(r) for r in rows],
                   judgment_sent_separately=SeparateChannel(separately) if separately else None)

    def box_k(self, certificate: Mapping[str, Any]) -> dict[str, Any]:
        """The certificate with box (k) saying which documents are attached and how the judgment is sent
        otherwise (a paper original may follow an attached copy: the certificate then says both)."""
        return {**certificate, "other_circumstances": {
            **(certificate.get("other_circumstances") or {}),
            "judgment_attached": self.judgment_attached,
            "documents": [d.model_dump(mode="json") for d in self.attached],
            "judgment_sent_separately": self.judgment_sent_separately,
        }}

    def refusal(self) -> str | None:
        """Why the certificate may not be sent yet, or None."""
        if self.judgment_attached or self.judgment_sent_separately is not None:
            return None
        channels = ", ".join(c.value for c in SeparateChannel)
        return ("no judgment is attached, and Art 6(1) sends the judgment with the certificate: attach it "
                f"(POST …/documents), or say here how it is sent separately ({channels})")


def sent_separately(certificate: Mapping[str, Any] | None) -> str | None:
    """How the certificate (box (k)) says its judgment is sent, where it is not attached."""
    value = ((certificate or {}).get("other_circumstances") or {}).get("judgment_sent_separately")
    return str(value) if value else None


def pdf_problem(head: bytes) -> str | None:
    """Why these first bytes are not those of a PDF, or None."""
    if not head.startswith(PDF_MAGIC):
        return "is not a PDF (a PDF file starts with %PDF-)"
    return None


def safe_filename(name: str | None, kind: DocumentKind) -> str:
    """A filename fit for a Content-Disposition header and a mail attachment: no path, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _FILENAME_UNSAFE.sub("_", base).strip(" ._")[:150]
    if not base:
        base = kind.value
    if not base.lower().endswith(".pdf"):
        base += ".pdf"
    return base


def outgoing_documents(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The message payload's `documents`: each as box (k) lists it, with its bytes in base64 (covered by the
    envelope's signature; the receiver checks them against the sha256)."""
    return [TransmittedDocument(id=r["id"], kind=r["kind"], filename=r["filename"], language=r["language"],
                                sha256=r["sha256"], size=int(r["size"]),
                                content=base64.b64encode(bytes(r["content"])).decode("ascii")).model_dump(mode="json")
            for r in rows]
