"""The lm-eval plumbing shared by the three-way graded short-answer tasks (SimpleQA, NQ-open
graded) and TruthfulQA generation.

1. The loader attaches the judge's record (``JudgeEndpoint.to_json``: settings, never the key)
   to every doc, or "" when no judge is configured: :func:`with_judge`.
2. The model answers every question.
3. The filter :func:`grade_answers` grades the whole run at once: deterministically
   (``threeway.grade_answer``), and, when the docs carry a judge, with the LLM factual grader
   in one concurrent, cached batch. The grade that counts is the LLM's when there is a judge;
   the deterministic grade is kept next to it, so the run also reports their agreement.
4. :func:`process_results` makes one item per answer; the aggregations in
   :data:`AGGREGATIONS` compute the run's figures (``threeway.summarize``), ``llm_graded``
   (1.0: graded by the LLM judge, 0.0: by the deterministic grader) and ``grader_agreement``.

A figure that cannot be computed is never NaN: ``grader_agreement`` is left out of a run
without a judge (there is nothing to agree with), and a figure whose denominator is 0 in this
run (e.g. ``accuracy_given_attempted`` with nothing attempted, or every rate when the judge
scored no answer) is None, which lm-eval writes as null and the leaderboard reads as "not
applicable".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness_tasks.aggregation import summary_metric
from harness_tasks.factuality.llm_grading import grade_with_llm, grader_name, optional_endpoint
from harness_tasks.factuality.threeway import grade_answer, is_hedged, summarize
from judges.endpoint import JudgeEndpoint

log = logging.getLogger(__name__)

INSTRUCTION = ("Answer the question with a short answer (a name, date, number or phrase). "
               "If you do not know the answer, say \"I don't know\".")
GOLD_SEPARATOR = " / "


def with_judge(rows: list[dict[str, Any]], metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows with a ``judge`` field: the configured judge's record, or "" (none)."""
    endpoint = optional_endpoint(metadata)
    log.info("three-way grader: %s", grader_name(endpoint))
    record = endpoint.to_json() if endpoint else ""
    return [dict(row, judge=record) for row in rows]


def doc_to_text(doc: Mapping[str, Any]) -> str:
    question = str(doc["question"]).strip()
    question = question[:1].upper() + question[1:]
    return f"{INSTRUCTION}\n\nQuestion: {question}{'' if question.endswith('?') else '?'}\nAnswer:"


def grade_answers(resps: Sequence[Sequence[str]],
                  docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Filter: one grade record per answer (see the module docstring)."""
    answers = [(r[0] if r else "").strip() for r in resps]
    records = []
    for answer, doc in zip(answers, docs):
        det = grade_answer(answer, list(doc["answer"]), str(doc["question"]))
        records.append({"answer": answer, "grade": det.grade, "hedged": det.hedged,
                        "deterministic_grade": det.grade, "matched": det.matched,
                        "grader": "deterministic", "judge_text": None})
    by_judge: dict[JudgeEndpoint, list[int]] = {}
    for i, doc in enumerate(docs):
        endpoint = JudgeEndpoint.parse(doc.get("judge"))
        if endpoint is not None:
            by_judge.setdefault(endpoint, []).append(i)
    for judge, indices in by_judge.items():
        llm = grade_with_llm([str(docs[i]["question"]) for i in indices],
                             [GOLD_SEPARATOR.join(docs[i]["answer"]) for i in indices],
                             [answers[i] for i in indices], judge)
        for i, result in zip(indices, llm):
            records[i].update(grade=result["grade"], grader=grader_name(judge),
                              judge_text=result["judge_text"],
                              unscored_reason=result["unscored_reason"],
                              hedged=is_hedged(answers[i]) if result["grade"] != "not_attempted"
                              else False)
    return records


METRICS = ("accuracy", "accuracy_given_attempted", "f1", "not_attempted_rate",
           "confident_wrong_rate", "hedge_rate", "unscored", "llm_graded", "grader_agreement")


def process_results(doc: Mapping[str, Any], results: Sequence[Mapping[str, Any]]
                    ) -> dict[str, Any]:
    """One item per answer under every metric; ``grader_agreement`` only when the doc has a
    judge (without one the metric does not apply, so the run does not report it)."""
    record = results[0]
    item = {"grade": record["grade"], "hedged": bool(record["hedged"]),
            "deterministic_grade": record["deterministic_grade"],
            "llm": record["grader"] != "deterministic"}
    return {name: item for name in METRICS if name != "grader_agreement" or doc.get("judge")}


def llm_graded(items: list[Mapping[str, Any]]) -> float | None:
    """Share of answers graded by the LLM judge (0.0: all by the deterministic grader)."""
    return sum(1 for it in items if it["llm"]) / len(items) if items else None


def grader_agreement(items: list[Mapping[str, Any]]) -> float | None:
    """Share of LLM-graded (scored) answers whose deterministic grade is the same; None (not
    applicable) when the judge scored none."""
    both = [it for it in items if it["llm"] and it["grade"] != "unscored"]
    if not both:
        return None
    return sum(1 for it in both if it["grade"] == it["deterministic_grade"]) / len(both)


AGGREGATIONS: dict[str, Callable[[list[Mapping[str, Any]]], float | None]] = {
    **{name: summary_metric(summarize, name) for name in METRICS[:7]},
    "llm_graded": llm_graded, "grader_agreement": grader_agreement}

# Module-level names for the graded template's ``!function
# harness_tasks.factuality.shortform.<name>`` (harness_tasks/tasks/_graded_template.yaml).
accuracy = AGGREGATIONS["accuracy"]
accuracy_given_attempted = AGGREGATIONS["accuracy_given_attempted"]
f1 = AGGREGATIONS["f1"]
not_attempted_rate = AGGREGATIONS["not_attempted_rate"]
confident_wrong_rate = AGGREGATIONS["confident_wrong_rate"]
hedge_rate = AGGREGATIONS["hedge_rate"]
unscored = AGGREGATIONS["unscored"]
