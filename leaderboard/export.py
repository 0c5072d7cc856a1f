"""``imitation-leaderboard export --html DIR``: a static copy of every page to share (open
index.html from disk or serve the folder with any static server). The pages are those of the
registry (``leaderboard.pages``), rendered here without the web app. Links are relative; the
sort/filter script and the stylesheet are copied along; plots are matplotlib SVG images embedded
in the pages (data URIs), so the folder works offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import Engine

from leaderboard import views
from leaderboard.pages import PAGES, Query, Source, model_names, render_model, render_page
from leaderboard.render import STATIC, Links, environment


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
    src = Source(engine, lambda: table)
    written: list[Path] = []

    def put(rel: str, text: str) -> None:
        _write(out / rel, text)
        written.append(out / rel)

    for page in PAGES:
        put(top.page(page.name), render_page(env, top, page, src, Query()))
    put(top.export("json"), json.dumps(views.table_json(table, table.rows), indent=1))
    put(top.export("csv"), views.table_csv(table, table.rows))
    names = model_names(engine)
    for name in tqdm(names, desc="model pages", unit="page", disable=len(names) < 50):
        html = render_model(env, deep, engine, name)
        if html is not None:
            put(top.model(name), html)
    (out / "static").mkdir(parents=True, exist_ok=True)
    for f in STATIC.iterdir():
        shutil.copy2(f, out / "static" / f.name)
        written.append(out / "static" / f.name)
    return written
