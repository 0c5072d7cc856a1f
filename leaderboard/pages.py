"""The page registry: every page of the leaderboard, named once. The server's page routes
(``leaderboard.routes.pages``) and the static export (``leaderboard.export``) both read
:data:`PAGES`, and so does the navigation bar of every page.

A page is a template plus the function that computes its context from a :class:`Source` (the
store and its main table) and a :class:`Query` (what a visitor chose; the static export shows
the defaults). Query functions take typed keyword arguments, so the server reads them as query
parameters; nothing here imports the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Engine, select

from leaderboard import plots, views
from leaderboard.db import read_session
from leaderboard.models import Model
from leaderboard.render import Links, render
from leaderboard.style import style_page

FILTER_CHARS = 200
MODEL_TEMPLATE = "model.html"


@dataclass(frozen=True)
class Query:
    """A visitor's choices: the main table's filters and the style page's columns (ids)."""

    base: str = ""
    data: str = ""
    teacher: str = ""
    style: int | None = None
    fact: int | None = None

    def filters(self) -> dict[str, str]:
        return {"base": self.base, "data": self.data, "teacher": self.teacher}


def filter_query(base: str = "", data: str = "", teacher: str = "") -> Query:
    """The main table's filters (each cut to 200 characters)."""
    return Query(base=base[:FILTER_CHARS], data=data[:FILTER_CHARS],
                 teacher=teacher[:FILTER_CHARS])


def axes_query(style: int | None = None, fact: int | None = None) -> Query:
    """The style page's columns: a style-profile metric and a factual column of the main table
    (ids; the defaults pick them)."""
    return Query(style=style, fact=fact)


def no_query() -> Query:
    return Query()


@dataclass(frozen=True)
class Source:
    """What pages are computed from: the store and its main table (computed on first use)."""

    engine: Engine
    table: Callable[[], views.Table]


def _index(src: Source, q: Query) -> dict[str, Any]:
    table = src.table()
    rows = table.rows
    bases = sorted({r.base for r in rows if r.base} | {r.name for r in rows if r.kind == "base"})
    teachers = sorted({r.teacher for r in rows if r.teacher} | {
        r.name for r in rows if r.kind == "teacher"})
    datas = sorted({r.data_kind for r in rows if r.data_kind})
    return {"table": table, "rows": views.filter_rows(table, **q.filters()),
            "chosen": q.filters(), "bases": bases, "teachers": teachers, "datas": datas}


def _scaling(src: Source, _: Query) -> dict[str, Any]:
    return {"figures": plots.scaling(src.table())}


def _style(src: Source, q: Query) -> dict[str, Any]:
    return {"s": style_page(src.engine, src.table(), q.fact, q.style)}


def _judges(src: Source, _: Query) -> dict[str, Any]:
    return {"p": plots.judge_panel(src.engine)}


@dataclass(frozen=True)
class Page:
    name: str  # served at Links().page(name) ("/" or "/NAME"), exported as NAME.html
    title: str  # its link in the navigation bar
    template: str
    context: Callable[[Source, Query], dict[str, Any]]
    query: Callable[..., Query] = no_query  # the visitor's choices, from typed parameters
    cached: bool = False  # the server keeps it per data version and query


PAGES: tuple[Page, ...] = (
    Page("index", "Leaderboard", "index.html", _index, query=filter_query, cached=True),
    Page("scaling", "Data scaling", "scaling.html", _scaling, cached=True),
    Page("style", "Style vs factuality", "style.html", _style, query=axes_query, cached=True),
    Page("judges", "Judge panel", "judges.html", _judges),
)


def render_page(env: Any, links: Links, page: Page, src: Source, query: Query) -> str:
    return render(env, page.template, links, nav=PAGES, **page.context(src, query))


def render_model(env: Any, links: Links, engine: Engine, name: str) -> str | None:
    """The page of one model (lineage card, every stored number, per-item flips); None when
    no model has that name."""
    data = views.model_page(engine, name)
    return None if data is None else render(env, MODEL_TEMPLATE, links, nav=PAGES, m=data)


def model_names(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.scalars(select(Model.name).order_by(Model.name)))
