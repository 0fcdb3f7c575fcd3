"""Charts as server-rendered SVG: no script, no build step, readable by a screen reader (title, desc, and
the same figures in a table beside each chart)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# Colours distinguishable with the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def bar_chart(title: str, bars: Sequence[tuple[str, int]], *, width: int = 520, bar_height: int = 22,
              colour: str = PALETTE[0], empty: str = "no data yet") -> Markup:
    """Horizontal bars, one per (label, value); the label column is as wide as the longest label (about 7 px a
    character at 13 px), so that no label is cut at the left edge; the chart scales down to fit a phone."""
    label_w = max(170, min(360, 7 * max((len(label) for label, _ in bars), default=0) + 12))
    width += label_w - 170
    gap, top = 6, 8
    biggest = max((v for _, v in bars), default=0) or 1
    span = width - label_w - 50
    height = top * 2 + max(1, len(bars)) * (bar_height + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="t-{id(bars)}">',
             f'<title id="t-{id(bars)}">{escape(title)}</title>',
             f"<desc>{escape('; '.join(f'{label}: {value}' for label, value in bars) or empty)}</desc>"]
    if not bars:
        parts.append(f'<text x="8" y="{top + 14}" font-size="13" fill="#333">{escape(empty)}</text>')
    for n, (label, value) in enumerate(bars):
        y = top + n * (bar_height + gap)
        w = round(span * value / biggest)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height - 6}" font-size="13" text-anchor="end" '
                     f'fill="#222">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_height}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + max(w, 1) + 5}" y="{y + bar_height - 6}" font-size="13" '
                     f'fill="#222">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def stacked_columns(title: str, columns: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *,
                    width: int = 560, height: int = 240, empty: str = "no data") -> Markup:
    """Columns (e.g. months or age groups) stacked by series (e.g. outgoing/incoming, or sex), with a legend."""
    left, bottom, top = 36, 40, 26
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    biggest = max(totals, default=0) or 1
    plot_h = height - bottom - top
    step = (width - left - 10) / max(1, len(columns))
    col_w = max(6.0, step * 0.6)
    desc = "; ".join(f"{c}: " + ", ".join(f"{name} {values[i]}" for name, values in series)
                     for i, c in enumerate(columns))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="t-{id(series)}">',
             f'<title id="t-{id(series)}">{escape(title)}</title>', f"<desc>{escape(desc or empty)}</desc>",
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" stroke="#555"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="11" text-anchor="end" fill="#222">{biggest}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="#222">0</text>']
    for s, (name, _) in enumerate(series):
        lx = left + s * 130
        parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>'
                     f'<text x="{lx + 16}" y="14" font-size="12" fill="#222">{escape(name)}</text>')
    for i, column in enumerate(columns):
        x = left + i * step + (step - col_w) / 2
        y: float = top + plot_h
        for s, (_, values) in enumerate(series):
            h = plot_h * values[i] / biggest
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                             f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#222">{escape(column)}</text>')
        if totals[i]:
            parts.append(f'<text x="{x + col_w / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle" '
                         f'fill="#222">{totals[i]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
