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
from typing import Annotated, Any, Callable, Sequence, TypeVar

from annotated_types import Ge, Le
from sqlalchemy import Engine, select

from leaderboard import plots, views
from leaderboard.db import read_session
from leaderboard.models import Model
from leaderboard.render import Links, render
from leaderboard.study.results import panel_rows
from leaderboard.style import style_page

FILTER_CHARS = 200
MODEL_TEMPLATE = "model.html"
PER_PAGE = 50  # rows of the main table a page shows by default (~260 KB at 20 columns)
MAX_PER_PAGE = 100  # the most a visitor may ask for (a page stays under 1 MB at 20 columns)
MAX_EXPORT_PER_PAGE = 1000  # leaderboard.json/.csv: without per_page they hold every row
MAX_PAGE = 1_000_000
T = TypeVar("T")
PageNumber = Annotated[int, Ge(1), Le(MAX_PAGE)]


class PageNotFound(LookupError):
    """A page number past the last page of the table (the server answers 404)."""


@dataclass(frozen=True)
class Query:
    """A visitor's choices: the main table's filters and page, the style page's columns (ids).
    ``per_page`` 0: every row on one page (the JSON/CSV exports without ``per_page``)."""

    base: str = ""
    data: str = ""
    teacher: str = ""
    name: str = ""
    page: int = 1
    per_page: int = PER_PAGE
    style: int | None = None
    fact: int | None = None

    def filters(self) -> dict[str, str]:
        return {"base": self.base, "data": self.data, "teacher": self.teacher, "name": self.name}

    def params(self) -> dict[str, str | int]:
        """The query parameters that keep these filters and page size on a page link."""
        out: dict[str, str | int] = {k: v for k, v in (
            ("base", self.base), ("data", self.data), ("teacher", self.teacher),
            ("q", self.name)) if v}
        if self.per_page != PER_PAGE:
            out["per_page"] = self.per_page
        return out


@dataclass(frozen=True)
class Pager:
    """One page of a list: ``items`` are entries ``first``..``last`` (1-based) of ``total``."""

    items: Sequence[Any]
    page: int
    pages: int
    per_page: int
    total: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and ``around`` either side of this one
        (None: a gap)."""
        keep = sorted({1, self.pages} | set(range(max(1, self.page - around),
                                                  min(self.pages, self.page + around) + 1)))
        out: list[int | None] = []
        for n in keep:
            if out and n - (out[-1] or 0) > 1:
                out.append(None)
            out.append(n)
        return out


def paginate(items: Sequence[T], page: int, per_page: int) -> Pager:
    """Page ``page`` of ``items`` (``per_page`` 0: all on one page); PageNotFound past the
    last page (an empty list has one, empty, page)."""
    size = per_page or max(len(items), 1)
    pages = max(1, -(-len(items) // size))
    if page > pages:
        raise PageNotFound(f"no page {page}: the table has {pages} page(s) of {size} rows "
                           f"({len(items)} rows match)")
    return Pager(items[(page - 1) * size:page * size], page, pages, size, len(items))


def filter_query(base: str = "", data: str = "", teacher: str = "", q: str = "",
                 page: PageNumber = 1,
                 per_page: Annotated[int, Ge(1), Le(MAX_PER_PAGE)] = PER_PAGE) -> Query:
    """The main table's filters (each cut to 200 characters; ``q``: model name contains) and
    page (1-based; at most 100 rows a page, 50 by default)."""
    return Query(base=base[:FILTER_CHARS], data=data[:FILTER_CHARS],
                 teacher=teacher[:FILTER_CHARS], name=q[:FILTER_CHARS], page=page,
                 per_page=per_page)


def export_query(base: str = "", data: str = "", teacher: str = "", q: str = "",
                 page: PageNumber = 1,
                 per_page: Annotated[int, Ge(1), Le(MAX_EXPORT_PER_PAGE)] | None = None
                 ) -> Query:
    """The JSON/CSV exports' filters and page: every matching row unless ``per_page`` is
    given (at most 1,000)."""
    return Query(base=base[:FILTER_CHARS], data=data[:FILTER_CHARS],
                 teacher=teacher[:FILTER_CHARS], name=q[:FILTER_CHARS], page=page,
                 per_page=per_page or 0)


def axes_query(style: int | None = None, fact: int | None = None) -> Query:
    """The style page's columns: a style-profile metric and a factual column of the main table
    (ids; the defaults pick them)."""
    return Query(style=style, fact=fact)


def no_query() -> Query:
    return Query()


@dataclass(frozen=True)
class Source:
    """What pages are computed from: the store and its main table (computed on first use).
    The server's table may hold rows whose gaps are pending: ``partial()`` gives it as it is and
    ``complete(rows)`` computes them for those rows (the main page shows one page of rows);
    ``table()`` is always whole."""

    engine: Engine
    table: Callable[[], views.Table]
    partial: Callable[[], views.Table] | None = None
    complete: Callable[[Sequence[views.Row]], Any] = lambda rows: rows


def _index(src: Source, q: Query) -> dict[str, Any]:
    table = src.partial() if src.partial is not None else src.table()
    rows = table.rows
    bases = sorted({r.base for r in rows if r.base} | {r.name for r in rows if r.kind == "base"})
    teachers = sorted({r.teacher for r in rows if r.teacher} | {
        r.name for r in rows if r.kind == "teacher"})
    datas = sorted({r.data_kind for r in rows if r.data_kind})
    pager = paginate(views.filter_rows(table, **q.filters()), q.page, q.per_page)
    src.complete(pager.items)
    return {"table": table, "rows": pager.items, "pager": pager, "params": q.params(),
            "per_page_choices": sorted({25, PER_PAGE, MAX_PER_PAGE, q.per_page}),
            "chosen": q.filters(), "bases": bases, "teachers": teachers, "datas": datas}


def _scaling(src: Source, _: Query) -> dict[str, Any]:
    return {"figures": plots.scaling(src.table())}


def _style(src: Source, q: Query) -> dict[str, Any]:
    return {"s": style_page(src.engine, src.table(), q.fact, q.style)}


def _judges(src: Source, _: Query) -> dict[str, Any]:
    panel = plots.judge_panel(src.engine)  # + judge-human agreement on the rating studies
    return {"p": {**panel, "agreement": [*panel["agreement"], *panel_rows(src.engine)]}}


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
