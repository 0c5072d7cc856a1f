"""What the routes share, built once per app by ``create_app`` (``app.state.board``): the
settings, the engine, the template environment, the cached main table and the rate limits."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Engine

from leaderboard import auth, views
from leaderboard.pages import Page, Query, Source, render_page
from leaderboard.render import Links, environment
from leaderboard.settings import Settings


class TableCache:
    """The main table and the pages rendered from it, kept until a run or judge result is stored
    (the data version changes). Then the table is refreshed incrementally
    (:class:`leaderboard.table.TableState`: only the models whose runs changed, and the gaps
    that read them, are recomputed) and the rendered pages are dropped; one refresh at a time.
    A page of the main table computes the pending gaps of its own rows only. Each server process
    keeps its own, derived from committed data."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self.state = views.TableState(engine, settings.bootstrap_draws, settings.seed)
        self._pages: dict[Any, str] = {}

    def _current(self, key: tuple[int, int]) -> views.Table:
        """The table at data version ``key`` (call with the lock held; gaps may be pending)."""
        if key != self._key or self.state.table is None:
            self.state.refresh(complete=False)
            self._key, self._pages = key, {}
        return self.state.table  # type: ignore[return-value]

    def get(self) -> views.Table:
        """The whole table, every gap computed."""
        key = views.data_version(self.engine)
        with self._lock:
            self._current(key)
            return self.state.whole()

    def page(self, name: Any, build: Callable[[Source], str]) -> str:
        """A rendered page for this data version (``build(source)`` on a miss, with the lock
        held: the source's table is current, and a page may complete just its own rows)."""
        key = views.data_version(self.engine)
        with self._lock:
            table = self._current(key)
            if name not in self._pages:
                if len(self._pages) > 64:
                    self._pages.clear()
                self._pages[name] = build(Source(self.engine, self.state.whole,
                                                 lambda: table, self.state.complete))
            return self._pages[name]


@dataclass
class Board:
    settings: Settings
    engine: Engine
    env: Any  # the Jinja2 environment
    cache: TableCache
    ip_limit: auth.RateLimiter  # API requests per client address
    push_limit: auth.RateLimiter  # pushes per token
    links: Links

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> Board:
        return cls(settings, engine, environment(), TableCache(engine, settings),
                   auth.RateLimiter(settings.requests_per_minute),
                   auth.RateLimiter(settings.push_per_minute), Links())

    def page(self, page: Page, query: Query) -> str:
        """A page of the registry as served (a cached page is rendered once per data version
        and query)."""
        if not page.cached:
            return render_page(self.env, self.links, page, Source(self.engine, self.cache.get),
                               query)
        return self.cache.page((page.name, query), lambda src: render_page(
            self.env, self.links, page, src, query))
