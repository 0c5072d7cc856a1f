"""The style-against-factuality page: does imitation copy the teacher's style more than its facts?

The style axis comes from the style-profile tasks (``imitation_style_profile*``, the rows of
Gudibande et al. 2023, Table 2: list use when the teacher lists, closing summary paragraph,
unigram overlap with the teacher's answer, length correlation, mean length), so the page works
offline, without a judge. For each imitation checkpoint: its style shift (imitation - base on a
chosen style metric) against its factuality shift (imitation - base on a chosen factual column
of the main table, by default NQ exact match, else MMLU), each with a 95% CI where a standard
error is known (lm-eval's stderr; else binomial from n for a rate over all items: factual
accuracy, the summary-paragraph percentage). The judge's win rate against the teacher is an
extra column and plot when a judge run exists. Below: Table 2's rows for every model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Callable

from sqlalchemy import Engine

from leaderboard.charts import Ref, Series, chart
from leaderboard.models import Benchmark
from leaderboard.stats import Z, Gap
from leaderboard.views import Cell, Column, Table, build_table

STYLE_TASK = "imitation_style_profile"
STYLE_METRICS = ("list_when_teacher_lists", "summary_paragraph", "unigram_overlap",
                 "length_pearson", "mean_length")
PERCENT_OF_ALL = ("summary_paragraph",)  # % of all answers: binomial from n
FACT_NEEDLES = ("nq_open", "mmlu")
DRAWS, SEED = 200, 1234  # the style table's gap CIs are not shown; fixed for reproducible pages
KIND_ORDER = {"base": 0, "imitation": 1, "teacher": 2}
CI = tuple[float, float] | None


@dataclass(frozen=True)
class Shift:
    """One imitation checkpoint's change over its base."""

    model: str
    base: str
    data: str
    style: float | None
    style_ci: CI
    fact: float | None
    fact_ci: CI
    fact_gap: Gap | None  # gap closed on the factual column (main table)
    judge: float | None  # judge win rate against the teacher, when a judge run exists


def style_table(engine: Engine) -> Table:
    """Every style-profile metric of Table 2 as a column (all stored settings)."""
    table = build_table(engine, DRAWS, SEED, where=(Benchmark.task.startswith(STYLE_TASK),
                                                    Benchmark.metric.in_(STYLE_METRICS)))
    order = sorted(range(len(table.columns)), key=lambda k: (
        setting(table.columns[k]), STYLE_METRICS.index(table.columns[k].metric)))
    return Table([table.columns[k] for k in order],
                 [replace(r, cells=[r.cells[k] for k in order]) for r in table.rows])


def setting(col: Column) -> str:
    """A column's identity without its metric (the metric is the label's second-to-last part:
    ``leaderboard.parse.Identity.label``)."""
    parts = col.identity.split(" · ")
    return " · ".join(parts[:-2] + parts[-1:])


def standard_error(cell: Cell, metric: str) -> float | None:
    """lm-eval's stderr; else binomial from n for a rate over all items (a score in [0, 1], or
    a percentage of all answers); None for means, correlations and shares of a subset."""
    if cell.stderr is not None:
        return cell.stderr
    if not cell.n or cell.value is None:
        return None
    if metric in PERCENT_OF_ALL:
        p = cell.value / 100
        return 100 * math.sqrt(p * (1 - p) / cell.n) if 0 <= p <= 1 else None
    if metric in STYLE_METRICS or not 0 <= cell.value <= 1:
        return None
    return math.sqrt(cell.value * (1 - cell.value) / cell.n)


def delta(cell: Cell, base: Cell, metric: str) -> tuple[float | None, CI]:
    """imitation - base with its normal 95% CI (None where either has no standard error)."""
    if cell.value is None or base.value is None:
        return None, None
    d = cell.value - base.value
    se = [standard_error(c, metric) for c in (cell, base)]
    if None in se:
        return d, None
    half = Z * math.hypot(*se)  # type: ignore[arg-type]
    return d, (d - half, d + half)


def fact_columns(table: Table) -> list[int]:
    """The main table's columns that measure facts (not style, not a judge's preference)."""
    return [k for k, c in enumerate(table.columns) if not c.task.startswith(STYLE_TASK)
            and not c.task.startswith("imitation_judge") and "win_rate" not in c.metric
            and " · judge " not in c.identity]


def pick(columns: list[Column], among: list[int], wanted: int | None,
         prefer: Callable[[int], Any]) -> int | None:
    """The column with id ``wanted`` when it is among the candidates (indices), else the
    candidate first in ``prefer``'s order (a sort key of the index)."""
    for k in among:
        if columns[k].id == wanted:
            return k
    return min(among, key=lambda k: (prefer(k), k)) if among else None


def _fact_order(col: Column) -> int:
    return next((n for n, needle in enumerate(FACT_NEEDLES) if needle in col.task),
                len(FACT_NEEDLES))


def _style_order(style: Table) -> Callable[[int], Any]:
    """Columns with more imitation checkpoints beside their base first, then Table 2's order."""
    names = {r.name: r for r in style.rows}

    def key(k: int) -> tuple[int, int]:
        beside = sum(1 for r in style.rows if r.kind == "imitation" and r.base in names
                     and r.cells[k].value is not None
                     and names[r.base].cells[k].value is not None)
        return -beside, STYLE_METRICS.index(style.columns[k].metric)

    return key


