"""Strict JSON for what is pushed (HTTP bodies, and the files ``imitation-leaderboard push``
reads): UTF-8 only, no NaN/Infinity, no float that overflows (``1e999``), no integer beyond 64
bits, no lone surrogate (it cannot be stored as UTF-8), at most :data:`MAX_DEPTH` levels of
nesting. Each refusal is a :class:`~leaderboard.parse.PayloadError` naming the field
(``results.results.<task>.<metric>``); malformed JSON is a :class:`MalformedJSON`.

The nesting is checked without recursion, and ``json.loads`` itself stops at Python's recursion
limit with a RecursionError (caught here), so no body can blow the stack.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from leaderboard.parse import PayloadError

MAX_DEPTH = 64
INT64 = (-(2**63), 2**63 - 1)
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJSON(PayloadError):
    """Not JSON at all (syntax, or not UTF-8): HTTP 400 rather than 422."""


class _Refused:
    """A value found while parsing that cannot be accepted; reported with its field's path."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _int(text: str) -> Any:
    if len(text.lstrip("-")) > 19:
        return _Refused(f"integer {text[:24]}... is beyond 64 bits")
    value = int(text)
    return value if INT64[0] <= value <= INT64[1] else _Refused(
        f"integer {text} is beyond 64 bits")


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text[:40]} overflows a float")


def _constant(text: str) -> Any:
    return _Refused(f"{text} is not a number JSON allows (NaN/Infinity)")


def loads(raw: bytes | str, where: str = "body") -> Any:
    """The JSON value of ``raw``, checked as the module says; ``where`` names the source."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise MalformedJSON(f"{where}: not UTF-8 (byte {err.start}): send JSON encoded "
                                "as UTF-8") from None
    try:
        data = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise PayloadError(f"{where}: nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as err:
        raise MalformedJSON(f"{where}: malformed JSON at line {err.lineno} column {err.colno} "
                            f"({err.msg})" if where == "body" else  # a file: path:line:column
                            f"{where}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})"
                            ) from None
    try:
        check(data)
    except PayloadError as err:
        if where == "body":
            raise
        raise PayloadError(f"{where}: {err}") from None  # a file: the path, then the field
    return data


def check(data: Any) -> None:
    """Refuse a parsed value that holds something :func:`loads` refuses (iteratively)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, _Refused):
            raise PayloadError(f"{path or 'body'}: {node.why}")
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise PayloadError(f"{path or 'body'}: holds a lone UTF-16 surrogate (\\ud800-"
                                   "\\udfff), which is not text")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise PayloadError(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise PayloadError(f"{child!a}: a key holds a lone UTF-16 surrogate")
                stack.append((value, child, depth + 1))
        else:
            stack.extend((value, f"{path}[{i}]", depth + 1) for i, value in enumerate(node))
