"""lm-eval-shaped results with per-item samples, drawn from given per-item accuracies: for the
tests, the load benchmark and trying the pages out without running a model. Not real scores."""

from __future__ import annotations

import random
from typing import Any


def synthetic_run(accuracy: dict[str, float], n: int = 50, seed: int = 0, *,
                  version: float = 1.0, n_shot: int = 0, lm_eval_version: str = "0.4.13",
                  stamp: float = 1.7e9) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """(results, samples) for tasks scored by ``acc`` (mean of 0/1 items); ``accuracy`` maps
    task name -> the chance each item is correct. Item outcomes come from ``seed``."""
    rng = random.Random(seed)
    results: dict[str, Any] = {"results": {}, "versions": {}, "n-shot": {}, "configs": {},
                               "higher_is_better": {}, "n-samples": {}, "group_subtasks": {},
                               "lm_eval_version": lm_eval_version, "date": stamp + seed,
                               "config": {"model": "hf", "model_args": {}}}
    samples: dict[str, list[dict[str, Any]]] = {}
    for task, p in accuracy.items():
        items = [1.0 if rng.random() < p else 0.0 for _ in range(n)]
        mean = sum(items) / n
        stderr = (mean * (1 - mean) / (n - 1)) ** 0.5 if n > 1 else 0.0
        results["results"][task] = {"alias": task, "acc,none": mean, "acc_stderr,none": stderr}
        results["versions"][task] = version
        results["n-shot"][task] = n_shot
        results["configs"][task] = {"task": task, "num_fewshot": n_shot, "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True}]}
        results["higher_is_better"][task] = {"acc": True}
        results["n-samples"][task] = {"original": n, "effective": n}
        samples[task] = [{"doc_id": k, "doc_hash": f"{task}-{k}", "filter": "none",
                          "metrics": ["acc"], "acc": v} for k, v in enumerate(items)]
    return results, samples


def card(name: str, base: str, teacher: str, tokens: int, data: str = "sharegpt-mix"
         ) -> dict[str, Any]:
    """An imitation_card.json as imitation_train writes it (the fields the leaderboard reads)."""
    return {"name": name, "base_model": base, "teacher": teacher, "data_sources": [data],
            "data_kind": data, "token_budget": tokens, "epochs": 1, "lr": 2e-5}


def add_style_profile(results: dict[str, Any], profile: dict[str, float], n: int = 20,
                      task: str = "imitation_style_profile_lite") -> dict[str, Any]:
    """``results`` with a style-profile task added, shaped as lm-eval reports it (filter
    ``style``, no standard errors: its aggregations are not means); ``profile`` maps a metric of
    Gudibande et al.'s Table 2 (``leaderboard.style.STYLE_METRICS``) to its value (percentages,
    r, words)."""
    from leaderboard.style import STYLE_METRICS

    row: dict[str, Any] = {"alias": task}
    for metric, value in profile.items():
        row[f"{metric},style"] = value
        row[f"{metric}_stderr,style"] = "N/A"
    results["results"][task] = row
    results["versions"][task] = 1.1
    results["n-shot"][task] = 0
    results["configs"][task] = {"task": task, "num_fewshot": 0, "metadata": {
        "version": 1.1, "primary_metric": STYLE_METRICS[0]}, "metric_list": [
        {"metric": m, "higher_is_better": True} for m in STYLE_METRICS]}
    results["higher_is_better"][task] = {m: True for m in STYLE_METRICS}
    results["n-samples"][task] = {"original": n, "effective": n}
    return results
