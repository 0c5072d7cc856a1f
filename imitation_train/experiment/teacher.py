"""The teacher's leaderboard rows: what the data measures, then what is published.

- Measured: a style-profile task whose ``metadata.teacher`` is this teacher (e.g.
  ``imitation_style_profile_gpt4`` for ``gpt-4``) carries the teacher's own reply to every prompt
  (``doc["reference"]``), so the teacher's summary-paragraph rate and mean answer length are
  measured on exactly the prompts the models answered. The features that compare a reply with
  the teacher's (lists when the teacher lists, unigram overlap, length correlation) have no
  teacher value without a second sample of the same teacher, which the shared data lacks for
  GPT-4 (0314): those columns show the raw delta only.
- Published: :data:`leaderboard.teachers.PUBLISHED` figures (e.g. MMLU 5-shot and HumanEval
  pass@1 from the GPT-4 technical report), each with its source.
A task with neither has no teacher score, and the page and report show its raw delta only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MEASURED = ("summary_paragraph", "mean_length")


def _task_teacher(config: dict[str, Any], task: str) -> str | None:
    metadata = (config.get("configs", {}).get(task) or {}).get("metadata") or {}
    return metadata.get("teacher") if isinstance(metadata, dict) else None


def _references(folder: Path, task: str) -> list[str]:
    refs: list[str] = []  # imitation-eval's samples_<task>.jsonl, or lm-eval's timestamped one
    paths = [folder / f"samples_{task}.jsonl"] + sorted(folder.glob(f"samples_{task}_2*.jsonl"))
    for path in (p for p in paths if p.is_file()):
        with path.open(encoding="utf-8") as handle:
            refs += [str(json.loads(line)["doc"]["reference"]) for line in handle if line.strip()]
    return refs


def measured_style(teacher: str, folder: Path) -> dict[str, Any] | None:
    """The teacher's own style figures on the style tasks of a results folder (None if the
    folder has no style task against this teacher)."""
    from harness_tasks.factuality.style_profile import features, profile
    from leaderboard.parse import parse_results

    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else None
    scores, sources = [], []
    for parsed in parse_results(results, config):
        ident = parsed.identity
        replies_of = _task_teacher(results, ident.task)
        if ident.metric not in MEASURED or not replies_of or not (
                replies_of == teacher or replies_of.startswith(teacher + "-")):
            continue
        refs = _references(folder, ident.task)
        if not refs:
            continue
        value = profile([features(r, r) for r in refs])[ident.metric]
        if value is None:
            continue
        scores.append({"task": ident.task, "metric": ident.metric, "filter": ident.filter,
                       "value": value, "task_version": ident.task_version,
                       "n_shot": ident.n_shot, "chat_template": ident.chat_template,
                       "harness_version": ident.harness_version,
                       "higher_is_better": parsed.higher_is_better})
        note = f"{ident.task}: {replies_of}'s own replies to the same {len(refs)} prompts"
        if note not in sources:
            sources.append(note)
    if not scores:
        return None
    return {"model": {"name": teacher, "kind": "teacher"}, "measured": True,
            "source": "; ".join(sources)[:500], "scores": scores}


def teacher_rows(teacher: str, folder: Path) -> list[dict[str, Any]]:
    """Publish bodies for the teacher on the columns of ``folder`` (a base model's results)."""
    from leaderboard.push import teacher_body
    from leaderboard.teachers import PUBLISHED

    bodies = []
    measured = measured_style(teacher, folder)
    if measured:
        bodies.append(measured)
    if teacher in PUBLISHED:
        try:
            bodies.append(teacher_body(teacher, folder))
        except ValueError:  # no column of this run has a published figure
            pass
    return bodies
