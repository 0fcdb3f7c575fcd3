"""The post adapter (``"post"``): a printed cover letter and the documents, sent by an officer.

For an authority with no electronic channel at all. :meth:`PostAdapter.deliver` prepares the print pack
(cover letter PDF, the certificate and other PDFs, the signed envelope for the file) in the print-queue
folder and answers ``delivered=False``: nothing has left the building yet. The officer then records the
dispatch (:func:`record_dispatch`) and, when the return card or an answer comes back, the receipt
(:func:`record_receipt`); both become :class:`~adapters.evidence.Evidence` like e-CODEX evidences, so the
workflows' receipt clock and alerts work the same for letters.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field
from reportlab.lib.units import mm

from adapters.base import Adapter, Attachment, DeliveryResult, OutboundMessage, register_adapter
from adapters.evidence import Evidence, EvidenceOutcome, EvidenceType
from forms.pdf import PageSetup, html_to_pdf

CHANNEL = "post"
ENVELOPE_FILENAME = "probatio-envelope.json"
# The envelope's signature and sender, so that a receiving probatio node can verify the posted file
# when an officer there takes it in (POST /api/v1/inbox/upload).
SIGNATURE_FILENAME = "probatio-envelope.signature.json"

Language = Literal["en", "fr", "de"]

# The letter's fixed phrases; the documents themselves are already in a language the state accepts.
_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Transmission under Council Framework Decision 2008/947/JHA",
        "reference": "Our reference",
        "case": "Case",
        "message": "Communication",
        "enclosed": "Enclosed",
        "body": "Please find enclosed the documents listed below. We would be grateful if you would "
        "acknowledge receipt, quoting our reference.",
        "closing": "Yours faithfully,",
    },
    "fr": {
        "subject": "Transmission au titre de la décision-cadre 2008/947/JAI du Conseil",
        "reference": "Notre référence",
        "case": "Dossier",
        "message": "Communication",
        "enclosed": "Pièces jointes",
        "body": "Veuillez trouver ci-joint les documents énumérés ci-dessous. Nous vous saurions gré "
        "d'en accuser réception en rappelant notre référence.",
        "closing": "Veuillez agréer l'expression de notre haute considération.",
    },
    "de": {
        "subject": "Übermittlung nach dem Rahmenbeschluss 2008/947/JI des Rates",
        "reference": "Unser Zeichen",
        "case": "Vorgang",
        "message": "Mitteilung",
        "enclosed": "Anlagen",
        "body": "Anbei übersenden wir die unten aufgeführten Unterlagen. Wir bitten um eine "
        "Eingangsbestätigung unter Angabe unseres Zeichens.",
        "closing": "Mit freundlichen Grüßen",
    },
}

# A business letter: wide margins, 11 pt, one or two pages, no page numbers. The style block below is
# for the HTML copy; forms.pdf prints the same markup.
LETTER_PAGE = PageSetup(top=25 * mm, right=20 * mm, bottom=25 * mm, left=20 * mm, size=11, numbered=False)

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ t.subject }}</title>
<style>
  @page { size: A4; margin: 25mm 20mm; }
  body { font-family: sans-serif; font-size: 11pt; line-height: 1.4; }
  .sender { font-size: 9pt; color: #333; }
  .recipient { margin: 18mm 0 12mm 0; }
  .date { text-align: right; }
  table { border-collapse: collapse; margin: 6mm 0; }
  td { padding: 1mm 4mm 1mm 0; vertical-align: top; }
</style></head>
<body>
  <div class="sender">{% for line in sender %}{{ line }}<br>{% endfor %}</div>
  <div class="recipient">{% for line in recipient %}{{ line }}<br>{% endfor %}</div>
  <p class="date">{{ today }}</p>
  <h1 style="font-size: 13pt">{{ t.subject }}</h1>
  <table>
    <tr><td>{{ t.reference }}</td><td><strong>{{ message_id }}</strong></td></tr>
    <tr><td>{{ t.case }}</td><td>{{ conversation_id }}</td></tr>
    <tr><td>{{ t.message }}</td><td>{{ message_type }} ({{ from_state }} → {{ to_state }})</td></tr>
  </table>
  <p>{{ t.body }}</p>
  <p>{{ t.enclosed }}:</p>
  <ol>{% for name in enclosed %}<li>{{ name }}</li>{% endfor %}</ol>
  <p style="margin-top: 12mm">{{ t.closing }}</p>
</body></html>
"""
)


