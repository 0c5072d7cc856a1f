"""The main table, kept up to date incrementally: one row per model with a score in the table's
columns (by default each top-level task's primary metric); a cell is the newest run's score with
its 95% CI and, for an imitation model, the gap closed between its base and teacher with a
bootstrap CI (``leaderboard.stats``).

:class:`TableState` holds the table. :meth:`TableState.refresh` reads a signature of the stored
runs per model (newest run id and run count: one grouped query), then recomputes only

- the cells of the models whose signature changed (their newest scores: one query for them), and
- the gaps of the imitation rows that read a changed model (the model itself, or its base or
  teacher) or whose own lineage changed;

every other row, with its bootstrap intervals, is kept. The gaps of the rows it changed may be
left pending (``refresh(complete=False)``) and computed when a page shows those rows
(:meth:`TableState.complete`): the main page's first view after a push, or of a new server
process, then bootstraps only the rows of that page. Each row's bootstrap draws its own
noise, seeded by the model id (:func:`leaderboard.stats.row_noise`), so a row's interval does not
depend on which other rows exist and an incrementally refreshed table equals one built from
scratch (tests/leaderboard/test_table_state.py). The state is derived from committed data only,
so several server processes on one database (SQLite or PostgreSQL) each keep their own, and a
run committed out of id order (PostgreSQL) still changes its model's signature.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from leaderboard.db import read_session
from leaderboard.models import Benchmark, Checkpoint, JudgeRun, Model, Run, Score
from leaderboard.parse import Identity
from leaderboard.stats import Estimate, Gap, ci95, gaps, row_noise


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


@dataclass(frozen=True)
class Meta:
    """A model's own fields as the table shows them (lineage by name)."""

    name: str
    kind: str
    base: str
    teacher: str
    data_kind: str
    tokens: int | None
    params: int | None


@dataclass(frozen=True)
class Row(Meta):
    """A model's row: its own fields, its newest run's status and source, a cell per column."""

    id: int
    status: str
    source: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]  # ordered by (kind, name): the same order on every database


@dataclass(frozen=True)
class Latest:
    value: float
    stderr: float | None
    n: int | None
    run_id: int
    status: str
    source: str


@dataclass(frozen=True)
class Refreshed:
    """What the last :meth:`TableState.refresh` recomputed (the tests count it)."""

    models: int = 0  # models whose runs changed (cells re-read)
    gap_rows: int = 0  # imitation rows whose bootstrap intervals were computed (then or since)
    full: bool = False  # built from scratch


def _column(b: Benchmark) -> Column:
    ident = Identity(b.task, b.task_version, b.n_shot, b.chat_template, b.judge_model,
                     b.judge_prompt, b.harness_version, b.metric, b.filter)
    short = b.task.removeprefix("imitation_")
    return Column(b.id, b.task, b.metric, f"{short} {b.metric}", ident.label(), b.higher_is_better)


def data_version(engine: Engine) -> tuple[int, int]:
    """Changes whenever a run or judge result is stored (cache key of the rendered pages)."""
    with read_session(engine) as s:
        count, top = s.execute(select(func.count(Run.id), func.max(Run.id))).one()
        judges = s.scalar(select(func.count(JudgeRun.id))) or 0
    return int(count or 0) * 1_000_003 + judges, int(top or 0)


def signatures(session: Session) -> dict[int, tuple[int, int]]:
    """Model id -> (newest run id, run count): changes whenever a run of that model is stored
    or deleted, in whatever order runs commit."""
    query = select(Run.model_id, func.max(Run.id), func.count(Run.id)).group_by(Run.model_id)
    return {m: (int(top), int(n)) for m, top, n in session.execute(query)}


def latest_scores(session: Session, bench_ids: list[int],
                  model_ids: set[int] | None = None) -> dict[tuple[int, int], Latest]:
    """(model id, benchmark id) -> the newest run's score (plain tuples: fast on 20k rows); only
    the models ``model_ids`` when given."""
    query = (select(Run.model_id, Score.benchmark_id, Score.value, Score.stderr, Score.n, Run.id,
                    Run.status, Run.source)
             .join(Run, Score.run_id == Run.id).where(Score.benchmark_id.in_(bench_ids))
             .order_by(Run.id))
    if model_ids is not None:
        query = query.where(Run.model_id.in_(sorted(model_ids)))
    return {(m, b): Latest(v, se, n, r, st, src)
            for m, b, v, se, n, r, st, src in session.execute(query)}


