"""``imitation-leaderboard export --html DIR``: a static copy of every page to share (open
index.html from disk or serve the folder with any static server). Links are relative; the
sort/filter script and the stylesheet are copied along; plots are inline SVG."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import Engine, select

from leaderboard import plots, views
from leaderboard.app import render_index, to_csv
from leaderboard.db import read_session
from leaderboard.models import Model
from leaderboard.render import STATIC, Links, environment, export_slug, render


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export_html(engine: Engine, out: Path, draws: int = 1000, seed: int = 1234) -> list[Path]:
    """Write the pages under ``out``; returns the files written."""
    from tqdm import tqdm

    env, top, deep = environment(), Links(static_export=True), Links(static_export=True, depth=1)
    table = views.build_table(engine, draws, seed)
    written: list[Path] = []

    def put(rel: str, text: str) -> None:
        _write(out / rel, text)
        written.append(out / rel)

    put("index.html", render_index(env, top, table, table.rows, {"base": "", "data": "",
                                                                 "teacher": ""}))
    put("scaling.html", render(env, "scaling.html", top, figures=plots.scaling(table)))
    put("style.html", render(env, "style.html", top, s=plots.style_vs_factuality(table)))
    put("judges.html", render(env, "judges.html", top, p=plots.judge_panel(engine)))
    put("leaderboard.json", json.dumps(views.table_json(table, table.rows), indent=1))
    put("leaderboard.csv", to_csv(views.table_csv_rows(table, table.rows)))
    with read_session(engine) as s:
        names = list(s.scalars(select(Model.name).order_by(Model.name)))
    for name in tqdm(names, desc="model pages", unit="page", disable=len(names) < 50):
        data = views.model_page(engine, name)
        if data is not None:
            put(f"model/{export_slug(name)}.html", render(env, "model.html", deep, m=data))
    (out / "static").mkdir(parents=True, exist_ok=True)
    for f in STATIC.iterdir():
        shutil.copy2(f, out / "static" / f.name)
        written.append(out / "static" / f.name)
    return written
