"""Re-judge the answers of an earlier lm-eval run from its samples file, without regenerating.

lm-eval's ``--log_samples`` writes ``samples_<task>_<timestamp>.jsonl`` and ``imitation-eval``
writes ``samples_<task>.jsonl``; both hold one JSON object per scored example with ``doc_id``,
``doc``, ``resps`` (the raw generations: one list per request) and ``filtered_resps``. This
module reads that format directly (it imports nothing of ``harness_tasks``). From each row:

- the prompt: ``doc["question"]`` (else ``prompt`` / ``instruction``);
- the teacher's answer: ``doc["reference"]`` (else ``output``), or a ``--reference`` file;
- the model's answer: the first raw generation, ``resps[0][0]``;
- the judge the run used: ``doc["judge"]`` (written by the judge task), the default for every
  setting not given on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from judges.answers import load_answers, read_rows
from judges.config import ClientConfig
from judges.endpoint import JudgeEndpoint
from judges.pairwise import PairItem

log = logging.getLogger(__name__)

_NAME = re.compile(r"^samples_(?P<task>.+?)(?:_\d{4}-\d{2}-\d{2}T[0-9.\-]+)?\.jsonl$")
QUESTION_KEYS = ("question", "prompt", "instruction")
REFERENCE_KEYS = ("reference", "output")


@dataclass(frozen=True)
class SampleSet:
    """One samples file: its task, the pairs to judge, and the judge its run used (if known)."""

    task: str
    path: Path
    items: list[PairItem]
    recorded_judge: JudgeEndpoint | None


def task_name(path: Path) -> str:
    """``samples_<task>[_<lm-eval timestamp>].jsonl`` -> ``<task>`` (else the file's stem)."""
    match = _NAME.match(path.name)
    return match.group("task") if match else path.stem


def _first_string(doc: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((doc[k] for k in keys if isinstance(doc.get(k), str)), None)


def _generation(row: Mapping[str, Any]) -> str | None:
    """The first raw generation: ``resps`` is [[text, ...], ...] (one list per request)."""
    resps = row.get("resps")
    while isinstance(resps, list) and resps:
        resps = resps[0]
    return resps if isinstance(resps, str) else None


def _recorded(doc: Mapping[str, Any], where: str) -> JudgeEndpoint | None:
    try:
        return JudgeEndpoint.parse(doc.get("judge"))
    except ValueError as err:
        log.warning("%s: ignoring the recorded judge settings (%s)", where, err)
        return None


def _pair(row: Mapping[str, Any], where: str,
          references: Mapping[str, Any] | None) -> PairItem:
    doc = row["doc"]
    question = _first_string(doc, QUESTION_KEYS)
    key = str(doc.get("id", row["doc_id"]))
    if references is not None:
        match = references.get(key) or (references.get(question) if question else None)
        baseline = match.answer if match else None
    else:
        baseline = _first_string(doc, REFERENCE_KEYS)
    answer = _generation(row)
    for name, value, fix in (
            ("prompt", question, f"doc field {' / '.join(QUESTION_KEYS)}"),
            ("reference answer", baseline, f"doc field {' / '.join(REFERENCE_KEYS)}, or an "
             "entry with this id or prompt in --reference"),
            ("generation", answer, "resps: [[text]]")):
        if value is None:
            raise ValueError(f"{where} (doc id {key}) has no {name}: expected {fix}")
    return PairItem(key, str(question), str(answer).strip(), str(baseline))


def read_samples(path: Path, reference: Path | None = None,
                 limit: int | None = None) -> SampleSet:
    """The pairs of a samples file, one per doc (rows repeated per lm-eval filter count once).

    ``reference``: an answer file (``judges.answers`` format) whose answers, joined on the doc's
    ``id`` (else the prompt), replace the docs' references.
    """
    references = load_answers(reference) if reference else None
    items: list[PairItem] = []
    seen: set[Any] = set()
    recorded: JudgeEndpoint | None = None
    for number, row in enumerate(read_rows(path), 1):
        where = f"{path}: row {number}"
        if not isinstance(row.get("doc"), dict) or "doc_id" not in row:
            raise ValueError(f"{where} is not an lm-eval sample (needs doc_id and doc); pass a "
                             "samples_<task>*.jsonl file written with --log_samples")
        if row["doc_id"] in seen:
            continue
        seen.add(row["doc_id"])
        items.append(_pair(row, where, references))
        recorded = recorded or _recorded(row["doc"], where)
        if limit and len(items) >= limit:
            break
    if not items:
        raise ValueError(f"{path}: no samples")
    return SampleSet(task_name(path), path, items, recorded)


def endpoint_for(recorded: JudgeEndpoint | None, given: Mapping[str, Any],
                 prompt: str | None) -> JudgeEndpoint:
    """Client settings: given (flags, then the YAML under them) > the run's recorded judge >
    ClientConfig's defaults. Prompt: given > recorded > ``pairwise``."""
    from judges.templates import load_prompt

    values = dataclasses.asdict(recorded.client) if recorded else {}
    values.update(given)
    prompt = prompt or (recorded.prompt if recorded else "pairwise")
    return JudgeEndpoint(ClientConfig(**values), prompt, load_prompt(prompt).id)


def task_report(sample_set: SampleSet, verdicts: list[Any], seed: int,
                both_orders: bool = True) -> dict[str, Any]:
    """The task's metrics (as in the lm-eval run) and the details: intervals, style effect.

    Judged in one order only, the position-inconsistency rate is unknown (None), not 0.
    """
    from judges.judging import run_metrics
    from judges.metrics import style_controlled, win_rates
    from judges.pairwise import summarize_pairs

    outcomes = [v.outcome for v in verdicts]
    candidates = [it.candidate for it in sample_set.items]
    baselines = [it.baseline for it in sample_set.items]
    style = style_controlled(outcomes, candidates, baselines, seed=seed)
    metrics = run_metrics(outcomes, candidates, baselines)
    if not both_orders:
        metrics["position_inconsistency"] = None
    return {"samples": str(sample_set.path), "metrics": metrics,
            **summarize_pairs(verdicts),
            "win_rates": dataclasses.asdict(win_rates(outcomes, seed=seed)),
            "style_control": dataclasses.asdict(style) if style else None}


def write_verdicts(path: Path, sample_set: SampleSet, verdicts: list[Any]) -> None:
    from judges.judging import verdict_record

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for item, verdict in zip(sample_set.items, verdicts):
            record = {"id": item.id, **verdict_record(verdict, item.candidate)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
