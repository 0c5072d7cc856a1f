"""Teachers' published numbers, placed on the columns of a suite run.

A teacher behind an API (ChatGPT in Gudibande et al. 2023) is often known only through its
reports. Each figure below names its source; :func:`teacher_payload` puts it on the columns
(task, version, shots, chat template, harness) that a given results folder has for the same
task family and metric, so that the page can set the run next to the teacher. The row is stored
as "published" and the page names the source: it is never presented as measured by the suite.
A lite or demo task is a seeded sample of the full set, so a full-set figure is an estimate of
the teacher's score on it; the source text says which set the figure is from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GPT4_REPORT = "OpenAI (2023), GPT-4 Technical Report, Table 2, GPT-3.5 column"
GPT4_REPORT_GPT4 = "OpenAI (2023), GPT-4 Technical Report, Table 2, GPT-4 column"
PAPER = "Gudibande et al. (2023), The False Promise of Imitating Proprietary LLMs"


@dataclass(frozen=True)
class Figure:
    family: str  # the full task's name; lite/demo variants match it
    metric: str
    value: float
    source: str


PUBLISHED: dict[str, tuple[Figure, ...]] = {
    "gpt-3.5-turbo": (
        Figure("imitation_mmlu", "acc", 0.700, f"{GPT4_REPORT}: MMLU 5-shot 70.0% (full test)"),
        Figure("imitation_humaneval", "pass@1", 0.481,
               f"{GPT4_REPORT}: HumanEval 0-shot pass@1 48.1% (164 problems)"),
        Figure("imitation_nq_open_0shot", "exact_match", 0.31,
               f"{PAPER}: NQ closed-book accuracy, ChatGPT 31%"),
        Figure("imitation_style_profile", "list_when_teacher_lists", 83.0,
               f"{PAPER}, Table 2: a second ChatGPT sample against the first (its ceiling): "
               "lists 83%, summary paragraph 55%, unigram overlap 49.2, length r 0.67 "
               "(their held-out prompts, not AlpacaEval's)"),
        Figure("imitation_style_profile", "summary_paragraph", 55.0, f"{PAPER}, Table 2"),
        Figure("imitation_style_profile", "unigram_overlap", 49.2, f"{PAPER}, Table 2"),
        Figure("imitation_style_profile", "length_pearson", 0.67, f"{PAPER}, Table 2"),
    ),
    # the teacher of the Alpaca-GPT4 imitation records (imitation-train experiment's default)
    "gpt-4": (
        Figure("imitation_mmlu", "acc", 0.864, f"{GPT4_REPORT_GPT4}: MMLU 5-shot 86.4% (full test)"),
        Figure("imitation_humaneval", "pass@1", 0.670,
               f"{GPT4_REPORT_GPT4}: HumanEval 0-shot pass@1 67.0% (164 problems)"),
    ),
}

_VARIANT = re.compile(r"_(lite|demo)$")


def family(task: str) -> str:
    """``imitation_mmlu_lite`` -> ``imitation_mmlu``; a subject task keeps its own name."""
    return _VARIANT.sub("", task)


def teacher_payload(teacher: str, results: Mapping[str, Any],
                    config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``imitation-leaderboard publish`` body for ``teacher`` on the columns of one run."""
    from leaderboard.parse import parse_results

    figures = PUBLISHED.get(teacher)
    if figures is None:
        raise ValueError(f"no published numbers for teacher {teacher!r}; known: "
                         f"{', '.join(sorted(PUBLISHED))} (or write a file for `publish FILE`)")
    by_key = {(f.family, f.metric): f for f in figures}
    scores, sources = [], []
    for parsed in parse_results(results, config):
        ident = parsed.identity
        figure = by_key.get((family(ident.task), ident.metric))
        if figure is None or ident.judge_model:
            continue
        scores.append({"task": ident.task, "metric": ident.metric, "filter": ident.filter,
                       "value": figure.value, "task_version": ident.task_version,
                       "n_shot": ident.n_shot, "chat_template": ident.chat_template,
                       "harness_version": ident.harness_version,
                       "higher_is_better": parsed.higher_is_better})
        if figure.source not in sources:
            sources.append(figure.source)
    if not scores:
        raise ValueError(f"the run has no column with a published {teacher} figure (families: "
                         f"{', '.join(sorted({f.family for f in figures}))})")
    return {"model": {"name": teacher, "kind": "teacher"},
            "source": "; ".join(sources)[:500], "scores": scores}
