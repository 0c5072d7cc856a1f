"""Read an lm-eval results dict (as written by ``imitation-eval run``) into typed score rows.

Strict: anything the leaderboard relies on that is missing or of the wrong type is a
:class:`PayloadError` naming the field (``results.results.<task>.<metric>``) and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from harness_tasks.summary import declared_primary, leaves, primary_key
from judges.endpoint import JudgeEndpoint

STDERR = "_stderr"
SKIP_KEYS = frozenset({"alias", "name", "sample_len", "sample_count", "samples"})


class PayloadError(ValueError):
    """A pushed payload that cannot be stored; the message names the field and the fix."""


@dataclass(frozen=True)
class Identity:
    task: str
    task_version: str
    n_shot: int
    chat_template: bool
    judge_model: str
    judge_prompt: str
    harness_version: str
    metric: str
    filter: str

    def label(self) -> str:
        parts = [self.task, f"v{self.task_version}", f"{self.n_shot}-shot"]
        if self.chat_template:
            parts.append("chat")
        if self.judge_model:
            parts.append(f"judge {self.judge_model} {self.judge_prompt}".strip())
        parts.append(f"{self.metric}" + (f",{self.filter}" if self.filter != "none" else ""))
        parts.append(self.harness_version)
        return " · ".join(parts)


@dataclass(frozen=True)
class ParsedScore:
    identity: Identity
    value: float
    stderr: float | None
    n: int | None
    higher_is_better: bool
    primary: bool
    headline: bool


@dataclass(frozen=True)
class JudgeInfo:
    model: str
    prompt: str


def _need(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise PayloadError(f"{where}: expected an object")
    if key not in mapping:
        raise PayloadError(f"{where}.{key} is missing: push the results.json that "
                           "`imitation-eval run` (or lm-eval --output_path) wrote, unmodified")
    value = mapping[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise PayloadError(f"{where}.{key} must be {names}, got {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> float | None:
    """A finite float; "N/A" (lm-eval's no-stderr marker) and None are None."""
    if value is None or value == "N/A":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{where} must be a number, got {type(value).__name__} {value!r:.60}")
    if not math.isfinite(value):
        raise PayloadError(f"{where} must be finite, got {value}")
    return float(value)


def harness_version(results: Mapping[str, Any], config: Mapping[str, Any] | None) -> str:
    lm_eval = str(results.get("lm_eval_version") or "unknown")
    suite = (config or {}).get("imitation_suite_version")
    return f"suite {suite} / lm-eval {lm_eval}" if suite else f"lm-eval {lm_eval}"


def _groups(results: Mapping[str, Any]) -> Mapping[str, Any]:
    groups = results.get("group_subtasks") or {}
    if not isinstance(groups, Mapping):
        raise PayloadError("results.group_subtasks must be an object of group: [task, ...]")
    return groups


def _named_flags(per_task: Mapping[str, bool], groups: Mapping[str, Any], name: str,
                 seen: frozenset[str] = frozenset()) -> list[bool]:
    """The flags the mapping gives the members of a group; a member it does not name counts
    through its own members (a subgroup), or not at all."""
    members = groups.get(name)
    if not isinstance(members, list) or name in seen:
        return []
    return [flag for m in map(str, members) for flag in (
        [per_task[m]] if m in per_task else _named_flags(per_task, groups, m, seen | {name}))]


def _run_chat_template(results: Mapping[str, Any], config: Mapping[str, Any] | None) -> bool:
    """The run-wide setting: run_config.apply_chat_template, else lm-eval's chat_template."""
    run_config = (config or {}).get("run_config") or {}
    if "apply_chat_template" in run_config:
        return bool(run_config["apply_chat_template"])
    return bool(results.get("chat_template") or results.get("chat_template_sha"))


def chat_template_flag(results: Mapping[str, Any], config: Mapping[str, Any] | None,
                       task: str | None = None) -> bool:
    """Whether ``task`` was run through the model's chat template.

    The runner decides it per task and records it in config.json as ``chat_template_tasks``
    ({task: true|false}); a group missing from it is true only when every task under it that
    the mapping names is true. Without the mapping (older results, plain lm-eval), or for a task
    it does not name, the run-wide setting counts.
    """
    fallback = _run_chat_template(results, config)
    per_task = (config or {}).get("chat_template_tasks")
    if per_task is None or task is None:
        return fallback
    if not isinstance(per_task, Mapping):
        raise PayloadError("config.chat_template_tasks must be an object of task: true|false")
    for name, value in per_task.items():
        if not isinstance(value, bool):
            raise PayloadError(f"config.chat_template_tasks.{name} must be true or false, "
                               f"got {value!r:.40}")
    if task in per_task:
        return per_task[task]
    named = _named_flags(per_task, _groups(results), task)
    return all(named) if named else fallback


def n_shot(results: Mapping[str, Any], task: str) -> int:
    """The task's shot count; for a group, its tasks' count when they all agree.

    lm-eval records no count (or 0) for a group such as imitation_mmlu whose tasks are 5-shot,
    which would put its numbers in a "0-shot" column.
    """
    shots = (results.get("n-shot") or {}).get(task, 0)
    if isinstance(shots, bool) or not isinstance(shots, int):
        raise PayloadError(f"results.n-shot.{task} must be an integer, got {shots!r:.40}")
    groups = _groups(results)
    if task not in groups:
        return shots
    counts = {(results.get("n-shot") or {}).get(leaf) for leaf in leaves(task, groups)}
    if len(counts) == 1:
        [agreed] = counts
        if isinstance(agreed, int) and not isinstance(agreed, bool):
            return agreed
    return shots


def judge_from_samples(rows: list[Mapping[str, Any]]) -> JudgeInfo | None:
    """The judge recorded in a task's docs (``doc.judge``: judges.endpoint.JudgeEndpoint)."""
    for row in rows[:1]:
        doc = row.get("doc") if isinstance(row, Mapping) else None
        try:
            judge = JudgeEndpoint.parse(doc.get("judge")) if isinstance(doc, Mapping) else None
        except ValueError:
            return None
        return JudgeInfo(judge.client.model, judge.prompt_id) if judge else None
    return None


def judge_from_config(task_config: Mapping[str, Any]) -> JudgeInfo | None:
    meta = task_config.get("metadata") if isinstance(task_config, Mapping) else None
    if isinstance(meta, Mapping) and meta.get("judge_model"):
        return JudgeInfo(str(meta["judge_model"]), str(meta.get("judge_prompt", "pairwise")))
    return None


def _subtasks(results: Mapping[str, Any]) -> set[str]:
    """Tasks inside a group that has an aggregate score of its own (shown via that group)."""
    groups = _groups(results)
    scored = results.get("results") or {}

    def has_score(name: str) -> bool:
        metrics = scored.get(name)
        return isinstance(metrics, Mapping) and any("," in str(k) for k in metrics)

    return {t for group, members in groups.items() if has_score(group)
            and isinstance(members, list) for t in members}


def parse_results(results: Any, config: Mapping[str, Any] | None = None,
                  samples: Mapping[str, list[Mapping[str, Any]]] | None = None,
                  ) -> list[ParsedScore]:
    """Every metric of every task and group in ``results`` as a typed score with its identity."""
    if not isinstance(results, Mapping):
        raise PayloadError("results: expected the JSON object lm-eval writes (results.json)")
    per_task = _need(results, "results", Mapping, "results")
    if not per_task:
        raise PayloadError("results.results is empty: the run scored no task")
    versions = _need(results, "versions", Mapping, "results")
    if not isinstance(results.get("n-shot") or {}, Mapping):
        raise PayloadError("results.n-shot must be an object of task: shots")
    configs = results.get("configs") or {}
    hib = results.get("higher_is_better") or {}
    n_samples = results.get("n-samples") or {}
    harness = harness_version(results, config)
    members = _subtasks(results)
    out: list[ParsedScore] = []
    for task, metrics in per_task.items():
        where = f"results.results.{task}"
        if not isinstance(metrics, Mapping):
            raise PayloadError(f"{where} must be an object of metric: value")
        if not isinstance(task, str) or not task or len(task) > 200:
            raise PayloadError(f"results.results: task name {task!r:.80} must be 1-200 chars")
        version = versions.get(task, "N/A")
        shots = n_shot(results, task)
        chat = chat_template_flag(results, config, task)
        judge = judge_from_samples((samples or {}).get(task) or []) or judge_from_config(
            configs.get(task) or {})
        if judge is None and task.startswith("imitation_judge"):
            judge = JudgeInfo("unknown", "unknown")
        primary = primary_key(metrics, declared_primary(results, task))
        out.extend(_task_scores(task, metrics, str(version), shots, chat, judge, harness,
                                hib.get(task) or {}, n_samples.get(task), where,
                                headline=task not in members, primary=primary))
    return out


def _sample_count(metrics: Mapping[str, Any], n_info: Any, key: str) -> int | None:
    if isinstance(n_info, Mapping) and isinstance(n_info.get("effective"), int):
        return n_info["effective"]
    counts = metrics.get("sample_count")
    if isinstance(counts, Mapping) and isinstance(counts.get(key), int):
        return counts[key]
    n = metrics.get("sample_len")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _task_scores(task: str, metrics: Mapping[str, Any], version: str, shots: int, chat: bool,
                 judge: JudgeInfo | None, harness: str, hib: Mapping[str, Any], n_info: Any,
                 where: str, headline: bool, primary: str | None) -> list[ParsedScore]:
    """The task's scores; the one whose key is ``primary`` (harness_tasks.summary.primary_key:
    its metadata.primary_metric, else the first number) is its main column."""
    out: list[ParsedScore] = []
    for key, raw in metrics.items():
        if key in SKIP_KEYS or "," not in key:
            continue
        metric, _, filt = key.partition(",")
        if metric.endswith(STDERR):
            continue
        value = _number(raw, f"{where}.{key}")
        if value is None:
            continue
        stderr = _number(metrics.get(f"{metric}{STDERR},{filt}"), f"{where}.{metric}_stderr")
        identity = Identity(task, version, shots, chat, judge.model if judge else "",
                            judge.prompt if judge else "", harness, metric, filt)
        out.append(ParsedScore(identity, value, stderr, _sample_count(metrics, n_info, key),
                               bool(hib.get(metric, True)), key == primary, headline))
    return out
