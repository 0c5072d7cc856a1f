"""The pages' plots, drawn by matplotlib and embedded as SVG images (``<img src="data:...">``:
self-contained, so the static export works offline, and allowed by the pages'
Content-Security-Policy, which blocks the inline styles of an inline matplotlib SVG).

Conventions (shared with the experiment report's figures, imitation_train/experiment/figures.py):
round ticks on log axes (1k, 2k, 5k, 10k, ... never 949K), round steps without offset on
linear axes, 95% CIs as shaded bands (error bars for a lone point), reference lines named in
the legend, the legend outside the axes and never cut (``bbox_inches="tight"``). A plot with no
point is not drawn: :func:`chart` returns None and the page says why in text.

matplotlib is imported inside the functions (importing this module does nothing expensive);
no pyplot: one ``Figure`` per plot on the Agg backend, rendered under a lock (rcParams and text
layout are process-wide).
"""

from __future__ import annotations

import base64
import io
import math
import sys
import threading
from dataclasses import dataclass
from typing import Any

_LOCK = threading.Lock()
SVG_RC = {"svg.fonttype": "none",  # text stays text: searchable, small, testable
          "svg.hashsalt": "imitation-leaderboard",  # the same data gives the same SVG
          "text.parse_math": False}  # a model name with "$" is shown as typed
ROUND_STEPS = (1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Series:
    """One legend entry: points with optional 95% CIs (aligned with the points; None: none)."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    y_ci: tuple[tuple[float, float] | None, ...] = ()
    x_ci: tuple[tuple[float, float] | None, ...] = ()


@dataclass(frozen=True)
class Ref:
    """A reference line (``axis`` "y": horizontal at ``value``; "x": vertical)."""

    value: float
    label: str
    axis: str = "y"


@dataclass(frozen=True)
class Plot:
    title: str
    svg: str  # the SVG document
    alt: str  # its text alternative (title and series)

    @property
    def uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def round_tick(value: float, _pos: Any = None) -> str:
    """A log-axis tick label: 500, 1k, 20k, 5M, 2B."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def round_limits(low: float, high: float) -> tuple[float, float]:
    """The nearest 1-2-5 values outside [low / 1.15, high x 1.15]: a log axis between them has a
    round tick at each end, however narrow the data."""
    def step(value: float, down: bool) -> float:
        exp = math.floor(math.log10(value))
        grid = [m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in ROUND_STEPS]
        return max(g for g in grid if g <= value) if down else min(g for g in grid if g >= value)

    return step(low / 1.15, True), step(high * 1.15, False)


def log_axis(ax: Any, which: str = "x") -> None:
    """Log scale with ticks at 1, 2 and 5 times each power of ten, labelled 1k / 2M / 5B."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=ROUND_STEPS))
    axis.set_major_formatter(FuncFormatter(round_tick))
    axis.set_minor_formatter(NullFormatter())


def linear_axis(ax: Any, which: str = "y") -> None:
    """Round steps (1, 2, 2.5, 5 x 10^k), plain labels without an offset."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(ScalarFormatter(useOffset=False))


def chart(series: list[Series], title: str, xlabel: str, ylabel: str, *, log_x: bool = False,
          lines: bool = True, refs: tuple[Ref, ...] = ()) -> Plot | None:
    """A line chart (``lines``) or scatter plot; None when no series has a point."""
    series = [s for s in series if s.x]
    if not series:
        return None
    fig = _figure()
    import matplotlib

    with _LOCK, matplotlib.rc_context(SVG_RC):
        ax = fig.add_subplot()
        banded = any([_draw(ax, s, f"C{k % 10}", lines) for k, s in enumerate(series)])
        for ref in refs:
            line = ax.axhline if ref.axis == "y" else ax.axvline
            line(ref.value, color="#555" if ref.value else "#999", lw=1,
                 ls="--" if ref.value == 0 else ":", label=ref.label)
        xs = [x for s in series for x in s.x]
        if log_x:
            log_axis(ax, "x")
            ax.set_xlim(*round_limits(min(xs), max(xs)))
        else:
            linear_axis(ax, "x")
        linear_axis(ax, "y")
        _clip_y(ax, series, [r.value for r in refs if r.axis == "y"])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.25)
        _legend(ax, banded)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    alt = f"{title}. " + "; ".join(f"{s.label}: {len(s.x)} point{'s' * (len(s.x) > 1)}"
                                   for s in series)
    return Plot(title, buf.getvalue(), alt)


def _draw(ax: Any, s: Series, color: str, lines: bool) -> bool:
    """The series' points (and line), its CI band or error bars; True when a CI was drawn."""
    order = sorted(range(len(s.x)), key=s.x.__getitem__)
    xs, ys = [s.x[i] for i in order], [s.y[i] for i in order]
    ax.plot(xs, ys, marker="o", ms=5, color=color, label=s.label,
            ls="-" if lines and len(xs) > 1 else "none")
    y_ci = [s.y_ci[i] if s.y_ci else None for i in order]
    x_ci = [s.x_ci[i] if s.x_ci else None for i in order]
    banded = [(x, ci) for x, ci in zip(xs, y_ci) if ci is not None]
    if lines and len(banded) > 1:
        ax.fill_between([x for x, _ in banded], [ci[0] for _, ci in banded],
                        [ci[1] for _, ci in banded], color=color, alpha=0.18, lw=0)
        return True
    drawn = False
    for x, y, yc, xc in zip(xs, ys, y_ci, x_ci):
        if yc is None and xc is None:
            continue
        ax.errorbar([x], [y], yerr=_bar(y, yc), xerr=_bar(x, xc), fmt="none", ecolor=color,
                    alpha=0.6, capsize=3)
        drawn = True
    return drawn


def _bar(value: float, ci: tuple[float, float] | None) -> list[list[float]] | None:
    """An error bar's lengths below and above (a bootstrap CI can sit beside its estimate)."""
    return None if ci is None else [[max(value - ci[0], 0.0)], [max(ci[1] - value, 0.0)]]


def _clip_y(ax: Any, series: list[Series], refs: list[float]) -> None:
    """y limits from the points and reference lines; a CI reaching far beyond them (a gap
    closed whose teacher-base difference is small) is cut at the edge."""
    core = [y for s in series for y in s.y] + refs
    low, high = min(core), max(core)
    span = (high - low) or max(abs(high), 1.0)
    ends = [v for s in series for ci in s.y_ci if ci is not None for v in ci
            if low - span <= v <= high + span]
    low, high = min([low, *ends]), max([high, *ends])
    pad = 0.08 * ((high - low) or max(abs(high), 1.0))
    ax.set_ylim(low - pad, high + pad)


def _legend(ax: Any, banded: bool) -> None:
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    if banded:
        handles.append(Patch(color="grey", alpha=0.3))
        labels.append("95% CI")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
              frameon=False)


def _figure() -> Any:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(5.6, 3.4), dpi=100)
