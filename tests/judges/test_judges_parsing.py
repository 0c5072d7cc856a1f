"""Reading judge replies: decisions in the agreed form, everything else unscored with a reason."""

from __future__ import annotations

import pytest

from judges.parsing import parse_grade, parse_score, parse_verdict
from judges.records import ChatError, ChatResult


def reply(text: str, finish_reason: str = "stop", refusal: str | None = None) -> ChatResult:
    return ChatResult(text=text, finish_reason=finish_reason, refusal=refusal)


@pytest.mark.parametrize("text, expected", [
    ("A is more accurate.\nVerdict: A", "A"),
    ("Reply B fixes the bug.\n\nVerdict: B\n", "B"),
    ("Both are fine.\nVerdict: tie", "tie"),
    ("Both are fine.\nverdict: TIE.", "tie"),
    ("**Verdict:** A", "A"),
    ("**Verdict: B**", "B"),
    ("Verdict: [A]", "A"),
    ("Verdict - A", "A"),
    ("Verdict: A\nI stand by it.\nVerdict: A", "A"),  # repeated, consistent
])
def test_verdicts(text: str, expected: str) -> None:
    parsed = parse_verdict(reply(text))
    assert parsed.scored and parsed.value == expected


@pytest.mark.parametrize("text, finish_reason, refusal, reason", [
    ("A is better overall.", "stop", None, "no_decision"),  # no verdict line
    ("Verdict: A is better", "stop", None, "no_decision"),  # not the agreed form
    ("The verdict: C", "stop", None, "no_decision"),
    ("Verdict: A\nOn reflection:\nVerdict: B", "stop", None, "ambiguous"),
    ("Reply A explains the cause, while reply B", "length", None, "truncated"),
    ("I'm sorry, but I can't compare these replies.", "stop", None, "refusal"),
    ("", "stop", "I cannot help with that.", "refusal"),
    ("", "content_filter", None, "refusal"),
    ("", "stop", None, "no_decision"),
])
def test_unscored_verdicts(text: str, finish_reason: str, refusal: str | None, reason: str) -> None:
    parsed = parse_verdict(reply(text, finish_reason, refusal))
    assert not parsed.scored and parsed.value is None and parsed.unscored == reason


def test_api_error_is_unscored_never_text() -> None:
    error = ChatError(kind="retries_exhausted", message="HTTP 503", model="m")
    for parse in (parse_verdict, parse_score, parse_grade):
        parsed = parse(error)
        assert parsed.value is None and parsed.unscored == "api_error"


@pytest.mark.parametrize("text, expected", [
    ("Solid answer.\nScore: 8", 8),
    ("Score: 10", 10),
    ("Score: 1", 1),
    ("**Score:** 7/10", 7),
    ("Score: 6.0", 6),
    ("score - 3", 3),
])
def test_scores(text: str, expected: int) -> None:
    parsed = parse_score(reply(text))
    assert parsed.scored and parsed.value == expected


@pytest.mark.parametrize("text, reason", [
    ("Score: 11", "out_of_range"),
    ("Score: 0", "out_of_range"),
    ("Score: 7.5", "out_of_range"),
    ("Score: 4\nScore: 6", "ambiguous"),
    ("I would give it an eight.", "no_decision"),
    ("Rating: 8", "no_decision"),
])
def test_unscored_scores(text: str, reason: str) -> None:
    parsed = parse_score(reply(text))
    assert parsed.value is None and parsed.unscored == reason


@pytest.mark.parametrize("text, expected", [
    ("The answer names the right city.\nGrade: CORRECT", "correct"),
    ("Grade: INCORRECT", "incorrect"),
    ("It declines to answer.\nGrade: NOT_ATTEMPTED", "not_attempted"),
    ("Grade: not attempted", "not_attempted"),
    ("**Grade:** correct", "correct"),
])
def test_grades(text: str, expected: str) -> None:
    parsed = parse_grade(reply(text))
    assert parsed.scored and parsed.value == expected


@pytest.mark.parametrize("text, finish_reason, reason", [
    ("The model does not answer.", "stop", "no_decision"),  # never silently "not attempted"
    ("Grade: CORRECT\nGrade: INCORRECT", "stop", "ambiguous"),
    ("Grade: PARTIAL", "stop", "no_decision"),
    ("The answer gives 1912 while the gold", "length", "truncated"),
])
def test_unscored_grades(text: str, finish_reason: str, reason: str) -> None:
    parsed = parse_grade(reply(text, finish_reason))
    assert parsed.value is None and parsed.unscored == reason
