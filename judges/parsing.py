"""Reading a judge's reply. A reply that does not state its decision in the agreed form is
*unscored*, with the reason; it never becomes a grade, a tie or "not attempted".

The agreed forms are a final line ``Verdict: A|B|tie``, ``Score: N`` (1-10) or
``Grade: CORRECT|INCORRECT|NOT_ATTEMPTED``. Markdown emphasis around the label or the value is
tolerated (``**Verdict:** A``). When a reply states the decision more than once, every statement
must agree; two different decisions make the reply ambiguous, hence unscored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from judges.records import ChatError, ChatResult

UnscoredReason = Literal["api_error", "refusal", "truncated", "no_decision", "ambiguous",
                         "out_of_range"]
T = TypeVar("T")

_DECORATION = r"[\*_`#>\s]*"
_VERDICT = re.compile(rf"^{_DECORATION}verdict{_DECORATION}[:\-]{_DECORATION}\[*(A|B|tie)\]*"
                      rf"{_DECORATION}[.!]?\s*$", re.IGNORECASE | re.MULTILINE)
_SCORE = re.compile(rf"^{_DECORATION}score{_DECORATION}[:\-]{_DECORATION}\[*(\d+(?:\.\d+)?)\]*"
                    rf"(?:\s*/\s*10)?{_DECORATION}[.!]?\s*$", re.IGNORECASE | re.MULTILINE)
_GRADE = re.compile(rf"^{_DECORATION}grade{_DECORATION}[:\-]{_DECORATION}"
                    rf"(CORRECT|INCORRECT|NOT[_ ]ATTEMPTED){_DECORATION}[.!]?\s*$",
                    re.IGNORECASE | re.MULTILINE)
_REFUSAL = re.compile(r"^\s*(I'?m sorry|I am sorry|I can(?:no|')t|I won'?t|I'?m unable|I am unable|"
                      r"As an AI)", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A decision, or why there is none."""

    value: T | None
    unscored: UnscoredReason | None = None

    @property
    def scored(self) -> bool:
        return self.unscored is None


def _decide(reply: ChatResult | ChatError, found: list[str]) -> Parsed[str]:
    if isinstance(reply, ChatError):
        return Parsed(None, "api_error")
    distinct = set(found)
    if len(distinct) == 1:
        return Parsed(found[-1])
    if len(distinct) > 1:
        return Parsed(None, "ambiguous")
    if reply.refusal or reply.finish_reason == "content_filter" or _REFUSAL.match(reply.text):
        return Parsed(None, "refusal")
    if reply.finish_reason == "length":
        return Parsed(None, "truncated")
    return Parsed(None, "no_decision")


def parse_verdict(reply: ChatResult | ChatError) -> Parsed[Literal["A", "B", "tie"]]:
    text = reply.text if isinstance(reply, ChatResult) else ""
    found = [m.upper() if m.lower() != "tie" else "tie" for m in _VERDICT.findall(text)]
    return _decide(reply, found)  # type: ignore[return-value]


def parse_score(reply: ChatResult | ChatError) -> Parsed[int]:
    text = reply.text if isinstance(reply, ChatResult) else ""
    found = _SCORE.findall(text)
    parsed = _decide(reply, found)
    if not parsed.scored:
        return Parsed(None, parsed.unscored)
    value = float(parsed.value or "nan")
    if not value.is_integer() or not 1 <= value <= 10:
        return Parsed(None, "out_of_range")
    return Parsed(int(value))


def parse_grade(reply: ChatResult | ChatError) -> Parsed[Literal["correct", "incorrect",
                                                                "not_attempted"]]:
    text = reply.text if isinstance(reply, ChatResult) else ""
    found = [m.lower().replace(" ", "_") for m in _GRADE.findall(text)]
    return _decide(reply, found)  # type: ignore[return-value]
