"""What the task folder holds, read from the YAML files without lm-eval (fast, no I/O beyond
the folder itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from harness_tasks import task_dir


@dataclass(frozen=True)
class Entry:
    name: str
    kind: Literal["task", "group"]
    path: Path
    version: Any


class _LenientLoader(yaml.SafeLoader):
    """Reads lm-eval YAML, turning ``!function x.y`` tags into plain strings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> str:
    return f"!{suffix} {loader.construct_scalar(node)}" if isinstance(node, yaml.ScalarNode) else f"!{suffix}"


_LenientLoader.add_multi_constructor("!", _tag)


def read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LenientLoader)  # noqa: S506
    return data if isinstance(data, dict) else {}


def _version(data: dict[str, Any], path: Path) -> Any:
    version = (data.get("metadata") or {}).get("version")
    include = data.get("include")
    if version is None and isinstance(include, str):
        parent = path.parent / include
        if parent.is_file():
            return _version(read_yaml(parent), parent)
    return version


def entries(root: Path | None = None) -> list[Entry]:
    """Every task and group defined in the folder, sorted by name."""
    root = root or task_dir()
    found: list[Entry] = []
    for path in sorted(root.rglob("*.yaml")):
        data = read_yaml(path)
        if isinstance(data.get("group"), str):
            found.append(Entry(data["group"], "group", path, _version(data, path)))
        elif isinstance(data.get("task"), str):
            found.append(Entry(data["task"], "task", path, _version(data, path)))
    return sorted(found, key=lambda e: (e.kind != "group", e.name))
