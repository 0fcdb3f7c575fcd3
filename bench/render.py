"""render: Annex I certificate pages per second, against the cheapest page our PDF engine writes in our fonts.

Both run in this process, in alternating quarter-second turns until each has had the same CPU time
(the machine is shared: a passing load weighs on both alike); the ratio is of pages per CPU second.

The baseline is the least a certificate page could cost with the engine forms/pdf.py uses: one A4 page
from ReportLab's canvas, with one line of text in each DejaVu Sans face the certificate itself embeds
(read from the certificate of this run), the fonts registered once as forms/pdf.py registers them and
embedded the same way (TrueType subsets of the glyphs used, with a ToUnicode map), the canvas set as
forms/pdf.py sets it (invariant, compressed pages, binary streams), written to bytes. No layout, no
HTML, no tagging, no PDF/A, no attachment, no seal: everything the certificate does beyond that is
what the ratio measures. Per page because a one-page baseline and a six-page certificate share the
per-document costs (a font subset per face, the file's trailer) differently: the certificate pays them
once for six pages, so its per-page figure is the fair one to hold against a page.

The certificate is the project's complete example, in French, as the worker produces it at approval:
Jinja template, forms/pdf.py, tagged PDF/A-3b with its JSON attached (forms/pdfa.py), then the node's
PAdES seal (adapters/seal.py, a self-signed seal made for the run). Target: at least 0.5 of the
baseline's pages per second.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Outcome
from probatio.console import Steps

# One line, in each face: words of the certificate's kind, with accents and a dash, as a page would have.
BASELINE_LINE = "Certificat visé à l'article 6 — décision-cadre 2008/947/JAI du Conseil : page 1 / 1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU seconds for each side (default 20)")
    parser.add_argument("--lang", default="fr")


ROUND = 0.25  # seconds of CPU each side gets before the other has its turn


def progress_total(args: argparse.Namespace) -> float:
    """What `run` reports: the CPU seconds each side is to have (the bar follows the side that had fewer)."""
    return float(args.seconds)


class Side:
    """One side of the comparison: how many documents it made in how much of this process's CPU time."""

    def __init__(self, make: Callable[[], Awaitable[bytes]]) -> None:
        self.make, self.count, self.cpu, self.size = make, 0, 0.0, 0

    async def turn(self, seconds: float) -> None:
        start = time.process_time()
        while True:
            self.size = len(await self.make())
            self.count += 1
            spent = time.process_time() - start
            if spent >= seconds:
                self.cpu += spent
                return

    @property
    def rate(self) -> float:
        return self.count / self.cpu


async def _compare(baseline: Side, ours: Side, seconds: float, steps: Steps) -> None:
    """Turns of a quarter of a second each, in alternation, until each side has had `seconds` of CPU: the
    machine is shared, and a load that comes and goes then weighs on both sides alike. CPU time of this
    process, not wall-clock time, for the same reason: both sides compute and wait for nothing. The progress
    bar is moved between turns, so its own work falls in neither side's time."""
    await baseline.make(), await ours.make()  # warm: fonts, templates, the seal's size estimate
    steps.describe(f"render: {seconds:g} CPU seconds each, in turns")
    shown = 0.0
    while baseline.cpu < seconds or ours.cpu < seconds:
        await baseline.turn(ROUND)
        await ours.turn(ROUND)
        done = min(baseline.cpu, ours.cpu, seconds)
        steps.advance(by=done - shown)
        shown = done


def embedded_faces(document: bytes) -> list[str]:
    """The fonts forms/pdf.py registered (`probatio-<style>`) that a PDF's pages embed, by PostScript name."""
    import pikepdf
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from forms.pdf import fonts

    registered: dict[str, str] = {}
    for name in set(fonts().values()):
        registered_font = pdfmetrics.getFont(name)
        assert isinstance(registered_font, TTFont)  # forms/pdf.py registers TrueType fonts only
        registered[registered_font.face.name.decode("ascii")] = name
    embedded: set[str] = set()
    with pikepdf.open(io.BytesIO(document)) as pdf:
        for page in pdf.pages:
            for font in page.obj.Resources.get("/Font", {}).values():
                descendant = font.get("/DescendantFonts")
                base = str((descendant[0] if descendant else font).BaseFont)
                embedded.add(base.lstrip("/").split("+", 1)[-1])  # a subset is named ABCDEF+name
    unknown = embedded - set(registered)
    if unknown:
        raise RuntimeError(f"the certificate embeds {sorted(unknown)}, not a font forms/pdf.py registers")
    return sorted(registered[name] for name in embedded)


def baseline_page(faces: list[str]) -> bytes:
    """One A4 page, one line of text in each face, through ReportLab's canvas as forms/pdf.py sets it up."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    rl_config.useA85 = 0
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, pageCompression=1,
                    initialFontName=faces[0])  # type: ignore[arg-type]  # a name, as in forms/pdf.py
    y = A4[1] - 60
    for face in faces:
        canvas.setFont(face, 9)
        canvas.drawString(40, y, BASELINE_LINE)
        y -= 14
    canvas.showPage()
    canvas.save()
    return out.getvalue()


async def run(args: argparse.Namespace, steps: Steps) -> Outcome:
    import pikepdf

    from adapters.seal import NodeSeal, seal_pdf
    from forms.examples import example_certificate
    from forms.render import render_certificate

    steps.describe("render: the sample certificate, rendered and sealed")
    certificate = example_certificate("LU", "BE")
    with tempfile.TemporaryDirectory(prefix="probatio-bench-seal-") as keys:  # the signer keeps the key loaded
        seal = NodeSeal.from_files("LU", Path(keys) / "seal.key", Path(keys) / "seal.crt")

    async def ours() -> bytes:
        rendered = render_certificate(certificate, args.lang, "pdf")
        return await seal_pdf(rendered, seal, reason="bench", location="LU")

    sample = await ours()
    faces = embedded_faces(sample)

    async def baseline() -> bytes:
        return baseline_page(faces)

    base, cert = Side(baseline), Side(ours)
    await _compare(base, cert, args.seconds, steps)
    base_rate, base_n, base_size = base.rate, base.count, base.size
    our_rate, our_n, our_size = cert.rate, cert.count, cert.size
    with pikepdf.open(io.BytesIO(await baseline())) as one, pikepdf.open(io.BytesIO(sample)) as sealed:
        base_pages, pages = len(one.pages), len(sealed.pages)
    base_per_page, our_per_page = base_rate * base_pages, our_rate * pages
    ratio = our_per_page / base_per_page
    lines = [
        f"baseline: ReportLab canvas, {base_pages} page, one line in each of {', '.join(faces)} "
        f"(subset, {base_size // 1024} KiB): {base_rate:.1f}/s ({base_n} in {base.cpu:.1f} s CPU), "
        f"{base_per_page:.1f} pages/s",
        f"probatio: Annex I certificate, tagged PDF/A-3b with its JSON, sealed ({args.lang}, {pages} pages, "
        f"{our_size // 1024} KiB): {our_rate:.2f}/s ({our_n} in {cert.cpu:.1f} s CPU), {our_per_page:.1f} pages/s",
        f"per page: certificate {1000 / our_per_page:.2f} ms, baseline {1000 / base_per_page:.2f} ms",
    ]
    return Outcome(name="render", params=f"--seconds {args.seconds:g} --lang {args.lang}", lines=lines,
                   ratio=ratio, target="≥ 0.5 per page", met=ratio >= 0.5)
