"""What the pages show, computed from the store: the main table (with gap closed), the model
page, data-scaling curves, style against factuality and the judge panel. Pure data: the HTML
lives in templates/, the CSV/JSON exports reuse the same rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leaderboard.db import read_session
from leaderboard.lineage import card_history, storable_name
from leaderboard.models import Benchmark, Flag, Item, Model, Run, Score
from leaderboard.stats import paired_gap
from leaderboard.table import (Cell, Column, Latest, Row, Table, TableState,  # noqa: F401
                               build_table, data_version, latest_scores)


def filter_rows(table: Table, base: str = "", data: str = "", teacher: str = "",
                name: str = "") -> list[Row]:
    """Rows matching the filters (an imitation row matches on its own base/data/teacher; base
    and teacher rows are kept when they are that base or teacher; ``name``: the model's name
    contains it, ignoring case), in the table's order."""
    out = []
    needle = name.casefold()
    for r in table.rows:
        if needle and needle not in r.name.casefold():
            continue
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
    if not storable_name(name):  # PostgreSQL refuses NUL in a query: no such model
        return None
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
                "owner": m.owner.name if m.owner else None,
                "card": m.checkpoint.card if m.checkpoint else None,
                "card_version": m.checkpoint.version if m.checkpoint else None,
                "card_history": card_history(s, m),
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
