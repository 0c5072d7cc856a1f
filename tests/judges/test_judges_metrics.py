"""Win rates, bootstrap intervals and the style-controlled win rate on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from judges.metrics import style_controlled, win_rates
from judges.style import normalized_difference, style_of


def test_win_rates_by_hand() -> None:
    outcomes = ["win"] * 5 + ["loss"] * 3 + ["tie"] * 1 + ["inconsistent"] * 1 + ["unscored"] * 2
    rates = win_rates(outcomes, n_boot=500, seed=1)
    assert (rates.n, rates.scored, rates.unscored) == (12, 10, 2)
    assert rates.win_rate.value == pytest.approx(0.5)
    assert rates.win_or_tie_rate.value == pytest.approx(0.7)  # inconsistent counts as a tie
    assert rates.position_inconsistency == pytest.approx(0.1)
    for interval in (rates.win_rate, rates.win_or_tie_rate):
        assert 0 <= interval.low <= interval.value <= interval.high <= 1
    assert rates == win_rates(outcomes, n_boot=500, seed=1)  # seeded: identical
    assert rates != win_rates(outcomes, n_boot=500, seed=2)


def test_bootstrap_interval_shrinks_with_more_data() -> None:
    small = win_rates(["win", "loss"] * 10, seed=0).win_rate
    large = win_rates(["win", "loss"] * 1000, seed=0).win_rate
    assert small.value == large.value == 0.5
    assert (large.high - large.low) < (small.high - small.low) / 5
    assert large.high - large.low == pytest.approx(2 * 1.96 * 0.5 / np.sqrt(2000), rel=0.15)


def test_degenerate_win_rates() -> None:
    assert win_rates(["unscored", "unscored"]).win_rate is None
    everything = win_rates(["win"] * 4)
    assert everything.win_rate.value == everything.win_rate.low == everything.win_rate.high == 1.0
    with pytest.raises(ValueError, match="unknown outcome"):
        win_rates(["win", "draw"])


def test_style_features() -> None:
    text = ("# Title\n\nSome **bold** words and __more__.\n\n- one\n- two\n* three\n1. four\n2) five\n"
            "```python\n# not a header\n- not an item\n```\n")
    style = style_of(text)
    assert (style.list_items, style.headers, style.bold) == (5, 1, 2)
    assert style.length == len(text.split())
    assert normalized_difference(style_of("a b c"), style_of("a")) == (0.5, 0.0, 0.0, 0.0)


def _judged(n: int, length_effect: float, bias: float, seed: int, longer_by: int = 0):
    """Pairs where the judge prefers the candidate with log-odds bias + effect * length diff."""
    rng = np.random.default_rng(seed)
    outcomes, candidates, baselines = [], [], []
    for _ in range(n):
        lc, lb = rng.integers(5, 400, size=2)
        lc += longer_by
        diff = (lc - lb) / (lc + lb)
        p = 1 / (1 + np.exp(-(bias + length_effect * diff)))
        outcomes.append("win" if rng.random() < p else "loss")
        candidates.append("word " * int(lc))
        baselines.append("word " * int(lb))
    return outcomes, candidates, baselines


def test_style_control_removes_a_length_preference() -> None:
    # The candidate is usually longer and the judge loves length; at equal length it is even.
    outcomes, candidates, baselines = _judged(600, length_effect=4.0, bias=0.0, seed=3, longer_by=150)
    control = style_controlled(outcomes, candidates, baselines, n_boot=50, seed=0)
    assert control.raw > 0.65  # the raw win rate rewards the longer answers
    assert abs(control.controlled.value - 0.5) < 0.08  # at equal style: about even
    assert control.style_effect > 0.1
    assert control.coefficients["length"] > 1.0
    assert control.controlled.low <= control.controlled.value <= control.controlled.high


def test_style_control_leaves_a_style_free_judge_alone() -> None:
    outcomes, candidates, baselines = _judged(600, length_effect=0.0, bias=1.0, seed=4)
    control = style_controlled(outcomes, candidates, baselines, n_boot=50, seed=0)
    assert abs(control.style_effect) < 0.05
    assert abs(control.coefficients["length"]) < 0.3
    assert control.controlled.value == pytest.approx(1 / (1 + np.exp(-1.0)), abs=0.06)
    assert "list_items" not in control.coefficients  # no spread: dropped, not fitted


def test_style_control_ties_and_unscored() -> None:
    outcomes = ["tie", "tie", "unscored", "win", "loss"]
    texts = ["a b", "a b c d", "x", "a", "a b c"]
    control = style_controlled(outcomes, texts, ["a b"] * 5, n_boot=20, seed=0)
    assert control.n == 4 and control.raw == pytest.approx(0.5)
    assert style_controlled(["unscored"], ["a"], ["b"]) is None
    with pytest.raises(ValueError, match="same length"):
        style_controlled(["win"], ["a", "b"], ["c"])
