"""The dependency rule between the suite's packages, checked on the source with ``ast``:

    judges          imports none of harness_tasks, imitation_train, leaderboard
    harness_tasks   may import judges; not imitation_train, not leaderboard
    imitation_train may import judges; not harness_tasks, not leaderboard
    leaderboard     may import all three

Every import counts: at module level, inside functions, under ``if TYPE_CHECKING``, relative
imports and ``importlib.import_module("...")`` with a literal name. Another package is used
through its command (``python -m harness_tasks run``, ``imitation-leaderboard push``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("judges", "harness_tasks", "imitation_train", "leaderboard")
FORBIDDEN = {
    "judges": {"harness_tasks", "imitation_train", "leaderboard"},
    "harness_tasks": {"imitation_train", "leaderboard"},
    "imitation_train": {"harness_tasks", "leaderboard"},
    "leaderboard": set(),
}


def imported_modules(source: str, package: list[str], filename: str = "<source>"
                     ) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, a file of the package whose
    dotted parts are ``package`` (relative imports resolve against it)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return sorted(found)


def violations(package: str) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).parent.parts)
        for line, module in imported_modules(path.read_text(encoding="utf-8"), parts,
                                             str(path)):
            top = module.split(".")[0]
            if top in FORBIDDEN[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    assert (ROOT / package / "__init__.py").is_file()
    found = violations(package)
    assert not found, (f"{package} may not import {sorted(FORBIDDEN[package])}; run the other "
                       "package's command instead:\n" + "\n".join(found))


def test_the_checker_sees_function_level_and_relative_imports() -> None:
    source = ("import os\n"
              "def f():\n"
              "    from harness_tasks.runner import run\n"
              "    import leaderboard.cli as cli\n"
              "    from . import sweep\n"
              "    importlib.import_module('harness_tasks.data')\n"
              "    from ..judges import client\n")
    assert imported_modules(source, ["imitation_train", "collect"]) == [
        (1, "os"), (3, "harness_tasks.runner"), (4, "leaderboard.cli"),
        (5, "imitation_train.collect"), (6, "harness_tasks.data"), (7, "imitation_train.judges")]
