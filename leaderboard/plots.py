"""The three plot pages' data and SVGs: data-scaling curves, style against factuality, and the
judge panel. Built from the main table (so the same columns and gap-closed numbers)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from leaderboard.db import read_session
from leaderboard.render import fmt_tokens
from leaderboard.models import JudgeRun
from leaderboard.svg import Series, chart
from leaderboard.views import Table


def scaling(table: Table) -> list[dict[str, str]]:
    """Per column: score and gap closed against imitation tokens (log x), one series per
    (base, data kind); and score against base size at fixed data kind."""
    figures = []
    for k, col in enumerate(table.columns):
        score: dict[str, list[tuple[float, float]]] = defaultdict(list)
        gap: dict[str, list[tuple[float, float]]] = defaultdict(list)
        size: dict[str, list[tuple[float, float]]] = defaultdict(list)
        by_name = {r.name: r for r in table.rows}
        for r in table.rows:
            cell = r.cells[k]
            if r.kind != "imitation" or cell.value is None:
                continue
            key = f"{r.base} / {r.data_kind or '?'}"
            if r.tokens:
                score[key].append((float(r.tokens), cell.value))
                if cell.gap is not None and cell.gap.share is not None:
                    gap[key].append((float(r.tokens), cell.gap.share))
            base = by_name.get(r.base)
            params = r.params or (base.params if base else None)
            if params:
                size[f"{r.data_kind or '?'} @ {fmt_tokens(r.tokens)}"].append(
                    (float(params), cell.value))
        if not score and not size:
            continue
        figures.append({
            "column": col.label, "identity": col.identity,
            "score": chart([Series(k2, tuple(v)) for k2, v in sorted(score.items())],
                           f"{col.label} vs imitation tokens", "imitation tokens (log)",
                           col.metric, log_x=True),
            "gap": chart([Series(k2, tuple(v)) for k2, v in sorted(gap.items())],
                         f"gap closed: {col.label}", "imitation tokens (log)", "gap closed",
                         log_x=True, hline=0.0),
            "size": chart([Series(k2, tuple(v)) for k2, v in sorted(size.items())],
                          f"{col.label} vs base size", "base parameters (log)", col.metric,
                          log_x=True),
        })
    return figures


def pick_column(table: Table, wanted: int | None, *needles: str) -> int | None:
    ids = [c.id for c in table.columns]
    if wanted in ids:
        return ids.index(wanted)  # type: ignore[arg-type]
    for needle in needles:
        for k, c in enumerate(table.columns):
            if needle in f"{c.task} {c.metric}":
                return k
    return None


def style_vs_factuality(table: Table, x_id: int | None = None, y_id: int | None = None
                        ) -> dict[str, Any]:
    """x: factual accuracy (default: the first NQ-open column); y: judge win rate against the
    teacher (default: the first win_rate column). One point per model, series by kind."""
    x = pick_column(table, x_id, "nq_open", "mmlu")
    y = pick_column(table, y_id, "win_rate")
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    rows = []
    if x is not None and y is not None and x != y:
        for r in table.rows:
            vx, vy = r.cells[x].value, r.cells[y].value
            if vx is not None and vy is not None:
                points[r.kind].append((vx, vy))
                rows.append({"model": r.name, "kind": r.kind, "x": vx, "y": vy})
    xl = table.columns[x].label if x is not None else "factual accuracy"
    yl = table.columns[y].label if y is not None else "judge win rate vs teacher"
    svg = chart([Series(k, tuple(v)) for k, v in sorted(points.items())],
                "style (judge win rate) against factuality", xl, yl, lines=False)
    return {"svg": svg, "rows": rows, "x": xl, "y": yl, "columns": table.columns}


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
    svg = chart([Series(f"{j['judge']} {j['prompt']}",
                        ((j["position_inconsistency"], j["style_effect"]),))
                 for j in judges if j["position_inconsistency"] is not None
                 and j["style_effect"] is not None],
                "judges: position inconsistency vs style effect", "position inconsistency",
                "style effect (win rate - style-controlled)", lines=False)
    return {"agreement": agree, "judges": judges, "svg": svg}
