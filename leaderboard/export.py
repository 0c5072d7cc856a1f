"""``imitation-leaderboard export --html DIR``: a static copy of every page to share (open
index.html from disk or serve the folder with any static server). The pages are those of the
registry (``leaderboard.pages``), rendered here without the web app; the main table's pages are
index.html, index-2.html, ... (50 rows each, linked). Links are relative; the
sort/filter script and the stylesheet are copied along; plots are matplotlib SVG images embedded
in the pages (data URIs), so the folder works offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine

from leaderboard import views
from leaderboard.pages import (PAGES, PER_PAGE, Query, Source, model_names, paginate,
                              render_model, render_page)
from leaderboard.render import STATIC, Links, environment


def _check_folders(out: Path) -> None:
    """Refuse, before anything is written, an export whose folders (``out``'s ``model/`` and
    ``static/``) lead out of ``out`` through a symlink: nothing half-written."""
    root = out.resolve()
    for sub in ("model", "static"):
        if not (out / sub).resolve().is_relative_to(root):
            raise ValueError(f"refusing to export into {out}: {out / sub} leads out of {out} "
                             "(a symlink?); export into an empty folder")


def _write(out: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` inside ``out``, never through a symlink out of it: a folder on
    the way that resolves outside ``out`` is refused, the temporary file is created fresh
    (O_EXCL | O_NOFOLLOW) and renamed over ``path`` (a symlink there is replaced, not
    followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    if not path.parent.resolve().is_relative_to(root):
        raise ValueError(f"refusing to write {path}: {path.parent} leads out of {out} "
                         "(a symlink?); export into an empty folder")
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # removes a link itself, never its target
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def export_html(engine: Engine, out: Path, draws: int = 1000, seed: int = 1234) -> list[Path]:
    """Write the pages under ``out``; returns the files written."""
    from tqdm import tqdm

    _check_folders(out)
    env, top, deep = environment(), Links(static_export=True), Links(static_export=True, depth=1)
    table = views.build_table(engine, draws, seed)
    src = Source(engine, lambda: table)
    written: list[Path] = []

    def put(rel: str, text: str | bytes) -> None:
        _write(out, out / rel, text.encode("utf-8") if isinstance(text, str) else text)
        written.append(out / rel)

    for page in PAGES:
        put(top.page(page.name), render_page(env, top, page, src, Query()))
        if page.name == "index":  # the main table's further pages: index-2.html, ...
            for number in range(2, paginate(table.rows, 1, PER_PAGE).pages + 1):
                put(top.listing(number), render_page(env, top, page, src, Query(page=number)))
    put(top.export("json"), json.dumps(views.table_json(table, table.rows), indent=1))
    put(top.export("csv"), views.table_csv(table, table.rows))
    names = model_names(engine)
    for name in tqdm(names, desc="model pages", unit="page", disable=len(names) < 50):
        html = render_model(env, deep, engine, name)
        if html is not None:
            put(top.model(name), html)
    for f in STATIC.iterdir():
        put(f"static/{f.name}", f.read_bytes())
    return written
