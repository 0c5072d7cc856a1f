"""NQ-open three-way graded, knowledge versus format (NQ as choices) and the style profile.

Referenced from the task YAMLs with ``!function utils.<name>``; the scoring lives in
``harness_tasks.factuality`` (README.md). Importing this file does no I/O and builds no client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness_tasks.factuality import shortform, style_profile
from harness_tasks.factuality.distractors import build_choices
from harness_tasks.factuality.llm_grading import optional_endpoint
from harness_tasks.aggregation import summary_metric
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.nq_open import utils as nq
from judges.endpoint import JudgeEndpoint

if TYPE_CHECKING:
    import datasets

SPLIT = "test"


def _nq_rows() -> list[dict[str, Any]]:
    dev = nq.load_nq_open()[nq.SPLIT]
    return [{"id": f"nq-{i}", "question": r["question"], "answer": list(r["answer"])}
            for i, r in enumerate(dev)]


def _subset(rows: list[dict[str, Any]], lite_size: int | None) -> list[dict[str, Any]]:
    if lite_size is None:
        return rows
    return [rows[i] for i in seeded_indices(len(rows), int(lite_size))]


def _dataset(rows: list[dict[str, Any]]) -> datasets.DatasetDict:
    import datasets

    return datasets.DatasetDict({SPLIT: datasets.Dataset.from_list(rows)})


def load_nq_graded(lite_size: int | None = None, **metadata: Any) -> datasets.DatasetDict:
    """NQ-open dev for three-way grading (optional judge settings in ``judge_*`` metadata)."""
    return _dataset(shortform.with_judge(_subset(_nq_rows(), lite_size), metadata))


def load_nq_choice(lite_size: int | None = None, **_: Any) -> datasets.DatasetDict:
    """NQ-open dev with 4 choices each (``choices``, ``label``), drawn on the full dev set."""
    rows = _nq_rows()
    keep = list(range(len(rows))) if lite_size is None else \
        seeded_indices(len(rows), int(lite_size))
    built = build_choices([r["answer"] for r in rows], only=keep)  # only the rows kept
    for i, (choices, label) in zip(keep, built):
        rows[i].update(choices=choices, label=label)
    return _dataset([rows[i] for i in keep])


def doc_to_text_choice(doc: Mapping[str, Any]) -> str:
    """The closed-book prompt of imitation_nq_open_0shot; the choices are its continuations."""
    return nq.doc_to_text(dict(doc))


# --- style profile ---------------------------------------------------------------------------

def load_style_prompts(lite_size: int | None = None, teacher: str = "gpt-3.5-turbo-0301",
                       **metadata: Any) -> datasets.DatasetDict:
    """AlpacaEval's 805 prompts with ``teacher``'s replies (``reference``; gpt-3.5-turbo-0301,
    the paper's ChatGPT, unless the task names another); the judge settings, when configured,
    for the authoritative-tone rating."""
    from harness_tasks.tasks.judge.prompt_sets import alpaca_eval_rows

    rows = [{"id": r["id"], "question": r["question"], "reference": r["reference"]}
            for r in alpaca_eval_rows(teacher)]
    rows = _subset(rows, lite_size)
    endpoint = optional_endpoint(metadata)
    judge = endpoint.to_json() if endpoint else ""
    return _dataset([dict(r, judge=judge) for r in rows])


def doc_to_text_open(doc: Mapping[str, Any]) -> str:
    """The prompt verbatim (with --apply_chat_template, the one user turn)."""
    return str(doc["question"])


def style_answers(resps: Sequence[Sequence[str]],
                  docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Filter: the style features of every answer; the tone rating when there is a judge."""
    from harness_tasks.factuality.tone import rate_tone

    answers = [(r[0] if r else "").strip() for r in resps]
    records = [dict(style_profile.features(a, str(d["reference"])), answer=a, tone=None)
               for a, d in zip(answers, docs)]
    endpoints = [JudgeEndpoint.parse(d.get("judge")) for d in docs]
    judged = [i for i, endpoint in enumerate(endpoints) if endpoint is not None]
    if judged:
        tones = rate_tone([str(docs[i]["question"]) for i in judged],
                          [answers[i] for i in judged], endpoints[judged[0]])
        for i, tone in zip(judged, tones):
            records[i]["tone"] = tone
    return records


STYLE_METRICS = ("list_when_teacher_lists", "summary_paragraph", "unigram_overlap",
                 "length_pearson", "mean_length", "authoritative_tone")


def process_results_style(doc: Mapping[str, Any], results: Sequence[Mapping[str, Any]]
                          ) -> dict[str, Any]:
    """One item per answer under every metric; ``authoritative_tone`` only when the doc has a
    judge (without one the metric does not apply, so the run does not report it)."""
    item = {k: v for k, v in results[0].items() if k != "answer"}
    return {name: item for name in STYLE_METRICS
            if name != "authoritative_tone" or doc.get("judge")}


list_when_teacher_lists = summary_metric(style_profile.profile, "list_when_teacher_lists")
summary_paragraph = summary_metric(style_profile.profile, "summary_paragraph")
unigram_overlap = summary_metric(style_profile.profile, "unigram_overlap")
length_pearson = summary_metric(style_profile.profile, "length_pearson")
mean_length = summary_metric(style_profile.profile, "mean_length")


def authoritative_tone(items: list[Mapping[str, Any]]) -> float | None:
    """% of judge-rated answers with an authoritative tone; None (not applicable) when the
    judge rated none (a run without a judge does not report the metric at all)."""
    rated = [it["tone"] for it in items if it.get("tone") is not None]
    return 100 * sum(rated) / len(rated) if rated else None
