"""Printing the annexes: the HTML our templates produce, laid out on A4 pages with ReportLab.

The Jinja templates stay the one description of each form (which boxes, fields and tick boxes, in
which order); this module is their print style. It knows the templates' small vocabulary (header,
`section.box`, `.field` with `.label`/`.value`, `.tick`, `.sub`, `.group`, `.point`, `.signature`)
and nothing about the Framework Decision.

Why not a browser engine: WeasyPrint needed about 0.8 s of CPU for the six-page certificate, which
made rendering the largest cost of a transfer on a small node (bench/RESULTS.md, `render` and
`lifecycle`). A form is boxes of labelled lines; ReportLab's canvas sets it in a few tens of
milliseconds, embeds only the glyphs used (with a ToUnicode map, so text can be searched and
copied), and with `invariant` writes the same bytes for the same certificate, so a retried
activity produces an identical attachment.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess  # nosec B404 - fc-match only, fixed arguments, to find the installed fonts
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path

from lxml import etree
from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from forms.pdfa import DocumentInfo, StructNode, Tagging, make_pdfa

# --- fonts -------------------------------------------------------------------------------------------

# DejaVu Sans covers Latin, Greek and Cyrillic and the tick-box glyphs: every catalogue prints in it
# (tests/forms check each label's characters against the font). Debian: fonts-dejavu-core (regular,
# bold); the oblique comes with fonts-dejavu-extra and falls back to regular when absent.
FONT_FILES = {
    "regular": ("DejaVu Sans", "DejaVuSans.ttf"),
    "bold": ("DejaVu Sans:bold", "DejaVuSans-Bold.ttf"),
    "oblique": ("DejaVu Sans:oblique", "DejaVuSans-Oblique.ttf"),
}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/local/share/fonts"))


def font_file(style: str) -> Path | None:
    pattern, file_name = FONT_FILES[style]
    for folder in FONT_DIRS:
        if (folder / file_name).is_file():
            return folder / file_name
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    found = subprocess.run(  # noqa: S603  # nosec B603 - fixed arguments
        [fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=False
    ).stdout
    return Path(found) if found.endswith(file_name) else None


@cache
def fonts() -> dict[str, str]:
    """Registers DejaVu Sans with ReportLab once per process; style -> registered font name."""
    names: dict[str, str] = {}
    for style in FONT_FILES:
        path = font_file(style)
        if path is None:
            if style == "regular":
                raise RuntimeError("DejaVu Sans is not installed (Debian: fonts-dejavu-core); PDFs cannot be printed")
            continue
        name = f"probatio-{style}"
        pdfmetrics.registerFont(TTFont(name, str(path)))
        names[style] = name
    names.setdefault("bold", names["regular"])
    names.setdefault("oblique", names["regular"])
    return names


# --- the document tree -------------------------------------------------------------------------------


@dataclass(slots=True)
class Element:
    tag: str
    classes: frozenset[str] = frozenset()
    children: list[Element | str] = field(default_factory=list)


VOID_TAGS = {"meta", "br", "hr", "img", "link", "input"}
SKIPPED_TAGS = {"head", "style", "script", "title"}


@lru_cache(maxsize=1024)
def _classes(attribute: str) -> frozenset[str]:
    """A class attribute as a set, one set per distinct attribute: the templates use a few dozen, over a
    thousand times a certificate, and every object made while printing is one more for the collector."""
    return frozenset(attribute.split())


class _TreeBuilder:
    """Our own templates' output, so well nested; anything in <head> is left out of the print.

    libxml2 (lxml's HTML parser) reads the markup and calls this object for each tag and text, as a parser
    target: the standard library's parser, written in Python, took as long as the whole layout."""

    def __init__(self) -> None:
        self.root = Element("root")
        self.stack = [self.root]
        self.title = ""
        self._skipping = 0
        self._in_title = False

    def feed(self, html: str) -> None:
        """Reads a whole document (or fragment) at once."""
        parser = etree.HTMLParser(target=self, remove_comments=True, no_network=True)
        parser.feed(html)
        parser.close()

    def close(self) -> None:
        """The end of the document (the target protocol); nothing is left open to finish."""

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping += 1
            self._in_title = tag == "title"
            return
        if self._skipping:
            return
        if tag == "br":
            self.stack[-1].children.append(Element("br"))
            return
        if tag in VOID_TAGS:
            return
        element = Element(tag, _classes(attrs.get("class") or ""))
        self.stack[-1].children.append(element)
        self.stack.append(element)

    def end(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping -= 1
            self._in_title = False
            return
        if tag in VOID_TAGS or self._skipping:
            return
        if len(self.stack) > 1 and self.stack[-1].tag == tag:
            self.stack.pop()

    def data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            children = self.stack[-1].children
            if children and isinstance(children[-1], str):  # libxml2 hands text over in parts (at each entity)
                children[-1] += data
            else:
                children.append(data)


# --- text runs and lines -----------------------------------------------------------------------------

BLACK = Color(0, 0, 0)
LABEL_GREY = Color(0.13, 0.13, 0.13)
META_GREY = Color(0.2, 0.2, 0.2)
RULE_GREY = Color(0.6, 0.6, 0.6)
HIGHLIGHT = Color(1, 0.949, 0.702)  # #fff2b3, as on screen: free text still to be translated


@dataclass(frozen=True, slots=True)
class Style:
    font: str = "regular"
    size: float = 9.0
    color: Color = BLACK
    highlight: bool = False
    underline: bool = False  # the value line of a field, as on the paper form
    keep_spaces: bool = False  # pre-wrap: a value's own line breaks are kept
    # Styles are dictionary keys (the split-text cache) hundreds of times a page, and ReportLab's Color
    # hashes in Python: the hash is worked out once, when the style is made.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.font, self.size, self.color, self.highlight, self.underline, self.keep_spaces)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash


@dataclass(slots=True)
class Piece:
    """A word or a space, measured, in one style."""

    text: str
    style: Style
    width: float
    # Ordinary spaces break lines and vanish at line ends; no-break spaces (a blank value) stay. Known when
    # the piece is made: line breaking asks it of every piece on every line.
    breakable: bool = field(init=False)

    def __post_init__(self) -> None:
        self.breakable = not self.text.strip(" \t")


@dataclass(slots=True)
class Line:
    pieces: list[Piece]
    height: float
    indent: float = 0.0
    align: str = "left"


LINE_HEIGHT = 1.35
_COLLAPSIBLE = re.compile(r"[ \t\n\r\f]+")
_WORDS = re.compile(r"\n|[ \t]+|[^ \t\n]+")


# Measured words and split texts are kept between certificates: the labels, headings and most values
# recur in every form a worker prints, and measuring them glyph by glyph was a fifth of the layout.
MEASURED_WORDS = 1 << 15
SPLIT_TEXTS = 1 << 13


@lru_cache(maxsize=MEASURED_WORDS)
def _measure(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, fonts()[font], size))


def _width(text: str, style: Style) -> float:
    return _measure(text, style.font, style.size)


@lru_cache(maxsize=SPLIT_TEXTS)
def _pieces(text: str, style: Style) -> tuple[Piece | None, ...]:
    """Words and spaces; None marks a forced line break (a newline inside a value). The pieces are shared
    (cached): nothing changes a piece once made."""
    if not style.keep_spaces:
        text = _COLLAPSIBLE.sub(" ", text)  # as HTML does: no-break spaces are kept
    out: list[Piece | None] = []
    for token in _WORDS.findall(text):
        if token == "\n":  # noqa: S105 - a newline, not a secret
            out.append(None)
        else:
            if token[0] in " \t":
                token = " " if not style.keep_spaces else token.replace("\t", "    ")
            out.append(Piece(token, style, _measure(token, style.font, style.size)))
    return tuple(out)


def break_lines(runs: list[tuple[str, Style]], width: float, indent: float = 0.0, align: str = "left") -> list[Line]:
    """Greedy line breaking over styled runs; a word longer than the line is cut by characters."""
    lines: list[Line] = []
    current: list[Piece] = []
    used = 0.0

    def finish() -> None:
        nonlocal current, used
        while current and current[-1].breakable:
            current.pop()
        if current:
            size = max([p.style.size for p in current])
        else:  # an empty line (a forced break) is as high as the runs' largest type
            size = max([s.size for _, s in runs], default=9.0)
        lines.append(Line(current, size * LINE_HEIGHT, indent, align))
        current, used = [], 0.0

    for text, style in runs:
        for piece in _pieces(text, style):
            if piece is None:
                finish()
                continue
            if piece.breakable:
                if current:
                    current.append(piece)
                    used += piece.width
                continue
            if used + piece.width > width and current:
                finish()
            while piece.width > width:  # a very long word (a URL, a reference): cut where it must
                cut = len(piece.text) - 1
                while cut > 1 and _width(piece.text[:cut], style) > width - used:
                    cut -= 1
                head = Piece(piece.text[:cut], style, _width(piece.text[:cut], style))
                current.append(head)
                finish()
                rest = piece.text[cut:]
                piece = Piece(rest, style, _width(rest, style))
            current.append(piece)
            used += piece.width
    if current or not lines:
        finish()
    return lines


# --- pages --------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4


@dataclass(frozen=True)
class PageSetup:
    """A4 with margins (points), the body's type size, and whether the foot shows 'page n / total'."""

    top: float = 16 * mm
    right: float = 14 * mm
    bottom: float = 18 * mm
    left: float = 14 * mm
    size: float = 9.0
    numbered: bool = True

    @property
    def width(self) -> float:
        return PAGE_WIDTH - self.left - self.right


FORM_PAGE = PageSetup()  # the annexes: as the templates' @page rule


@dataclass(slots=True)
class Text:
    x: float
    baseline: float
    piece: Piece
    node: StructNode | None = None  # the structure element (heading, paragraph, cell) the text belongs to


@dataclass(slots=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    color: Color


@dataclass(slots=True)
class Fill:
    x: float
    y: float
    width: float
    height: float
    color: Color


Mark = Text | Rule | Fill


@dataclass(slots=True)
class Frame:
    """A vertical span of the flow (a box, a group) that may cross pages: its border is drawn per page."""

    page: int
    top: float


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring words of one style become one string: one text operator per run, not per word."""
    merged: list[Piece] = []
    start = 0
    for end in range(1, len(pieces) + 1):
        if end < len(pieces):
            before, after = pieces[end - 1].style, pieces[end].style
            if before is after or before == after:
                continue
        if end - start == 1:
            merged.append(pieces[start])
        else:
            same = pieces[start:end]
            merged.append(Piece("".join([p.text for p in same]), same[0].style, sum([p.width for p in same])))
        start = end
    return merged


class Layout:
    def __init__(self, setup: PageSetup) -> None:
        self.pages: list[list[Mark]] = [[]]
        self.top, self.bottom = PAGE_HEIGHT - setup.top, setup.bottom
        self.y = self.top
        self.node: StructNode | None = None  # where the text laid out next belongs in the structure tree

    @property
    def page(self) -> int:
        return len(self.pages) - 1

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.top

    def room(self, height: float) -> None:
        if self.y - height < self.bottom and self.y < self.top:
            self.new_page()

    def space(self, height: float) -> None:
        self.y -= height
        if self.y < self.bottom:
            self.new_page()

    def lines(self, lines: list[Line], x: float, width: float) -> None:
        for line in lines:
            self.room(line.height)
            self._line(line, x, width)
            self.y -= line.height

    def _line(self, line: Line, x: float, width: float) -> None:
        marks = self.pages[-1]
        pieces = line.pieces
        size = max([p.style.size for p in pieces]) if pieces else line.height / LINE_HEIGHT
        baseline = self.y - (line.height - size) / 2 - size * 0.8
        total = sum([p.width for p in pieces])
        slack = max(0.0, width - line.indent - total)
        left = x + line.indent + {"center": slack / 2, "right": slack}.get(line.align, 0.0)
        for piece in _merged(line.pieces):
            style = piece.style
            if style.highlight:
                marks.append(Fill(left, baseline - style.size * 0.25, piece.width, style.size * 1.2, HIGHLIGHT))
            if style.underline:
                marks.append(Rule(left, baseline - 1.6, left + piece.width, baseline - 1.6, 0.4, RULE_GREY))
            if not piece.text.isspace():
                marks.append(Text(left, baseline, piece, self.node))
            left += piece.width

    def open_frame(self) -> Frame:
        return Frame(self.page, self.y)

    def border(self, frame: Frame, x: float, width: float, line_width: float, color: Color, *, box: bool) -> None:
        """A frame's border from where it opened to the cursor, one segment on each page it crosses: the
        left side only (a group), or all four sides, open where the frame runs on to the next page (a box)."""
        for page in range(frame.page, self.page + 1):
            top = frame.top if page == frame.page else self.top
            bottom = self.y if page == self.page else self.bottom
            marks = self.pages[page]
            marks.append(Rule(x, top, x, bottom, line_width, color))
            if box:
                marks.append(Rule(x + width, top, x + width, bottom, line_width, color))
                if page == frame.page:
                    marks.append(Rule(x, top, x + width, top, line_width, color))
                if page == self.page:
                    marks.append(Rule(x, bottom, x + width, bottom, line_width, color))


# --- the print style of the templates' vocabulary ---------------------------------------------------



def _runs(element: Element | str, style: Style) -> list[tuple[str, Style]]:
    """The inline content of an element as styled runs, by the classes the templates use."""
    if isinstance(element, str):
        return [(element, style)]
    if element.tag == "br":
        return [("\n", Style(style.font, style.size, style.color, keep_spaces=True))]
    if "value" in element.classes:
        style = Style("bold", style.size, BLACK, style.highlight, underline=True, keep_spaces=True)
    elif "label" in element.classes:
        style = Style(style.font, style.size, LABEL_GREY)
    elif "translation-note" in element.classes:
        style = Style("oblique", max(style.size - 1.5, 6.0), style.color, highlight=True, keep_spaces=False)
    elif "needs-translation" in element.classes:
        style = Style(style.font, style.size, style.color, True, style.underline, style.keep_spaces)
    elif "box" in element.classes:  # the tick box glyph, a little larger than its text
        style = Style(style.font, style.size + 1, style.color)
    elif "letter" in element.classes or element.tag in {"b", "strong"}:
        style = Style("bold", style.size, style.color)
    runs: list[tuple[str, Style]] = []
    for child in element.children:
        runs.extend(_runs(child, style))
    return _value_or_blank(runs) if "value" in element.classes else runs


def _value_or_blank(runs: list[tuple[str, Style]]) -> list[tuple[str, Style]]:
    """An empty value stays on the page as a blank line to fill in, as on the paper form."""
    if "".join(text for text, _ in runs).strip(" \n\t\xa0"):
        return runs
    style = runs[0][1] if runs else Style("bold", underline=True)
    return [("\xa0" * 24, style)]


def _is_inline(element: Element) -> bool:
    return element.tag in {"span", "b", "strong", "em", "i", "br"}


class Printer:
    """Lays the templates' vocabulary out on pages and, beside it, the document's logical structure (the
    tags a screen reader follows): a heading per title, a section per box, a paragraph per field."""

    def __init__(self, setup: PageSetup) -> None:
        self.layout = Layout(setup)
        self.structure = StructNode("Document")
        self._parent = self.structure

    def leaf(self, role: str) -> StructNode:
        """A new element under the current container; the text laid out next belongs to it."""
        node = StructNode(role)
        self._parent.children.append(node)
        self.layout.node = node
        return node

    @contextmanager
    def container(self, role: str) -> Iterator[StructNode]:
        node = StructNode(role)
        self._parent.children.append(node)
        outer, self._parent = self._parent, node
        try:
            yield node
        finally:
            self._parent = outer

    def block(self, element: Element, x: float, width: float, style: Style) -> None:
        classes, layout = element.classes, self.layout
        if element.tag == "header":
            for child in element.children:
                if isinstance(child, Element) and child.tag == "h1":
                    self.leaf("H1")
                    layout.lines(break_lines(_runs(child, Style("bold", 13)), width, align="center"), x, width)
                    layout.space(4)
                elif isinstance(child, Element):
                    inner = width - 24 * mm
                    self.leaf("P")
                    layout.lines(break_lines(_runs(child, Style(size=8.5)), inner, align="center"), x + 12 * mm, inner)
            layout.space(8)
        elif element.tag == "section" and "box" in classes:
            self.box(element, x, width, style)
        elif "field" in classes or "tick" in classes or "label" in classes or "point" in classes:
            indent = 8.0 if "tick" in classes else 0.0
            if "point" in classes:
                layout.space(3)
                style = Style("bold", style.size, style.color)
            margin = 1.5 if "field" in classes else 1.0 if "tick" in classes else 0.0
            layout.space(margin)
            self.leaf("P")
            layout.lines(break_lines(_runs(element, style), width - indent, indent), x, width)
            layout.space(margin)
        elif "group" in classes:
            layout.space(3)
            frame = layout.open_frame()
            with self.container("Div"):
                self.children(element, x + 6.5, width - 6.5, style)
            layout.border(frame, x + 0.75, width, 1.5, RULE_GREY, box=False)
            layout.space(3)
        elif "sub" in classes:
            self.children(element, x + 16, width - 16, style)
        elif "sender" in classes:  # the cover letter's letterhead
            self.children(element, x, width, Style(size=style.size - 2, color=META_GREY))
        elif "recipient" in classes:  # where a window envelope shows the address
            layout.space(18 * mm)
            self.children(element, x, width, style)
            layout.space(12 * mm)
        elif "meta" in classes:
            layout.space(4)
            self.children(element, x, width, Style(size=7.5, color=META_GREY))
        elif "signature" in classes:
            self.signature(element, x, style)
        elif element.tag in {"p", "h1"}:  # prose (the cover letter)
            if element.tag == "h1":
                style = Style("bold", style.size * 1.2, style.color)
            layout.space(style.size * 0.8)
            align = "right" if "date" in classes else "left"
            self.leaf("H1" if element.tag == "h1" else "P")
            layout.lines(break_lines(_runs(element, style), width, align=align), x, width)
            layout.space(style.size * 0.8)
        elif element.tag == "ol":
            items = [c for c in element.children if isinstance(c, Element) and c.tag == "li"]
            with self.container("L"):
                for number, item in enumerate(items, start=1):
                    with self.container("LI"):
                        self.leaf("LBody")
                        layout.lines(break_lines([(f"{number}. ", style), *_runs(item, style)], width - 16, 16),
                                     x, width)
        elif element.tag == "table":
            self.table(element, x, width, style)
        else:
            self.children(element, x, width, style)

    def children(self, element: Element, x: float, width: float, style: Style) -> None:
        inline: list[Element | str] = []

        def flush() -> None:
            runs = [run for child in inline for run in _runs(child, style)]
            if "".join(text for text, _ in runs).strip():
                self.leaf("P")
                self.layout.lines(break_lines(runs, width), x, width)
            inline.clear()

        for child in element.children:
            if isinstance(child, Element) and not _is_inline(child):
                flush()
                self.block(child, x, width, style)
            else:
                inline.append(child)
        flush()

    def box(self, element: Element, x: float, width: float, style: Style) -> None:
        layout = self.layout
        layout.room(40)  # a box title is never left alone at the foot of a page
        with self.container("Sect"):
            self._box(element, x, width, style)

    def _box(self, element: Element, x: float, width: float, style: Style) -> None:
        layout = self.layout
        frame = layout.open_frame()
        inner_x, inner_width = x + 6, width - 12
        layout.space(4)
        titles = [c for c in element.children if isinstance(c, Element) and c.tag == "h2"]
        for title in titles:
            self.leaf("H2")
            layout.lines(break_lines(_runs(title, Style("bold", 9.5)), inner_width), inner_x, inner_width)
            layout.space(2)
            layout.pages[-1].append(Rule(inner_x, layout.y, inner_x + inner_width, layout.y, 0.5, BLACK))
            layout.space(4)
        shown = {id(title) for title in titles}
        body = Element("div", children=[c for c in element.children if id(c) not in shown])
        self.children(body, inner_x, inner_width, style)
        layout.space(6)
        layout.border(frame, x, width, 0.8, BLACK, box=True)
        layout.space(6)

    def table(self, element: Element, x: float, width: float, style: Style) -> None:
        """Label/value rows: every column but the last as wide as its widest cell, the last takes the rest."""
        rows = [[cell for cell in row.children if isinstance(cell, Element) and cell.tag in {"td", "th"}]
                for row in _descendants(element, "tr")]
        columns = max((len(r) for r in rows), default=0)
        widths = []
        for column in range(columns - 1):
            natural = max(
                (sum(_width(text, st) for text, st in _runs(r[column], style)) for r in rows if len(r) > column),
                default=0.0,
            )
            widths.append(min(natural + 4 * mm, width * 0.4))
        widths.append(width - sum(widths))
        self.layout.space(style.size * 0.6)
        with self.container("Table"):
            for row in rows:
                cells = [break_lines(_runs(cell, style), w) for cell, w in zip(row, widths, strict=False)]
                height = max(sum(line.height for line in lines) for lines in cells)
                self.layout.room(height)
                top, left = self.layout.y, x
                with self.container("TR"):
                    for cell, lines, w in zip(row, cells, widths, strict=False):
                        self.layout.y = top
                        self.leaf("TH" if cell.tag == "th" else "TD")
                        self.layout.lines(lines, left, w)
                        left += w
                self.layout.y = top - height
        self.layout.space(style.size * 0.6)

    def signature(self, element: Element, x: float, style: Style) -> None:
        """Lines to sign and stamp by hand, side by side, kept on one page."""
        layout = self.layout
        layout.space(6)
        layout.room(style.size * LINE_HEIGHT + 14 * mm)
        top, column = layout.y, 70 * mm
        columns = [c for c in element.children if isinstance(c, Element)]
        for i, cell in enumerate(columns):
            layout.y = top
            left = x + i * (column + 10 * mm)
            label = [run for child in cell.children if isinstance(child, Element) and "label" in child.classes
                     for run in _runs(child, style)]
            self.leaf("P")
            layout.lines(break_lines(label, column), left, column)
            bottom = layout.y - 14 * mm
            layout.pages[-1].append(Rule(left, bottom, left + column, bottom, 0.8, BLACK))
        layout.y = top - style.size * LINE_HEIGHT - 14 * mm


def _descendants(element: Element, tag: str) -> list[Element]:
    found: list[Element] = []
    for child in element.children:
        if isinstance(child, Element):
            found.extend([child] if child.tag == tag else _descendants(child, tag))
    return found


def html_to_pdf(html: str, lang: str, setup: PageSetup = FORM_PAGE, document: DocumentInfo | None = None) -> bytes:
    """HTML from one of our templates, printed on A4 (with 'page n / total' at each foot unless told not to).

    With `document`, the result is tagged PDF/A-3b with that metadata and its attached files
    (forms/pdfa.py); a blank title there means the template's own <title>."""
    printed, title, tagging = _print(html, lang, setup, tagged=document is not None)
    if document is None or tagging is None:
        return printed
    return make_pdfa(printed, replace(document, title=document.title or title), tagging)


def _print(html: str, lang: str, setup: PageSetup, *, tagged: bool) -> tuple[bytes, str, Tagging | None]:
    """The pages as ReportLab writes them, the template's title, and the structure the pages were tagged
    with. A function of its own so that the document tree and the laid-out marks (thousands of objects)
    are gone before pikepdf and the seal run: every object still alive then is one more the cyclic
    collector promotes and later walks."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    printer = Printer(setup)
    printer.children(builder.root, setup.left, setup.width, Style(size=setup.size))
    pages = [p for p in printer.layout.pages if p] or [[]]
    tagging = Tagging(printer.structure, []) if tagged else None
    title = builder.title.strip()
    return _write(pages, title, lang, setup, tagging), title, tagging


FOLIO_SIZE = 8.0  # 'page n / total' at each foot


def _folio(number: int, total: int) -> str:
    return f"{number} / {total}"


class _TextOperators:
    """The text operators of one document, as ReportLab's canvas writes them for `drawString` in a TrueType
    font (`BT 1 0 0 1 x y Tm /F1+0 9 Tf 10.8 TL (...) Tj T* ET`), made the way reportlab/pdfbase/ttfonts.py
    documents for its dynamic fonts: `splitString` gives each character its code in a subset of the
    embedded font, `getSubsetInternalName` the subset's font resource.

    Why not `drawString`: it made a text object, measured the string and mapped it character by character
    in Python for each of some four hundred runs, a third of writing the file. Here every character a face
    prints in the document is given its code up front, in one `splitString` call, in the order the pages
    show them (so the codes, and the bytes, are those `drawString` gave), and a run's bytes come from
    `str.translate`. A face that needs a second subset (more than ~220 distinct characters) goes back to
    `splitString` run by run, as `drawString` does."""

    def __init__(self, canvas: Canvas, texts: list[tuple[str, str]]) -> None:
        # The key ReportLab keeps each document's subsets under (types-reportlab leaves it out).
        self._doc = canvas._doc  # type: ignore[attr-defined]
        self._names: dict[tuple[str, int], str] = {}
        self._tables: dict[str, dict[int, str] | None] = {}
        by_font: dict[str, list[str]] = {}
        for font_name, text in texts:
            by_font.setdefault(font_name, []).append(text)
        for font_name, font_texts in by_font.items():
            font = pdfmetrics.getFont(font_name)
            assert isinstance(font, TTFont)  # fonts() registers TrueType fonts only
            characters = "".join(dict.fromkeys("".join(font_texts)))  # each once, in order of appearance
            chunks = font.splitString(characters, self._doc)
            if all(subset == 0 for subset, _ in chunks):
                codes = b"".join(chunk for _, chunk in chunks)
                self._tables[font_name] = {ord(c): chr(code) for c, code in zip(characters, codes, strict=True)}
            else:
                self._tables[font_name] = None

    def _name(self, font: TTFont, subset: int) -> str:
        name = self._names.get((font.fontName, subset))
        if name is None:  # the first use registers the font with the document, as in drawString
            name = self._names[(font.fontName, subset)] = font.getSubsetInternalName(subset, self._doc)
        return name

    def show(self, x: float, y: float, font_name: str, size: float, text: str) -> str:
        font = pdfmetrics.getFont(font_name)
        assert isinstance(font, TTFont)
        table = self._tables.get(font_name)
        chunks = ([(0, text.translate(table).encode("latin-1"))] if table is not None
                  else font.splitString(text, self._doc))
        state = f"{fp_str(size)} Tf {fp_str(size * 1.2)} TL"  # 1.2: the leading ReportLab's setFont gives
        shown = " ".join(f"{self._name(font, subset)} {state} ({escapePDF(chunk)}) Tj" for subset, chunk in chunks)
        return f"BT 1 0 0 1 {fp_str(x, y)} Tm {shown} T* ET"


def _write(pages: list[list[Mark]], title: str, lang: str, setup: PageSetup, tagging: Tagging | None = None
           ) -> bytes:
    """The pages through ReportLab's canvas. With `tagging`, each text run is marked content with its
    MCID (noted per page in `tagging.pages`, in order) and rules, fills and page numbers are artifacts."""
    names = fonts()
    rl_config.useA85 = 0  # binary streams: ASCII85 only makes the file a quarter larger and slower to write
    out = io.BytesIO()
    # Starting in our own font keeps an unused, unembedded Helvetica out of the file.
    canvas = Canvas(
        out, pagesize=A4, invariant=True, pageCompression=1, lang=lang,
        initialFontName=names["regular"],  # type: ignore[arg-type]  # types-reportlab says float; it is a name
    )
    canvas.setTitle(title)
    canvas.setCreator("probatio")
    # Marked content by the operators of ISO 32000-1 §14.6, written with addLiteral: ReportLab's canvas
    # has no call of its own for them.
    def begin(tag: str) -> None:
        if tagging is not None:
            canvas.addLiteral(tag)

    # Every text in the order the pages show it: the faces' characters get their codes in that order.
    texts: list[tuple[str, str]] = []
    for number, marks in enumerate(pages, start=1):
        texts.extend((names[m.piece.style.font], m.piece.text) for m in marks if isinstance(m, Text))
        if setup.numbered:
            texts.append((names["regular"], _folio(number, len(pages))))
    text = _TextOperators(canvas, texts)
    for number, marks in enumerate(pages, start=1):
        on_page: list[StructNode] = []
        # Colours, widths and fonts are set when they change, not before every mark: each call writes an
        # operator (and costs as much as the mark). A page starts afresh, in PDF and in ReportLab.
        fill: Color | None = None
        stroke: Color | None = None
        line_width: float | None = None
        begin("/Artifact BMC")
        for mark in marks:
            if isinstance(mark, Fill):
                if mark.color is not fill:
                    canvas.setFillColor(mark.color)
                    fill = mark.color
                canvas.rect(mark.x, mark.y, mark.width, mark.height, stroke=0, fill=1)
        for mark in marks:
            if isinstance(mark, Rule):
                if mark.color is not stroke:
                    canvas.setStrokeColor(mark.color)
                    stroke = mark.color
                if mark.width != line_width:
                    canvas.setLineWidth(mark.width)
                    line_width = mark.width
                canvas.line(mark.x1, mark.y1, mark.x2, mark.y2)
        begin("EMC")
        for mark in marks:
            if isinstance(mark, Text):
                style = mark.piece.style
                if tagging is not None:
                    node = mark.node or tagging.root
                    canvas.addLiteral(f"/{node.role} <</MCID {len(on_page)}>> BDC")
                    on_page.append(node)
                if style.color is not fill:
                    canvas.setFillColor(style.color)
                    fill = style.color
                canvas.addLiteral(text.show(mark.x, mark.baseline, names[style.font], style.size, mark.piece.text))
                begin("EMC")
        if setup.numbered:
            begin("/Artifact <</Type /Pagination>> BDC")
            if fill is not BLACK:
                canvas.setFillColor(BLACK)
            folio = _folio(number, len(pages))
            centred = PAGE_WIDTH / 2 - _measure(folio, "regular", FOLIO_SIZE) / 2
            canvas.addLiteral(text.show(centred, setup.bottom / 2, names["regular"], FOLIO_SIZE, folio))
            begin("EMC")
        if tagging is not None:
            tagging.pages.append(on_page)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
