"""NQ-open answer scoring, as in the open-domain QA literature.

``normalize_answer`` is the SQuAD / DPR / EfficientQA normalisation (Rajpurkar et al. 2016;
Karpukhin et al. 2020, ``dpr/data/qa_validation.py``; Min et al. 2021, EfficientQA): lowercase,
drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. A prediction is an
exact match when its normalised form equals the normalised form of ANY gold answer; token F1
is the best SQuAD token F1 over the golds. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lowercase, remove punctuation, remove articles, collapse whitespace (DPR / EfficientQA).

    Only ASCII punctuation is removed and accents are kept, exactly as in the reference code:
    "Musée" and "Musee" stay different. ``str.split`` treats no-break spaces as whitespace.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> int:
    """1 if the normalised prediction equals any normalised gold, else 0.

    An empty (after normalisation) prediction never matches, even a gold that normalises to "".
    """
    pred = normalize_answer(prediction)
    if not pred:
        return 0
    return int(any(pred == normalize_answer(gold) for gold in golds))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Max over golds of the SQuAD token F1 between normalised prediction and gold."""
    pred_tokens = normalize_answer(prediction).split()
    if not pred_tokens:
        return 0.0
    return max((_f1(pred_tokens, normalize_answer(g).split()) for g in golds), default=0.0)


def score(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    """The per-question metrics of every NQ-open task: exact_match and f1."""
    return {
        "exact_match": float(exact_match(prediction, golds)),
        "f1": token_f1(prediction, golds),
    }
