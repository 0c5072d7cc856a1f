"""The short table a user reads after a run: one line per task, or per group that aggregates
its members (MMLU's subjects), with the task's primary metric.

lm-eval's own table (every metric of every subtask: hundreds of lines for the suite) is kept
in the results folder as ``table.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SKIP = {"alias", " ", "samples", "name", "sample_count"}


def primary_metric(results: Mapping[str, Any], name: str) -> tuple[str, Any, Any] | None:
    """(``metric,filter``, value, stderr) of a task's first declared metric, or of a group's
    first aggregate; None when the task reported no number."""
    row = (results.get("groups") or {}).get(name) or (results.get("results") or {}).get(name)
    if not isinstance(row, Mapping):
        return None
    keys = [k for k in row if "," in k and "_stderr," not in k and k not in _SKIP]
    declared = [m.get("metric") for m in
                ((results.get("configs") or {}).get(name) or {}).get("metric_list") or []
                if isinstance(m, Mapping)]
    for metric in declared:
        for key in keys:
            if key.split(",", 1)[0] == metric and isinstance(row[key], (int, float)):
                return key, row[key], row.get(key.replace(",", "_stderr,", 1))
    for key in keys:
        if isinstance(row[key], (int, float)) and not isinstance(row[key], bool):
            return key, row[key], row.get(key.replace(",", "_stderr,", 1))
    return None


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
        leaves = _leaves(name, members)
        n = sum(int((n_samples.get(t) or {}).get("effective", 0) or 0) for t in leaves)
        used = {chat.get(t) for t in leaves if t in chat}
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


def _leaves(name: str, members: Mapping[str, list[str]]) -> list[str]:
    if name not in members:
        return [name]
    return [leaf for child in members[name] for leaf in _leaves(child, members)]
