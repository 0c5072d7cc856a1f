"""Where the shared data folder is (human judgments, eval prompts, NQ, SimpleQA...).

One resolver for every package that reads ``../shared/data``-style folders: an explicit path
(a ``--data-dir`` flag), else ``$IMITATION_SUITE_DATA``, else ``../shared/data`` beside the
working directory or the source checkout, so a fresh clone next to the data runs offline.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "data_dir"]

DATA_ENV = "IMITATION_SUITE_DATA"


def data_dir(explicit: str | Path | None = None, *, search: bool = True) -> Path:
    """The shared data folder: ``explicit``, else $IMITATION_SUITE_DATA, else (``search``)
    ``../shared/data`` next to the working directory or the source checkout."""
    value = str(explicit) if explicit else os.environ.get(DATA_ENV, "")
    if not value and search:
        for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
            candidate = (base / ".." / "shared" / "data").resolve()
            if candidate.is_dir():
                return candidate
    if not value:
        raise ValueError(f"no data folder: set {DATA_ENV} to the shared data folder "
                         "(.../shared/data) or pass --data-dir")
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"data folder {path} (from {'--data-dir' if explicit else DATA_ENV}) "
                         "does not exist")
    return path
