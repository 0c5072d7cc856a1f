"""Checks of the files and folders a user names on the command line, shared by all four CLIs
(this is the leftmost package).

Each check raises a ``ValueError`` whose one line names the flag or file and the fix, before
anything is written, so ``run_main`` prints it with exit code 2 and no half-written output:

- :func:`read_text`: an input file as UTF-8 text (a folder, a missing file or bytes that are not
  UTF-8 name the file, and for bad bytes the byte offset and line);
- :func:`read_json`: the same, parsed as one JSON document (errors name file, line and column);
- :func:`sqlite_file`: a SQLite file to open or create (``--db``, ``--cache-path``): a folder, a
  file that is not SQLite, or a missing parent folder is refused (a mistyped path would
  otherwise start an empty database silently);
- :func:`output_path`: a file or folder to write: a folder where a file goes (or a file where a
  folder goes), a file in the way of the parent folders, or a folder that is not writable is
  refused. Missing parent folders are created when the output is written, as before.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Any, Literal

SQLITE_HEADER = b"SQLite format 3\x00"


def _named(what: str, path: str | Path) -> str:
    return f"{what} {path}" if what else str(path)


def read_bytes(path: str | Path, what: str = "") -> bytes:
    """The file's bytes (``.gz`` decompressed); a folder, a missing file or broken gzip data is
    a ValueError naming it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{_named(what, path)} is a folder, not a file: give the file's path")
    if not path.is_file():
        raise ValueError(f"{_named(what, path)} does not exist: check the path")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{_named(what, path)}: broken gzip data ({err}); recompress it "
                         "or rerun the step that wrote it") from None
    except OSError as err:
        raise ValueError(f"{_named(what, path)} cannot be read ({err.strerror})") from None


def decode(data: bytes, path: str | Path, what: str = "") -> str:
    """``data`` as UTF-8 text (a leading BOM dropped); bytes that are not UTF-8 are a
    ValueError naming the file, the byte offset and the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ValueError(f"{_named(what, path)}: not UTF-8 text (byte 0x{data[err.start]:02x} at "
                         f"offset {err.start}, line {line}; is it a binary file?): give a UTF-8 "
                         "text file or re-save it as UTF-8") from None


def read_text(path: str | Path, what: str = "") -> str:
    """The file as UTF-8 text (see :func:`read_bytes` and :func:`decode`)."""
    return decode(read_bytes(path, what), path, what)


def read_json(path: str | Path, what: str = "") -> Any:
    """The file as one JSON document; not JSON is a ValueError naming file, line and column."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{_named(what, path)}:{err.lineno}:{err.colno}: not valid JSON "
                         f"({err.msg})") from None
    except RecursionError:
        raise ValueError(f"{_named(what, path)}: JSON nested too deeply") from None


def sqlite_file(path: str | Path, flag: str) -> Path:
    """``path`` as a SQLite file that may be opened or created: not a folder, in a folder that
    exists, and (when it exists) a SQLite database or an empty file."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder, not a SQLite file: give a file path "
                         "such as FOLDER/name.sqlite")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: folder {folder} does not exist (nothing created): "
                         "create it, or check the path for a typo")
    if path.exists():
        try:
            with path.open("rb") as handle:
                head = handle.read(len(SQLITE_HEADER))
        except OSError as err:
            raise ValueError(f"{flag} {path} cannot be read ({err.strerror})") from None
        if head and head != SQLITE_HEADER:
            raise ValueError(f"{flag} {path} is not a SQLite database (it is some other file): "
                             "give a new file name or the right database")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: folder {folder} is not writable")
    return path


def output_path(path: str | Path, flag: str, kind: Literal["file", "folder"]) -> Path:
    """``path`` as a ``kind`` to write: a folder given for a file (or a file for a folder), a
    file among its parent folders, or a folder that is not writable is a ValueError naming
    ``flag``. Nothing is created."""
    path = Path(path).expanduser()
    if kind == "file" and path.is_dir():
        raise ValueError(f"{flag} {path} is a folder: give a file path (e.g. {path}/out.jsonl)")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file, not a folder: give a folder path")
    existing = path if kind == "folder" else path.parent
    existing = existing if str(existing) else Path(".")
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{flag} {path}: {existing} is a file, so no folder can be made there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: folder {existing} is not writable")
    if kind == "file" and path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {path} is not writable")
    return path
