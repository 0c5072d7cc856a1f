"""Read an lm-eval results dict (as written by ``imitation-eval run``) into typed score rows.

Strict: anything the leaderboard relies on that is missing or of the wrong type is a
:class:`PayloadError` naming the field (``results.results.<task>.<metric>``) and the fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from harness_tasks.summary import declared_primary, leaves, primary_key
from judges.endpoint import JudgeEndpoint

STDERR = "_stderr"
SKIP_KEYS = frozenset({"alias", "name", "sample_len", "sample_count", "samples"})
# Limits, the same on SQLite and PostgreSQL: text as long as its column (leaderboard.models),
# whole numbers that fit an INTEGER column, scores and standard errors of magnitude <= MAX_ABS
LIMITS = {"task": 200, "task_version": 50, "metric": 100, "filter": 100,
          "harness_version": 100, "judge_model": 200, "judge_prompt": 200}
MAX_INT32 = 2**31 - 1
MAX_SHOTS = 1000
MAX_ABS = 1e15
MAX_GROUP_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
        names = ("/".join(k.__name__ for k in kind) if isinstance(kind, tuple)
                 else "an object" if kind is Mapping else kind.__name__)  # Mapping: no type
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
    if abs(value) > MAX_ABS:
        raise PayloadError(f"{where} must be within +-{MAX_ABS:g}, got {value:.6g}")
    return float(value)


def _text(value: Any, field: str, where: str) -> str:
    """``value`` as the text of the ``field`` column: at most LIMITS[field] characters, no
    control characters (PostgreSQL refuses NUL; SQLite would store it)."""
    text = str(value)
    if len(text) > LIMITS[field] or _CONTROL.search(text):
        raise PayloadError(f"{where} must be text of at most {LIMITS[field]} characters "
                           f"without control characters, got {text!r:.60}")
    return text


def _count(value: Any, where: str, top: int = MAX_INT32) -> int | None:
    """A whole number in 0..top (None stays None); true/false are not numbers."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise PayloadError(f"{where} must be an integer in 0..{top}, got {value!r:.40}")
    return value


def harness_version(results: Mapping[str, Any], config: Mapping[str, Any] | None) -> str:
    lm_eval = str(results.get("lm_eval_version") or "unknown")
    suite = (config or {}).get("imitation_suite_version")
    return _text(f"suite {suite} / lm-eval {lm_eval}" if suite else f"lm-eval {lm_eval}",
                 "harness_version", "results.lm_eval_version (with config.imitation_suite_"
                 "version, the harness version)")


def _groups(results: Mapping[str, Any]) -> Mapping[str, Any]:
    groups = results.get("group_subtasks") or {}
    if not isinstance(groups, Mapping) or not all(
            isinstance(m, list) and all(isinstance(t, str) for t in m) for m in groups.values()):
        raise PayloadError("results.group_subtasks must be an object of group: [task, ...]")
    for group, members in groups.items():  # named in a run's stored detail
        for name in (group, *members):
            _text(name, "task", f"results.group_subtasks: task name {str(name)[:80]!r}")
    return groups


def _group_depth(groups: Mapping[str, Any]) -> int:
    """How deep groups nest (without recursion; a cycle counts as deep as it gets)."""
    depth: dict[str, int] = {}
    for top in groups:
        stack = [(top, 1)]
        while stack:
            name, level = stack.pop()
            if depth.get(name, 0) >= level or level > MAX_GROUP_DEPTH + 1:
                continue
            depth[name] = level
            stack.extend((m, level + 1) for m in groups.get(name) or [])
    return max(depth.values(), default=0)


