"""``OUTPUT_DIR/report/``: report.md, table.json and the figures.

The last section sets what Gudibande et al. (2023) found next to what this run shows, by fixed
rules stated in the report (never tuned to agree): style moved toward the teacher when a style
row's delta at the largest budget has a 95% CI above 0; imitation closed "little" of a
capability gap when the gap closed's CI at the largest budget lies below 0.25 (the raw delta's
CI includes 0 or lies below it, where the teacher has no score).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path
from typing import Any

from imitation_train.experiment.config import ExperimentConfig
from imitation_train.experiment.table import Column

LITTLE = 0.25
STYLE_AXIS = ("list_when_teacher_lists", "unigram_overlap", "summary_paragraph")


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _delta(p: Any) -> str:
    half = "" if p.delta_half is None else f" ±{p.delta_half:.3f}"
    return f"Δ {p.delta:+.3f}{half}"


def _ci(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("imitation-suite", "lm_eval", "torch", "transformers", "accelerate"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _table_md(columns: list[Column]) -> list[str]:
    runs = [p.run for p in max((c.points for c in columns), key=len, default=[])]
    head = ["task / metric", "base (±95%)", *runs, "teacher"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in columns:
        if c.base is None:
            continue
        half = c.half_width()
        cells = [c.key, f"{_num(c.base.value)} (±{_num(half)})"]
        by_run = {p.run: p for p in c.points}
        for run in runs:
            p = by_run.get(run)
            if p is None:
                cells.append("")
            else:
                gap = f"gap {p.gap:.2f}{_ci(p.gap_low, p.gap_high)}; " if p.gap is not None else ""
                note = f" ({p.gap_note})" if p.gap_note else ""
                cells.append(f"{_num(p.value)}; {gap}{_delta(p)}{note}")
        cells.append(_num(c.teacher) + (" *" if c.teacher_source else "") if c.teacher
                     is not None else "— (raw delta only)")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def findings(columns: list[Column]) -> list[str]:
    """The paper's two findings against this run, by the rules in the module docstring."""
    out = []
    for c in columns:
        if not c.points:
            continue
        last = max(c.points, key=lambda p: p.tokens or 0)
        if last.delta is None or last.delta_half is None:
            out.append(f"- {c.key}: Δ {last.delta:+.3f} at {last.run}, no standard error: "
                       "**no verdict**.")
        elif c.style and c.metric in STYLE_AXIS:
            low = last.delta - last.delta_half
            high = last.delta + last.delta_half
            verdict = ("agrees" if low > 0 else "disagrees" if high < 0 else
                       "inconclusive (CI includes 0)")
            out.append(f"- Style moves toward the teacher ({c.key}): Δ {last.delta:+.3f} "
                       f"[{low:+.3f}, {high:+.3f}] at {last.run}: **{verdict}**.")
        elif not c.style:
            if last.gap is not None and last.gap_high is not None:
                verdict = ("agrees" if last.gap_high < LITTLE else "disagrees"
                           if last.gap_low is not None and last.gap_low > LITTLE else
                           "inconclusive (CI straddles 0.25)")
                out.append(f"- Imitation closes little of the gap ({c.key}): gap closed "
                           f"{last.gap:.2f}{_ci(last.gap_low, last.gap_high)} at {last.run}: "
                           f"**{verdict}**.")
            else:
                low = last.delta - last.delta_half
                verdict = "agrees" if low <= 0 else "disagrees (a clear gain)"
                out.append(f"- Imitation adds no capability ({c.key}, no teacher score: raw "
                           f"delta): {_delta(last)} at {last.run}: **{verdict}**.")
    return out


def write_report(cfg: ExperimentConfig, columns: list[Column], ledger: dict[str, Any],
                 figures: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table.json").write_text(json.dumps(
        [dataclasses.asdict(c) | {"half_width": c.half_width()} for c in columns], indent=2)
        + "\n", encoding="utf-8")
    stages = {k: v.get("seconds") for k, v in ledger.items()}
    total = sum(s or 0 for s in stages.values())
    lines = [f"# {cfg.name}", "",
             f"Base models: {', '.join(cfg.base_models)}; data: "
             + ", ".join(f"{k} (teacher {v.get('teacher', '?')})" for k, v in cfg.data.items())
             + f"; budgets: {cfg.budgets}; teacher row: {cfg.teacher or 'none'}.", "",
             "Each cell: score; gap closed = (checkpoint - base) / (teacher - base) with its 95% "
             "CI where the teacher has a score; Δ = checkpoint - base ± its 95% CI half-width. "
             "The base column's ± is the eval size's CI half-width. * = teacher score with a "
             "source (below).", "", *_table_md(columns), "", "## Teacher scores", ""]
    lines += [f"- {c.key}: {_num(c.teacher)}: {c.teacher_source}" for c in columns
              if c.teacher is not None]
    lines += ["", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figures
                                       if p.suffix == ".png"]
    lines += ["", "## What the paper found vs what this run shows", "",
              "Gudibande et al. (2023): imitation makes a model's answers look like the "
              "teacher's (style, lists, length) while closing little to none of the gap on "
              "factuality and capability benchmarks (NQ, MMLU, HumanEval), and more imitation "
              "data does not change that. Rules (fixed before the run): style agrees when the "
              "largest budget's Δ has a 95% CI above 0; 'closes little' agrees when the gap "
              f"closed's CI lies below {LITTLE} (with no teacher score: when the Δ's CI reaches "
              "0 or below).", "", *findings(columns), "",
              "## Run", "", f"- wall time of all stages: {total / 60:.1f} min (summed over "
              "sessions when the run resumed)", "", "| stage | seconds |", "|---|---|",
              *[f"| {k} | {v} |" for k, v in stages.items()], "",
              f"- versions: `{json.dumps(_versions())}`", "", "```json",
              json.dumps(dataclasses.asdict(cfg), indent=2), "```", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
