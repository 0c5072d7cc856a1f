"""The experiment's numbers, read back from the results folders: per column (task + metric),
the base model, every checkpoint and the teacher, with gap closed and raw delta and their 95%
CIs (leaderboard.stats: a parametric bootstrap from each score's standard error)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leaderboard.stats import Z, Estimate, gaps

STYLE_METRICS = ("list_when_teacher_lists", "summary_paragraph", "unigram_overlap",
                 "length_pearson", "mean_length")
PERCENT_RATES = ("list_when_teacher_lists", "summary_paragraph")  # % of answers: binomial se
NOT_RATES = ("unigram_overlap", "length_pearson", "mean_length")  # no binomial se for these


@dataclass(frozen=True)
class Point:
    run: str  # "base" or the checkpoint's name
    tokens: int | None  # imitation tokens (None for the base)
    value: float
    stderr: float | None
    n: int | None
    gap: float | None = None  # gap closed
    gap_low: float | None = None
    gap_high: float | None = None
    gap_note: str = ""
    delta: float | None = None  # value - base
    delta_half: float | None = None  # 95% CI half-width of the delta


@dataclass
class Column:
    task: str
    metric: str
    style: bool
    higher_is_better: bool
    base: Point | None = None
    points: list[Point] = field(default_factory=list)
    teacher: float | None = None
    teacher_source: str = ""

    @property
    def key(self) -> str:
        return f"{self.task} / {self.metric}"

    def half_width(self) -> float | None:
        """The base score's 95% CI half-width: what the eval size buys (None: no stderr)."""
        est = estimate(self.base, self.metric) if self.base is not None else None
        return None if est is None else Z * est.se()


def _read(folder: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else None
    return results, config


def scores_of(folder: Path) -> dict[tuple[str, str], Any]:
    """(task, metric) -> ParsedScore for the primary metric of every headline task (a group's
    subtasks, e.g. MMLU's 57 subjects, are left to their group) and the style rows."""
    from leaderboard.parse import parse_results

    results, config = _read(folder)
    out = {}
    for parsed in parse_results(results, config):
        ident = parsed.identity
        if parsed.headline and (parsed.primary or ident.metric in STYLE_METRICS):
            out[(ident.task, ident.metric)] = parsed
    return out


def build_columns(runs: list[tuple[str, int | None, Path]],
                  teacher: dict[tuple[str, str], tuple[float, str]],
                  draws: int = 2000, seed: int = 1234) -> list[Column]:
    """``runs``: (name, imitation tokens, results folder), the base first (tokens None)."""
    per_run = [(name, tokens, scores_of(folder)) for name, tokens, folder in runs]
    columns: dict[tuple[str, str], Column] = {}
    for name, tokens, scores in per_run:
        for key, parsed in scores.items():
            col = columns.setdefault(key, Column(key[0], key[1], key[1] in STYLE_METRICS,
                                                 parsed.higher_is_better))
            point = Point(name, tokens, parsed.value, parsed.stderr, parsed.n)
            if tokens is None:
                col.base = point
            else:
                col.points.append(point)
    for key, col in columns.items():
        if key in teacher:
            col.teacher, col.teacher_source = teacher[key]
        _fill(col, draws, seed)
    return sorted(columns.values(), key=lambda c: (c.style, c.task, c.metric))


def _rate_se(rate: float, n: int) -> float:
    """Agresti-Coull standard error of a proportion: never 0 at 0% or 100%."""
    adjusted = (rate * n + 2) / (n + 4)
    return math.sqrt(adjusted * (1 - adjusted) / (n + 4))


def estimate(point: Point, metric: str) -> Estimate | None:
    """The score with its standard error: lm-eval's, else a binomial one (Agresti-Coull) for a
    rate (a fraction, or a percentage of answers); None when the run gives no way to know it (a
    mean length, an overlap or a correlation without a stderr), so no CI is invented."""
    if point.stderr is not None:
        return Estimate(point.value, point.stderr, point.n)
    if metric in NOT_RATES or not point.n:
        return None
    if metric in PERCENT_RATES and 0 <= point.value <= 100:
        return Estimate(point.value, 100 * _rate_se(point.value / 100, point.n), point.n)
    if 0.0 <= point.value <= 1.0:
        return Estimate(point.value, _rate_se(point.value, point.n), point.n)
    return None


def _fill(col: Column, draws: int, seed: int) -> None:
    if col.base is None or not col.points:
        return
    b = estimate(col.base, col.metric)
    filled = []
    for p in col.points:
        i = estimate(p, col.metric)
        extra: dict[str, Any] = {"delta": p.value - col.base.value}
        if i is None or b is None:
            extra["gap_note"] = "no standard error: no CI"
            if col.teacher is not None and col.teacher != col.base.value:
                extra["gap"] = (p.value - col.base.value) / (col.teacher - col.base.value)
            filled.append(Point(**{**asdict(p), **extra}))
            continue
        extra["delta_half"] = Z * math.hypot(i.se(), b.se())
        if col.teacher is not None:
            t = Estimate(col.teacher, None, None)
            g = gaps([i], [b], [t], draws=draws, seed=seed)[0]
            extra.update(gap=g.share, gap_low=g.low, gap_high=g.high, gap_note=g.reason)
        filled.append(Point(**{**asdict(p), **extra}))
    col.points = filled


def teacher_scores(engine: Any, teacher: str) -> dict[tuple[str, str], tuple[float, str]]:
    """The teacher's stored scores (measured or published) from the experiment's leaderboard:
    (task, metric) -> (value, source)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from leaderboard.models import Benchmark, Model, Run, Score

    out: dict[tuple[str, str], tuple[float, str]] = {}
    with Session(engine) as s:
        rows = s.execute(
            select(Benchmark.task, Benchmark.metric, Score.value, Run.source)
            .join(Score, Score.benchmark_id == Benchmark.id).join(Run, Run.id == Score.run_id)
            .join(Model, Model.id == Run.model_id).where(Model.name == teacher)
            .order_by(Run.id)).all()
    for task, metric, value, source in rows:
        out[(task, metric)] = (float(value), source or "")
    return out
