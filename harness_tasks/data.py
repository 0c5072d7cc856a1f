"""Where the suite's evaluation data comes from: the Hugging Face Hub by default, local files
when the data-directory setting is given.

The setting is the environment variable ``IMITATION_SUITE_DATA`` (``imitation-eval --data-dir``
sets it), read by the suite's one resolver, ``judges.data``. Its layout is the one of the project's ``shared/data`` folder; the README's "Offline
data layout" section lists the files each task reads. Nothing here runs at import time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from judges.data import DATA_ENV as ENV_VAR
from judges.data import find_data_dir
from judges.jsonl import JSONLError
from judges.jsonl import iter_jsonl as _iter_jsonl


class DataError(ValueError):
    """A user-fixable problem with the evaluation data (missing file, malformed row)."""


class DataUnavailable(DataError, SystemExit):
    """No data at all: the Hub is unreachable and the data directory is not set.

    A DataError (``imitation-eval`` and other callers catch it as such), and also a SystemExit,
    because stock ``lm_eval`` catches nothing around the task loaders: uncaught, the interpreter
    prints this one-line message (exit status 1) instead of a 60-line traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = message  # what the interpreter prints when nothing catches it


def data_dir() -> Path | None:
    """The local data directory (``IMITATION_SUITE_DATA``, resolved by judges.data), or None
    when the Hub should be used. Raises DataError when the setting names no directory."""
    try:
        return find_data_dir()
    except ValueError as err:
        raise DataError(f"{err} Or unset {ENV_VAR} to read the data from the Hugging Face "
                        "Hub.") from None


def offline_hint() -> str:
    """How to run without the Hub, for error messages."""
    return (f"To run offline, point {ENV_VAR} at the suite's data folder: "
            f"export {ENV_VAR}=/path/to/data (or pass --data-dir /path/to/data to imitation-eval).")


def hub_dataset(hub_id: str, *args: Any, **kwargs: Any) -> Any:
    """``datasets.load_dataset(hub_id, *args, **kwargs)``; when the Hub cannot be reached and the
    dataset is not in the local cache, a one-line DataUnavailable saying how to run offline."""
    import datasets

    try:
        return datasets.load_dataset(hub_id, *args, **kwargs)
    except ConnectionError as err:  # datasets raises it offline and without a network alike
        raise DataUnavailable(f"cannot load {hub_id}: {err}, and it is not in the local "
                              f"datasets cache. {offline_hint()}") from None


def local_file(relpath: str, *, hub_id: str) -> Path:
    """The path of ``relpath`` inside the data directory; a clear error if it is missing."""
    root = data_dir()
    if root is None:  # pragma: no cover - callers check data_dir() first
        raise DataError(f"{ENV_VAR} is not set; cannot read local file {relpath}")
    path = root / relpath
    if not path.is_file():
        raise DataError(
            f"missing data file: expected {path} (from {ENV_VAR}={root}). "
            f"Copy the file there in the offline layout (README, 'Offline data layout'), "
            f"point {ENV_VAR} at a folder that has it, or unset {ENV_VAR} to read "
            f"{hub_id} from the Hugging Face Hub."
        )
    return path


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-empty line of a .jsonl or .jsonl.gz file;
    a bad row is a DataError naming file, line and fix (the reader is judges.jsonl's)."""
    try:
        yield from _iter_jsonl(path)
    except JSONLError as err:
        raise DataError(str(err)) from None


def require_field(path: Path, lineno: int, obj: dict[str, Any], field: str, kind: type) -> Any:
    """Return obj[field] if present with the right type; otherwise a DataError naming it."""
    if field not in obj:
        raise DataError(f"{path}:{lineno}: missing field {field!r}.")
    value = obj[field]
    if not isinstance(value, kind):
        raise DataError(
            f"{path}:{lineno}: field {field!r} should be {kind.__name__}, "
            f"got {type(value).__name__}."
        )
    return value


def read_headerless_csv(path: Path, ncols: int) -> list[list[str]]:
    """Rows of a headerless CSV; a row with the wrong width names file and line."""
    rows: list[list[str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            if not row:
                continue
            if len(row) != ncols:
                raise DataError(
                    f"{path}:{reader.line_num}: expected {ncols} columns, got {len(row)}."
                )
            rows.append(row)
    return rows
