"""forms/pdf.py, the print style of the annex templates: what a prosecutor sees on paper or screen."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from forms import pdf
from forms.examples import example_certificate
from forms.render import render_certificate


def _pages(document: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]


def test_every_page_is_numbered_out_of_the_total() -> None:
    pages = _pages(render_certificate(example_certificate(), "fr", "pdf"))
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert re.search(rf"(^|\n){number} / {len(pages)}($|\n)", text), (number, text[-80:])


def test_the_same_certificate_prints_the_same_bytes() -> None:
    """A retried dispatch attaches an identical PDF: no timestamp or random id in the file."""
    cert = example_certificate()
    assert render_certificate(cert, "de", "pdf") == render_certificate(cert, "de", "pdf")


def test_fonts_travel_with_the_file() -> None:
    """The reader's machine may lack DejaVu or Greek glyphs: every font is embedded (as a subset)."""
    reader = PdfReader(io.BytesIO(render_certificate(example_certificate(), "el", "pdf")))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts
    for name, font in fonts.items():
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, name


def test_a_value_keeps_its_own_line_breaks_and_a_long_word_stays_inside_the_page() -> None:
    cert = example_certificate()
    reference = "R" * 260  # no space to break at: cut, not printed past the margin
    cert.other_circumstances.text = "première ligne\ndeuxième ligne"
    cert.judgment.reference = reference
    text = "\n".join(_pages(render_certificate(cert, "fr", "pdf")))
    assert re.search(r"première ligne\s*\n\s*deuxième ligne", text)
    assert "R" * 40 in text and reference not in text.replace("\n", "X")  # it was cut across lines


def test_lines_never_run_past_their_width() -> None:
    runs = [("Libellé: ", pdf.Style()), ("x" * 300 + " une valeur assez longue " * 12, pdf.Style("bold"))]
    lines = pdf.break_lines(runs, 200.0)
    assert len(lines) > 3
    for line in lines:
        assert sum(piece.width for piece in line.pieces) <= 200.0 + 0.01
    assert "".join(p.text for line in lines for p in line.pieces).replace(" ", "") == (
        "Libellé:" + "x" * 300 + "unevaleurassezlongue" * 12
    )


def test_an_empty_field_stays_on_the_page_as_a_blank_to_fill() -> None:
    runs = pdf.break_lines([("Alias: ", pdf.Style()), ("\xa0" * 24, pdf.Style("bold", underline=True))], 400.0)
    assert len(runs) == 1 and runs[0].pieces[-1].style.underline  # the blank is not dropped as a trailing space


def test_a_box_crossing_a_page_is_drawn_on_both_pages() -> None:
    """Box (e) is long: the frame around it continues on the next page instead of ending in mid-air."""
    html = "<section class='box'><h2>(z) Titre</h2>" + "".join(
        f"<div class='field'><span class='label'>Rubrique {i}:</span> <span class='value'>valeur</span></div>"
        for i in range(90)
    ) + "</section>"
    builder = pdf._TreeBuilder()
    builder.feed(html)
    printer = pdf.Printer(pdf.FORM_PAGE)
    printer.children(builder.root, pdf.FORM_PAGE.left, pdf.FORM_PAGE.width, pdf.Style())
    pages = printer.layout.pages
    assert len(pages) == 2
    for marks in pages:
        sides = [m for m in marks if isinstance(m, pdf.Rule) and m.x1 == m.x2 and m.width == 0.8]
        assert len(sides) == 2  # left and right of the box, on each page
    tops_and_bottoms = [m for p in pages for m in p if isinstance(m, pdf.Rule) and m.y1 == m.y2 and m.width == 0.8]
    assert len(tops_and_bottoms) == 2  # closed at the top on the first page, at the bottom on the last
    printed = _pages(pdf.html_to_pdf(html, "fr"))
    assert "Rubrique 0:" in printed[0] and "Rubrique 89:" in printed[1]


def test_a_face_with_more_characters_than_one_subset_holds_still_prints_every_word() -> None:
    """ReportLab embeds a face in subsets of at most 256 codes: free text in Greek, Cyrillic and accented
    Latin together (over 300 distinct letters in one face) needs a second subset, and every word of it
    is still printed, in order, and can be searched and copied."""
    letters = [chr(c) for c in (*range(0x391, 0x3A2), *range(0x3A3, 0x3CA), *range(0x410, 0x450),
                                *range(0xC0, 0x17F)) if chr(c).isalpha()]
    words = ["".join(letters[i:i + 9]) for i in range(0, len(letters), 9)]
    html = f"<html><head><title>T</title></head><body><p>{' '.join(words)}</p><p><b>{words[0]}</b></p></body></html>"
    printed = pdf.html_to_pdf(html, "el", pdf.PageSetup(numbered=False))
    reader = PdfReader(io.BytesIO(printed))
    fonts = [str(name) for page in reader.pages for name in page["/Resources"]["/Font"]]
    assert any(name.endswith("+1") for name in fonts), fonts  # a second subset was needed
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    assert text == "".join(words) + words[0]
