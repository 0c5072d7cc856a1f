"""lm-eval tasks of the imitation suite (NQ-open, MMLU, and the ``imitation_suite`` groups).

Importing this package does no I/O: it only knows where its task folder is.
Use ``python -m harness_tasks path`` to print the folder for ``lm_eval --include_path``.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"


def task_dir() -> Path:
    """The folder holding every task YAML of the suite (pass it to --include_path)."""
    return Path(__file__).resolve().parent / "tasks"


__all__ = ["__version__", "task_dir"]
