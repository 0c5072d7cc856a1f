"""The judge tasks: the model answers held-out prompts; an LLM judge compares each answer with the
teacher's, in both orders (README.md). Referenced from the YAMLs with ``!function utils.<name>``.

How a run goes through lm-eval:

1. ``load_*`` (the ``custom_dataset``, which lm-eval calls before any generation) resolves the
   judge endpoint (``judges.endpoint``: environment or task metadata) and stops the run with
   ``JudgeNotConfigured`` when there is none; each doc carries the resolved settings (never the
   key) in its ``judge`` field.
2. The model generates every answer.
3. The filter :func:`judge_answers` gets all answers at once and judges them as one concurrent
   batch (``judges.judging.judge_run``); each answer is replaced by its verdict record.
4. :func:`process_results` turns a verdict into per-sample items; the aggregations compute the
   run's rates over all of them.

Importing this file does no I/O and builds no client.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from judges.endpoint import JudgeEndpoint, resolve
from judges.judging import (METRICS, judge_run, outcome_metrics, style_controlled_rate,
                            verdict_record)
from judges.pairwise import PairItem

from harness_tasks.aggregation import summary_metric
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.judge import prompt_sets

if TYPE_CHECKING:
    import datasets

SPLIT = "test"
CACHE_FILE = "judge-cache.sqlite"
KOALA_REFERENCE_ENV = "IMITATION_JUDGE_KOALA_REFERENCE"


def _default_settings() -> dict[str, Any]:
    """The task's defaults under the endpoint settings: a persistent reply cache in the suite's
    cache folder, so a re-run or a rescore repeats no judge call."""
    from harness_tasks.presets import cache_root

    return {"cache_path": str(cache_root() / CACHE_FILE)}


def judge_endpoint(metadata: dict[str, Any]) -> JudgeEndpoint:
    """The judge for this run; raises JudgeNotConfigured (a ValueError) when there is none."""
    return resolve(metadata, defaults=_default_settings())


def _dataset(rows_of: Callable[[], list[dict[str, str]]], lite_size: int | None,
             metadata: dict[str, Any]) -> datasets.DatasetDict:
    import datasets

    endpoint = judge_endpoint(metadata)  # first: no judge, no run (and no data read)
    rows = rows_of()
    if lite_size is not None:
        rows = [rows[i] for i in seeded_indices(len(rows), int(lite_size))]
    judge = endpoint.to_json()
    return datasets.DatasetDict({SPLIT: datasets.Dataset.from_list(
        [dict(row, judge=judge) for row in rows])})


def load_koala(lite_size: int | None = None, koala_reference: str | None = None,
               **metadata: Any) -> datasets.DatasetDict:
    """Koala test prompts with teacher answers from ``koala_reference`` (task metadata) or
    $IMITATION_JUDGE_KOALA_REFERENCE; by default AlpacaEval's gpt-3.5-turbo-0301 outputs
    (156 of the 180 prompts). Other metadata: the judge settings (judges.endpoint)."""
    reference = koala_reference or os.environ.get(KOALA_REFERENCE_ENV) or None
    return _dataset(lambda: prompt_sets.koala_rows(reference), lite_size, metadata)


def load_alpaca_eval(lite_size: int | None = None, **metadata: Any) -> datasets.DatasetDict:
    """AlpacaEval's 805 prompts with gpt-3.5-turbo-0301's outputs."""
    return _dataset(prompt_sets.alpaca_eval_rows, lite_size, metadata)


def load_vicuna(lite_size: int | None = None, **metadata: Any) -> datasets.DatasetDict:
    """The 80 Vicuna questions with ChatGPT's (gpt35) answers."""
    return _dataset(prompt_sets.vicuna_rows, lite_size, metadata)


def doc_to_text(doc: dict[str, Any]) -> str:
    """The user's prompt, verbatim: with --apply_chat_template it is the one user turn."""
    return doc["question"]


def judge_answers(resps: Sequence[Sequence[str]],
                  docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filter: judge every answer of the run against its doc's reference, in one batch.

    Docs sharing a judge (all of them, in one task) go out together; each answer becomes its
    verdict record (``judges.judging.verdict_record``).
    """
    answers = [(r[0] if r else "").strip() for r in resps]
    records: list[dict[str, Any] | None] = [None] * len(docs)
    by_judge: dict[JudgeEndpoint, list[int]] = {}
    for i, doc in enumerate(docs):
        judge = JudgeEndpoint.parse(doc["judge"])
        assert judge is not None, "the loader records the judge in every doc"
        by_judge.setdefault(judge, []).append(i)
    for judge, indices in by_judge.items():
        items = [PairItem(docs[i]["id"], docs[i]["question"], answers[i], docs[i]["reference"])
                 for i in indices]
        verdicts, _ = judge_run(items, judge)
        for i, verdict in zip(indices, verdicts):
            records[i] = verdict_record(verdict, answers[i])
    return [r for r in records if r is not None]


OUTCOME_METRICS = tuple(name for name in METRICS if name != "style_controlled_win_rate")


def process_results(doc: dict[str, Any], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-sample items: the outcome for the rates; outcome + both texts for style control."""
    outcome = results[0]["outcome"]
    style_item = {"outcome": outcome, "candidate": results[0]["candidate"],
                  "baseline": doc["reference"]}
    return {**{name: outcome for name in OUTCOME_METRICS},
            "style_controlled_win_rate": style_item}


# Module-level names, because the YAMLs refer to them as ``!function utils.<metric>``.
win_rate = summary_metric(outcome_metrics, "win_rate")
win_or_tie_rate = summary_metric(outcome_metrics, "win_or_tie_rate")
win_rate_ties_half = summary_metric(outcome_metrics, "win_rate_ties_half")
position_inconsistency = summary_metric(outcome_metrics, "position_inconsistency")
unscored = summary_metric(outcome_metrics, "unscored")
unscored_rate = summary_metric(outcome_metrics, "unscored_rate")


def style_controlled_win_rate(items: list[dict[str, str]]) -> float | None:
    return style_controlled_rate([it["outcome"] for it in items],
                                 [it["candidate"] for it in items],
                                 [it["baseline"] for it in items])
