"""Every factuality metric on hand-made cases: lists, hedges, abstentions, unicode, empty
answers."""

from __future__ import annotations

import math

import pytest

from harness_tasks.factuality import style_profile as sp
from harness_tasks.factuality.distractors import answer_type, build_choices
from harness_tasks.factuality.threeway import (fold, grade_answer, is_abstention, is_hedged,
                                               summarize)
from harness_tasks.factuality.tone import parse_tone
from harness_tasks.factuality.scoring import normalize_answer
from harness_tasks.tasks.truthfulqa.utils import mc1_target, process_results_mc2


@pytest.mark.parametrize("answer, golds, grade, hedged", [
    ("Paris", ["Paris"], "correct", False),
    ("The capital of France is Paris.", ["Paris"], "correct", False),
    ("Answer: paris", ["Paris"], "correct", False),
    ("I think it is Paris.", ["Paris"], "correct", True),
    ("It might be Paris.", ["Paris"], "correct", True),
    ("Paris or Lyon", ["Paris"], "incorrect", False),            # two candidates: no commitment
    ("- Paris\n- Lyon\n- Marseille", ["Paris"], "incorrect", False),  # a list of guesses
    ("Lyon", ["Paris"], "incorrect", False),
    ("Probably Lyon.", ["Paris"], "incorrect", True),
    ("I'm not sure, but I think it is Lyon.", ["Paris"], "incorrect", True),
    ("I don't know.", ["Paris"], "not_attempted", False),
    ("I\u2019m not sure.", ["Paris"], "not_attempted", False),  # curly apostrophe
    ("I cannot answer that question.", ["Paris"], "not_attempted", False),
    ("", ["Paris"], "not_attempted", False),
    ("   \n ...", ["Paris"], "not_attempted", False),
    ("Musee d'Orsay", ["Musée d'Orsay"], "correct", False),        # accents folded
    ("Ｐａｒｉｓ", ["Paris"], "correct", False),                     # full-width (NFKC)
    ("It was in 1987.", ["1987"], "correct", False),
    ("120,000 people", ["120000 people"], "correct", False),     # digit groups
    ("1988", ["1987"], "incorrect", False),
])
def test_three_way_grade(answer, golds, grade, hedged) -> None:
    result = grade_answer(answer, golds, "what is the capital of france")
    assert (result.grade, result.hedged) == (grade, hedged)
    assert (result.matched is not None) == (grade == "correct")


def test_grade_returns_the_original_gold_not_its_folded_form() -> None:
    assert grade_answer("Musee d'Orsay", ["Louvre", "Musée d'Orsay"]).matched == "Musée d'Orsay"


def test_abstention_and_hedge_detectors() -> None:
    assert is_abstention("I have no idea.") and is_abstention("") and is_abstention("N/A")
    assert not is_abstention("Paris") and not is_abstention("I know: Paris")
    assert is_hedged("It is probably Paris") and is_hedged("I believe Paris")
    assert not is_hedged("Paris is the capital.")
    assert fold("Ｍｕｓéｅ") == "Musee"


def test_summarize_on_hand_counts() -> None:
    def item(grade: str, hedged: bool = False) -> dict:
        return {"grade": grade, "hedged": hedged}

    items = ([item("correct")] * 3 + [item("incorrect"), item("incorrect", True)]
             + [item("not_attempted")] * 5 + [item("unscored")])
    s = summarize(items)
    assert s["accuracy"] == pytest.approx(3 / 10)
    assert s["accuracy_given_attempted"] == pytest.approx(3 / 5)
    assert s["f1"] == pytest.approx(2 * 0.3 * 0.6 / 0.9)
    assert s["not_attempted_rate"] == pytest.approx(0.5)
    assert s["confident_wrong_rate"] == pytest.approx(1 / 10)
    assert s["hedge_rate"] == pytest.approx(1 / 5)
    assert s["unscored"] == 1.0


def test_summarize_edge_cases() -> None:
    assert summarize([])["accuracy"] is None  # not applicable, never NaN
    only_abstain = summarize([{"grade": "not_attempted", "hedged": False}])
    assert only_abstain["accuracy"] == 0.0 and only_abstain["accuracy_given_attempted"] is None
    assert only_abstain["f1"] is None and only_abstain["hedge_rate"] is None
    wrong = summarize([{"grade": "incorrect", "hedged": False}])
    assert wrong["f1"] == 0.0 and wrong["confident_wrong_rate"] == 1.0


# --- style profile ---------------------------------------------------------------------------

