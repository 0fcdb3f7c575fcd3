"""How our messages appear on e-CODEX: one service for FD 2008/947/JHA, one action per message type.

There is no published e-CODEX use case for FD 947 yet (fd947.md §8: not in the first group of
implementing acts), so the service and actions below are ours. They sit in the P-Mode of both gateways,
so both sides must agree on them: change them here and in the P-Mode together, never only one side.
The service is an option of the adapter, so a future official name can be configured without code.

Files (DomibusConnectorClientMessageFileType in eu-LISA/domibusConnectorClient,
client-app-rest-api/…/rest/model/): our envelope is the BUSINESS_CONTENT, the first PDF (the certificate or
form) the BUSINESS_DOCUMENT, every other document a BUSINESS_ATTACHMENT. On arrival the receiving connector
adds its trust-OK token as attachments named ``Token.xml`` and ``Token.pdf`` (the client's file-system
storage lists every unnamed file as BUSINESS_ATTACHMENT, DefaultFSReaderImpl.getFileListFromMessageFolder),
so those two names are taken out before anything is treated as the sender's document; evidences stored
beside the message come as CONFIRMATION files and are not documents either.

Conversation: our ``conversation_id`` is the AS4 conversation id, so the connector groups a transfer's
messages exactly as our workflows do. Backend message id: our ``message_id``, which is what makes
submission idempotent (the adapter looks it up before submitting) and what evidences refer back to.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from adapters.base import Attachment
from adapters.trust_token import TOKEN_FILE_NAMES, TOKEN_PDF_NAME, TOKEN_XML_NAME
from forms.messages import MESSAGES, MessageType

DEFAULT_SERVICE = "FD2008-947-JHA"
DEFAULT_SERVICE_TYPE = "urn:probatio:e-codex:service"

# message type → e-CODEX action, as each message's model in the catalogue names it (forms/messages.py
# `ecodex_action`, beside its article): read by people comparing with the P-Mode.
ACTIONS: MappingProxyType[MessageType, str] = MappingProxyType({t: MESSAGES[t].ecodex_action for t in MessageType})
assert set(ACTIONS) == set(MessageType), "every message of the catalogue has its e-CODEX action"
_BY_ACTION = {action: message_type for message_type, action in ACTIONS.items()}
assert len(_BY_ACTION) == len(ACTIONS), "each message has an e-CODEX action of its own"


def action_for(message_type: MessageType) -> str:
    """The e-CODEX action that carries ``message_type``."""
    return ACTIONS[message_type]


def article_for(message_type: MessageType) -> str:
    """The article a message carries out, as its model in the catalogue names it."""
    return f"Art {MESSAGES[message_type].article}"


def message_type_for(action: str) -> MessageType | None:
    """The message type an incoming e-CODEX action carries, or None for an action that is not ours."""
    return _BY_ACTION.get(action)


def _file(name: str, file_type: str, content: bytes) -> dict[str, Any]:
    # Jackson reads a JSON string into byte[] as base64.
    return {"fileName": name, "fileType": file_type, "fileContent": base64.b64encode(content).decode("ascii")}


def client_files(content: bytes, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """The ``files`` of a client message: our envelope, the business document, then the attachments."""
    files = [_file("probatio-envelope.xml", "BUSINESS_CONTENT", content)]
    # The first PDF is the business document (the certificate or form); the rest ride as attachments.
    document = next((a for a in attachments if a.media_type == "application/pdf"), None)
    for attachment in attachments:
        if attachment.filename in TOKEN_FILE_NAMES:
            # The receiving connector would take our file for its own token: never send one under that name.
            raise ValueError(f"an attachment may not be called {attachment.filename} (the connector's token)")
        kind = "BUSINESS_DOCUMENT" if attachment is document else "BUSINESS_ATTACHMENT"
        files.append(_file(attachment.filename, kind, attachment.content))
    return files


@dataclass
class IncomingFiles:
    """The files of a received message, sorted: ours, the connector's token, the rest."""

    business_content: bytes | None = None
    attachments: list[Attachment] = field(default_factory=list)
    token_xml: bytes | None = None
    token_pdf: bytes | None = None


def _decode(file: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(file.get("fileContent") or "", validate=True)
    except binascii.Error as exc:
        raise ValueError(f"file {file.get('fileName')!r} is not base64") from exc


def split_incoming_files(message: dict[str, Any]) -> IncomingFiles:
    """Sort the files of a message from the "new messages" list; raises ValueError for undecodable content."""
    found = IncomingFiles()
    for file in (message.get("files") or {}).get("files") or []:
        name = str(file.get("fileName") or "attachment")
        kind = file.get("fileType")
        if kind == "BUSINESS_CONTENT":
            found.business_content = _decode(file)
        elif name == TOKEN_XML_NAME:
            found.token_xml = _decode(file)
        elif name == TOKEN_PDF_NAME:
            found.token_pdf = _decode(file)
        elif kind in ("BUSINESS_DOCUMENT", "BUSINESS_ATTACHMENT"):
            media_type = "application/pdf" if name.lower().endswith(".pdf") else "application/octet-stream"
            found.attachments.append(Attachment(filename=name, media_type=media_type, content=_decode(file)))
    return found
