"""What the pages show, computed from the store: the main table (with gap closed), the model
page, data-scaling curves, style against factuality and the judge panel. Pure data: the HTML
lives in templates/, the CSV/JSON exports reuse the same rows."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from leaderboard.db import read_session
from leaderboard.models import Benchmark, Flag, Item, JudgeRun, Model, Run, Score
from leaderboard.parse import Identity
from leaderboard.stats import Estimate, Gap, ci95, gaps, paired_gap, standard_noise


@dataclass(frozen=True)
class Column:
    id: int
    task: str
    metric: str
    label: str
    identity: str
    higher_is_better: bool


@dataclass
class Cell:
    value: float | None = None
    stderr: float | None = None
    n: int | None = None
    low: float | None = None
    high: float | None = None
    gap: Gap | None = None
    gap_note: str = ""


@dataclass
class Row:
    id: int
    name: str
    kind: str
    base: str
    teacher: str
    data_kind: str
    tokens: int | None
    params: int | None
    status: str
    source: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]


def _column(b: Benchmark) -> Column:
    ident = Identity(b.task, b.task_version, b.n_shot, b.chat_template, b.judge_model,
                     b.judge_prompt, b.harness_version, b.metric, b.filter)
    short = b.task.removeprefix("imitation_")
    return Column(b.id, b.task, b.metric, f"{short} {b.metric}", ident.label(), b.higher_is_better)


def data_version(engine: Engine) -> tuple[int, int]:
    """Changes whenever a run is stored (cache key of the computed table)."""
    with read_session(engine) as s:
        count, top = s.execute(select(func.count(Run.id), func.max(Run.id))).one()
        judges = s.scalar(select(func.count(JudgeRun.id))) or 0
    return int(count or 0) * 1_000_003 + judges, int(top or 0)


@dataclass(frozen=True)
class Latest:
    value: float
    stderr: float | None
    n: int | None
    run_id: int
    status: str
    source: str


def latest_scores(session: Session, bench_ids: list[int]) -> dict[tuple[int, int], Latest]:
    """(model id, benchmark id) -> the newest run's score (plain tuples: fast on 20k rows)."""
    query = (select(Run.model_id, Score.benchmark_id, Score.value, Score.stderr, Score.n, Run.id,
                    Run.status, Run.source)
             .join(Run, Score.run_id == Run.id).where(Score.benchmark_id.in_(bench_ids))
             .order_by(Run.id))
    return {(m, b): Latest(v, se, n, r, st, src)
            for m, b, v, se, n, r, st, src in session.execute(query)}


def build_table(engine: Engine, draws: int = 1000, seed: int = 1234,
                where: tuple[Any, ...] | None = None) -> Table:
    """The table of the benchmarks matching ``where`` (SQL conditions; default: the main
    table's, each top-level task's primary metric), one row per model with a score there."""
    with read_session(engine) as s:
        conditions = where if where is not None else (Benchmark.headline, Benchmark.primary)
        benches = s.scalars(select(Benchmark).where(*conditions)
                            .order_by(Benchmark.task, Benchmark.id)).all()
        latest = latest_scores(s, [b.id for b in benches])
        used = {bid for _, bid in latest}
        columns = [_column(b) for b in benches if b.id in used]
        models = s.scalars(select(Model).options(
            selectinload(Model.base), selectinload(Model.teacher),
            selectinload(Model.checkpoint)).order_by(Model.kind, Model.name)).all()
        last_run: dict[int, Latest] = {}
        for (m, _), hit in latest.items():
            if m not in last_run or hit.run_id > last_run[m].run_id:
                last_run[m] = hit
        rows = [_row(m, last_run.get(m.id), columns, latest) for m in models
                if m.id in last_run]
    by_name = {r.name: r for r in rows}
    imitation_rows = sum(r.kind == "imitation" for r in rows)
    noise = standard_noise(max(imitation_rows, 1), draws, seed) if imitation_rows else None
    for k in range(len(columns)):
        _fill_gaps(rows, by_name, k, draws, seed, noise)
    return Table(columns, rows)


