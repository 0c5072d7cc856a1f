"""The suite's one JSONL reader: one JSON object per line, ``.jsonl`` or ``.jsonl.gz``.

Every package reads its line files through :func:`iter_jsonl` (judges is the package all the
others may import). Blank lines are skipped; anything else that is not one JSON object is a
:class:`JSONLError` naming the file, the line and the fix. A last line cut off mid-write (a
crash) is reported as such; it is never silently dropped, so no row goes missing unnoticed.
Callers with their own error type (``DataError``, ``RecordError``, ``PayloadError``) catch it
and re-raise theirs with the same message; it is a ``ValueError`` like theirs.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["JSONLError", "iter_jsonl"]


class JSONLError(ValueError):
    """A JSONL file that cannot be read: ``path:line: problem. fix``."""

    def __init__(self, path: str | Path, line: int | None, problem: str, fix: str) -> None:
        self.path, self.line, self.problem, self.fix = Path(path), line, problem, fix
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}. {fix}")

    @property
    def detail(self) -> str:
        """The message without the ``path:line:`` prefix (for errors that add their own)."""
        return f"{self.problem}. {self.fix}"


def _open(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _decode(path: Path, lineno: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as err:
        raise JSONLError(path, lineno, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at "
                         f"column {err.start + 1})", "Re-save the file as UTF-8") from None


def _parse(path: Path, lineno: int, text: str, last: bool) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        if last:  # no newline at the end: the writer stopped mid-line
            raise JSONLError(path, lineno, f"not valid JSON ({err.msg} at column {err.colno}); "
                             "the file ends mid-line, as after a crash while writing",
                             "Delete that partial last line, or rerun the step that wrote "
                             "the file") from None
        raise JSONLError(path, lineno, f"not valid JSON ({err.msg} at column {err.colno})",
                         "Fix or delete that line; each line must be one JSON object") from None
    if not isinstance(obj, dict):
        raise JSONLError(path, lineno, f"expected a JSON object, got a JSON "
                         f"{_json_kind(obj)}", "Each line must be one {...} object; wrap "
                         "or convert that line") from None
    return obj


def _json_kind(obj: Any) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(obj), "number")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line of a ``.jsonl``/``.jsonl.gz``.

    Line numbers count from 1 and include blank lines, so they match an editor's. Raises
    :class:`JSONLError` (a ``ValueError``) for a missing file, a broken gzip stream, bytes that
    are not UTF-8, a line that is not valid JSON or one that is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise JSONLError(path, None, "file not found (it does not exist or is not a file)",
                         "Check the path")
    lineno = 0
    with _open(path) as handle:
        try:
            for lineno, raw in enumerate(handle, start=1):
                text = _decode(path, lineno, raw)
                if not text.strip():
                    continue
                yield lineno, _parse(path, lineno, text, last=not raw.endswith(b"\n"))
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise JSONLError(path, lineno + 1, f"broken gzip data ({err})",
                             "Recompress the file (gzip FILE.jsonl) or rerun the step that "
                             "wrote it") from None
