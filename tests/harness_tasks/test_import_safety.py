"""Importing the suite does no I/O and pulls in no heavy library."""

from __future__ import annotations

from tests.support.import_probe import probe_imports

SUITE = """
import harness_tasks, harness_tasks.data, harness_tasks.presets, harness_tasks.subsets
import harness_tasks.runner, harness_tasks.cli, harness_tasks.catalog
import harness_tasks.tasks
import imitation_train, judges, leaderboard
"""


def test_import_does_no_io_and_loads_nothing_heavy() -> None:
    assert probe_imports(SUITE) == {"events": [], "heavy": []}


def test_task_utils_import_without_io() -> None:
    """Every module in the task folder imports with no file or network access."""
    report = probe_imports(SUITE + """
import importlib, pkgutil
for m in pkgutil.walk_packages(harness_tasks.tasks.__path__, "harness_tasks.tasks."):
    importlib.import_module(m.name)
""", heavy=("torch", "transformers", "datasets"))  # task utils may use lm_eval's filter classes
    assert [e for e in report["events"] if "site-packages" not in e[1]] == []
    assert report["heavy"] == []
