"""Verify a pushed run's reported numbers on ingest by recomputing them from its logged samples
(``samples_<task>.jsonl``). (Re-judging a run's samples is ``judges.rescore``.)

A metric whose lm-eval aggregation is ``mean`` is recomputed as the mean of its per-sample
values; it must match the reported number (to 1e-6) and the sample count must match
``n-samples``. Every recomputed metric matching: the run is "verified"; any mismatch: "flagged",
with one flag per mismatch; nothing recomputable (no samples, or only non-mean aggregations such
as pass@k or the judge's rates): "unverified".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

TOLERANCE = 1e-6


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
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    items: list[ItemValue] = field(default_factory=list)

    def detail(self) -> str:
        if self.mismatches:
            return "; ".join(self.mismatches)
        if self.checked:
            return f"{self.checked} metric(s) recomputed from the logged samples and matched"
        return "no metric could be recomputed from logged samples"


def _mean_metrics(task_config: Mapping[str, Any]) -> set[str]:
    out = set()
    for entry in task_config.get("metric_list") or []:
        if isinstance(entry, Mapping) and entry.get("aggregation") == "mean":
            out.add(str(entry.get("metric")))
    return out


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def verify(results: Mapping[str, Any], samples: Mapping[str, list[Mapping[str, Any]]],
           primary: Mapping[str, tuple[str, str]]) -> Verification:
    """Check every mean-aggregated metric of every task that has samples; collect per-item
    values of each task's primary (metric, filter) for the flips view."""
    out = Verification()
    per_task = results.get("results") or {}
    configs = results.get("configs") or {}
    n_samples = results.get("n-samples") or {}
    for task, rows in samples.items():
        if task not in per_task:
            out.mismatches.append(f"samples given for {task}, which results.json does not score")
            continue
        means = _mean_metrics(configs.get(task) or {})
        expected_n = (n_samples.get(task) or {}).get("effective")
        by_filter: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            by_filter.setdefault(str(row.get("filter", "none")), []).append(row)
        for key, reported in per_task[task].items():
            metric, sep, filt = key.partition(",")
            if not sep or metric.endswith("_stderr") or metric not in means:
                continue
            group = by_filter.get(filt, [])
            values = [_numeric(r.get(metric)) for r in group]
            if not group or any(v is None for v in values) or _numeric(reported) is None:
                continue
            out.checked += 1
            if isinstance(expected_n, int) and len(group) != expected_n:
                out.mismatches.append(f"{task} {key}: {len(group)} samples logged, "
                                      f"results.json says n={expected_n}")
                continue
            mean = sum(values) / len(values)  # type: ignore[arg-type]
            if abs(mean - float(reported)) > TOLERANCE:
                out.mismatches.append(f"{task} {key}: reported {reported:.6g}, "
                                      f"samples give {mean:.6g}")
        out.items.extend(_items(task, rows, primary.get(task)))
    if out.mismatches:
        out.status = "flagged"
    elif out.checked:
        out.status = "verified"
    return out


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
