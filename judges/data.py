"""Where the shared data folder is (human judgments, eval prompts, NQ, SimpleQA...).

One resolver for every package that reads ``../shared/data``-style folders: an explicit path
(a ``--data-dir`` flag), else ``$IMITATION_SUITE_DATA``, else ``../shared/data`` beside the
working directory or the source checkout, so a fresh clone next to the data runs offline.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "data_dir", "find_data_dir", "shared_data_fallback"]

DATA_ENV = "IMITATION_SUITE_DATA"


def shared_data_fallback(start: Path | None = None) -> Path | None:
    """``../shared/data`` next to ``start`` (the working directory) or the source checkout, if
    it exists."""
    for base in (Path.cwd() if start is None else start, Path(__file__).resolve().parent.parent):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


def find_data_dir(explicit: str | Path | None = None, *, search: bool = False) -> Path | None:
    """The data folder ``explicit`` or $IMITATION_SUITE_DATA names (resolved), else (``search``)
    :func:`shared_data_fallback`; None when nothing names one. A name that is not a directory
    is a ValueError saying which setting gave it."""
    source = "--data-dir" if explicit else DATA_ENV
    value = str(explicit).strip() if explicit else os.environ.get(DATA_ENV, "").strip()
    if not value:
        return shared_data_fallback() if search else None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ValueError(f"{source}={value!r} is not a directory (it does not exist or is a "
                         f"file). Point it at the shared data folder (.../shared/data; layout "
                         f"in the README, 'Offline data layout').")
    return path.resolve()


def data_dir(explicit: str | Path | None = None, *, search: bool = True) -> Path:
    """The shared data folder: ``explicit``, else $IMITATION_SUITE_DATA, else (``search``)
    ``../shared/data`` next to the working directory or the source checkout."""
    path = find_data_dir(explicit, search=search)
    if path is None:
        raise ValueError(f"no data folder: set {DATA_ENV} to the shared data folder "
                         "(.../shared/data) or pass --data-dir")
    return path
