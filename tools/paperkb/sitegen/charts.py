"""Charts as inline SVG, made at build time.

Colours come from CSS classes (``docs/stylesheets/extra.css``) and text uses
``currentColor``, so one chart reads in the light and the dark scheme.
"""

from __future__ import annotations

from collections import Counter

from markupsafe import Markup, escape

from ..catalog.model import STATUSES


def status_bars(rows: list[tuple[str, Counter[str]]], width: int = 640, bar: int = 16, label_w: int = 190) -> Markup:
    """One horizontal bar per label, split by status (read, reading, unread)."""
    if not rows:
        return Markup("")
    most = max(sum(c.values()) for _, c in rows)
    scale = (width - label_w - 40) / most
    height = len(rows) * (bar + 6) + 28
    parts = [
        f'<svg class="pkb-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Reading status per tag" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, counts) in enumerate(rows):
        y = i * (bar + 6)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar - 4}" text-anchor="end" class="pkb-chart-label">'
            f"{escape(label)}</text>"
        )
        x = float(label_w)
        for status in STATUSES:
            n = counts.get(status, 0)
            if n:
                w = n * scale
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" class="pkb-fill-{status}">'
                    f"<title>{escape(label)}: {n} {status}</title></rect>"
                )
                x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar - 4}" class="pkb-chart-label">{sum(counts.values())}</text>')
    y = len(rows) * (bar + 6) + 14
    x = label_w
    for status in STATUSES:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" class="pkb-fill-{status}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}" class="pkb-chart-label">{status}</text>')
        x += 90
    parts.append("</svg>")
    return Markup("".join(parts))


def year_columns(rows: list[tuple[int, int]], width: int = 640, height: int = 180) -> Markup:
    """Entries per publication year, one column per year from the first to the last."""
    if not rows:
        return Markup("")
    counts = dict(rows)
    years = list(range(rows[0][0], rows[-1][0] + 1))
    most = max(counts.values())
    col = (width - 20) / len(years)
    top, base = 16, height - 22
    parts = [
        f'<svg class="pkb-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Entries per year" xmlns="http://www.w3.org/2000/svg">'
    ]
    step = max(1, round(len(years) / 12))
    for i, year in enumerate(years):
        n = counts.get(year, 0)
        x = 10 + i * col
        h = (base - top) * n / most
        if n:
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(col - 2, 1):.1f}" height="{h:.1f}" '
                f'class="pkb-fill-year"><title>{year}: {n}</title></rect>'
            )
            parts.append(
                f'<text x="{x + col / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                f'class="pkb-chart-small">{n}</text>'
            )
        if i % step == 0:
            parts.append(
                f'<text x="{x + col / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                f'class="pkb-chart-small">{year}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