def _row(m: Model, run: Latest | None, columns: list[Column],
         latest: dict[tuple[int, int], Latest]) -> Row:
    ckpt = m.checkpoint
    row = Row(m.id, m.name, m.kind, m.base.name if m.base else "",
              m.teacher.name if m.teacher else "", ckpt.data_kind if ckpt else "",
              ckpt.imitation_tokens if ckpt else None, m.params,
              run.status if run else "", run.source if run else "")
    for col in columns:
        hit = latest.get((m.id, col.id))
        if hit is None:
            row.cells.append(Cell())
            continue
        ci = ci95(Estimate(hit.value, hit.stderr, hit.n))
        row.cells.append(Cell(hit.value, hit.stderr, hit.n, ci[0] if ci else None,
                              ci[1] if ci else None))
    return row


def _fill_gaps(rows: list[Row], by_name: dict[str, Row], k: int, draws: int, seed: int,
               noise: Any = None) -> None:
    todo, trip = [], []
    for row in rows:
        if row.kind != "imitation" or row.cells[k].value is None:
            continue
        base, teacher = by_name.get(row.base), by_name.get(row.teacher)
        if base is None or base.cells[k].value is None:
            row.cells[k].gap_note = "no base score in this column"
            continue
        if teacher is None or teacher.cells[k].value is None:
            row.cells[k].gap_note = "no teacher score in this column"
            row.cells[k].gap = Gap(row.cells[k].value - base.cells[k].value, None, None, None,
                                   "no teacher score")
            continue
        todo.append(row)
        trip.append(tuple(Estimate(c.value, c.stderr, c.n) for c in  # type: ignore[arg-type]
                          (row.cells[k], base.cells[k], teacher.cells[k])))
    if todo:
        results = gaps([t[0] for t in trip], [t[1] for t in trip], [t[2] for t in trip],
                       draws=draws, seed=seed, noise=noise)
        for row, gap in zip(todo, results):
            row.cells[k].gap = gap
            row.cells[k].gap_note = gap.reason


def filter_rows(table: Table, base: str = "", data: str = "", teacher: str = "") -> list[Row]:
    """Rows matching the filters (an imitation row matches on its own base/data/teacher; base
    and teacher rows are kept when they are that base or teacher)."""
    out = []
    for r in table.rows:
        own_base = r.base if r.kind == "imitation" else (r.name if r.kind == "base" else None)
        own_teacher = r.teacher if r.kind == "imitation" else (
            r.name if r.kind == "teacher" else None)
        if base and own_base is not None and own_base != base:
            continue
        if teacher and own_teacher is not None and own_teacher != teacher:
            continue
        if data and r.kind == "imitation" and data != r.data_kind:
            continue
        out.append(r)
    return out


def table_json(table: Table, rows: list[Row]) -> dict[str, Any]:
    cols = [{"id": c.id, "task": c.task, "metric": c.metric, "identity": c.identity}
            for c in table.columns]
    out_rows = []
    for r in rows:
        cells = {}
        for c, cell in zip(table.columns, r.cells):
            if cell.value is None:
                continue
            entry: dict[str, Any] = {"score": cell.value, "stderr": cell.stderr, "n": cell.n,
                                     "ci95": [cell.low, cell.high] if cell.low is not None
                                     else None}
            if cell.gap is not None:
                entry.update(delta=cell.gap.delta, gap_closed=cell.gap.share,
                             gap_closed_ci95=[cell.gap.low, cell.gap.high]
                             if cell.gap.low is not None else None,
                             gap_note=cell.gap_note or None)
            cells[c.identity] = entry
        out_rows.append({"model": r.name, "kind": r.kind, "base": r.base or None,
                         "teacher": r.teacher or None, "data": r.data_kind or None,
                         "imitation_tokens": r.tokens, "status": r.status, "source": r.source,
                         "scores": cells})
    return {"columns": cols, "rows": out_rows}


def table_csv_rows(table: Table, rows: list[Row]) -> list[list[Any]]:
    header = ["model", "kind", "base", "teacher", "data", "imitation_tokens", "status",
              "column", "score", "stderr", "n", "delta", "gap_closed", "gap_low", "gap_high"]
    out: list[list[Any]] = [header]
    for r in rows:
        for c, cell in zip(table.columns, r.cells):
            if cell.value is None:
                continue
            g = cell.gap
            out.append([r.name, r.kind, r.base, r.teacher, r.data_kind, r.tokens, r.status,
                        c.identity, cell.value, cell.stderr, cell.n,
                        g.delta if g else "", g.share if g and g.share is not None else "",
                        g.low if g and g.low is not None else "",
                        g.high if g and g.high is not None else ""])
    return out


