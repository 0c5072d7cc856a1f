"""Take the short answer out of a chat model's reply to an NQ-open question.

Chat models answer in sentences ("The capital of France is Paris."), so plain exact match
would score them 0 for a right answer. Giving credit to every reply that merely *contains* a
gold string ("contains" matching) errs the other way: a reply listing guesses ("It could be
Paris, Lyon or Marseille") gets credit for the right one. The rule here sits in between:

1. Answer sentence: the first sentence of the first line that says something, with lead-ins
   such as "Answer:" or "The answer is" removed (a header line ending in ":" followed by
   exactly one line gives way to that line). Initials and abbreviations ("R. H. Thomson",
   "Dr. Rajendra Prasad") do not end a sentence.
2. A list reply (two or more bulleted/numbered lines, or a header line ending in ":" followed
   by two or more lines) commits to no single answer: it is scored as written, lines joined.
3. A gold answer whose words occur, in order and contiguous, in the answer sentence becomes
   the prediction when the reply *commits* to it: the rest of the sentence has no alternative
   or hedge ("or", "either", "maybe", "might", "could", "possibly", "not sure", ...) and fewer
   than two enumeration separators (, ; / & "and"), not counting words that restate the
   question; and the gold is not just part of a restated question ("... on Instagram").
4. Otherwise the prediction is the answer sentence itself, scored by the usual normalised
   exact match / token F1 (a bare "Paris" still matches; a wrong sentence gets partial F1).

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# A line that is an item of a bulleted or numbered list.
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6\u2013\u2014]|\d{1,2}[.)])\s+")
# Lead-ins that announce the answer; removed from the start of the answer sentence.
_LEAD_IN = re.compile(
    r"^\s*(?:(?:short|final)\s+)?(?:answer\s*[:\-]|a\s*:)\s*"
    r"|^\s*(?:the\s+)?(?:short\s+|final\s+|correct\s+)?answer\s+"
    r"(?:to\s+(?:this|the|your)\s+question\s+)?(?:is|would\s+be)\s*:?\s*",
    re.IGNORECASE,
)
# Alternatives or withheld commitment, matched on lowercase word tokens joined by spaces
# ("don't" -> "don t").
_HEDGES = re.compile(
    r"\b(?:or|either|neither|nor|maybe|perhaps|possibly|probably|likely|might|could|guess|"
    r"unsure|uncertain|possibilit(?:y|ies)|candidates?|options?|alternatives?)\b"
    r"|\bmay (?:be|have)\b|\bnot (?:sure|certain)\b|\bno idea\b|\bone of\b"
    r"|\b(?:do not|don t|dont|cannot|can t) (?:know|say|be sure)\b"
)
_TOKEN = re.compile(r"\w+|[,;/&]")  # words and enumeration separators
_SEPARATORS = frozenset({",", ";", "/", "&", "and"})
_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr mt ft vs etc inc ltd co gen col lt rev".split())
_SENTENCE_END = re.compile(r"([.!?])\s+")
_WORD = re.compile(r"\w+")
_ARTICLES = frozenset({"a", "an", "the"})


def _words(text: str) -> list[str]:
    """Lowercased word tokens without articles: the unit of gold matching."""
    return [w for w in _WORD.findall(text.lower()) if w not in _ARTICLES]


def _find_all(haystack: Sequence[str], needle: Sequence[str]) -> list[int]:
    """Start indices of ``needle`` as a contiguous run in ``haystack``."""
    n = len(needle)
    if n == 0:
        return []
    return [i for i in range(len(haystack) - n + 1) if list(haystack[i : i + n]) == list(needle)]


def first_sentence(line: str) -> str:
    """``line`` up to its first sentence end; initials and abbreviations do not end one."""
    for match in _SENTENCE_END.finditer(line):
        if match.group(1) == ".":
            before = line[: match.start()].split()
            last = before[-1].lower() if before else ""
            if (len(last) == 1 and last.isalpha()) or last in _ABBREVIATIONS or "." in last:
                continue
        return line[: match.start() + 1]
    return line


def _strip_lead_in(text: str) -> str:
    return _LEAD_IN.sub("", text, count=1).strip()


def reply_lines(reply: str) -> list[str]:
    """The non-empty, stripped, NFKC-normalised lines of a reply."""
    text = unicodedata.normalize("NFKC", reply)
    return [line.strip() for line in text.splitlines() if line.strip()]


def is_list_reply(lines: Sequence[str]) -> bool:
    """True when the reply enumerates candidates on separate lines (step 2)."""
    if sum(1 for line in lines if _LIST_ITEM.match(line)) >= 2:
        return True
    return bool(lines) and lines[0].endswith(":") and len(lines) > 2


def answer_sentence(lines: Sequence[str]) -> str:
    """The sentence of the reply that carries its answer (step 1)."""
    if len(lines) == 2 and lines[0].endswith(":"):
        lines = lines[1:]
    for line in lines:
        line = _LIST_ITEM.sub("", line, count=1)
        sentence = _strip_lead_in(first_sentence(_strip_lead_in(line)))
        if _words(sentence):
            return sentence
    return ""


def _without_echo(tokens: list[str], question_words: list[str]) -> list[str]:
    """``tokens`` minus runs of two or more words that occur contiguously in the question."""
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        length = next(
            (
                j - i
                for j in range(len(tokens), i + 1, -1)
                if not any(t in ",;/&" for t in tokens[i:j])
                and _find_all(question_words, tokens[i:j])
            ),
            0,
        )
        if length:
            i += length
        else:
            kept.append(tokens[i])
            i += 1
    return kept


def _commits(rest: str, question: str) -> bool:
    """True when the sentence minus the gold has no alternative, hedge or enumeration."""
    tokens = _without_echo(_TOKEN.findall(rest.lower()), _WORD.findall(question.lower()))
    if _HEDGES.search(" ".join(tokens)):
        return False
    return sum(1 for t in tokens if t in _SEPARATORS) < 2


def _remove_gold(sentence: str, gold_words: list[str]) -> str:
    """The sentence with the first occurrence of the gold's words cut out."""
    pattern = r"\W+(?:(?:a|an|the)\W+)*".join(re.escape(w) for w in gold_words)
    return re.sub(rf"\b{pattern}\b", " ", sentence, count=1, flags=re.IGNORECASE)


def _answers_not_echoes(words: list[str], gold_words: list[str], question: str) -> bool:
    """True if some occurrence of the gold is not inside a longer restatement of the question."""
    question_words = _words(question)
    n = len(gold_words)
    for start in _find_all(words, gold_words):
        wider = [words[start - 1 : start + n] if start > 0 else [], words[start : start + n + 1]]
        if not any(len(run) > n and _find_all(question_words, run) for run in wider):
            return True
    return False


def committed_gold(sentence: str, golds: Sequence[str], question: str = "") -> str | None:
    """The gold the answer sentence commits to, or None (step 3)."""
    words = _words(sentence)
    for gold in sorted(golds, key=lambda g: -len(_words(g))):
        gold_words = _words(unicodedata.normalize("NFKC", gold))
        if (
            _answers_not_echoes(words, gold_words, question)
            and _commits(_remove_gold(sentence, gold_words), question)
        ):
            return gold
    return None


def extract_answer(reply: str, golds: Sequence[str], question: str = "") -> str:
    """The string to score for a chat reply: a committed gold, else the answer sentence."""
    lines = reply_lines(reply)
    if is_list_reply(lines):
        return " ".join(lines)
    sentence = answer_sentence(lines)
    return committed_gold(sentence, golds, question) or sentence
