"""No import cycle between modules of ours, checked on the source with ``ast``.

The graph has one node per module of judges, harness_tasks, leaderboard and imitation_train
(a package is its ``__init__``) and an edge for every import of another of them: at module
level or inside a function, absolute or relative, ``from package import module`` included, and
``importlib.import_module("...")`` with a literal name (a computed name cannot be seen: import
modules of ours by name). An import of ``a.b.c`` is an edge to ``a.b.c`` only (the parent
packages it also runs are not counted). Any cycle fails the test."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("judges", "harness_tasks", "leaderboard", "imitation_train")


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` below the packages."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, root: Path) -> set[str]:
    """Every module name ``path`` imports, relative imports resolved; for ``from X import Y``
    both X and X.Y (Y may be a module)."""
    package = list(path.relative_to(root).parent.parts)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = OURS) -> dict[str, set[str]]:
    files = module_files(root, packages)
    return {name: {m for m in imports_of(path, root) if m in files and m != name}
            for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), each
    sorted; every cycle lies inside one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = stack[stack.index(node):]
                    del stack[stack.index(node):]
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycle_between_our_modules() -> None:
    graph = import_graph()
    assert {"judges.cli", "imitation_train.cli", "leaderboard.cli"} <= set(graph)
    found = cycles(graph)
    assert not found, ("modules that import each other (directly or through others); move the "
                       "shared part into a module both import:\n"
                       + "\n".join(" <-> ".join(c) for c in found))


def test_the_checker_can_fail(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("from .. import a\n")
    (tmp_path / "pkg" / "c.py").write_text("import importlib\nimportlib.import_module('pkg.a')\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg", "pkg.a"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    (tmp_path / "pkg" / "sub" / "b.py").write_text("import pkg.c\n")  # b -> c -> a -> b
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    (tmp_path / "pkg" / "sub" / "b.py").write_text("import json\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == []
