"""The data-scaling and judge-panel pages' plots (the style page is ``leaderboard.style``).
Built from the main table (so the same columns, CIs and gap-closed numbers); drawn by
``leaderboard.charts`` (matplotlib). A panel without points is left out and named in a note."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from leaderboard.charts import Ref, Series, chart
from leaderboard.db import read_session
from leaderboard.models import JudgeRun
from leaderboard.render import fmt_tokens
from leaderboard.views import Row, Table

Point = tuple[float, float, tuple[float, float] | None]  # x, y, 95% CI of y
GAP_REFS = (Ref(0.0, "base (0)"), Ref(1.0, "teacher (1)"))


def series(points: dict[str, list[Point]]) -> list[Series]:
    """One series per key (sorted), its points with their CIs."""
    return [Series(key, tuple(p[0] for p in pts), tuple(p[1] for p in pts),
                   tuple(p[2] for p in pts)) for key, pts in sorted(points.items())]


def _scaling_points(rows: list[Row], k: int) -> tuple[dict[str, list[Point]], ...]:
    """(score, gap closed) against imitation tokens per (base, data kind), and score against
    base parameters per (data kind, tokens), for column ``k``."""
    score: dict[str, list[Point]] = defaultdict(list)
    gap: dict[str, list[Point]] = defaultdict(list)
    size: dict[str, list[Point]] = defaultdict(list)
    by_name = {r.name: r for r in rows}
    for r in rows:
        cell = r.cells[k]
        if r.kind != "imitation" or cell.value is None:
            continue
        ci = (cell.low, cell.high) if cell.low is not None and cell.high is not None else None
        key = f"{r.base} / {r.data_kind or '?'}"
        if r.tokens:
            score[key].append((float(r.tokens), cell.value, ci))
            g = cell.gap
            if g is not None and g.share is not None:
                gap[key].append((float(r.tokens), g.share, None if g.low is None or g.high is None
                                 else (g.low, g.high)))
        base = by_name.get(r.base)
        params = r.params or (base.params if base else None)
        if params:
            size[f"{r.data_kind or '?'} @ {fmt_tokens(r.tokens)}"].append(
                (float(params), cell.value, ci))
    return score, gap, size


def scaling(table: Table) -> list[dict[str, Any]]:
    """Per column with imitation points: score and gap closed against imitation tokens (log x,
    one line per base and data kind, 95% CI bands, base/teacher lines on gap closed), and score
    against base size at fixed data. Each figure: its plots and notes for the ones left out."""
    figures = []
    for k, col in enumerate(table.columns):
        score, gap, size = _scaling_points(table.rows, k)
        if not score and not size:
            continue
        drawn = {
            "score": chart(series(score), f"{col.label} vs imitation tokens",
                           "imitation tokens", col.metric, log_x=True),
            "gap": chart(series(gap), f"gap closed: {col.label}", "imitation tokens",
                         "gap closed", log_x=True, refs=GAP_REFS),
            "size": chart(series(size), f"{col.label} vs base size", "base parameters",
                          col.metric, log_x=True)}
        why = {"score": "no checkpoint here has an imitation token count",
               "gap": "no gap closed here (it needs the base's and the teacher's scores, "
                      "apart beyond noise)",
               "size": "no base parameter count (push with --params)"}
        figures.append({"column": col.label, "identity": col.identity,
                         "plots": [p for p in drawn.values() if p is not None],
                         "notes": [f"{name}: {why[name]}" for name, p in drawn.items()
                                   if p is None]})
    return figures


def judge_panel(engine: Engine) -> dict[str, Any]:
    """Per judge: agreement with humans, mean position inconsistency, mean style effect
    (raw win rate minus style-controlled win rate) over the runs it judged."""
    with read_session(engine) as s:
        runs = s.scalars(select(JudgeRun).order_by(JudgeRun.id)).all()
    agree = [r for r in runs if r.kind == "agreement"]
    pair: dict[tuple[str, str], list[JudgeRun]] = defaultdict(list)
    for r in runs:
        if r.kind == "pairwise":
            pair[(r.judge_model, r.judge_prompt)].append(r)
    judges = []
    for (model, prompt), items in sorted(pair.items()):
        pos = [r.metrics.get("position_inconsistency") for r in items]
        style = [r.metrics["win_rate"] - r.metrics["style_controlled_win_rate"] for r in items
                 if r.metrics.get("win_rate") is not None
                 and r.metrics.get("style_controlled_win_rate") is not None]
        pos = [p for p in pos if p is not None]
        judges.append({"judge": model, "prompt": prompt, "runs": len(items),
                       "position_inconsistency": statistics.fmean(pos) if pos else None,
                       "style_effect": statistics.fmean(style) if style else None})
    plot = chart([Series(f"{j['judge']} {j['prompt']}", (j["position_inconsistency"],),
                         (j["style_effect"],)) for j in judges
                  if j["position_inconsistency"] is not None and j["style_effect"] is not None],
                 "judges: position inconsistency vs style effect", "position inconsistency",
                 "style effect (win rate - style-controlled)", lines=False,
                 refs=(Ref(0.0, "no style effect"),))
    return {"agreement": agree, "judges": judges, "plot": plot}
