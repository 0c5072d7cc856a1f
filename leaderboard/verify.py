"""Verify a pushed run on ingest by recomputing its reported numbers from its logged samples
(``samples_<task>.jsonl``). (Re-judging a run's samples is ``judges.rescore``.)

The rules (the main page's legend and leaderboard/README.md state them too):

- **verified**: every reported metric of every task in the run (each number in
  ``results.results`` other than a standard error; ``null`` / ``"N/A"`` are "not applicable"
  and not stored) was recomputed from a complete sample set and matched (to 1e-6). Complete: the
  task's samples are logged, its sample count (``n-samples.<task>.effective``) is given and
  equals the samples logged for that filter, every sample names its document (``doc_id``; a
  duplicate id is refused on ingest, so the samples are distinct documents) and every sample has
  a numeric value for the metric. A task's metric is recomputable when lm-eval aggregates it as a ``mean`` (the task's
  ``configs.<task>.metric_list``); a group's number is recomputed from its tasks' recomputed
  numbers, as the size-weighted or the plain mean (lm-eval's two group aggregations). So the
  displayed (primary) metric of every task is always among those recomputed.
- **flagged**: a number the samples contradict: a recomputed value that differs, a sample count
  that differs from the one results.json states, or samples of a task the run does not score
  (one flag per mismatch).
- **unverified**, with the reason: anything less, e.g. no samples for a task (or for the filter
  of one of its metrics), no sample count, a sample without a ``doc_id`` or without a value, a metric whose aggregation
  is not a mean (pass@k estimators, the judge's rates, the style profile's correlations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

TOLERANCE = 1e-6
SHOWN_REASONS = 6  # the reasons written out in a run's detail; the rest are counted


@dataclass(frozen=True)
class ItemValue:
    task: str
    metric: str
    filter: str
    doc_id: int
    doc_hash: str
    value: float


@dataclass
class Verification:
    status: str = "unverified"
    checked: int = 0  # metrics recomputed
    reported: int = 0  # metrics reported
    tasks: int = 0  # tasks (and groups) with a reported metric
    mismatches: list[str] = field(default_factory=list)  # -> flagged
    gaps: list[str] = field(default_factory=list)  # -> unverified, the reasons
    items: list[ItemValue] = field(default_factory=list)

    def detail(self) -> str:
        if self.mismatches:
            return "; ".join(self.mismatches)
        if self.gaps:
            more = len(self.gaps) - SHOWN_REASONS
            return ("not verified: " + "; ".join(self.gaps[:SHOWN_REASONS])
                    + (f"; and {more} more" if more > 0 else ""))
        if self.checked:
            return (f"all {self.checked} reported metric(s) of {self.tasks} task(s) recomputed "
                    "from complete sample sets and matched")
        return "not verified: the run reports no metric to recompute"


@dataclass(frozen=True)
class _Task:
    """What verifying one task reads from the run."""

    name: str
    reported: dict[str, float]  # "metric,filter" -> value
    primary: str | None  # its displayed "metric,filter"

    def label(self, key: str) -> str:
        return f"{self.name} {key}" + (" (the displayed metric)" if key == self.primary else "")


def _mean_metrics(task_config: Any) -> set[str]:
    out = set()
    entries = task_config.get("metric_list") if isinstance(task_config, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("aggregation") == "mean":
            out.add(str(entry.get("metric")))
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _reported(metrics: Any) -> dict[str, float]:
    """The numbers a task reports ("metric,filter" -> value), standard errors left out."""
    if not isinstance(metrics, Mapping):
        return {}
    out = {}
    for key, value in metrics.items():
        metric, sep, _ = str(key).partition(",")
        number = _numeric(value)
        if sep and not metric.endswith("_stderr") and number is not None:
            out[str(key)] = number
    return out


def verify(results: Mapping[str, Any], samples: Mapping[str, list[Mapping[str, Any]]],
           primary: Mapping[str, tuple[str, str]]) -> Verification:
    """Recompute every reported metric of every task (rules: the module's docstring); collect
    per-item values of each task's primary (metric, filter) for the flips view."""
    out = Verification()
    per_task = _mapping(results.get("results"))
    groups = _mapping(results.get("group_subtasks"))
    for task in samples:
        if task not in per_task:
            out.mismatches.append(f"samples given for {task}, which results.json does not score")
    done: dict[tuple[str, str], tuple[float, int]] = {}  # (task, key) -> (value, samples)
    group_tasks = []
    for name, metrics in per_task.items():
        shown = primary.get(name)
        task = _Task(str(name), _reported(metrics), f"{shown[0]},{shown[1]}" if shown else None)
        if not task.reported:
            continue
        out.tasks += 1
        out.reported += len(task.reported)
        if isinstance(groups.get(task.name), list) and groups[task.name]:
            group_tasks.append(task)
            continue
        _check_task(out, task, results, samples.get(task.name), done)
    for task in sorted(group_tasks, key=lambda t: _depth(t.name, groups, frozenset())):
        for key, value in task.reported.items():
            _check_group(out, task, key, value, groups, done)
    for task, rows in samples.items():
        out.items.extend(_items(task, rows, primary.get(task)))
    if out.mismatches:
        out.status = "flagged"
    elif not out.gaps and out.checked:
        out.status = "verified"
    return out


def _depth(name: str, groups: Mapping[str, Any], seen: frozenset[str]) -> int:
    """How many levels of groups lie below ``name`` (subgroups are checked before parents)."""
    members = groups.get(name)
    if not isinstance(members, list) or name in seen:
        return 0
    return 1 + max((_depth(str(m), groups, seen | {name}) for m in members), default=0)


def _check_task(out: Verification, task: _Task, results: Mapping[str, Any],
                rows: list[Mapping[str, Any]] | None,
                done: dict[tuple[str, str], tuple[float, int]]) -> None:
    """Recompute each reported metric of one task from its samples."""
    if not rows:
        out.gaps.append(f"{task.name}: no samples logged (push its samples_{task.name}.jsonl)")
        return
    n_info = _mapping(results.get("n-samples")).get(task.name)
    expected = n_info.get("effective") if isinstance(n_info, Mapping) else None
    if isinstance(expected, bool) or not isinstance(expected, int):
        out.gaps.append(f"{task.name}: no sample count (results.n-samples.{task.name}.effective)")
        return
    means = _mean_metrics(_mapping(results.get("configs")).get(task.name))
    by_filter: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_filter.setdefault(str(row.get("filter", "none")), []).append(row)
    for key, reported in task.reported.items():
        metric, _, filt = key.partition(",")
        group = by_filter.get(filt, [])
        if metric not in means:
            out.gaps.append(f"{task.label(key)}: not an lm-eval 'mean' of per-sample values "
                            "(configs.metric_list), so it cannot be recomputed")
        elif not group:
            out.gaps.append(f"{task.label(key)}: no samples logged for filter {filt!r}")
        elif len(group) != expected:
            out.mismatches.append(f"{task.label(key)}: {len(group)} samples logged, "
                                  f"results.json says n={expected}")
        elif unnamed := sum(not _doc_id(r) for r in group):  # copies of one row could pass
            out.gaps.append(f"{task.label(key)}: {unnamed} of {len(group)} samples have no "
                            "doc_id, so they cannot be counted as distinct documents")
        else:
            values = [_numeric(r.get(metric)) for r in group]
            missing = sum(v is None for v in values)
            if missing:
                out.gaps.append(f"{task.label(key)}: {missing} of {len(group)} samples have no "
                                "numeric value")
                continue
            mean = sum(values) / len(values)  # type: ignore[arg-type]
            out.checked += 1
            done[(task.name, key)] = (mean, len(values))
            if abs(mean - reported) > TOLERANCE:
                out.mismatches.append(f"{task.label(key)}: reported {reported:.6g}, "
                                      f"samples give {mean:.6g}")


def _doc_id(row: Mapping[str, Any]) -> bool:
    """Whether a sample names its document (a whole number; ingest refuses duplicates)."""
    doc_id = row.get("doc_id")
    return isinstance(doc_id, int) and not isinstance(doc_id, bool)


def _check_group(out: Verification, task: _Task, key: str, reported: float,
                 groups: Mapping[str, Any], done: dict[tuple[str, str], tuple[float, int]],
                 seen: frozenset[str] = frozenset()) -> None:
    """A group's number against its tasks' recomputed numbers (size-weighted or plain mean);
    a subgroup without a number of its own (``reported`` NaN) pools its tasks' samples."""
    parts = []
    for member in map(str, groups[task.name]):
        if ((member, key) not in done and isinstance(groups.get(member), list)
                and member not in seen | {task.name}):
            inner = _Task(member, {}, None)
            _check_group(out, inner, key, math.nan, groups, done, seen | {task.name})
        if (member, key) not in done:
            if not math.isnan(reported):
                out.gaps.append(f"{task.label(key)}: a group's number, not recomputed: its "
                                f"task {member} has no recomputed {key}")
            return
        parts.append(done[(member, key)])
    size = sum(n for _, n in parts)
    weighted = sum(v * n for v, n in parts) / size
    plain = sum(v for v, _ in parts) / len(parts)
    if math.isnan(reported):  # a subgroup without a number of its own: its tasks, pooled
        done[(task.name, key)] = (weighted, size)
        return
    out.checked += 1
    done[(task.name, key)] = (reported, size)
    if min(abs(weighted - reported), abs(plain - reported)) > TOLERANCE:
        out.mismatches.append(f"{task.label(key)}: reported {reported:.6g}, its tasks' samples "
                              f"give {weighted:.6g} (size-weighted) or {plain:.6g} (plain mean)")


def _items(task: str, rows: list[Mapping[str, Any]],
           primary: tuple[str, str] | None) -> list[ItemValue]:
    if primary is None:
        return []
    metric, filt = primary
    items = []
    for row in rows:
        value = _numeric(row.get(metric))
        doc_id = row.get("doc_id")
        if value is None or str(row.get("filter", "none")) != filt or not isinstance(doc_id, int):
            continue
        items.append(ItemValue(task, metric, filt, doc_id, str(row.get("doc_hash", ""))[:64],
                               value))
    return items