class PostOptions(BaseModel):
    """Options for the ``post`` adapter."""

    model_config = ConfigDict(extra="forbid")

    address: list[str] = Field(min_length=1, description="the authority's postal address, one line each")
    sender_address: list[str] = Field(default_factory=list, description="our address for the letterhead")
    language: Language = "en"
    print_queue: str | None = Field(
        default=None, description="folder where print packs are written; none: only returned to the caller"
    )


@dataclass(frozen=True)
class PrintPack:
    """Everything to print and put in the envelope, in order, plus the signed message for the file."""

    cover_letter_html: str
    cover_letter_pdf: bytes
    documents: list[Attachment]
    envelope_json: bytes
    envelope_headers: dict[str, str] = field(default_factory=dict)


def compose_letter(message: OutboundMessage, options: PostOptions, *, today: date | None = None) -> PrintPack:
    """Render the cover letter (HTML, then PDF) for one outbound message."""
    envelope = message.sealed.envelope
    html = _TEMPLATE.render(
        language=options.language,
        t=_PHRASES[options.language],
        sender=options.sender_address,
        recipient=options.address,
        today=(today or datetime.now(UTC).date()).isoformat(),
        message_id=envelope.message_id,
        conversation_id=envelope.conversation_id,
        message_type=str(envelope.type).replace("_", " "),
        from_state=envelope.from_state,
        to_state=envelope.to_state,
        enclosed=[a.filename for a in message.attachments],
    )
    pdf = html_to_pdf(html, options.language, LETTER_PAGE)
    return PrintPack(
        cover_letter_html=html,
        cover_letter_pdf=pdf,
        documents=list(message.attachments),
        envelope_json=message.sealed.body,
        envelope_headers=dict(message.sealed.headers),
    )


def _safe_name(name: str) -> str:
    # File names come from our own attachments, but a path separator must never escape the folder.
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "document"


def write_print_pack(pack: PrintPack, folder: Path) -> list[Path]:
    """Write the pack, numbered in printing order; writing it again replaces it (retries are safe)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [("00-cover-letter.pdf", pack.cover_letter_pdf)] + [
        (f"{index:02d}-{_safe_name(document.filename)}", document.content)
        for index, document in enumerate(pack.documents, start=1)
    ]
    files.append((ENVELOPE_FILENAME, pack.envelope_json))
    files.append((SIGNATURE_FILENAME, json.dumps(pack.envelope_headers, sort_keys=True).encode()))
    written = []
    for name, content in files:
        path = folder / name
        path.write_bytes(content)
        written.append(path)
    return written


def post_reference(message_id: str) -> str:
    return f"post:{message_id}"


@register_adapter
class PostAdapter(Adapter):
    """Prepare a letter to print. Receipt is confirmed by an officer, never by this adapter."""

    name = "post"
    Options = PostOptions
    options: PostOptions

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        # Laying out a letter and writing files: keep both off the event loop.
        pack = await asyncio.to_thread(compose_letter, message, self.options)
        message_id = message.sealed.envelope.message_id
        response: dict[str, object] = {"action": "print and post", "address": self.options.address}
        if self.options.print_queue is not None:
            folder = Path(self.options.print_queue) / _safe_name(message_id)
            written = await asyncio.to_thread(write_print_pack, pack, folder)
            response["print_folder"] = str(folder)
            response["files"] = [path.name for path in written]
        return DeliveryResult(delivered=False, reference=post_reference(message_id), response=response)


def record_dispatch(
    message_id: str,
    *,
    at: datetime,
    recorded_by: str,
    registered_mail_number: str | None = None,
) -> Evidence:
    """The officer posted the letter: evidence of submission (the post office has it)."""
    return Evidence(
        type=EvidenceType.SUBMISSION,
        outcome=EvidenceOutcome.POSITIVE,
        at=at,
        message_reference=message_id,
        channel=CHANNEL,
        source_type="DISPATCHED",
        transport_reference=registered_mail_number,
        recorded_by=recorded_by,
    )


def record_receipt(
    message_id: str,
    *,
    at: datetime,
    recorded_by: str,
    received: bool = True,
    reason: str | None = None,
    registered_mail_number: str | None = None,
) -> Evidence:
    """The return card or the authority's answer says it arrived on ``at`` (or that it came back).

    ``at`` is the date of receipt by the other authority, not the day the officer types it in: it is the
    date the Art 12 decision period runs from.
    """
    return Evidence(
        type=EvidenceType.DELIVERY,
        outcome=EvidenceOutcome.POSITIVE if received else EvidenceOutcome.NEGATIVE,
        at=at,
        message_reference=message_id,
        channel=CHANNEL,
        source_type="RECEIVED" if received else "RETURNED",
        transport_reference=registered_mail_number,
        reason=reason,
        recorded_by=recorded_by,
    )
