"""render: Annex I certificates rendered to PDF per second, against a one-page WeasyPrint document.

Both run in this process, one after the other, for the same wall-clock budget. The baseline is a one-page
form in the same style as a certificate page (a heading, a two-column table of labelled fields, A4) printed
by WeasyPrint; the certificate is the project's complete example, in French, as the worker produces it at
approval: Jinja template, forms/pdf.py, tagged PDF/A-3b with its JSON (forms/pdfa.py), then the node's
PAdES seal (adapters/seal.py, a self-signed seal made for the run). Target: at least 0.5 of the
baseline's rate.
Needs the `bench` extra (WeasyPrint, with Pango on the machine) for the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

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


async def _rate(render: Callable[[], Awaitable[bytes]], seconds: float) -> tuple[float, int, int]:
    await render()  # warm: fonts, templates, CSS
    count, size = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or count < 3:
        size = len(await render())
        count += 1
    return count / (time.perf_counter() - start), count, size


async def run(args: argparse.Namespace) -> Outcome:
    import io

    import weasyprint
    from pypdf import PdfReader

    from adapters.seal import NodeSeal, seal_pdf
    from forms.examples import example_certificate
    from forms.render import render_certificate

    cert = example_certificate("LU", "BE")
    with tempfile.TemporaryDirectory(prefix="probatio-bench-seal-") as keys:  # the signer keeps the key loaded
        seal = NodeSeal.from_files("LU", Path(keys) / "seal.key", Path(keys) / "seal.crt")

    async def ours() -> bytes:
        rendered = render_certificate(cert, args.lang, "pdf")
        return await seal_pdf(rendered, seal, reason="bench", location="LU")

    async def baseline() -> bytes:
        return bytes(weasyprint.HTML(string=BASELINE_HTML).write_pdf())

    base_rate, base_n, _ = await _rate(baseline, args.seconds)
    our_rate, our_n, our_size = await _rate(ours, args.seconds)
    base_pages = len(PdfReader(io.BytesIO(await baseline())).pages)
    pages = len(PdfReader(io.BytesIO(await ours())).pages)
    ratio = our_rate / base_rate
    lines = [
        f"baseline: one-page WeasyPrint form ({base_pages} page): {base_rate:.2f}/s ({base_n} in {args.seconds:g} s)",
        f"probatio: Annex I certificate, PDF/A-3b sealed ({args.lang}, {pages} pages, {our_size // 1024} KiB): "
        f"{our_rate:.2f}/s ({our_n} in {args.seconds:g} s)",
        f"per page: baseline {base_rate * base_pages:.1f} pages/s, certificate {our_rate * pages:.1f} pages/s "
        f"(ratio per page {our_rate * pages / (base_rate * base_pages):.3g})",
    ]
    return Outcome(name="render", params=f"--seconds {args.seconds:g} --lang {args.lang}", lines=lines,
                   ratio=ratio, target="≥ 0.5", met=ratio >= 0.5)
