"""Multiple-choice distractors for NQ-open facts (the knowledge-versus-format probe).

Each question keeps its first gold answer as the right choice and gets ``k`` wrong choices:
first gold answers of *other* questions of the same dev set with the same answer type, so a
choice cannot be ruled out by its form alone (a year is offered against years, a person's name
against names). Types, from the answer string: ``year`` (a 4-digit number 1000-2099 alone),
``date`` (has a month name), ``number`` (has a digit), ``name`` (2-4 words, each capitalised),
``other``. When a type has too few answers, the rest are drawn from the whole pool.

A candidate is rejected when it normalises (NQ normalisation) to any gold of the question, when
one contains the other ("Paris" vs "Paris, France"), or when it duplicates another choice. The
draw for question ``i`` uses ``random.Random(f"{seed}:{i}")``: the same choices on every
machine, and a question's choices do not change when other questions are subset away. The
position of the right answer is drawn with the same generator.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from harness_tasks.factuality.scoring import normalize_answer

DEFAULT_SEED = 1234
_MONTHS = re.compile(r"\b(?:january|february|march|april|may|june|july|august|september|"
                     r"october|november|december)\b", re.IGNORECASE)


def answer_type(answer: str) -> str:
    """``year``, ``date``, ``number``, ``name`` or ``other`` (see the module docstring)."""
    text = answer.strip()
    if re.fullmatch(r"(?:1\d{3}|20\d{2})", text):
        return "year"
    if _MONTHS.search(text) and re.search(r"\d", text):
        return "date"
    if re.search(r"\d", text):
        return "number"
    parts = text.split()
    if 2 <= len(parts) <= 4 and all(p[:1].isupper() for p in parts):
        return "name"
    return "other"


def _clashes(candidate: str, taken: Sequence[str]) -> bool:
    norm = normalize_answer(candidate)
    if not norm:
        return True
    for other in taken:
        other_norm = normalize_answer(other)
        if norm == other_norm or (other_norm and (f" {norm} " in f" {other_norm} "
                                                  or f" {other_norm} " in f" {norm} ")):
            return True
    return False


def build_choices(golds_per_question: Sequence[Sequence[str]], k: int = 3,
                  seed: int = DEFAULT_SEED, only: Sequence[int] | None = None
                  ) -> list[tuple[list[str], int]]:
    """For each question (or each of ``only``, in that order): (choices, index of the right
    one), with ``k`` distractors each. A question's draw depends on the whole pool but not on
    which other questions are drawn, so ``only`` gives exactly the full draw's entries (and
    spares a lite run the full set's 7,000 shuffles, ~14 s)."""
    firsts = [golds[0].strip() for golds in golds_per_question]
    by_type: dict[str, list[int]] = {}
    for i, answer in enumerate(firsts):
        by_type.setdefault(answer_type(answer), []).append(i)
    out = []
    for i in (range(len(firsts)) if only is None else only):
        golds = golds_per_question[i]
        rng = random.Random(f"{seed}:{i}")
        taken = list(golds)
        distractors: list[str] = []
        same_type = by_type[answer_type(firsts[i])]
        for pool in (same_type, range(len(firsts))):
            order = list(pool)
            rng.shuffle(order)
            for j in order:
                if len(distractors) == k:
                    break
                if j != i and not _clashes(firsts[j], taken + distractors):
                    distractors.append(firsts[j])
        if len(distractors) < k:
            raise ValueError(f"question {i}: only {len(distractors)} distinct distractors "
                             f"could be drawn from {len(firsts)} answers; need {k}")
        position = rng.randrange(k + 1)
        choices = distractors[:position] + [firsts[i]] + distractors[position:]
        out.append((choices, position))
    return out
