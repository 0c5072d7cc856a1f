"""Style features of an answer, the ones Chatbot Arena's style control uses: length, list items,
headers and bold spans (lmsys blog, "Does style matter?", Aug 2024). Pure functions on text.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass

_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+?\*\*|__[^_\n]+?__")
_FENCE = re.compile(r"```.*?```", re.DOTALL)

FEATURES = ("length", "list_items", "headers", "bold")


@dataclass(frozen=True)
class Style:
    length: int  # words (whitespace-separated), code blocks included
    list_items: int
    headers: int
    bold: int

    def values(self) -> tuple[int, ...]:
        return astuple(self)


def style_of(text: str) -> Style:
    """Counts markdown structure outside fenced code blocks (a ``# comment`` is not a header)."""
    prose = _FENCE.sub("", text)
    return Style(length=len(text.split()), list_items=len(_LIST_ITEM.findall(prose)),
                 headers=len(_HEADER.findall(prose)), bold=len(_BOLD.findall(prose)))


def normalized_difference(a: Style, b: Style) -> tuple[float, ...]:
    """(a - b) / (a + b) per feature, 0 where both are 0: in [-1, 1], scale-free (as Arena)."""
    return tuple(0.0 if x + y == 0 else (x - y) / (x + y) for x, y in zip(a.values(), b.values()))
