"""render: Annex I certificates rendered to PDF per second, against a one-page WeasyPrint document.

Both run in this process, one after the other, for the same wall-clock budget. The baseline is a one-page
form in the same style as a certificate page (a heading, a two-column table of labelled fields, A4) printed
by WeasyPrint; the certificate is the project's complete example, in French, as the worker renders it
before dispatch (Jinja template, then forms/pdf.py). Target: at least 0.5 of the baseline's rate.
Needs the `bench` extra (WeasyPrint, with Pango on the machine) for the baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench.common import Outcome

BASELINE_HTML = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 18mm 16mm; }
body { font-family: sans-serif; font-size: 10pt; }
h1 { font-size: 13pt; } table { width: 100%; border-collapse: collapse; }
td { border: 0.5pt solid #444; padding: 3pt 5pt; vertical-align: top; } td.l { width: 45%; color: #333; }
</style></head><body><h1>Formulaire — une page</h1><table>
""" + "\n".join(f"<tr><td class=l>{i}. Libellé de la rubrique {i}</td><td>Valeur de la rubrique {i}</td></tr>"
                for i in range(1, 31)) + "</table></body></html>"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget for each side (default 20)")
    parser.add_argument("--lang", default="fr")


def _rate(render: Callable[[], bytes], seconds: float) -> tuple[float, int, int]:
    render()  # warm: fonts, templates, CSS
    count, size = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        size = len(render())
        count += 1
    return count / (time.perf_counter() - start), count, size


async def run(args: argparse.Namespace) -> Outcome:
    import io

    import weasyprint
    from pypdf import PdfReader

    from forms.examples import example_certificate
    from forms.render import render_certificate

    cert = example_certificate("LU", "BE")

    def ours() -> bytes:
        return render_certificate(cert, args.lang, "pdf")

    def baseline() -> bytes:
        return bytes(weasyprint.HTML(string=BASELINE_HTML).write_pdf())

    base_rate, base_n, _ = _rate(baseline, args.seconds)
    our_rate, our_n, our_size = _rate(ours, args.seconds)
    base_pages = len(PdfReader(io.BytesIO(baseline())).pages)
    pages = len(PdfReader(io.BytesIO(ours())).pages)
    ratio = our_rate / base_rate
    lines = [
        f"baseline: one-page WeasyPrint form ({base_pages} page): {base_rate:.2f}/s ({base_n} in {args.seconds:g} s)",
        f"probatio: Annex I certificate ({args.lang}, {pages} pages, {our_size // 1024} KiB): {our_rate:.2f}/s "
        f"({our_n} in {args.seconds:g} s)",
        f"per page: baseline {base_rate * base_pages:.1f} pages/s, certificate {our_rate * pages:.1f} pages/s "
        f"(ratio per page {our_rate * pages / (base_rate * base_pages):.3g})",
    ]
    return Outcome(name="render", params=f"--seconds {args.seconds:g} --lang {args.lang}", lines=lines,
                   ratio=ratio, target="≥ 0.5", met=ratio >= 0.5)
