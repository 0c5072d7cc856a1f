"""The style profile of Gudibande et al. (2023), Table 2: how much a model's answer to an open
prompt looks like the teacher's (ChatGPT's) answer to the same prompt.

Per answer, against the teacher's answer:

- ``has_list``: two or more bulleted or numbered lines (markdown ``-``/``*``/``+``/``•`` or
  ``1.``/``1)``), outside code fences. The run reports *list usage when the teacher uses a
  list*: the share of the prompts where the teacher's answer has a list on which the model's
  answer has one too.
- ``has_summary``: a closing summary paragraph, i.e. the last paragraph (blank-line separated,
  or the last line after a list) starts with a summarising phrase ("In summary", "Overall",
  "In conclusion", "To sum up", "Ultimately", ...). Reported as the share of all answers.
- ``unigram_overlap``: ROUGE-1-style unigram F1 x 100 between the lowercase word tokens of the
  two answers (multiset overlap, no stemming, no stop-word removal).
- lengths in words, for the run's Pearson correlation of answer lengths across prompts.

Pure functions on text; the run-level figures are in :func:`profile`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

_FENCE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022\u2023\u25e6]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_WORD = re.compile(r"\w+(?:'\w+)?")
_SUMMARY_START = re.compile(
    r"^\W*(?:in\s+(?:summary|conclusion|short|sum|general|the\s+end)|overall|to\s+(?:sum\s+up|"
    r"summarize|summarise|conclude|recap)|ultimately|all\s+in\s+all|in\s+a\s+nutshell|"
    r"summary|conclusion|by\s+following\s+these|these\s+are\s+(?:just\s+)?(?:a\s+few|some)|"
    r"remember|finally|in\s+closing)\b",
    re.IGNORECASE,
)


def _prose(text: str) -> str:
    return _FENCE.sub("", unicodedata.normalize("NFKC", text))


def has_list(text: str) -> bool:
    """True when the answer has two or more list items outside code fences."""
    return len(_LIST_ITEM.findall(_prose(text))) >= 2


def _paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", _prose(text)) if b.strip()]
    if blocks:  # a closing line right after a list, without a blank line, is its own paragraph
        lines = blocks[-1].splitlines()
        if len(lines) > 1 and _LIST_ITEM.match(lines[-2]) and not _LIST_ITEM.match(lines[-1]):
            blocks[-1:] = ["\n".join(lines[:-1]), lines[-1]]
    return blocks


def has_summary(text: str) -> bool:
    """True when the answer ends on a summary paragraph (and has something before it)."""
    blocks = _paragraphs(text)
    return len(blocks) >= 2 and bool(_SUMMARY_START.match(blocks[-1]))


def words(text: str) -> list[str]:
    """Lowercase word tokens (NFKC), apostrophes kept inside words ("don't")."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    return _WORD.findall(text.lower())


def unigram_overlap(answer: str, reference: str) -> float:
    """Unigram F1 x 100 between two texts (0 when either is empty)."""
    a, b = Counter(words(answer)), Counter(words(reference))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 100 * 2 * precision * recall / (precision + recall)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None (undefined) with fewer than 2 pairs or when either side is constant."""
    n = len(xs)
    if n != len(ys):
        raise ValueError(f"pearson: {n} x values but {len(ys)} y values")
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def features(answer: str, reference: str) -> dict[str, float | bool | int]:
    """The per-answer item: list/summary use of both texts, overlap and both lengths."""
    return {"has_list": has_list(answer), "teacher_list": has_list(reference),
            "has_summary": has_summary(answer), "teacher_summary": has_summary(reference),
            "unigram_overlap": unigram_overlap(answer, reference),
            "length": len(words(answer)), "teacher_length": len(words(reference))}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percent(values: list[float]) -> float | None:
    mean = _mean(values)
    return None if mean is None else 100 * mean


def profile(items: Iterable[Mapping[str, object]]) -> dict[str, float | None]:
    """Run-level figures (percentages as in Table 2, r as a number) from :func:`features` items.

    ``list_when_teacher_lists``: % of teacher-list prompts where the model lists (None if the
    teacher never lists); ``summary_paragraph``: % of answers with a summary paragraph;
    ``unigram_overlap``: mean unigram F1 x 100; ``length_pearson``: r between model and teacher
    lengths (None when undefined: fewer than 2 answers, or constant lengths);
    ``mean_length``: the model's mean answer length in words. A figure that cannot be computed
    is None (not applicable), never NaN.
    """
    items = list(items)

    def column(name: str) -> list[float]:
        return [float(it[name]) for it in items]  # type: ignore[arg-type]

    teacher_lists = [float(bool(it["has_list"])) for it in items if it["teacher_list"]]
    return {
        "list_when_teacher_lists": _percent(teacher_lists),
        "summary_paragraph": _percent([float(bool(it["has_summary"])) for it in items]),
        "unigram_overlap": _mean(column("unigram_overlap")),
        "length_pearson": pearson(column("length"), column("teacher_length")),
        "mean_length": _mean(column("length")),
    }