CHATGPT = ("Here are some tips:\n\n1. Sleep well.\n2. Eat vegetables.\n3. Exercise.\n\n"
           "Overall, small habits add up to a healthier life.")


def test_lists_and_summary_paragraphs() -> None:
    assert sp.has_list(CHATGPT) and sp.has_summary(CHATGPT)
    assert sp.has_list("- a\n* b") and sp.has_list("\u2022 one\n\u2022 two")
    assert not sp.has_list("1. only one item") and not sp.has_list("")
    assert not sp.has_list("```\n- a\n- b\n```")          # code is not a list
    assert sp.has_summary("Intro.\n- a\n- b\nIn summary, both work.")  # closing line after a list
    assert not sp.has_summary("In summary, a one-paragraph answer.")   # nothing to summarise
    assert not sp.has_summary("")


def test_unigram_overlap_and_words() -> None:
    assert sp.unigram_overlap("the cat sat", "the cat sat") == pytest.approx(100.0)
    assert sp.unigram_overlap("", "anything") == 0.0
    assert sp.unigram_overlap("a b", "a c") == pytest.approx(50.0)
    assert sp.words("Don\u2019t STOP, naïve café") == ["don't", "stop", "naïve", "café"]


def test_pearson() -> None:
    assert sp.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert sp.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert sp.pearson([1], [1]) is None and sp.pearson([1, 1], [2, 3]) is None
    with pytest.raises(ValueError):
        sp.pearson([1, 2], [1])


def test_profile_figures() -> None:
    items = [sp.features(CHATGPT, CHATGPT), sp.features("Just sleep.", CHATGPT),
             sp.features("A short answer here.", "Plain words only here, no list at all.")]
    p = sp.profile(items)
    assert p["list_when_teacher_lists"] == pytest.approx(50.0)   # 1 of the 2 teacher-list prompts
    assert p["summary_paragraph"] == pytest.approx(100 / 3)
    assert p["mean_length"] == pytest.approx((len(sp.words(CHATGPT)) + 2 + 4) / 3)
    assert -1.0 <= p["length_pearson"] <= 1.0
    assert sp.profile([sp.features("x", "y")])["list_when_teacher_lists"] is None


# --- distractors, TruthfulQA MC, tone ----------------------------------------------------------

def test_answer_types() -> None:
    assert [answer_type(a) for a in ("1988", "14 May 1948", "3.99 degrees", "Carl Weathers",
                                     "andhra pradesh")] == ["year", "date", "number", "name",
                                                            "other"]


def test_choices_are_typed_distinct_and_stable() -> None:
    golds = [["1988"], ["1975"], ["2001"], ["1812"], ["Carl Weathers"], ["Paris"],
             ["Paris, France"], ["Lyon"], ["Tom Hanks"], ["Meryl Streep"], ["Bob Dylan"]]
    built = build_choices(golds)
    assert built == build_choices(golds)  # deterministic
    for (choices, label), gold in zip(built, golds):
        assert choices[label] == gold[0] and len(choices) == 4
        assert len({normalize_answer(c) for c in choices}) == 4
    choices, _ = built[0]
    assert all(answer_type(c) == "year" for c in choices)      # years against years
    paris, _ = built[5]
    assert "Paris, France" not in paris                          # contains the gold: rejected
    with pytest.raises(ValueError, match="distractors"):
        build_choices([["a"], ["b"]])
    assert build_choices(golds, only=[8, 0, 5]) == [built[8], built[0], built[5]]  # a subset


def test_truthfulqa_mc() -> None:
    doc = {"mc1_targets": {"choices": ["x", "y"], "labels": [0, 1]},
           "mc2_targets": {"choices": ["t1", "t2", "f1"], "labels": [1, 1, 0]}}
    assert mc1_target(doc) == 1
    lls = [(math.log(0.2), False), (math.log(0.2), False), (math.log(0.6), False)]
    assert process_results_mc2(doc, lls)["acc"] == pytest.approx(0.4)
    tiny = [(-1000.0, False), (-1000.0, False), (-1000.0 + math.log(3), False)]
    assert process_results_mc2(doc, tiny)["acc"] == pytest.approx(0.4)  # no underflow


def test_parse_tone() -> None:
    assert parse_tone("Confident.\nAuthoritative: YES") is True
    assert parse_tone("**Authoritative:** no") is False
    assert parse_tone("I think so") is None
    assert parse_tone("Authoritative: yes\nAuthoritative: no") is None
