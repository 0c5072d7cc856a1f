"""A metric that cannot be computed in a run is left out (it can never apply, e.g. no judge) or
None ("not applicable"; null in results.json), never NaN or infinite: the leaderboard refuses
non-finite numbers, so one NaN used to fail the whole push.

Hand-made cases for every aggregation of the suite's own tasks that can meet an empty
denominator, plus exhaustive sweeps over small runs (every combination of up to 3 items).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from harness_tasks.factuality import shortform
from harness_tasks.factuality import style_profile as sp
from harness_tasks.factuality.threeway import summarize
from harness_tasks.tasks.factuality import utils as factuality
from harness_tasks.tasks.judge import utils as judge
from harness_tasks.tasks.truthfulqa import utils as truthfulqa

JUDGE = '{"client": {"model": "m"}}'  # what a doc carries when a judge is configured


def _none_or_finite(values: dict[str, Any]) -> None:
    for name, value in values.items():
        assert value is None or (isinstance(value, (int, float)) and math.isfinite(value)), (
            name, value)


def _grade_record(grade: str, grader: str = "deterministic", det: str | None = None) -> dict:
    return {"grade": grade, "hedged": False, "deterministic_grade": det or grade,
            "grader": grader}


# --- three-way graded (SimpleQA, NQ graded) ----------------------------------------------------

def test_no_judge_leaves_grader_agreement_out() -> None:
    out = shortform.process_results({"judge": ""}, [_grade_record("correct")])
    assert "grader_agreement" not in out and "llm_graded" in out
    assert set(out) == set(shortform.METRICS) - {"grader_agreement"}


def test_judge_reports_grader_agreement_and_none_when_nothing_scored() -> None:
    items = [shortform.process_results({"judge": JUDGE}, [_grade_record(g, "llm:m@factual", d)])
             for g, d in (("unscored", "correct"), ("unscored", "incorrect"))]
    assert all("grader_agreement" in it for it in items)
    agreement = [it["grader_agreement"] for it in items]
    assert shortform.grader_agreement(agreement) is None  # a judge, but every answer unscored
    assert shortform.llm_graded(agreement) == 1.0
    for name in ("accuracy", "accuracy_given_attempted", "f1", "not_attempted_rate",
                 "confident_wrong_rate", "hedge_rate"):
        assert shortform.AGGREGATIONS[name](agreement) is None, name
    assert shortform.unscored(agreement) == 2.0


def test_grader_agreement_counts_scored_llm_grades_only() -> None:
    items = [{"grade": "correct", "deterministic_grade": "correct", "llm": True},
             {"grade": "incorrect", "deterministic_grade": "correct", "llm": True},
             {"grade": "unscored", "deterministic_grade": "correct", "llm": True}]
    assert shortform.grader_agreement(items) == pytest.approx(0.5)


def test_nothing_attempted_is_not_applicable() -> None:
    s = summarize([{"grade": "not_attempted", "hedged": False}] * 3)
    assert s["accuracy"] == 0.0 and s["not_attempted_rate"] == 1.0
    assert s["accuracy_given_attempted"] is None and s["f1"] is None
    assert s["hedge_rate"] is None


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_summarize_is_never_nan(n: int) -> None:
    grades = ("correct", "incorrect", "not_attempted", "unscored")
    for combo in itertools.product(itertools.product(grades, (False, True)), repeat=n):
        _none_or_finite(summarize([{"grade": g, "hedged": h} for g, h in combo]))


# --- style profile -----------------------------------------------------------------------------

def test_no_judge_leaves_authoritative_tone_out() -> None:
    record = dict(sp.features("An answer.", "A reference."), answer="An answer.", tone=None)
    out = factuality.process_results_style({"judge": ""}, [record])
    assert "authoritative_tone" not in out
    assert set(out) == set(factuality.STYLE_METRICS) - {"authoritative_tone"}
    judged = factuality.process_results_style({"judge": JUDGE}, [record])
    assert set(judged) == set(factuality.STYLE_METRICS)


def test_authoritative_tone_none_when_no_answer_was_rated() -> None:
    assert factuality.authoritative_tone([{"tone": None}, {"tone": None}]) is None
    assert factuality.authoritative_tone([{"tone": True}, {"tone": None},
                                          {"tone": False}]) == pytest.approx(50.0)


def test_style_profile_undefined_figures_are_none() -> None:
    one = [sp.features("Short.", "Plain reference.")]
    p = sp.profile(one)
    assert p["length_pearson"] is None  # one answer: r is undefined
    assert p["list_when_teacher_lists"] is None  # the teacher never lists
    assert p["mean_length"] == 1.0 and p["summary_paragraph"] == 0.0
    same_length = [sp.features("one two", "a b c"), sp.features("three four", "d e f g")]
    assert sp.profile(same_length)["length_pearson"] is None  # constant lengths
    assert all(v is None for v in sp.profile([]).values())
    assert factuality.length_pearson(one) is None and factuality.mean_length(one) == 1.0


def test_style_profile_is_never_nan() -> None:
    texts = ("", "One.", "Two words.", "- a\n- b", "Intro.\n\n- a\n- b\n\nOverall, fine.")
    for n in (1, 2, 3):
        for combo in itertools.product(texts, repeat=n):
            for refs in (combo, tuple(reversed(combo))):
                _none_or_finite(sp.profile([sp.features(a, r) for a, r in zip(combo, refs)]))


# --- TruthfulQA generation ---------------------------------------------------------------------

def test_truthfulqa_rates_none_when_nothing_scored() -> None:
    grades = ["unscored", "unscored"]
    assert truthfulqa.truthful(grades) is None
    assert truthfulqa.truthful_informative(grades) is None
    assert truthfulqa.untruthful(grades) is None
    assert truthfulqa.unscored(grades) == 2.0
    assert truthfulqa.truthful(["correct", "not_attempted", "incorrect", "unscored"]) == (
        pytest.approx(2 / 3))


# --- judge tasks (pairwise win rates) ----------------------------------------------------------

def test_judge_rates_none_when_every_pair_is_unscored() -> None:
    outcomes = ["unscored", "unscored"]
    for name in ("win_rate", "win_or_tie_rate", "win_rate_ties_half", "position_inconsistency"):
        assert getattr(judge, name)(outcomes) is None, name
    assert judge.unscored(outcomes) == 2 and judge.unscored_rate(outcomes) == 1.0
    items = [{"outcome": o, "candidate": "an answer", "baseline": "the teacher's answer"}
             for o in outcomes]
    assert judge.style_controlled_win_rate(items) is None


def test_judge_rates_are_never_nan() -> None:
    outcomes = ("win", "loss", "tie", "inconsistent", "unscored")
    candidates = ("", "Short.", "# Title\n\n- a\n- b\n\n**bold** and a longer answer here.")
    for n in (1, 2, 3):
        for combo in itertools.product(outcomes, repeat=n):
            for text in candidates:
                items = [{"outcome": o, "candidate": text, "baseline": "A plain reference."}
                         for o in combo]
                values = {name: getattr(judge, name)(list(combo))
                          for name in judge.OUTCOME_METRICS}
                values["style_controlled_win_rate"] = judge.style_controlled_win_rate(items)
                _none_or_finite(values)