def table_csv(table: Table, rows: list[Row]) -> str:
    """The CSV export; a text cell starting with = + - @ would run as a formula in a
    spreadsheet, so it is quoted with a leading apostrophe. Numbers and empty cells are written
    as they are, so numeric columns load as numbers (pandas.read_csv)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in table_csv_rows(table, rows):
        writer.writerow(["'" + c if isinstance(c, str) and c and c[0] in "=+-@" else c
                         for c in row])
    return buf.getvalue()


def model_page(engine: Engine, name: str) -> dict[str, Any] | None:
    with read_session(engine) as s:
        m = s.scalars(select(Model).where(Model.name == name)).first()
        if m is None:
            return None
        runs = s.scalars(select(Run).where(Run.model_id == m.id).order_by(Run.id.desc())).all()
        flags = s.scalars(select(Flag).where(Flag.run_id.in_([r.id for r in runs]))).all()
        rows = s.execute(select(Score, Benchmark, Run).join(Benchmark).join(Run)
                         .where(Run.model_id == m.id).order_by(Benchmark.task, Run.id)).all()
        scores: dict[int, tuple[Score, Benchmark, Run]] = {b.id: (sc, b, r) for sc, b, r in rows}
        flips = _flips(s, m) if m.base is not None else []
        paired = _paired_gaps(s, m) if m.base is not None and m.teacher is not None else []
        return {"model": m, "base": m.base.name if m.base else None,
                "teacher": m.teacher.name if m.teacher else None,
                "card": m.checkpoint.card if m.checkpoint else None,
                "card_json": json.dumps(m.checkpoint.card, indent=2) if m.checkpoint else "",
                "runs": runs, "flags": flags,
                "scores": sorted(scores.values(), key=lambda t: (not t[1].headline, t[1].task,
                                                                 t[1].metric)),
                "flips": flips, "paired": paired}


def _latest_items(s: Session, model_id: int) -> dict[int, dict[int, float]]:
    query = (select(Item.benchmark_id, Item.doc_id, Item.value).join(Run, Item.run_id == Run.id)
             .where(Run.model_id == model_id).order_by(Run.id))
    out: dict[int, dict[int, float]] = {}
    for bench, doc, value in s.execute(query):
        out.setdefault(bench, {})[doc] = value
    return out


def _paired_gaps(s: Session, m: Model) -> list[dict[str, Any]]:
    """Gap closed per column from the items all three runs share (paired bootstrap)."""
    import numpy as np

    mine = _latest_items(s, m.id)
    base = _latest_items(s, m.base_id)  # type: ignore[arg-type]
    teacher = _latest_items(s, m.teacher_id)  # type: ignore[arg-type]
    out = []
    for bench_id in sorted(set(mine) & set(base) & set(teacher)):
        docs = sorted(set(mine[bench_id]) & set(base[bench_id]) & set(teacher[bench_id]))
        if not docs:
            continue
        arrays = [np.array([items[bench_id][d] for d in docs], dtype=float)
                  for items in (mine, base, teacher)]
        b = s.get(Benchmark, bench_id)
        out.append({"task": b.task, "metric": b.metric, "n": len(docs),
                    "gap": paired_gap(*arrays)})
    return out


def _flips(s: Session, m: Model) -> list[dict[str, Any]]:
    mine, base = _latest_items(s, m.id), _latest_items(s, m.base_id)  # type: ignore[arg-type]
    out = []
    for bench_id in sorted(set(mine) & set(base)):
        b = s.get(Benchmark, bench_id)
        a, z = mine[bench_id], base[bench_id]
        common = sorted(set(a) & set(z))
        fixed = [d for d in common if a[d] > z[d]]
        broken = [d for d in common if a[d] < z[d]]
        out.append({"task": b.task, "metric": b.metric, "n": len(common), "fixed": fixed,
                    "broken": broken, "net": len(fixed) - len(broken)})
    return out