def model_meta(session: Session) -> dict[int, Meta]:
    base, teacher = aliased(Model), aliased(Model)
    query = (select(Model.id, Model.name, Model.kind, base.name, teacher.name,
                    Checkpoint.data_kind, Checkpoint.imitation_tokens, Model.params)
             .outerjoin(base, Model.base_id == base.id)
             .outerjoin(teacher, Model.teacher_id == teacher.id)
             .outerjoin(Checkpoint, Checkpoint.model_id == Model.id))
    return {i: Meta(name, kind, b or "", t or "", dk or "", tok, params)
            for i, name, kind, b, t, dk, tok, params in session.execute(query)}


class TableState:
    """The table of the benchmarks matching ``where`` (SQL conditions; default: the main
    table's), refreshed incrementally from the store. Not thread-safe: callers hold a lock."""

    def __init__(self, engine: Engine, draws: int = 1000, seed: int = 1234,
                 where: tuple[Any, ...] | None = None) -> None:
        self.engine, self.draws, self.seed = engine, draws, seed
        self.where = where if where is not None else (Benchmark.headline, Benchmark.primary)
        self.table: Table | None = None
        self.last = Refreshed()
        self._sig: dict[int, tuple[int, int]] = {}
        self._meta: dict[int, Meta] = {}
        self._scores: dict[int, dict[int, Latest]] = {}  # model -> benchmark -> newest score
        self._gaps: dict[int, dict[int, tuple[Gap | None, str]]] = {}  # model -> bench -> gap
        self._rows: dict[int, Row] = {}
        self._columns: list[Column] = []
        self._pending: set[int] = set()  # rows whose gaps are not computed yet

    def refresh(self, complete: bool = True) -> Table:
        """The table as stored now, recomputing only what changed since the last refresh.
        ``complete=False`` leaves the gaps of the rows it changed to :meth:`complete` (a page
        completes only the rows it shows)."""
        full = self.table is None
        with read_session(self.engine) as s:
            sig = signatures(s)  # read first: a run committed after it is seen next time
            changed = {m for m in sig.keys() | self._sig.keys()
                       if sig.get(m) != self._sig.get(m)}
            if not full and not changed:
                self.last = Refreshed()
                return self.whole() if complete else self.table  # type: ignore[return-value]
            benches = s.scalars(select(Benchmark).where(*self.where)
                                .order_by(Benchmark.task, Benchmark.id)).all()
            meta = model_meta(s)
            fresh = latest_scores(s, [b.id for b in benches], None if full else changed)
        self._apply(sig, changed, benches, meta, fresh)
        self.last = Refreshed(len(changed), 0, full)
        if complete:
            self.complete(self.table.rows)  # type: ignore[union-attr]
        return self.table  # type: ignore[return-value]

    def _apply(self, sig: dict[int, tuple[int, int]], changed: set[int],
               benches: Sequence[Benchmark], meta: dict[int, Meta],
               fresh: dict[tuple[int, int], Latest]) -> None:
        for m in changed:
            self._scores.pop(m, None)
        for (m, b), hit in fresh.items():
            self._scores.setdefault(m, {})[b] = hit
        used = {b for per_model in self._scores.values() for b in per_model}
        columns = [_column(b) for b in benches if b.id in used]
        touched = changed | {m for m in meta.keys() | self._meta.keys()
                             if meta.get(m) != self._meta.get(m)}
        affected = self._affected(meta, touched)
        for m in list(self._gaps):
            if m in affected or m not in self._scores:
                del self._gaps[m]
        self._pending = (self._pending | affected) & self._scores.keys()
        same_columns = self.table is not None and self.table.columns == columns
        self._sig, self._meta, self._columns = sig, meta, columns
        rows = {}
        for m, scores in self._scores.items():
            keep = self._rows.get(m)
            if keep is None or not same_columns or m in touched or m in affected:
                keep = self._row(m, meta[m], scores, columns)
            rows[m] = keep
        self._rows = rows
        self.table = Table(columns, sorted(rows.values(), key=lambda r: (r.kind, r.name)))

    def complete(self, rows: Iterable[Row]) -> Sequence[Row]:
        """Compute the gaps still pending among ``rows`` (rows of the current table; others are
        left alone) and fill their cells in place; returns ``rows``."""
        rows = rows if isinstance(rows, Sequence) else list(rows)
        todo = {r.id for r in rows if r.id in self._pending and self._rows.get(r.id) is r}
        if not todo:
            return rows
        self._fill_gaps(self._meta, todo, self._columns)
        for m in todo:
            own = self._gaps.get(m, {})
            for col, cell in zip(self._columns, self._rows[m].cells):
                cell.gap, cell.gap_note = own.get(col.id, (None, ""))
        self._pending -= todo
        self.last = replace(self.last, gap_rows=self.last.gap_rows + len(todo))
        return rows

    def whole(self) -> Table:
        """The current table with every gap computed."""
        self.complete(self.table.rows if self.table is not None else [])
        return self.table  # type: ignore[return-value]

    def _affected(self, meta: dict[int, Meta], touched: set[int]) -> set[int]:
        """Imitation models with scores whose gaps may have changed: touched themselves, or
        reading a touched model (by name) as base or teacher."""
        names = {x.name for src in (meta, self._meta) for m, x in src.items() if m in touched}
        return {m for m, x in meta.items() if x.kind == "imitation" and m in self._scores
                and (m in touched or x.base in names or x.teacher in names)}

    def _fill_gaps(self, meta: dict[int, Meta], affected: set[int],
                   columns: list[Column]) -> None:
        ids = {x.name: m for m, x in meta.items()}
        order = sorted(affected)
        at = {m: k for k, m in enumerate(order)}
        noise = (np.stack([row_noise(m, self.draws, self.seed) for m in order], axis=1)
                 if order else None)
        for col in columns:
            todo, trips = [], []
            for m in order:
                mine = self._scores[m].get(col.id)
                if mine is None:
                    continue
                base = self._scores.get(ids.get(meta[m].base, -1), {}).get(col.id)
                teacher = self._scores.get(ids.get(meta[m].teacher, -1), {}).get(col.id)
                out = self._gaps.setdefault(m, {})
                if base is None:
                    out[col.id] = (None, "no base score in this column")
                elif teacher is None:
                    out[col.id] = (Gap(mine.value - base.value, None, None, None,
                                       "no teacher score"), "no teacher score in this column")
                else:
                    todo.append(m)
                    trips.append(tuple(Estimate(h.value, h.stderr, h.n)
                                       for h in (mine, base, teacher)))
            if todo:
                rows = [at[m] for m in todo]
                z = noise[:, rows, :] if len(rows) < len(order) else noise  # type: ignore[index]
                found = gaps([t[0] for t in trips], [t[1] for t in trips],
                             [t[2] for t in trips], draws=self.draws, seed=self.seed, noise=z)
                for m, gap in zip(todo, found):
                    self._gaps[m][col.id] = (gap, gap.reason)

    def _row(self, m: int, x: Meta, scores: dict[int, Latest], columns: list[Column]) -> Row:
        last = max(scores.values(), key=lambda h: h.run_id)
        row = Row(**vars(x), id=m, status=last.status, source=last.source)
        own_gaps = self._gaps.get(m, {})
        for col in columns:
            hit = scores.get(col.id)
            if hit is None:
                row.cells.append(Cell())
                continue
            ci = ci95(Estimate(hit.value, hit.stderr, hit.n))
            gap, note = own_gaps.get(col.id, (None, ""))
            row.cells.append(Cell(hit.value, hit.stderr, hit.n, ci[0] if ci else None,
                                  ci[1] if ci else None, gap, note))
        return row


def build_table(engine: Engine, draws: int = 1000, seed: int = 1234,
                where: tuple[Any, ...] | None = None) -> Table:
    """The table of the benchmarks matching ``where`` (SQL conditions; default: the main
    table's, each top-level task's primary metric), built from scratch."""
    return TableState(engine, draws, seed, where).refresh()
