"""The printed annexes as archival documents: PDF/A-3b with real metadata and the form's data attached.

ReportLab (forms/pdf.py) sets the pages, with every glyph used embedded. This module turns its output
into PDF/A-3 level B (ISO 19005-3) with pikepdf: the document information (title, issuing authority,
subject, the approval time as creation date) and its XMP twin with the PDF/A identification, an sRGB
output intent (the ICC profile shipped with pikepdf), and the form's JSON embedded as an associated
file (/AFRelationship /Source: the data the pages were rendered from), so the receiving system reads
it without retyping. pikepdf's own PDF/A preparation (`pikepdf.pdfa.prepare`) does the metadata and
output intent; its allowlist validator (`pikepdf.pdfa.check`, modelled on veraPDF's rules) is what the
tests run on every rendering.

Tagged: the printer (forms/pdf.py) marks each run of text with its structure element (headings, a
section per box, a paragraph per field, tables, lists) and the rules, fills and page numbers as
artifacts; this module builds the structure tree over them. Declared as level B all the same: level A
(and PDF/UA) ask more than we check (alternate descriptions, table headers' scope, a checked reading
order), and no validator we can install checks them.

The same inputs give the same bytes (dates come from the caller, the file identifier from the content),
so a retried activity renders an identical document.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pikepdf
from pikepdf import Name, pdfa

FLAVOUR = "3b"
PRODUCER = "probatio (ReportLab, pikepdf)"


@dataclass(eq=False, slots=True)
class StructNode:
    """One element of the document's logical structure (ISO 32000-1 §14.8 standard types: Document, Sect,
    H1, H2, P, Div, L, LI, LBody, Table, TR, TH, TD); the text of a leaf is found by its marked content."""

    role: str
    children: list[StructNode] = field(default_factory=list)


@dataclass(slots=True)
class Tagging:
    """The structure the printer built, and for each page the element of each marked-content id in order."""

    root: StructNode
    pages: list[list[StructNode]]


@dataclass(frozen=True)
class AssociatedFile:
    """A file carried inside the PDF and listed as associated with the whole document (PDF/A-3)."""

    filename: str
    content: bytes
    mime_type: str
    description: str
    relationship: str = "Source"  # ISO 32000-2 /AFRelationship: Source, Data, Alternative, Supplement


@dataclass(frozen=True)
class DocumentInfo:
    """What a reader (and an archive) learns of the document without opening its pages."""

    title: str
    author: str  # the issuing authority
    subject: str
    created: datetime  # the approval time for a certificate that was sent; must carry a time zone
    keywords: tuple[str, ...] = ()
    files: tuple[AssociatedFile, ...] = field(default_factory=tuple)


def _pdf_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")


def _tag(pdf: pikepdf.Pdf, tagging: Tagging) -> None:
    """The structure tree over the marked content the printer wrote: each element lists its children, then
    its marked content in page order, and the parent tree maps each page's MCIDs back to their elements.

    An element's content on its first page is referred to by bare MCIDs under the element's /Pg (ISO
    32000-1 §14.7.4.2), content on a later page (a paragraph running on) by a marked-content reference
    naming that page: the same tree as an MCR dictionary for each, without a few hundred objects."""
    pages = [page.obj for page in pdf.pages]
    content: dict[int, list[tuple[int, int]]] = {}  # id(node) -> (page index, MCID) of its marked content
    for index, nodes in enumerate(tagging.pages):
        for mcid, node in enumerate(nodes):
            content.setdefault(id(node), []).append((index, mcid))
    tree_root = pdf.make_indirect(pikepdf.Dictionary(Type=Name.StructTreeRoot))
    elements: dict[int, pikepdf.Object] = {}
    roles: dict[str, Name] = {}

    def build(node: StructNode, parent: pikepdf.Object) -> pikepdf.Object | None:
        # Made empty and filled key by key: pikepdf copies a dictionary's content into a new indirect
        # object, and that copy cost more than setting the three keys on it (a third of the tree's time).
        element = pdf.make_indirect(pikepdf.Dictionary())
        element.Type = Name.StructElem
        role = roles.get(node.role)
        if role is None:
            role = roles[node.role] = Name("/" + node.role)
        element.S = role
        element.P = parent
        kids: list[pikepdf.Object | int] = [
            kid for child in node.children if (kid := build(child, element)) is not None]
        own = content.get(id(node), [])
        if not kids and not own:
            return None  # nothing of it was printed (an empty group): no element for it
        if own:
            first = own[0][0]
            element.Pg = pages[first]
            kids.extend(mcid if index == first else pikepdf.Dictionary(Type=Name.MCR, Pg=pages[index], MCID=mcid)
                        for index, mcid in own)
        element.K = pikepdf.Array(kids)
        elements[id(node)] = element
        return element

    document = build(tagging.root, tree_root)
    if document is None:
        return
    numbers: list[pikepdf.Object | int] = []
    for index, (page, nodes) in enumerate(zip(pages, tagging.pages, strict=True)):
        page.StructParents = index
        numbers.append(index)
        numbers.append(pdf.make_indirect(pikepdf.Array([elements[id(node)] for node in nodes])))
    tree_root.K = document
    tree_root.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(numbers)))
    tree_root.ParentTreeNextKey = len(tagging.pages)
    pdf.Root.StructTreeRoot = tree_root
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)


def _flate_by_name(pdf: pikepdf.Pdf) -> None:
    """ReportLab names a stream's one filter in an array (`/Filter [/FlateDecode]`); qpdf passes a Flate
    stream through on save only when /Filter is the bare name, and otherwise inflates and deflates it
    again: the pages and both font subsets, most of the save's time. The two forms mean the same (ISO
    32000-1 §7.3.8.2), so the one-element array becomes its name; the stream's bytes are not touched."""
    for candidate in pdf.objects:
        if isinstance(candidate, pikepdf.Stream):
            filters = candidate.stream_dict.get(Name.Filter)
            if isinstance(filters, pikepdf.Array) and len(filters) == 1 and Name.DecodeParms not in candidate:
                candidate.stream_dict.Filter = filters[0]


