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
    """What pikepdf's PDF/A-3b validator finds in a written document (empty: it passes)."""
    report = pdfa.validate_written(io.BytesIO(document), FLAVOUR)
    if report.passed:
        return []
    return [str(finding) for finding in report.findings] or [f"verdict {report.verdict}"]


def attached_file(document: bytes, filename: str) -> bytes | None:
    """The content of a file attached to the document, or None."""
    with pikepdf.open(io.BytesIO(document)) as pdf:
        spec = pdf.attachments.get(filename)
        if spec is None:
            return None
        content: bytes = spec.get_file().read_bytes()
        return content
