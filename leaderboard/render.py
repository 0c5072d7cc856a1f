"""Jinja2 rendering shared by the server and the static export (autoescaped: a model name
holding HTML or script is shown as text on every page)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "svg"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.filters["delta"] = fmt_delta
    env.filters["tokens"] = fmt_tokens
    env.filters["cardval"] = fmt_card_value
    return env


def fmt_card_value(value: Any) -> str:
    """A card field for display: lists joined, objects as compact JSON."""
    import json

    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def fmt_num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_delta(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def fmt_tokens(value: int | None) -> str:
    if value is None:
        return "–"
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def export_slug(name: str) -> str:
    """A file name for a model page in the static export (unique: a hash suffix)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "model"
    return f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class Links:
    """URLs of pages: served (absolute paths) or exported (relative file names)."""

    def __init__(self, static_export: bool = False, depth: int = 0) -> None:
        self.static_export = static_export
        self.root = "../" * depth if static_export else "/"

    def model(self, name: str) -> str:
        if self.static_export:
            return f"{self.root}model/{export_slug(name)}.html"
        return f"/model/{quote(name, safe='')}"

    def page(self, name: str) -> str:
        if self.static_export:
            return f"{self.root}{'index' if name == 'index' else name}.html"
        return "/" if name == "index" else f"/{name}"

    def listing(self, number: int, params: dict[str, str | int] | None = None) -> str:
        """Page ``number`` of the main table: served with the visitor's filters and page size
        (``params``), exported as index.html, index-2.html, ... (the defaults)."""
        if self.static_export:
            return f"{self.root}{'index' if number == 1 else f'index-{number}'}.html"
        keep = dict(params or {}) | ({"page": number} if number > 1 else {})
        return "/" + ("?" + urlencode(keep) if keep else "")

    def static(self, name: str) -> str:
        return f"{self.root}static/{name}"

    def export(self, kind: str) -> str:
        if self.static_export:
            return f"{self.root}leaderboard.{kind}"
        return f"/api/leaderboard.{kind}"


def render(env: Any, template: str, links: Links, **context: Any) -> str:
    return env.get_template(template).render(links=links, **context)


Renderer = Callable[..., str]
