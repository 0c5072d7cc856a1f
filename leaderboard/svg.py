"""Server-side SVG plots (no JavaScript, nothing from a CDN): line charts with an optional log
x axis, scatter plots and horizontal bars. Every label is XML-escaped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 560, 320, 60, 150, 30, 45


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[float, float], ...]  # (x, y)


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / (count - 1)
    return [lo + k * step for k in range(count)]


def _fmt(value: float, log: bool) -> str:
    if log:
        value = 10 ** value
        for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if value >= size:
                return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def chart(series: list[Series], title: str, xlabel: str, ylabel: str, *, log_x: bool = False,
          lines: bool = True, hline: float | None = None) -> str:
    """One SVG document (as a string); an empty series list gives a 'no data' placeholder."""
    pts = [(math.log10(x) if log_x else x, y) for s in series for x, y in s.points
           if (x > 0 or not log_x) and math.isfinite(y)]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="{W}" '
            f'height="{H}" viewBox="0 0 {W} {H}"><title>{escape(title)}</title>'
            f'<text x="{PAD_L}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>')
    if not pts:
        return head + f'<text x="{PAD_L}" y="{H // 2}" font-size="12">no data yet</text></svg>'
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys + ([hline] if hline is not None else [])), max(
        ys + ([hline] if hline is not None else []))
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.05, y1 + 0.05
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return PAD_T + ph - (y - y0) / (y1 - y0) * ph

    parts = [head, f'<rect x="{PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="none" '
             'stroke="#999"/>']
    for t in _ticks(x0, x1):
        parts.append(f'<text x="{sx(t):.1f}" y="{PAD_T + ph + 15}" font-size="10" '
                     f'text-anchor="middle">{escape(_fmt(t, log_x))}</text>')
    for t in _ticks(y0, y1):
        parts.append(f'<text x="{PAD_L - 5}" y="{sy(t) + 3:.1f}" font-size="10" '
                     f'text-anchor="end">{t:.3g}</text>')
    parts.append(f'<text x="{PAD_L + pw / 2}" y="{H - 8}" font-size="11" text-anchor="middle">'
                 f'{escape(xlabel)}</text>')
    parts.append(f'<text x="14" y="{PAD_T + ph / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {PAD_T + ph / 2})">{escape(ylabel)}</text>')
    if hline is not None:
        parts.append(f'<line x1="{PAD_L}" x2="{PAD_L + pw}" y1="{sy(hline):.1f}" '
                     f'y2="{sy(hline):.1f}" stroke="#aaa" stroke-dasharray="4 3"/>')
    for k, s in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        data = sorted((math.log10(x) if log_x else x, y) for x, y in s.points
                      if (x > 0 or not log_x) and math.isfinite(y))
        if lines and len(data) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in data)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                         f'points="{path}"/>')
        for x, y in data:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{color}">'
                         f'<title>{escape(s.label)}: {_fmt(x, log_x)}, {y:.3g}</title></circle>')
        ly = PAD_T + 12 + 15 * k
        parts.append(f'<rect x="{W - PAD_R + 10}" y="{ly - 8}" width="10" height="10" '
                     f'fill="{color}"/><text x="{W - PAD_R + 25}" y="{ly + 1}" font-size="10">'
                     f'{escape(s.label[:28])}</text>')
    parts.append("</svg>")
    return "".join(parts)