def make_pdfa(printed: bytes, info: DocumentInfo, tagging: Tagging | None = None) -> bytes:
    """ReportLab's PDF as PDF/A-3b with `info` as its metadata and `info.files` attached; with `tagging`,
    a tagged PDF (structure tree, marked content, /MarkInfo)."""
    if info.created.tzinfo is None:
        raise ValueError("DocumentInfo.created needs a time zone (the approval time in UTC)")
    with pikepdf.open(io.BytesIO(printed)) as pdf:
        _flate_by_name(pdf)
        for page in pdf.pages:
            # ReportLab writes an empty page transition (/Trans << >>) on every page: a slideshow key
            # that PDF/A validators do not expect on a printed form.
            if Name.Trans in page.obj:
                del page.obj[Name.Trans]
        pdf.docinfo[Name.Title] = info.title
        pdf.docinfo[Name.Author] = info.author
        pdf.docinfo[Name.Subject] = info.subject
        pdf.docinfo[Name.Keywords] = ", ".join(info.keywords)
        pdf.docinfo[Name.Creator] = "probatio"
        pdf.docinfo[Name.CreationDate] = _pdf_date(info.created)
        pdf.docinfo[Name.ModDate] = _pdf_date(info.created)
        for attached in info.files:
            spec = pikepdf.AttachedFileSpec(
                pdf, attached.content, description=attached.description, filename=attached.filename,
                mime_type=attached.mime_type, creation_date=_pdf_date(info.created),
                mod_date=_pdf_date(info.created), relationship=Name("/" + attached.relationship))
            pdf.attachments[attached.filename] = spec
        # Output intent (pikepdf's sRGB profile), XMP with pdfaid part 3 / conformance B filled from
        # the document information, the catalog's /AF list of associated files.
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        pdfa.prepare(pdf, FLAVOUR, output_intent="sRGB")
        # After prepare(), which walks every object looking for associated files: the structure tree is
        # most of the document's objects and has nothing for it to repair.
        if tagging is not None:
            _tag(pdf, tagging)
        # prepare() stamps the metadata with the time of the call; the approval time keeps it reproducible.
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
            meta["xmp:MetadataDate"] = info.created.astimezone(UTC).isoformat()
            meta["pdf:Producer"] = PRODUCER
        out = io.BytesIO()
        pdf.save(out, **pdfa.resolve_save_kwargs(FLAVOUR, deterministic_id=True))
        return out.getvalue()


def pdfa_findings(document: bytes) -> list[str]:
    """What stands between a written document and PDF/A-3b (empty: nothing): pikepdf's validator's findings.

    A sealed document (adapters/seal.py: a PAdES signature field added by an incremental update) is checked
    as a whole too, but the validator cannot take it as it is: it leaves interactive forms, signatures and
    developer extensions other than Adobe's `unsupported`, and takes a file's syntax as qpdf writes it,
    while pyHanko wrote the update. So such a document is checked in three parts (`sealed_findings`)."""
    try:
        with pikepdf.open(io.BytesIO(document)) as pdf:
            sealed = bool(_signature_fields(pdf))
    except pikepdf.PdfError:
        sealed = False  # the validator says why it cannot be read
    if sealed:
        return sealed_findings(document)
    report = pdfa.validate_written(io.BytesIO(document), FLAVOUR)
    if report.passed:
        return []
    return [str(finding) for finding in report.findings] or [f"verdict {report.verdict}"]


