"""Three-way grading of short factual answers without a judge: correct / incorrect /
not attempted (SimpleQA's grades; Wei et al. 2024), plus hedge detection.

The deterministic grader, in order:

1. An empty answer (nothing but whitespace/punctuation) is ``not_attempted``.
2. The answer is folded (NFKC, accents removed: "Musée" == "Musee") together with the golds,
   and the answer sentence is found as for chat NQ (:mod:`.chat_answer`: first sentence
   that says something, lead-ins such as "The answer is" removed; a multi-line list of
   candidates commits to none).
3. ``correct`` when that sentence commits to a gold (the gold's words occur contiguously, with
   no alternative or enumeration next to them: ``chat_answer.committed_gold``), or does so once
   hedge phrases ("I think", "probably", "it might be") are cut out, or equals a gold under the
   NQ normalisation (lowercase, no punctuation or articles).
4. Otherwise ``not_attempted`` when the answer abstains ("I don't know", "I cannot answer",
   "no information", "I'm not sure" without any candidate), else ``incorrect``.

A *hedge* marks an attempted answer that signals doubt ("probably", "I think", "I'm not sure
but"). The confident-wrong rate counts incorrect answers without one: the failure the paper
worries about (a fluent, sure-sounding wrong answer). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from harness_tasks.factuality.chat_answer import (answer_sentence, committed_gold,
                                                     is_list_reply, reply_lines)
from harness_tasks.factuality.scoring import normalize_answer

Grade = Literal["correct", "incorrect", "not_attempted"]
Outcome = Literal["correct", "incorrect", "not_attempted", "unscored"]
GRADES: tuple[Grade, ...] = ("correct", "incorrect", "not_attempted")

# Declining to answer: no candidate is put forward.
_ABSTAIN = re.compile(
    r"\b(?:i|we)\s*(?:do\s*not|don'?t|dont|really\s+don'?t)\s+(?:know|have|recall|remember)\b"
    r"|\b(?:i|we)\s*(?:cannot|can'?t|can\s+not|am\s+unable\s+to|'?m\s+unable\s+to|"
    r"am\s+not\s+able\s+to|'?m\s+not\s+able\s+to)\s+"
    r"(?:answer|say|tell|determine|provide|find|know|verify|confirm|give|access|be\s+sure)\b"
    r"|\b(?:i\s*am|i'?m)\s+(?:not\s+sure|unsure|not\s+certain|uncertain)\s*[.!]?\s*$"
    r"|\bno\s+(?:idea|information|(?:reliable\s+)?data|record|answer)\b"
    r"|\b(?:unknown|not\s+known|unclear|not\s+available|n/?a)\s*[.!]?\s*$"
    r"|\bi\s+have\s+no\s+comment\b|\bas\s+an\s+ai\b|\bi'?m\s+sorry\b|\bi\s+am\s+sorry\b"
    r"|\bnot\s+enough\s+(?:information|context)\b|\bneed\s+more\s+(?:information|context)\b",
    re.IGNORECASE,
)
# Doubt about an answer that is still given. "or" is not a hedge here: an alternative is
# handled by the commitment rule (a sentence naming two candidates commits to neither).
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|likely|presumably|apparently|supposedly|roughly|"
    r"approximately|around|about|guess|unsure|uncertain)\b"
    r"|\b(?:might|may|could)\s+(?:be|have|also)\b"
    r"|\bi\s+(?:think|believe|suspect|guess|assume|recall)\b"
    r"|\b(?:not|n'?t)\s+(?:sure|certain|100%)\b|\bif\s+i\s+(?:recall|remember)\b"
    r"|\bto\s+(?:the\s+best\s+of\s+)?my\s+knowledge\b|\bi'?m\s+not\s+(?:sure|certain)\b",
    re.IGNORECASE,
)
# Hedge phrases cut out before retrying the commitment rule ("It might be Paris" -> "Paris").
_HEDGE_CUT = re.compile(
    r"\b(?:i\s+(?:think|believe|suspect|guess|assume)(?:\s+that)?|maybe|perhaps|possibly|"
    r"probably|likely|most\s+likely|presumably|apparently|i'?m\s+not\s+(?:sure|certain)"
    r"(?:\s*,?\s*but)?|not\s+(?:sure|certain)\s*,?\s*but|(?:it|this|that|he|she|they)\s+"
    r"(?:might|may|could)\s+be|(?:might|may|could)\s+be)\b[,:]?",
    re.IGNORECASE,
)
_HAS_WORD = re.compile(r"\w")
_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d{3}\b)")


@dataclass(frozen=True)
class ThreeWayGrade:
    """One graded answer: the grade, whether it hedges, and the gold it matched (if any)."""

    grade: Grade
    hedged: bool
    matched: str | None = None


def fold(text: str) -> str:
    """NFKC with accents removed, so "Musée", "Musee" and "Ｍｕｓｅｅ" compare equal."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _plain(text: str) -> str:
    """Folded, curly apostrophes made straight (the patterns use '), digit groups joined
    ("120,000" -> "120000")."""
    text = fold(text).replace("\u2019", "'").replace("\u2018", "'")
    return _DIGIT_GROUP.sub("", text)