def _section(results: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    """A per-task section of results.json (``configs``, ``n-samples``...): task: object."""
    section = results.get(key) or {}
    if not isinstance(section, Mapping):
        raise PayloadError(f"results.{key} must be an object of task: {what}")
    for task, entry in section.items():
        if entry is not None and not isinstance(entry, Mapping):
            raise PayloadError(f"results.{key}.{task} must be an object ({what}), got "
                               f"{type(entry).__name__}")
    return section


def check_shape(results: Mapping[str, Any], config: Mapping[str, Any] | None,
                samples: Mapping[str, Any] | None) -> None:
    """The types and limits of everything the leaderboard reads besides the scores, so that
    nothing malformed reaches the database (PayloadError naming the field)."""
    for task, entry in _section(results, "configs", "its task config").items():
        for key, kind in (("metric_list", list), ("metadata", Mapping)):
            if (entry or {}).get(key) is not None and not isinstance(entry[key], kind):
                raise PayloadError(f"results.configs.{task}.{key} must be a "
                                   f"{'list' if kind is list else 'object'}")
    for task, entry in _section(results, "higher_is_better", "{metric: true|false}").items():
        for metric, flag in (entry or {}).items():
            if flag is not None and not isinstance(flag, bool):  # lm-eval: null = disagree
                raise PayloadError(f"results.higher_is_better.{task}.{metric} must be true, "
                                   f"false or null, got {flag!r:.40}")
    for task, entry in _section(results, "n-samples", "{original: N, effective: N}").items():
        for key, value in (entry or {}).items():
            _count(value, f"results.n-samples.{task}.{key}")
    for task, shots in (results.get("n-shot") or {}).items():
        _count(shots, f"results.n-shot.{task}", MAX_SHOTS)
    for task, version in results["versions"].items():
        if isinstance(version, bool) or not isinstance(version, (str, int, float, type(None))):
            raise PayloadError(f"results.versions.{task} must be a string or a number")
        _text(version, "task_version", f"results.versions.{task}")
    if _group_depth(_groups(results)) > MAX_GROUP_DEPTH:
        raise PayloadError(f"results.group_subtasks: groups nest deeper than {MAX_GROUP_DEPTH}")
    run_config = (config or {}).get("run_config")
    if run_config is not None and not isinstance(run_config, Mapping):
        raise PayloadError("config.run_config must be an object")
    configs = results.get("configs") or {}
    check_samples(samples or {}, {task: {str(m.get("metric")) for m in (
        (configs.get(task) or {}).get("metric_list") or []) if isinstance(m, Mapping)}
        for task in samples or {}})


def check_card(card: Mapping[str, Any]) -> None:
    """The imitation card's fields that are stored in columns (the card itself is stored
    whole): model names as long as a model's name, the data kind, token counts."""
    for key in ("base_model", "teacher"):
        value = card.get(key)
        if isinstance(value, str) and (len(value) > 200 or _CONTROL.search(value)):
            raise PayloadError(f"card.{key} must be a model name of at most 200 characters "
                               f"without control characters, got {value!r:.60}")
    for key in ("imitation_tokens", "token_budget", "train_tokens"):
        if isinstance(card.get(key), int) and not isinstance(card[key], bool):
            _count(card[key], f"card.{key}", 2**63 - 1)
    kind = card.get("data_kind")
    sources = card.get("data_sources")
    if kind is None and isinstance(sources, list):
        kind = "+".join(s if isinstance(s, str) else str(s.get("name", s.get("source", "?")))
                        for s in sources if isinstance(s, (str, Mapping)))
    if isinstance(kind, str) and (len(kind) > 200 or _CONTROL.search(kind)):
        raise PayloadError("card.data_kind (or the names in card.data_sources) must be at most "
                           f"200 characters without control characters, got {kind!r:.60}")


def check_samples(samples: Mapping[str, Any], metrics: Mapping[str, set[str]]) -> None:
    """Each task's logged samples: objects whose ``doc_id`` (when given) is a whole number,
    one row per document and filter (a duplicate would count an item twice), whose per-item
    scores (the task's ``metrics``, and those the row lists) are within +-MAX_ABS."""
    for task, rows in samples.items():
        _text(task, "task", f"samples: task name {str(task)[:80]!r}")  # named in a flag
        if not isinstance(rows, list):
            raise PayloadError(f"samples.{task} must be a list of sample objects")
        seen: dict[tuple[int, str], int] = {}
        for k, row in enumerate(rows):
            where = f"samples.{task}[{k}]"
            if not isinstance(row, Mapping):
                raise PayloadError(f"{where} must be an object")
            listed = row.get("metrics") if isinstance(row.get("metrics"), list) else []
            for metric in metrics.get(task, set()) | {str(m) for m in listed}:
                value = row.get(metric)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(
                        value) > MAX_ABS and math.isfinite(value):  # NaN: verify skips it
                    raise PayloadError(f"{where}.{metric} must be within +-{MAX_ABS:g}, got "
                                       f"{value:.6g}")
            doc_hash = row.get("doc_hash")  # stored with the item (Item.doc_hash)
            if isinstance(doc_hash, str) and _CONTROL.search(doc_hash):
                raise PayloadError(f"{where}.doc_hash must hold no control characters (NUL...), "
                                   f"got {doc_hash!r:.60}")
            doc_id = _count(row.get("doc_id"), f"{where}.doc_id")
            if doc_id is None:
                continue
            key = (doc_id, str(row.get("filter", "none")))
            if key in seen:
                raise PayloadError(f"{where}.doc_id: duplicate sample id {doc_id} (filter "
                                   f"{key[1]!r:.40}), already at samples.{task}[{seen[key]}]")
            seen[key] = k


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


def _judge(model: Any, prompt: Any, where: str) -> JudgeInfo:
    return JudgeInfo(_text(model, "judge_model", f"{where} (judge model)"),
                     _text(prompt, "judge_prompt", f"{where} (judge prompt)"))


def judge_from_samples(rows: list[Mapping[str, Any]], task: str = "") -> JudgeInfo | None:
    """The judge recorded in a task's docs (``doc.judge``: judges.endpoint.JudgeEndpoint)."""
    for row in rows[:1]:
        doc = row.get("doc") if isinstance(row, Mapping) else None
        try:
            judge = JudgeEndpoint.parse(doc.get("judge")) if isinstance(doc, Mapping) else None
        except (ValueError, RecursionError):
            return None
        return _judge(judge.client.model, judge.prompt_id, f"samples.{task}[0].doc.judge"
                      ) if judge else None
    return None


def judge_from_config(task_config: Mapping[str, Any], task: str = "") -> JudgeInfo | None:
    meta = task_config.get("metadata") if isinstance(task_config, Mapping) else None
    if isinstance(meta, Mapping) and meta.get("judge_model"):
        return _judge(meta["judge_model"], meta.get("judge_prompt", "pairwise"),
                      f"results.configs.{task}.metadata")
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
    check_shape(results, config, samples)
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
        if not isinstance(task, str) or not task:
            raise PayloadError(f"results.results: task name {task!r:.80} must be 1-200 chars")
        _text(task, "task", f"results.results: task name {task[:80]!r}")
        version = versions.get(task, "N/A")
        shots = n_shot(results, task)
        chat = chat_template_flag(results, config, task)
        judge = judge_from_samples((samples or {}).get(task) or [], task) or judge_from_config(
            configs.get(task) or {}, task)
        if judge is None and task.startswith("imitation_judge"):
            judge = JudgeInfo("unknown", "unknown")
        primary = primary_key(metrics, declared_primary(results, task))
        out.extend(_task_scores(task, metrics, str(version), shots, chat, judge, harness,
                                hib.get(task) or {}, n_samples.get(task), where,
                                headline=task not in members, primary=primary))
    if not out:  # (the store reads the harness version off the first score)
        raise PayloadError("results.results holds no score: each task reports its metrics as "
                           '"metric,filter": number')
    return out


def _sample_count(metrics: Mapping[str, Any], n_info: Any, key: str, where: str
                  ) -> int | None:
    if isinstance(n_info, Mapping) and isinstance(n_info.get("effective"), int):
        return n_info["effective"]  # checked by check_shape
    counts = metrics.get("sample_count")
    if isinstance(counts, Mapping) and isinstance(counts.get(key), int):
        return _count(counts[key], f"{where}.sample_count.{key}")
    n = metrics.get("sample_len")
    return _count(n, f"{where}.sample_len") if isinstance(n, int) else None


def _higher_is_better(hib: Mapping[str, Any], metric: str) -> bool:
    """A metric's direction; lm-eval writes null for a group whose subtasks disagree and omits it
    for some metrics: both read as higher-is-better, the harness's own default (null was stored
    as lower-is-better, which turned such a group's gap closed upside down)."""
    flag = hib.get(metric)
    return True if flag is None else bool(flag)


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
        _text(metric, "metric", f"{where}: metric name {metric[:60]!r}")
        _text(filt, "filter", f"{where}.{metric}: filter name {filt[:60]!r}")
        value = _number(raw, f"{where}.{key}")
        if value is None:
            continue
        stderr = _number(metrics.get(f"{metric}{STDERR},{filt}"), f"{where}.{metric}_stderr")
        identity = Identity(task, version, shots, chat, judge.model if judge else "",
                            judge.prompt if judge else "", harness, metric, filt)
        n = _sample_count(metrics, n_info, key, where)
        out.append(ParsedScore(identity, value, stderr, n, _higher_is_better(hib, metric),
                               key == primary, headline))
    return out
