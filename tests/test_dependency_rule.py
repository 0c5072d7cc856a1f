"""The dependency rule between the suite's packages, checked on the source with ``ast``:

    judges <- harness_tasks <- leaderboard <- imitation_train

Each package may import only the packages to its left: judges imports none of ours,
harness_tasks only judges, leaderboard judges and harness_tasks, imitation_train all three.
Every import counts: at module level, inside functions, under ``if TYPE_CHECKING``, relative
imports and ``importlib.import_module("...")`` with a literal name. No package of ours runs
another's command and scrapes its output, and neither a package nor a benchmark imports from
tests/ (checked below too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE = ("judges", "harness_tasks", "leaderboard", "imitation_train")
OURS = LINE
FORBIDDEN = {name: set(LINE[i + 1:]) for i, name in enumerate(LINE)}
# a package's command line as another package would run it
COMMANDS = ("imitation-eval", "imitation-judge", "imitation-train", "imitation-leaderboard",
            "harness_tasks", "judges", "leaderboard", "imitation_train")


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


def imports_under(folder: str, root: Path = ROOT) -> list[tuple[str, int, str]]:
    """(file, line, module) of every import in the ``.py`` files under ``root / folder``."""
    out = []
    for path in sorted((root / folder).rglob("*.py")):
        parts = list(path.relative_to(root).parent.parts)
        out += [(str(path.relative_to(root)), line, module) for line, module in
                imported_modules(path.read_text(encoding="utf-8"), parts, str(path))]
    return out


def violations(package: str, root: Path = ROOT) -> list[str]:
    return [f"{name}:{line} imports {module}" for name, line, module in imports_under(package, root)
            if module.split(".")[0] in FORBIDDEN[package]]


def command_calls(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, command) of every argument list that names a command of ours as its program or
    after ``-m`` (``[sys.executable, "-m", "harness_tasks", ...]``, ``["imitation-eval", ...]``),
    wherever the list is built."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, (ast.List, ast.Tuple)):
            continue
        elts = [elt.value if isinstance(elt, ast.Constant) else None for elt in node.elts]
        names = elts[:1] + [b for a, b in zip(elts, elts[1:]) if a == "-m"]
        found += [(node.lineno, n) for n in names if n in COMMANDS]
    return found


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    assert (ROOT / package / "__init__.py").is_file()
    found = violations(package)
    assert not found, (f"{package} may not import {sorted(FORBIDDEN[package])} (the line is "
                       f"{' <- '.join(LINE)}):\n" + "\n".join(found))


@pytest.mark.parametrize("folder", (*OURS, "benchmarks"))
def test_nothing_outside_the_tests_imports_them(folder: str) -> None:
    """A testing aid that a benchmark needs lives in the package that owns the service
    (judges.testing_chat_server, leaderboard.testing_services), not under tests/."""
    found = [f"{name}:{line} imports {module}" for name, line, module in imports_under(folder)
             if module.split(".")[0] == "tests"]
    assert not found, "move the shared piece into its package:\n" + "\n".join(found)


@pytest.mark.parametrize("package", OURS)
def test_no_package_runs_a_command_of_ours(package: str) -> None:
    found = [f"{path.relative_to(ROOT)}:{line} runs {name}"
             for path in sorted((ROOT / package).rglob("*.py"))
             for line, name in command_calls(path.read_text(encoding="utf-8"), str(path))]
    assert not found, "call the other package's function instead:\n" + "\n".join(found)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    (tmp_path / "harness_tasks").mkdir()
    (tmp_path / "harness_tasks" / "x.py").write_text("from leaderboard import db\n")
    (tmp_path / "leaderboard").mkdir()
    (tmp_path / "leaderboard" / "y.py").write_text("from harness_tasks import runner\n")
    assert violations("harness_tasks", tmp_path) == ["harness_tasks/x.py:1 imports leaderboard"]
    assert violations("leaderboard", tmp_path) == []
    source = ("import subprocess, sys\n"
              "subprocess.run([sys.executable, '-m', 'harness_tasks', 'run'])\n"
              "subprocess.run(['git', 'status', '--', 'imitation_train'])\n")
    assert command_calls(source) == [(2, "harness_tasks")]


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