def is_abstention(answer: str) -> bool:
    """True when the answer declines to answer, or is empty."""
    text = _plain(answer).strip()
    return not _HAS_WORD.search(text) or bool(_ABSTAIN.search(text))


def is_hedged(answer: str) -> bool:
    """True when the answer signals doubt (an abstention is not a hedge, it is no answer)."""
    return bool(_HEDGE.search(_plain(answer)))


def _committed(sentence: str, golds: Sequence[str], question: str) -> str | None:
    gold = committed_gold(sentence, golds, question)
    if gold is not None:
        return gold
    unhedged = " ".join(_HEDGE_CUT.sub(" ", sentence).split())
    if unhedged != sentence and unhedged:
        gold = committed_gold(unhedged, golds, question)
        if gold is not None:
            return gold
        sentence = unhedged
    normalized = normalize_answer(sentence)
    return next((g for g in golds if normalized and normalize_answer(g) == normalized), None)


def grade_answer(answer: str, golds: Sequence[str], question: str = "") -> ThreeWayGrade:
    """The deterministic three-way grade of ``answer`` against any of ``golds``."""
    text = _plain(answer)
    folded_golds = [_plain(g) for g in golds]
    lines = reply_lines(text)
    hedged = is_hedged(text)
    if not lines or not _HAS_WORD.search(text):
        return ThreeWayGrade("not_attempted", False)
    matched = None
    if not is_list_reply(lines):
        matched = _committed(answer_sentence(lines), folded_golds, fold(question))
    if matched is not None:
        original = golds[folded_golds.index(matched)]
        return ThreeWayGrade("correct", hedged, original)
    if is_abstention(text):
        return ThreeWayGrade("not_attempted", False)
    return ThreeWayGrade("incorrect", hedged)


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def summarize(items: Iterable[Mapping[str, object]]) -> dict[str, float | None]:
    """The run's figures from per-answer items ``{"grade": outcome, "hedged": bool}``.

    Rates are over the scored answers (an "unscored" item, from a judge that gave no grade, is
    counted apart): ``accuracy`` (correct / scored), ``accuracy_given_attempted``
    (correct / (correct + incorrect)), ``f1`` (SimpleQA's F-score: their harmonic mean),
    ``not_attempted_rate``, ``confident_wrong_rate`` (incorrect and not hedged / scored),
    ``hedge_rate`` (attempted answers that hedge / attempted). None (not applicable, never
    NaN) where a denominator is 0: ``accuracy_given_attempted`` when nothing was attempted,
    every rate when no answer was scored.
    """
    items = list(items)
    counts = Counter(str(it["grade"]) for it in items)
    scored = sum(counts[g] for g in GRADES)
    attempted = counts["correct"] + counts["incorrect"]
    accuracy = _rate(counts["correct"], scored)
    given = _rate(counts["correct"], attempted)
    f1 = (None if accuracy is None or given is None
          else 0.0 if accuracy + given == 0 else 2 * accuracy * given / (accuracy + given))
    confident_wrong = sum(1 for it in items if it["grade"] == "incorrect" and not it["hedged"])
    hedged = sum(1 for it in items if it["grade"] in ("correct", "incorrect") and it["hedged"])
    return {
        "accuracy": accuracy,
        "accuracy_given_attempted": given,
        "f1": f1,
        "not_attempted_rate": _rate(counts["not_attempted"], scored),
        "confident_wrong_rate": _rate(confident_wrong, scored),
        "hedge_rate": _rate(hedged, attempted),
        "unscored": float(counts["unscored"]),
    }
