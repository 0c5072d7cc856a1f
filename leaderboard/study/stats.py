"""The numbers of a rating study, as pure functions of its labels.

Labels are PandaLM's, read from the model's side: "1" the model's answer is better, "2" the
reference's, "tie" equal. Per prompt, the win rate is the share of its ratings saying "1" and
the equal-or-better rate (the paper's headline, ~70% for imitation models against ChatGPT) the
share not saying "2"; a study's rate is the mean over prompts, with a 95% percentile bootstrap
CI over prompts (prompts resampled with replacement, seeded).

Fleiss' kappa (Fleiss 1971) is computed over the pairs with at least two ratings, allowing a
different number of ratings per pair (after raters who failed the attention checks are left
out): P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)) is pair i's share of agreeing rater pairs,
P = mean_i P_i, p_j = the share of all those ratings in label j, Pe = sum_j p_j^2 and
kappa = (P - Pe) / (1 - Pe). With the same number of ratings everywhere this is the textbook
statistic; P is also the mean human-human agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from judges.metrics import Interval

LABELS = ("1", "2", "tie")


@dataclass(frozen=True)
class Rates:
    prompts: int
    ratings: int
    win_rate: Interval | None
    equal_or_better: Interval | None
    tie_rate: float | None
    loss_rate: float | None


@dataclass(frozen=True)
class Agreement:
    pairs: int  # pairs with at least two ratings
    fleiss_kappa: float | None
    human_agreement: float | None  # mean share of agreeing rater pairs


@dataclass(frozen=True)
class CheckScore:
    rater: str
    answered: int
    correct: int

    @property
    def failed(self) -> bool:
        """A rater fails when any attention check was answered wrongly (the broken answer not
        rated worse); a rater who answered none is not failed."""
        return self.correct < self.answered


def rates(per_prompt: Sequence[Sequence[str]], n_boot: int = 2000, seed: int = 0,
          confidence: float = 0.95) -> Rates:
    rated = [list(r) for r in per_prompt if r]
    if not rated:
        return Rates(0, 0, None, None, None, None)
    columns = np.array([[r.count("1") / len(r), 1 - r.count("2") / len(r),
                         r.count("tie") / len(r), r.count("2") / len(r)] for r in rated])
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(columns), size=(n_boot, len(columns)))
    means = np.stack([columns[:, k][rows].mean(axis=1) for k in range(columns.shape[1])],
                     axis=1)  # (n_boot, 4), one column at a time (n_boot x prompts each)
    tail = (1 - confidence) / 2 * 100
    lows, highs = np.percentile(means, [tail, 100 - tail], axis=0)
    point = columns.mean(axis=0)
    win, eob = (Interval(float(point[k]), float(lows[k]), float(highs[k])) for k in (0, 1))
    return Rates(len(rated), sum(len(r) for r in rated), win, eob, float(point[2]),
                 float(point[3]))


def label_counts(per_pair: Sequence[Sequence[str]],
                 labels: Sequence[str] = LABELS) -> list[list[int]]:
    return [[list(r).count(label) for label in labels] for r in per_pair]


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> Agreement:
    """Fleiss' kappa from a pairs x labels table of rating counts (pairs with fewer than two
    ratings are left out); None when no pair has two ratings or chance agreement is 1."""
    table = np.array([row for row in counts if sum(row) >= 2], dtype=float)
    if table.size == 0:
        return Agreement(0, None, None)
    n = table.sum(axis=1)
    p_item = ((table ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_label = table.sum(axis=0) / table.sum()
    observed, expected = float(p_item.mean()), float((p_label ** 2).sum())
    kappa = None if np.isclose(expected, 1.0) else (observed - expected) / (1 - expected)
    return Agreement(len(table), kappa, observed)


def check_scores(check_ratings: Mapping[str, Sequence[str]]) -> list[CheckScore]:
    """Per rater, the attention checks answered and those answered right ("1": the intact
    answer better)."""
    return [CheckScore(rater, len(labels), sum(label == "1" for label in labels))
            for rater, labels in sorted(check_ratings.items())]
