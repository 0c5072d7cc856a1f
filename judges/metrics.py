"""Win rates with bootstrap confidence intervals, and a style-controlled win rate.

Win rate = wins / scored pairs; win-or-tie rate = (wins + ties) / scored pairs, the paper's
"equal or better". An "inconsistent" pair (the verdict flipped with the answer order) counts as
a tie, as in MT-bench's agreement setup; unscored pairs are left out and reported.

The style-controlled win rate follows AlpacaEval's length control (Dubois et al. 2024) and
Chatbot Arena's style control: a logistic regression of the candidate's preference on the
differences in style between the two answers (length, list items, headers, bold), read off at
zero difference. If the judge rewards style, the controlled rate moves away from the raw one;
the gap and the per-feature coefficients are the size of the style effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from judges.style import FEATURES, normalized_difference, style_of

Outcome = Literal["win", "loss", "tie", "inconsistent", "unscored"]


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class WinRates:
    n: int
    scored: int
    wins: int
    losses: int
    ties: int
    inconsistent: int
    unscored: int
    win_rate: Interval | None
    win_or_tie_rate: Interval | None
    position_inconsistency: float | None
    confidence: float
    n_boot: int
    seed: int


def _bootstrap(columns: np.ndarray, n_boot: int, seed: int, confidence: float) -> list[Interval]:
    """Percentile intervals of each column's mean, resampling rows (one shared resample)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(columns), size=(n_boot, len(columns)))
    means = columns[rows].mean(axis=1)  # (n_boot, n_columns)
    tail = (1 - confidence) / 2 * 100
    lows, highs = np.percentile(means, [tail, 100 - tail], axis=0)
    return [Interval(float(v), float(lo), float(hi))
            for v, lo, hi in zip(columns.mean(axis=0), lows, highs)]


def win_rates(outcomes: Sequence[Outcome], *, n_boot: int = 2000, seed: int = 0,
              confidence: float = 0.95) -> WinRates:
    counts = {k: sum(o == k for o in outcomes)
              for k in ("win", "loss", "tie", "inconsistent", "unscored")}
    unknown = set(outcomes) - set(counts)
    if unknown:
        raise ValueError(f"unknown outcome(s) {sorted(unknown)}; expected {sorted(counts)}")
    scored = [o for o in outcomes if o != "unscored"]
    win_rate = win_or_tie = None
    if scored:
        columns = np.array([[o == "win", o != "loss"] for o in scored], dtype=float)
        win_rate, win_or_tie = _bootstrap(columns, n_boot, seed, confidence)
    return WinRates(n=len(outcomes), scored=len(scored), wins=counts["win"], losses=counts["loss"],
                    ties=counts["tie"], inconsistent=counts["inconsistent"],
                    unscored=counts["unscored"], win_rate=win_rate, win_or_tie_rate=win_or_tie,
                    position_inconsistency=counts["inconsistent"] / len(scored) if scored else None,
                    confidence=confidence, n_boot=n_boot, seed=seed)


@dataclass(frozen=True)
class StyleControl:
    n: int  # scored pairs used
    raw: float  # (wins + ties/2) / n: what the judge says, style included
    controlled: Interval  # the same at zero style difference
    style_effect: float  # raw - controlled
    coefficients: dict[str, float]  # log-odds per SD of each feature's normalized difference
    intercept: float


def expit(z: np.ndarray | float) -> np.ndarray:
    """The logistic function, overflow-free (1/(1+e^-z) = (1 + tanh(z/2)) / 2)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def _fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float) -> np.ndarray:
    """Weighted logistic regression by Newton's method; intercept first, L2 on the slopes only.

    numpy rather than scikit-learn or scipy: the labels are soft (a tie is 0.5, which sklearn's
    classifiers refuse), rows carry weights (the bootstrap), the intercept must be unpenalized
    and read off directly, and a tiny fixed ridge keeps slopes finite when a feature separates
    the outcomes in a small sample. With a handful of parameters, Newton's method converges in a
    few exact steps, with no solver defaults in between.
    """
    design = np.hstack([np.ones((len(x), 1)), x])
    penalty = np.full(design.shape[1], 2 * ridge)
    penalty[0] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        p = expit(design @ beta)
        grad = design.T @ (w * (p - y)) + penalty * beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian + 1e-12 * np.eye(len(beta)), grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _style_rows(outcomes: Sequence[Outcome], candidates: Sequence[str],
                baselines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """One row per scored pair: style differences, and 1 / 0 / 0.5 for win / loss / tie.

    A tie (or an inconsistent pair) as the soft label 0.5 has exactly the log-likelihood of half
    a win plus half a loss.
    """
    label = {"win": 1.0, "loss": 0.0, "tie": 0.5, "inconsistent": 0.5}
    rows = [(normalized_difference(style_of(c), style_of(b)), label[o])
            for o, c, b in zip(outcomes, candidates, baselines) if o != "unscored"]
    x = np.array([r[0] for r in rows], dtype=float).reshape(-1, len(FEATURES))
    return x, np.array([r[1] for r in rows], dtype=float)


def style_controlled(outcomes: Sequence[Outcome], candidates: Sequence[str],
                     baselines: Sequence[str], *, n_boot: int = 200, seed: int = 0,
                     confidence: float = 0.95, ridge: float = 1e-2) -> StyleControl | None:
    """Controlled win rate (ties as half) at zero style difference, with a bootstrap interval.

    Features are scaled by their standard deviation (not centred: zero must mean "same style");
    a feature with no spread is dropped. ``None`` when no pair is scored.
    """
    if not len(outcomes) == len(candidates) == len(baselines):
        raise ValueError("outcomes, candidates and baselines must have the same length")
    x, y = _style_rows(outcomes, candidates, baselines)
    if len(y) == 0:
        return None
    sd = x.std(axis=0)
    keep = sd > 1e-9
    x = x[:, keep] / sd[keep]
    beta = _fit_logistic(x, y, np.ones(len(y)), ridge)
    raw = float(y.mean())
    controlled = float(expit(beta[0]))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):  # resampling pairs = weighting each by how often it was drawn
        weights = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float)
        draws.append(expit(_fit_logistic(x, y, weights, ridge)[0]))
    tail = (1 - confidence) / 2 * 100
    low, high = (np.percentile(draws, [tail, 100 - tail]) if draws else (controlled, controlled))
    names = [f for f, k in zip(FEATURES, keep) if k]
    return StyleControl(n=len(y), raw=raw, controlled=Interval(controlled, float(low), float(high)),
                        style_effect=raw - controlled,
                        coefficients={f: float(b) for f, b in zip(names, beta[1:])},
                        intercept=float(beta[0]))
