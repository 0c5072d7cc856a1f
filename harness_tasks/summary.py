"""The short table a user reads after a run: one line per task, or per group that aggregates
its members (MMLU's subjects), with the task's primary metric (``metadata.primary_metric``;
:func:`primary_metric` is also how the leaderboard picks a task's main column).

lm-eval's own table (every metric of every subtask: hundreds of lines for the suite) is kept
in the results folder as ``table.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SKIP = {"alias", " ", "samples", "name", "sample_count"}
PRIMARY = "primary_metric"  # the metadata key that names a task's primary metric


def declared_primary(results: Mapping[str, Any], name: str) -> str | None:
    """The metric a task's ``metadata.primary_metric`` names (lm-eval writes every task's config,
    metadata included, into results.json's ``configs``). lm-eval writes no config for a group:
    its primary metric is the one all its tasks declare. None when none is declared."""
    configs = results.get("configs") or {}
    declared = set()
    for task in leaves(name, results.get("group_subtasks") or {}):
        config = configs.get(task) if isinstance(configs, Mapping) else None
        meta = config.get("metadata") if isinstance(config, Mapping) else None
        declared.add(meta.get(PRIMARY) if isinstance(meta, Mapping) else None)
    only = declared.pop() if len(declared) == 1 else None
    return only if isinstance(only, str) else None


def primary_key(row: Mapping[str, Any], declared: str | None) -> str | None:
    """The ``metric,filter`` key of a results row's primary metric: the first that holds a
    number and is the ``declared`` metric; with none declared (results written before the
    tasks declared one, or another suite's tasks), the first that holds a number."""
    for key, value in row.items():
        if ("," not in key or "_stderr," in key or key in _SKIP or isinstance(value, bool)
                or not isinstance(value, (int, float))):
            continue
        if declared is None or key.split(",", 1)[0] == declared:
            return key
    return None


def primary_metric(results: Mapping[str, Any], name: str) -> tuple[str, Any, Any] | None:
    """(``metric,filter``, value, stderr) of a task's or group's primary metric; None when it
    reported no number for it."""
    row = (results.get("groups") or {}).get(name) or (results.get("results") or {}).get(name)
    if not isinstance(row, Mapping):
        return None
    key = primary_key(row, declared_primary(results, name))
    return None if key is None else (key, row[key], row.get(key.replace(",", "_stderr,", 1)))


def summary_rows(results: Mapping[str, Any]) -> list[str]:
    """Names to show: every task and aggregating group, minus members of an aggregating group."""
    groups = results.get("groups") or {}
    members = results.get("group_subtasks") or {}
    aggregating = {g for g, row in groups.items()
                   if isinstance(row, Mapping) and any("," in k for k in row)}
    hidden: set[str] = set()

    def hide(group: str) -> None:
        for child in members.get(group, []):
            hidden.add(child)
            hide(child)

    for group in aggregating:
        hide(group)
    names = [n for n in (results.get("results") or {}) if n not in hidden]
    return [n for n in names if n in aggregating or n not in members]


def summary_table(results: Mapping[str, Any], chat: Mapping[str, bool] | None = None) -> str:
    chat = chat or {}
    members = results.get("group_subtasks") or {}
    n_samples = results.get("n-samples") or {}
    lines = []
    for name in summary_rows(results):
        found = primary_metric(results, name)
        tasks = leaves(name, members)
        n = sum(int((n_samples.get(t) or {}).get("effective", 0) or 0) for t in tasks)
        used = {chat.get(t) for t in tasks if t in chat}
        template = "chat" if used == {True} else "plain" if used == {False} else \
            "mixed" if used else "-"
        if found is None:
            lines.append((name, str(n), template, "-", "n/a", ""))
            continue
        key, value, stderr = found
        err = f"± {stderr:.4f}" if isinstance(stderr, (int, float)) else ""
        value_text = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append((name, str(n), template, key.replace(",none", ""), value_text, err))
    header = ("task", "n", "prompt", "metric", "value", "stderr")
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) if i != 4 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(row, widths))).rstrip() for row in [header, *lines]]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"


def leaves(name: str, members: Mapping[str, Any], seen: frozenset[str] = frozenset()
           ) -> list[str]:
    """The tasks under a group (``members``: results.json's ``group_subtasks``), through its
    subgroups; a plain task is its own leaf."""
    children = members.get(name)
    if not isinstance(children, list) or name in seen:
        return [name]
    return [leaf for child in children for leaf in leaves(str(child), members, seen | {name})]
