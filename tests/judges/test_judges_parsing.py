"""Reading judge replies: decisions in the agreed form, everything else unscored with a reason.

One table per outcome, each row naming the parser it exercises (verdicts, 1-10 scores, factual
grades)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from judges.parsing import parse_grade, parse_score, parse_verdict
from judges.records import ChatError, ChatResult

# parser -> {reply text: the decision it reads}
DECISIONS: dict[Callable[..., Any], dict[str, Any]] = {
    parse_verdict: {"A is more accurate.\nVerdict: A": "A",
                    "Reply B fixes the bug.\n\nVerdict: B\n": "B",
                    "Both are fine.\nVerdict: tie": "tie", "Both are fine.\nverdict: TIE.": "tie",
                    "**Verdict:** A": "A", "**Verdict: B**": "B", "Verdict: [A]": "A",
                    "Verdict - A": "A",
                    "Verdict: A\nI stand by it.\nVerdict: A": "A"},  # repeated, consistent
    parse_score: {"Solid answer.\nScore: 8": 8, "Score: 10": 10, "Score: 1": 1,
                  "**Score:** 7/10": 7, "Score: 6.0": 6, "score - 3": 3},
    parse_grade: {"The answer names the right city.\nGrade: CORRECT": "correct",
                  "Grade: INCORRECT": "incorrect", "Grade: not attempted": "not_attempted",
                  "It declines to answer.\nGrade: NOT_ATTEMPTED": "not_attempted",
                  "**Grade:** correct": "correct"},
}

# parser -> {reply (its text, or text, finish_reason, refusal): why it is unscored}
UNSCORED: dict[Callable[..., Any], dict[str | tuple[str, str, str | None], str]] = {
    parse_verdict: {
        "A is better overall.": "no_decision",  # no verdict line
        "Verdict: A is better": "no_decision",  # not the agreed form
        "The verdict: C": "no_decision", "": "no_decision",
        "Verdict: A\nOn reflection:\nVerdict: B": "ambiguous",
        ("Reply A explains the cause, while reply B", "length", None): "truncated",
        "I'm sorry, but I can't compare these replies.": "refusal",
        ("", "stop", "I cannot help with that."): "refusal",
        ("", "content_filter", None): "refusal"},
    parse_score: {"Score: 11": "out_of_range", "Score: 0": "out_of_range",
                  "Score: 7.5": "out_of_range", "Score: 4\nScore: 6": "ambiguous",
                  "I would give it an eight.": "no_decision", "Rating: 8": "no_decision"},
    parse_grade: {"The model does not answer.": "no_decision",  # never silently "not attempted"
                  "Grade: CORRECT\nGrade: INCORRECT": "ambiguous", "Grade: PARTIAL": "no_decision",
                  ("The answer gives 1912 while the gold", "length", None): "truncated"},
}


def reply(text: str, finish_reason: str = "stop", refusal: str | None = None) -> ChatResult:
    return ChatResult(text=text, finish_reason=finish_reason, refusal=refusal)


@pytest.mark.parametrize("parse, text, expected", [
    (parse, text, expected) for parse, table in DECISIONS.items()
    for text, expected in table.items()])
def test_decisions(parse: Callable[..., Any], text: str, expected: Any) -> None:
    parsed = parse(reply(text))
    assert parsed.scored and parsed.value == expected


@pytest.mark.parametrize("parse, given, reason", [
    (parse, given, reason) for parse, table in UNSCORED.items()
    for given, reason in table.items()])
def test_unscored(parse: Callable[..., Any], given: str | tuple[str, str, str | None],
                  reason: str) -> None:
    parsed = parse(reply(*given) if isinstance(given, tuple) else reply(given))
    assert not parsed.scored and parsed.value is None and parsed.unscored == reason


def test_api_error_is_unscored_never_text() -> None:
    error = ChatError(kind="retries_exhausted", message="HTTP 503", model="m")
    for parse in (parse_verdict, parse_score, parse_grade):
        parsed = parse(error)
        assert parsed.value is None and parsed.unscored == "api_error"
