"""Gap closed, (imitation - base) / (teacher - base), with a parametric bootstrap CI.

Each of the three scores is redrawn from a normal with its standard error (lm-eval's stderr;
when a run has none, the binomial sqrt(p(1-p)/n) for a rate in [0, 1] with n items); the CI is
the 2.5th-97.5th percentile of the redrawn ratio. When teacher and base are within noise
(|teacher - base| < 1.96 x the standard error of their difference) the share is undefined and
reported as n/a; the raw delta (imitation - base) is always given, since imitation can hurt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z = 1.959964


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float | None
    n: int | None

    def se(self) -> float:
        if self.stderr is not None:
            return self.stderr
        if self.n and 0.0 <= self.value <= 1.0:
            return math.sqrt(self.value * (1 - self.value) / self.n)
        return 0.0


@dataclass(frozen=True)
class Gap:
    delta: float  # imitation - base
    share: float | None  # None: n/a
    low: float | None
    high: float | None
    reason: str = ""  # why n/a


OUT_OF_RANGE = "teacher and base too close to divide by"  # the share overflows a float


def within_noise(base: Estimate, teacher: Estimate) -> bool:
    spread = math.hypot(base.se(), teacher.se())
    return abs(teacher.value - base.value) <= Z * spread if spread > 0 else (
        teacher.value == base.value)


def gaps(imitation: list[Estimate], base: list[Estimate], teacher: list[Estimate],
         draws: int = 1000, seed: int = 1234, noise: np.ndarray | None = None) -> list[Gap]:
    """Gap closed for aligned lists (one entry per imitation row), vectorised over rows.

    ``noise``: standard-normal draws of shape (3, rows, draws), row k for entry k (the table
    gives each model its own, :func:`row_noise`, reused for all its columns; each column's CI
    is still a valid marginal interval)."""
    out: list[Gap | None] = [None] * len(imitation)
    live = []
    for k, (i, b, t) in enumerate(zip(imitation, base, teacher)):
        if within_noise(b, t):
            out[k] = Gap(i.value - b.value, None, None, None, "teacher and base within noise")
        else:
            live.append(k)
    if live:
        if noise is None or noise.shape[1] < len(imitation):
            noise = standard_noise(len(imitation), draws, seed)
        z = noise[:, :len(imitation), :] if len(live) == len(imitation) else noise[:, live, :]

        def redraw(items: list[Estimate], which: int) -> np.ndarray:
            mean = np.array([items[k].value for k in live], dtype=np.float32)[:, None]
            se = np.array([items[k].se() for k in live], dtype=np.float32)[:, None]
            return mean + se * z[which]

        i_d, b_d, t_d = redraw(imitation, 0), redraw(base, 1), redraw(teacher, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (i_d - b_d) / (t_d - b_d)
        ratio = np.nan_to_num(ratio, nan=0.0, posinf=1e9, neginf=-1e9)
        low, high = np.percentile(ratio, [2.5, 97.5], axis=1)
        for j, k in enumerate(live):
            i, b, t = imitation[k], base[k], teacher[k]
            share = (i.value - b.value) / (t.value - b.value)
            out[k] = Gap(i.value - b.value, share, float(low[j]), float(high[j])
                         ) if math.isfinite(share) else Gap(i.value - b.value, None, None, None,
                                                            OUT_OF_RANGE)
    return [g for g in out if g is not None]


def standard_noise(rows: int, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, rows, draws), dtype=np.float32)


def row_noise(key: int, draws: int, seed: int) -> np.ndarray:
    """Standard-normal draws of shape (3, draws) for one table row (``key``: the model id), so
    that its bootstrap interval does not depend on the other rows."""
    rng = np.random.default_rng([seed % (1 << 63), key])
    return rng.standard_normal((3, draws), dtype=np.float32)


def ci95(est: Estimate) -> tuple[float, float] | None:
    """Normal 95% interval; a score in [0, 1] (a rate) keeps its interval inside [0, 1]."""
    se = est.se()
    if se <= 0:
        return None
    low, high = est.value - Z * se, est.value + Z * se
    if 0.0 <= est.value <= 1.0:
        low, high = max(low, 0.0), min(high, 1.0)
    return low, high


def paired_gap(imitation: np.ndarray, base: np.ndarray, teacher: np.ndarray,
               draws: int = 1000, seed: int = 1234) -> Gap:
    """Gap closed from per-item results on the same items (a nonparametric paired bootstrap:
    items are resampled together). n/a when the bootstrap CI of teacher - base holds 0."""
    n = len(imitation)
    if n == 0 or not len(base) == len(teacher) == n:
        raise ValueError("paired_gap needs the same non-empty set of items for all three")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(draws, n))
    i_m, b_m, t_m = imitation[idx].mean(1), base[idx].mean(1), teacher[idx].mean(1)
    delta = float(imitation.mean() - base.mean())
    spread_low, spread_high = np.percentile(t_m - b_m, [2.5, 97.5])
    if spread_low <= 0 <= spread_high:
        return Gap(delta, None, None, None, "teacher and base within noise")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.nan_to_num((i_m - b_m) / (t_m - b_m), nan=0.0, posinf=1e9, neginf=-1e9)
    low, high = np.percentile(ratio, [2.5, 97.5])
    share = delta / float(teacher.mean() - base.mean())
    if not math.isfinite(share):
        return Gap(delta, None, None, None, OUT_OF_RANGE)
    return Gap(delta, share, float(low), float(high))
