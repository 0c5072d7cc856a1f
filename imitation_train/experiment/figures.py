"""The report's figures, drawn by matplotlib (PNG and SVG): gap closed (or, for a task with no
teacher score, the raw delta) against imitation tokens per task, with 95% CI bands, round ticks
on the log axis and base (0) / teacher (1) reference lines; and style shift against factuality
shift per checkpoint. A panel is drawn only when it has points."""

from __future__ import annotations

from pathlib import Path

from imitation_train.experiment.table import Column
from leaderboard.charts import log_axis  # round ticks (1k, 2k, 5k), shared with the leaderboard


def _figure(**kwargs):  # noqa: ANN003,ANN202
    """A matplotlib Figure of its own (no pyplot: nothing global, no backend switch)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _save(fig, folder: Path, name: str) -> list[Path]:  # noqa: ANN001
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return paths


def gap_figure(columns: list[Column], folder: Path) -> list[Path]:
    """One panel per task family with points: gap closed where the teacher has a score, the
    raw delta otherwise (the y label says which)."""
    cols = [c for c in columns if c.points and c.base is not None
            and any(p.tokens for p in c.points)]
    if not cols:
        return []
    n = len(cols)
    width = min(n, 3)
    rows = (n + width - 1) // width
    fig = _figure(figsize=(4.6 * width, 3.4 * rows))
    axes = fig.subplots(rows, width, squeeze=False)
    for ax, col in zip(axes.flat, cols):
        pts = sorted((p for p in col.points if p.tokens), key=lambda p: p.tokens)
        xs = [p.tokens for p in pts]
        gap = col.teacher is not None and all(p.gap_low is not None for p in pts)
        if gap:
            ys = [p.gap for p in pts]
            low, high = [p.gap_low for p in pts], [p.gap_high for p in pts]
            ax.axhline(0, color="grey", lw=1, ls="--", label="base (0)")
            ax.axhline(1, color="black", lw=1, ls=":", label="teacher (1)")
            ax.set_ylabel("gap closed")
        else:
            ys = [p.delta for p in pts]
            low = [p.delta - (p.delta_half or 0.0) for p in pts]
            high = [p.delta + (p.delta_half or 0.0) for p in pts]
            ax.axhline(0, color="grey", lw=1, ls="--", label="base (0)")
            ax.set_ylabel(f"{col.metric} - base")
        ax.plot(xs, ys, marker="o", label="checkpoints")
        if any(h != l for h, l in zip(high, low)):
            ax.fill_between(xs, low, high, alpha=0.25, label="95% CI")
        else:
            ax.set_title("(no standard error: no CI)", fontsize=7, loc="right")
        log_axis(ax)
        ax.set_xlabel("imitation tokens")
        ax.set_title(f"{col.task}\n{col.metric}", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.remove()
    fig.tight_layout()
    paths = _save(fig, folder, "gap_closed")
    return paths


def style_factuality_figure(columns: list[Column], folder: Path, style_key: str,
                            fact_key: str) -> list[Path]:
    """Each checkpoint's style shift (x) against its factuality shift (y), with 95% CIs."""
    by_key = {c.key: c for c in columns}
    style, fact = by_key.get(style_key), by_key.get(fact_key)
    if style is None or fact is None:
        return []
    pairs = [(s, f) for s in style.points for f in fact.points
             if s.run == f.run and s.delta is not None and f.delta is not None]
    # a row without a standard error is drawn without its error bar
    if not pairs:
        return []
    fig = _figure(figsize=(5.2, 4.2))
    ax = fig.subplots()
    for s, f in pairs:
        ax.errorbar(s.delta, f.delta, xerr=s.delta_half, yerr=f.delta_half, fmt="o", capsize=3,
                    label=f"{s.run} ({s.tokens:,} tokens)")
    ax.axhline(0, color="grey", lw=1, ls="--")
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_xlabel(f"style shift: {style.task} {style.metric} - base")
    ax.set_ylabel(f"factuality shift: {fact.task} {fact.metric} - base")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    paths = _save(fig, folder, "style_vs_factuality")
    return paths