def shifts(main: Table, style: Table, s: int | None, f: int | None,
           j: int | None) -> list[Shift]:
    """Every imitation checkpoint with a base: its style, factual and judge numbers."""
    srows = {r.name: r for r in style.rows}
    mrows = {r.name: r for r in main.rows}
    out = []
    for r in main.rows:
        base = mrows.get(r.base)
        if r.kind != "imitation" or base is None:
            continue
        st, sb = srows.get(r.name), srows.get(r.base)
        style_d = (delta(st.cells[s], sb.cells[s], style.columns[s].metric)
                   if s is not None and st and sb else (None, None))
        fact_d = (delta(r.cells[f], base.cells[f], main.columns[f].metric)
                  if f is not None else (None, None))
        out.append(Shift(r.name, r.base, r.data_kind, *style_d, *fact_d,
                         r.cells[f].gap if f is not None else None,
                         r.cells[j].value if j is not None else None))
    return out


def table2(style: Table) -> list[dict[str, Any]]:
    """Per style-profile setting: its metrics and every model's row (base, imitation, teacher;
    an imitation cell's ``gap.delta`` is its change over the base)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for k, c in enumerate(style.columns):
        groups[setting(c)].append(k)
    out = []
    for name, ks in groups.items():
        rows = sorted((r for r in style.rows if any(r.cells[k].value is not None for k in ks)),
                      key=lambda r: (KIND_ORDER.get(r.kind, 3), r.name))
        out.append({"setting": name, "metrics": [style.columns[k].metric for k in ks],
                    "rows": [{"row": r, "cells": [r.cells[k] for k in ks]} for r in rows]})
    return out


def _series(rows: list[Shift], x: Callable[[Shift], tuple[float | None, CI]]) -> list[Series]:
    """Points (x, factual shift) per base and data kind, with their CIs."""
    groups: dict[str, list[tuple[float, float, CI, CI]]] = defaultdict(list)
    for r in rows:
        value, ci = x(r)
        if value is not None and r.fact is not None:
            groups[f"{r.base} / {r.data or '?'}"].append((value, r.fact, ci, r.fact_ci))
    return [Series(key, tuple(p[0] for p in pts), tuple(p[1] for p in pts),
                   tuple(p[3] for p in pts), tuple(p[2] for p in pts))
            for key, pts in sorted(groups.items())]


def style_page(engine: Engine, main: Table, fact_id: int | None = None,
               style_id: int | None = None) -> dict[str, Any]:
    """The page's context: the chosen columns (ids; defaults when None), every checkpoint's
    shifts, the plots (None when without points) and why a part is empty, Table 2's rows."""
    style = style_table(engine)
    s = pick(style.columns, list(range(len(style.columns))), style_id, _style_order(style))
    f = pick(main.columns, fact_columns(main), fact_id, lambda k: _fact_order(main.columns[k]))
    wins = [k for k, c in enumerate(main.columns) if "win_rate" in c.metric]
    j = pick(main.columns, wins, None, lambda k: main.columns[k].metric != "win_rate")
    rows = shifts(main, style, s, f, j)
    labels = {"style": style.columns[s].label if s is not None else "style",
              "fact": main.columns[f].label if f is not None else "factual score",
              "judge": main.columns[j].label if j is not None else ""}
    plot = chart(_series(rows, lambda r: (r.style, r.style_ci)),
                 "style shift against factuality shift", f"{labels['style']} - base",
                 f"{labels['fact']} - base", lines=False,
                 refs=(Ref(0.0, "no style change", "x"), Ref(0.0, "no factual change")))
    judge_plot = chart(_series(rows, lambda r: (r.judge, None)),
                       "judge win rate against factuality shift", labels["judge"],
                       f"{labels['fact']} - base", lines=False,
                       refs=(Ref(0.0, "no factual change"),)) if j is not None else None
    return {"style_columns": style.columns, "fact_columns": [main.columns[k]
                                                             for k in fact_columns(main)],
            "style_id": style.columns[s].id if s is not None else None,
            "fact_id": main.columns[f].id if f is not None else None, "labels": labels,
            "shifts": rows, "plot": plot, "judge_plot": judge_plot,
            "notes": _notes(rows, s, f, plot), "table2": table2(style)}


def _notes(rows: list[Shift], s: int | None, f: int | None, plot: Any) -> list[str]:
    """Why a part of the page is empty."""
    if s is None:
        return ["No style-profile score stored yet: run imitation_style_profile_lite (or the "
                "full imitation_style_profile) for the base and the imitation models and push "
                "the runs."]
    if f is None:
        return ["No factual column (NQ, MMLU, ...) stored yet: nothing to set the style "
                "shift against."]
    if not any(r.style is not None for r in rows):
        return ["No imitation checkpoint has a style-profile score beside its base's in this "
                "column: push the base's style-profile run too."]
    if plot is None:
        return ["No checkpoint has both a style shift and a factual shift in the chosen "
                "columns: nothing to plot."]
    return []
