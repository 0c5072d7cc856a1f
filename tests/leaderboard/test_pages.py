"""One page registry (leaderboard.pages.PAGES) for the server and the static export: every page
is served at its path and exported to its file with the same content, the navigation bar lists
them all, and the export renders without the web app."""

from __future__ import annotations

import re

import requests

from leaderboard.export import export_html
from leaderboard.ingest import store_push
from leaderboard.pages import PAGES
from leaderboard.render import Links
from leaderboard.schemas import PushPayload
from tests.leaderboard.helpers import imitation, payload
from tests.support.import_probe import probe_imports


def _main(html: str) -> str:
    """The page's content, without the links that differ between served and exported (and
    the filter form's mode: it asks the server, or filters in the page of an export)."""
    body = html.split("<main>", 1)[1].split("</main>", 1)[0]
    return re.sub(r'(href|data-mode)="[^"]*"', r'\1=""', body)


def test_every_registered_page_is_served_and_exported_alike(server, sqlite_engine, tmp_path):
    for body in (payload("base", seed=1), payload("teacher", kind="teacher", acc=(0.9, 0.9),
                                                  seed=2),
                 imitation("imi", "base", "teacher", (0.5, 0.6), 3)):
        store_push(sqlite_engine, PushPayload.model_validate(body))
    site = tmp_path / "site"
    export_html(sqlite_engine, site, draws=200)  # the server's bootstrap draws and seed
    served, exported = Links(), Links(static_export=True)
    for page in PAGES:
        r = requests.get(server.url + served.page(page.name), timeout=30)
        assert r.status_code == 200, page.name
        html = (site / exported.page(page.name)).read_text()
        for text in (r.text, html):  # the navigation bar links every page of the registry
            assert all(p.title in text for p in PAGES), page.name
        assert _main(r.text) == _main(html), page.name


def test_the_static_export_renders_without_the_web_app(tmp_path):
    found = probe_imports(
        "from pathlib import Path\n"
        "from leaderboard.db import make_engine, migrate\n"
        "from leaderboard.export import export_html\n"
        f"engine = make_engine('sqlite:///{tmp_path / 'lb.sqlite'}')\n"
        "migrate(engine)\n"
        f"export_html(engine, Path('{tmp_path / 'site'}'), draws=10)\n",
        heavy=("fastapi", "starlette", "uvicorn", "leaderboard.app", "leaderboard.routes"))
    assert found["heavy"] == []
    assert (tmp_path / "site" / "index.html").is_file()


def test_the_static_export_never_writes_through_a_symlink(sqlite_engine, tmp_path):
    import pytest

    store_push(sqlite_engine, PushPayload.model_validate(payload("base", seed=1)))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").symlink_to(outside / "keep.txt")  # a file link: replaced, not followed
    (site / "index.html.tmp").symlink_to(outside / "tmp-target")  # a planted temporary link
    export_html(sqlite_engine, site, draws=10)
    assert (outside / "keep.txt").read_text() == "mine" and not (outside / "tmp-target").exists()
    assert not (site / "index.html").is_symlink() and "<main>" in (site /
                                                                    "index.html").read_text()
    other = tmp_path / "site2"
    other.mkdir()
    (other / "static").symlink_to(outside, target_is_directory=True)  # a folder link out
    with pytest.raises(ValueError, match="leads out of"):
        export_html(sqlite_engine, other, draws=10)
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in other.iterdir()) == ["static"]  # refused before any page
