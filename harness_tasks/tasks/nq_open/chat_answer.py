"""Take the short answer out of a chat model's reply to an NQ-open question.

Chat models answer in sentences ("The capital of France is Paris."), so plain exact match
would score them 0 for a right answer. Scoring every reply that merely *contains* a gold
string ("recall"/"contains" matching) errs the other way: a reply listing guesses ("It could
be Paris, Lyon or Marseille") gets credit for the right one. The rule here sits between:

1. The reply is read up to its *answer sentence*: the first sentence of the first line that
   says something (lead-ins such as "Answer:" or "The answer is" removed; a header line
   ending in ":" is skipped when exactly one line follows it).
2. A reply that is a list (two or more bulleted/numbered lines, or a header followed by
   several lines) commits to no single answer: it is scored as written (all lines joined).
3. If a gold answer's words occur, in order and contiguous, in the answer sentence, and the
   rest of that sentence holds no alternative or hedge ("or", "either", "maybe", "might",
   "could", "possibly", "not sure", ...) and no enumeration (two or more of , ; / & "and"),
   the prediction is that gold: the reply committed to it.
4. Otherwise the prediction is the answer sentence itself, scored by the usual normalised
   exact match / token F1 (so a bare "Paris" still matches, a wrong sentence gets partial F1).

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# A line that is an item of a bulleted or numbered list.
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6\u2013\u2014]|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
# Lead-ins that announce the answer; removed from the start of the answer sentence.
_LEAD_IN = re.compile(
    r"^\s*(?:(?:short|final)\s+)?(?:answer|a)\s*[:\-]\s*"
    r"|^\s*(?:the\s+)?(?:short\s+|final\s+|correct\s+)?answer\s+(?:is|would\s+be)\s*:?\s*",
    re.IGNORECASE,
)
# Words or phrases that offer alternatives or withhold commitment.
_HEDGES = re.compile(
    r"\b(?:or|either|neither|nor|maybe|perhaps|possibly|probably|likely|might|could|"
    r"may\s+be|may\s+have|guess|unsure|uncertain|not\s+sure|not\s+certain|"
    r"(?:do\s+not|don't|dont|cannot|can't)\s+(?:know|say|be\s+sure)|no\s+idea|"
    r"possibilit(?:y|ies)|candidates?|options?|one\s+of)\b",
    re.IGNORECASE,
)
# Separators of an enumeration ("Paris, Lyon and Marseille").
_SEPARATORS = re.compile(r"[,;/&]|\band\b", re.IGNORECASE)
# A sentence end: . ! ? followed by space, unless the period ends an initial ("R. H. Thomson")
# or a common abbreviation ("Dr. Rajendra Prasad", "St. Louis").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr mt ft no vs etc inc ltd co gen col lt sgt rev prof".split()
)
_SENTENCE_END = re.compile(r"([.!?])\s+")
_WORD = re.compile(r"\w+")
_ARTICLES = frozenset({"a", "an", "the"})


def _words(text: str) -> list[str]:
    """Lowercased word tokens without articles (the unit of gold matching)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _ARTICLES]


def first_sentence(line: str) -> str:
    """``line`` up to its first sentence end (initials and abbreviations do not end one)."""
    for match in _SENTENCE_END.finditer(line):
        if match.group(1) == ".":
            before = line[: match.start()].split()
            last = before[-1].rstrip(".").lower() if before else ""
            if len(last) == 1 or last in _ABBREVIATIONS or "." in last:
                continue
        return line[: match.start() + 1]
    return line


def _strip_lead_in(text: str) -> str:
    return _LEAD_IN.sub("", text, count=1).strip()


def _answer_lines(reply: str) -> list[str]:
    """The non-empty lines of the reply, NFKC-normalised, with list markers kept."""
    text = unicodedata.normalize("NFKC", reply)
    return [line.strip() for line in text.splitlines() if line.strip()]


def is_list_reply(lines: Sequence[str]) -> bool:
    """True when the reply enumerates candidates instead of giving one answer."""
    if sum(1 for line in lines if _LIST_ITEM.match(line)) >= 2:
        return True
    return bool(lines) and lines[0].endswith(":") and len(lines) > 2


def answer_sentence(reply: str) -> str:
    """The sentence of the reply that carries its answer (see module docstring, step 1)."""
    lines = _answer_lines(reply)
    if lines and lines[0].endswith(":") and len(lines) == 2:
        lines = lines[1:]
    for line in lines:
        line = _LIST_ITEM.sub("", line, count=1)
        sentence = _strip_lead_in(first_sentence(_strip_lead_in(line)))
        if _words(sentence):
            return sentence
    return ""


def _find_run(haystack: list[str], needle: list[str]) -> int:
    """Start index of ``needle`` as a contiguous run in ``haystack``, or -1."""
    if not needle:
        return -1
    for i in range(len(haystack) - len(needle) + 1):
        if haystack[i : i + len(needle)] == needle:
            return i
    return -1


def _remove_gold(sentence: str, gold_words: list[str]) -> str:
    """The sentence with the first occurrence of the gold's words cut out."""
    pattern = r"\W+(?:(?:a|an|the)\W+)?".join(re.escape(w) for w in gold_words)
    return re.sub(rf"\b{pattern}\b", " ", sentence, count=1, flags=re.IGNORECASE)


def committed_gold(sentence: str, golds: Sequence[str]) -> str | None:
    """The gold the answer sentence commits to, or None (module docstring, step 3)."""
    words = _words(sentence)
    for gold in sorted(golds, key=lambda g: -len(_words(g))):
        gold_words = _words(unicodedata.normalize("NFKC", gold))
        if _find_run(words, gold_words) < 0:
            continue
        rest = _remove_gold(sentence, gold_words)
        if not _HEDGES.search(rest) and len(_SEPARATORS.findall(rest)) < 2:
            return gold
    return None


def extract_answer(reply: str, golds: Sequence[str]) -> str:
    """The string to score for a chat reply: a committed gold, else the answer sentence."""
    lines = _answer_lines(reply)
    if is_list_reply(lines):
        return " ".join(lines)
    sentence = answer_sentence(reply)
    return committed_gold(sentence, golds) or sentence