# --- a sealed document ---------------------------------------------------------------------------------------

# PAdES declares itself with this developer extension (ETSI EN 319 142-1). Based on PDF 1.7, as PDF/A-3
# is: an extension of PDF 2.0 would bring in what PDF/A-3 does not know.
PADES_EXTENSION = "/ESIC"
# The annotation flags PDF/A-3 6.3.2 rules on: Invisible, Hidden, NoView and ToggleNoView shall be off, Print on.
_ANNOT_INVISIBLE, _ANNOT_HIDDEN, _ANNOT_PRINT, _ANNOT_NOVIEW, _ANNOT_TOGGLENOVIEW = 1, 2, 4, 32, 256
_REVISION_END = re.compile(rb"startxref\s+\d+\s+%%EOF")
_STREAM = re.compile(rb">>[ \t\r\n\f\x00]*stream(\r\n|\n)?")
_EOL = (b"\r\n", b"\n", b"\r")


def _signature_fields(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The terminal signature fields of the document's interactive form (each its own widget, as pyHanko
    makes them, or with widget kids)."""
    form = pdf.Root.get(Name.AcroForm)
    found: list[pikepdf.Dictionary] = []
    pending = list(form.get(Name.Fields, [])) if isinstance(form, pikepdf.Dictionary) else []
    while pending:
        field_ = pending.pop()
        if not isinstance(field_, pikepdf.Dictionary):
            continue
        if field_.get(Name.FT) == Name.Sig:
            found.append(field_)
        elif Name.Kids in field_ and Name.FT not in field_:
            pending.extend(field_.Kids)
    return found


def sealed_findings(document: bytes) -> list[str]:
    """What stands between a sealed document and PDF/A-3b, in three parts:

    1. pikepdf's validator on the document of the last revision, as a reader sees it (XMP as the seal left
       it, document information, output intent, fonts, the associated JSON, structure), less what it does
       not support: the seal's form field and widget, and PAdES's developer extension;
    2. those, against the PDF/A-3 rules for them (ISO 19005-3): the form (6.4.1, 6.4.2), the widget (6.3.1
       to 6.3.3), the signature (6.4.3: its byte range is the whole file but its /Contents, one signer, whose
       certificate it carries), permissions (6.1.12), and the extension (PDF 1.7 based);
    3. the syntax of the bytes the seal appended (6.1.3 trailer and end of file, 6.1.4 cross-reference
       table, 6.1.6 hexadecimal strings of the signature, 6.1.7.1 streams, 6.1.9 indirect objects)."""
    findings: list[str] = []

    def deny(clause: str, where: str, message: str) -> None:
        findings.append(f"[violation] ISO 19005-3 {clause} at {where}: {message}")

    with pikepdf.open(io.BytesIO(document)) as pdf:
        _check_signatures(pdf, document, deny)
        findings += _update_syntax(pdf, document)
        # The validator on the rest: the seal's parts off this copy in memory (never saved), each checked above.
        fields = _signature_fields(pdf)
        widgets = {f.objgen for f in fields} | {k.objgen for f in fields for k in f.get(Name.Kids, [])}
        for page in pdf.pages:
            annots = page.obj.get(Name.Annots)
            if isinstance(annots, pikepdf.Array):
                kept = [a for a in annots if not (a.is_indirect and a.objgen in widgets)]
                if kept:
                    page.obj.Annots = pikepdf.Array(kept)
                else:
                    del page.obj[Name.Annots]
        if all(f.get(Name.FT) == Name.Sig for f in pdf.Root.AcroForm.Fields):
            del pdf.Root[Name.AcroForm]
        extensions = pdf.Root.get(Name.Extensions)
        if isinstance(extensions, pikepdf.Dictionary) and PADES_EXTENSION in extensions:
            del extensions[PADES_EXTENSION]
            if not set(extensions.keys()) - {"/Type"}:
                del pdf.Root[Name.Extensions]
        report = pdfa.check(pdf, FLAVOUR)
        if not report.passed:
            findings += [str(finding) for finding in report.findings] or [f"verdict {report.verdict}"]
    return findings


def _check_signatures(pdf: pikepdf.Pdf, document: bytes, deny: Callable[[str, str, str], None]) -> None:
    from asn1crypto import cms

    form = pdf.Root.AcroForm
    if form.get(Name.NeedAppearances, False) is True:
        deny("6.4.1-3", "AcroForm", "NeedAppearances is true")
    if Name.XFA in form:
        deny("6.4.2-1", "AcroForm", "an XFA form")
    perms = pdf.Root.get(Name.Perms)
    if isinstance(perms, pikepdf.Dictionary) and set(perms.keys()) - {"/UR3", "/DocMDP"}:
        deny("6.1.12-1", "Perms", f"keys other than UR3 and DocMDP: {sorted(perms.keys())}")
    extensions = pdf.Root.get(Name.Extensions)
    pades = extensions.get(PADES_EXTENSION) if isinstance(extensions, pikepdf.Dictionary) else None
    if pades is not None and not (isinstance(pades, pikepdf.Dictionary) and pades.get(Name.BaseVersion) == Name("/1.7")
                                  and isinstance(pades.get(Name.ExtensionLevel), int)):
        deny("6.1", "Extensions /ESIC", "not the PAdES extension of PDF 1.7 (BaseVersion /1.7, an ExtensionLevel)")
    for field_ in _signature_fields(pdf):
        name = str(field_.get(Name.T, "?"))
        for widget in [*field_.get(Name.Kids, [])] or [field_]:
            where = f"signature field {name!r} (widget)"
            if widget.get(Name.Subtype) != Name.Widget:
                deny("6.3.1-1", where, f"annotation of subtype {widget.get(Name.Subtype)}")
            flags = int(widget.get(Name.F, 0))
            if not flags & _ANNOT_PRINT or flags & (_ANNOT_INVISIBLE | _ANNOT_HIDDEN | _ANNOT_NOVIEW
                                                     | _ANNOT_TOGGLENOVIEW):
                deny("6.3.2-2", where, f"flags {flags}: Print shall be set, Hidden, Invisible, NoView and "
                                       "ToggleNoView not")
            rect = [float(v) for v in widget.get(Name.Rect, [0, 0, 0, 0])]
            appearance = widget.get(Name.AP)
            if appearance is None and (rect[2] - rect[0], rect[3] - rect[1]) != (0, 0):
                deny("6.3.3-1", where, "an annotation with an area and no appearance")
            if appearance is not None and (set(appearance.keys()) != {"/N"}
                                           or not isinstance(appearance.N, pikepdf.Stream)):
                deny("6.3.3-2", where, "the appearance dictionary shall hold only N, an appearance stream")
            if Name.A in widget or Name.AA in widget:
                deny("6.4.1-1", where, "an action (A or AA)")
        if Name.AA in field_:
            deny("6.4.1-2", f"signature field {name!r}", "additional actions (AA)")
        signature = field_.get(Name.V)
        if not isinstance(signature, pikepdf.Dictionary):
            continue  # a field not signed yet: nothing to cover
        where = f"signature of field {name!r}"
        byte_range = [int(v) for v in signature.get(Name.ByteRange, [])]
        if (len(byte_range) != 4 or byte_range[0] != 0 or not 0 < byte_range[1] < byte_range[2]
                or byte_range[2] + byte_range[3] != len(document)):
            deny("6.4.3-1", where, f"the byte range {byte_range} is not the whole file of {len(document)} bytes "
                                   "but the signature")
        else:
            gap = document[byte_range[1]:byte_range[2]]
            if not re.fullmatch(rb"<[0-9A-Fa-f]*>", gap) or len(gap) % 2:
                deny("6.4.3-1", where, "the bytes the byte range leaves out are not the signature's hexadecimal "
                                       "string (an even number of hexadecimal digits)")
        try:
            signed = cms.ContentInfo.load(bytes(signature.Contents), strict=False)
            if signed["content_type"].native != "signed_data":
                raise ValueError(f"content type {signed['content_type'].native}")
            content = signed["content"]
            signers = list(content["signer_infos"])
            certificates = [c.chosen for c in content["certificates"] or [] if c.name == "certificate"]
        except (ValueError, TypeError, KeyError) as err:
            deny("6.4.3-2", where, f"/Contents is not a DER-encoded PKCS#7 (CMS) signed-data object: {err}")
            continue
        if len(signers) != 1:
            deny("6.4.3-3", where, f"{len(signers)} signers (SignerInfo) instead of one")
        for signer in signers:
            sid = signer["sid"]
            if sid.name == "issuer_and_serial_number":
                carried = any(c.issuer == sid.chosen["issuer"] and c.serial_number == sid.chosen["serial_number"].native
                              for c in certificates)
            else:
                carried = any(c.key_identifier == sid.chosen.native for c in certificates)
            if not carried:
                deny("6.4.3-2", where, "the signer's certificate is not in the PKCS#7 object")


def _update_syntax(pdf: pikepdf.Pdf, document: bytes) -> list[str]:
    """The file-structure rules of ISO 19005-3 6.1 on the revisions appended to the first (those qpdf did
    not write, so pikepdf's validator does not check them), and on the file's end and last trailer."""
    findings: list[str] = []

    def deny(clause: str, where: str, message: str) -> None:
        findings.append(f"[violation] ISO 19005-3 {clause} at {where}: {message}")

    if Name.ID not in pdf.trailer:
        deny("6.1.3-1", "the last trailer", "no ID")
    if Name.Encrypt in pdf.trailer:
        deny("6.1.3-2", "the last trailer", "Encrypt")
    ends = list(_REVISION_END.finditer(document))
    if not ends:
        return [*findings, "[violation] ISO 19005-3 6.1.3 at the end of the file: no startxref and %%EOF"]
    if document[ends[-1].end():] not in (b"", *_EOL):
        deny("6.1.3-3", "the end of the file", f"{len(document) - ends[-1].end()} bytes after the last %%EOF")
    for first, then in itertools.pairwise(ends):
        at = first.end()
        while at < then.start():
            while at < len(document) and document[at] in b" \t\r\n\f\x00":
                at += 1
            if at >= then.start():
                break
            header = re.compile(rb"(\d+) (\d+) obj(\r\n|\r|\n)").match(document, at)
            if document.startswith(b"xref", at):
                if not re.compile(rb"xref(\r\n|\r|\n)\d+ \d+(\r\n|\r|\n| )").match(document, at):
                    deny("6.1.4-2", f"offset {at}", "the xref keyword and the subsection header are not separated "
                                                    "by a single EOL marker")
                at = document.find(b"startxref", at)
                break
            if header is None:
                if not re.compile(rb"\d+ \d+ obj").match(document, at):
                    deny("6.1.9-1", f"offset {at}", "neither an indirect object nor a cross-reference table")
                    break
                deny("6.1.9-1", f"offset {at}", "obj not followed by an EOL marker")
                header = re.compile(rb"(\d+) (\d+) obj\s*").match(document, at)
                assert header is not None
            where = f"obj {int(header[1])} {int(header[2])} (offset {at})"
            if document[at - 1:at] not in (b"\n", b"\r"):
                deny("6.1.9-1", where, "the object number is not preceded by an EOL marker")
            at = header.end()
            end = document.find(b"endobj", at)
            # A stream: its dictionary's >> and the stream keyword, before any endobj (which its data may hold).
            stream = _STREAM.search(document, at, end if end > 0 else len(document))
            if stream is not None:
                if stream[1] is None:
                    deny("6.1.7.1-2", where, "the stream keyword is not followed by CR LF or LF")
                length = _stream_length(pdf, document[at:stream.start()])
                data_end = stream.end() + (length if length is not None else 0)
                eol = next((e for e in _EOL if document.startswith(e, data_end)), b"")
                if length is None or not eol or not document.startswith(b"endstream", data_end + len(eol)):
                    deny("6.1.7.1-1", where, f"Length {length} is not the number of bytes of the stream's data, "
                                             "followed by an EOL marker and endstream")
                    break
                end = document.find(b"endobj", data_end)
            if end < 0 or end > then.start():
                deny("6.1.9-1", where, "no endobj")
                break
            if document[end - 1:end] not in (b"\n", b"\r"):
                deny("6.1.9-1", where, "endobj is not preceded by an EOL marker")
            at = end + len(b"endobj")
            if not any(document.startswith(e, at) for e in _EOL):
                deny("6.1.9-1", where, "endobj is not followed by an EOL marker")
    return findings


def _stream_length(pdf: pikepdf.Pdf, dictionary: bytes) -> int | None:
    """The /Length a stream dictionary's text gives, direct or by reference (read from the document)."""
    found = re.search(rb"/Length\s+(\d+)(?:\s+(\d+)\s+R)?", dictionary)
    if found is None:
        return None
    if found[2] is None:
        return int(found[1])
    value = pdf.get_object(int(found[1]), int(found[2]))
    return int(value) if isinstance(value, int) else None


def attached_file(document: bytes, filename: str) -> bytes | None:
    """The content of a file attached to the document, or None."""
    with pikepdf.open(io.BytesIO(document)) as pdf:
        spec = pdf.attachments.get(filename)
        if spec is None:
            return None
        content: bytes = spec.get_file().read_bytes()
        return content
