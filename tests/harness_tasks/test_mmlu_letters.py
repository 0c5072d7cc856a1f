"""Scoring functions of the MMLU tasks: letter extraction (generative) and acc/acc_macro."""

from __future__ import annotations

import pytest

from harness_tasks.tasks.mmlu.utils import (
    extract_letter,
    extract_letters,
    process_results_gen,
    process_results_mc,
)

CHOICES = ["London", "Paris", "Rome", "Berlin"]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        (" b", "B"),
        ("The answer is B.", "B"),
        ("(C)", "C"),
        ("**D**", "D"),
        ("Answer: a", "A"),
        ("answer: d", "D"),
        ("'B'", "B"),
        ("[D]", "D"),
        ("B. Paris", "B"),
        ("A) London", "A"),
        ("C\nbecause Rome is the capital", "C"),
        ("D is correct.", "D"),
        ("**Answer:** B", "B"),
        ("The correct option is C)", "C"),
        ("Option B", "B"),
        ("The answer is: **C. Rome**", "C"),
        ("A is wrong, the answer is C.", "C"),
        ("I think (C) is right.", "C"),
        ("Paris", "B"),  # the text of exactly one choice
        ("paris.", "B"),
        # a base model that keeps writing after its answer: the first answer counts
        (" B\n\nWhich city...\nA. x\nB. y\nC. z\nD. w\nAnswer: C", "B"),
    ],
)
def test_extract_letter_reads_the_answer(reply, letter):
    assert extract_letter(reply, CHOICES) == letter


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        "I don't know.",
        "A cat is not a city.",  # an opening article is not a label
        "The answer is a bit tricky.",
        "The answer is B or C.",  # hedging between letters
        "Answer: B/C",
        "Between (A) and (B), I pick (B).",  # two marked letters
        "Madrid",
        "E",
    ],
)
def test_extract_letter_gives_none_when_unclear(reply):
    assert extract_letter(reply, CHOICES) is None


def test_extract_letter_without_choices():
    assert extract_letter("Paris") is None
    assert extract_letter("The answer is D") == "D"


def test_extract_letters_filter_shape():
    docs = [{"choices": CHOICES}, {"choices": CHOICES}]
    assert extract_letters([["(A)"], ["no idea", "Rome"]], docs) == [["A"], ["", "C"]]


@pytest.mark.parametrize(
    ("letter", "expected"),
    [
        ("B", {"acc": 1.0, "acc_macro": 1.0, "unscored": 0.0}),
        ("C", {"acc": 0.0, "acc_macro": 0.0, "unscored": 0.0}),
        ("", {"acc": 0.0, "acc_macro": 0.0, "unscored": 1.0}),  # no credit, counted
    ],
)
def test_process_results_gen(letter, expected):
    assert process_results_gen({"answer": 1, "choices": CHOICES}, [letter]) == expected


def test_process_results_mc_is_argmax_with_first_index_on_ties():
    doc = {"answer": 2}
    best_is_gold = [(-3.0, False), (-2.0, False), (-1.0, True), (-4.0, False)]
    assert process_results_mc(doc, best_is_gold) == {"acc": 1.0, "acc_macro": 1.0}
    all_tied = [(-1.0, False)] * 4  # np.argmax: the first index, A
    assert process_results_mc(doc, all_tied) == {"acc": 0.0, "acc_macro": 0.0}
