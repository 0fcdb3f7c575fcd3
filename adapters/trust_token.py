"""The e-CODEX "trust-OK token": the sending connector's verdict on the signature of the business document.

The connector validates the business document's signature and adds its result to the message as two
attachments, ``Token.xml`` (machine-readable) and ``Token.pdf`` (the same for a person): e-CODEX/connector at
0d4f5012, domibusConnectorSecurityToolkit/src/main/java/eu/ecodex/connector/security/DomibusSecurityToolkitImpl.java
(TOKEN_XML_FILE_NAME, TOKEN_PDF_FILE_NAME). They are the connector's, not the sender's business documents,
so probatio keeps them apart and reads the XML. Its shape follows the connector's own test token
(domibusConnectorController/src/test/resources/testmessages/msg1/Token.xml) and the enums
eu/ecodex/dss/model/token/TechnicalTrustLevel.java (SUCCESSFUL, SUFFICIENT, FAIL) and LegalTrustLevel.java
(SUCCESSFUL, UNDETERMINED, NOT_SUCCESSFUL).

A red verdict does not stop the message: the FD leaves the authenticity of the certificate to the
prosecutor (Art 6), so the case page warns and the person decides.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from enum import StrEnum

import defusedxml.ElementTree as SafeET
from pydantic import BaseModel, ConfigDict

TOKEN_XML_NAME = "Token.xml"  # noqa: S105 - a file name, not a secret
TOKEN_PDF_NAME = "Token.pdf"  # noqa: S105
TOKEN_FILE_NAMES = frozenset({TOKEN_XML_NAME, TOKEN_PDF_NAME})


class TrustColour(StrEnum):
    """How the case page shows the verdict."""

    GREEN = "green"  # technically and legally successful
    AMBER = "amber"  # sufficient or undetermined: a person should look
    RED = "red"  # the signature failed or the legal check was not successful
    NONE = "none"  # no token came with the message


class TrustVerdict(BaseModel):
    """What the sending connector's token says, kept with the incoming message."""

    model_config = ConfigDict(frozen=True)

    colour: TrustColour
    technical: str | None = None
    legal: str | None = None
    comments: str | None = None
    issuer: str | None = None
    document: str | None = None
    verified_at: str | None = None

    @property
    def is_warning(self) -> bool:
        return self.colour in (TrustColour.RED, TrustColour.AMBER)


NO_TOKEN = TrustVerdict(colour=TrustColour.NONE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element | None, name: str) -> ET.Element | None:
    if node is None:
        return None
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: ET.Element | None) -> str | None:
    text = (node.text or "").strip() if node is not None else ""
    return text or None


def read_trust_token(document: bytes) -> TrustVerdict:
    """The verdict of a ``Token.xml``; a token we cannot read is a red one (nobody vouches for the document)."""
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        return TrustVerdict(colour=TrustColour.RED, comments="the trust token carries a DTD and was not read")
    try:
        root = SafeET.fromstring(document)
    except ET.ParseError as exc:
        return TrustVerdict(colour=TrustColour.RED, comments=f"the trust token is not XML: {exc}")
    if _local(root.tag) != "TrustOkToken":
        return TrustVerdict(colour=TrustColour.RED, comments=f"the trust token is a <{_local(root.tag)}>")
    validation = _child(root, "Validation")
    technical = _text(_child(_child(validation, "TechnicalResult"), "TrustLevel"))
    legal = _text(_child(_child(validation, "LegalResult"), "TrustLevel"))
    comments = _text(_child(_child(validation, "TechnicalResult"), "Comments"))
    issuer = _child(root, "Issuer")
    issued_by = " ".join(p for p in (_text(_child(issuer, "ServiceProvider")), _text(_child(issuer, "Country"))) if p)
    if technical == "FAIL" or legal == "NOT_SUCCESSFUL" or technical is None:
        colour = TrustColour.RED
    elif technical == "SUCCESSFUL" and legal in (None, "SUCCESSFUL"):
        colour = TrustColour.GREEN
    else:
        colour = TrustColour.AMBER
    return TrustVerdict(colour=colour, technical=technical, legal=legal, comments=comments,
                        issuer=issued_by or None, document=_text(_child(_child(root, "Document"), "Filename")),
                        verified_at=_text(_child(validation, "VerificationTime")))
