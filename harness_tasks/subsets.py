"""Fixed, seeded subsets for the ``imitation_suite_lite`` group."""

from __future__ import annotations

import random
from typing import TypeVar

T = TypeVar("T")

LITE_SEED = 1234


def seeded_indices(total: int, size: int, seed: int = LITE_SEED) -> list[int]:
    """``size`` distinct indices of ``range(total)``, drawn with ``seed``, in ascending order.

    Ascending order keeps the subset in the file's order; the same (total, size, seed) always
    gives the same indices, on every machine and Python version (random.Random is stable).
    """
    if size >= total:
        return list(range(total))
    return sorted(random.Random(seed).sample(range(total), size))


def seeded_subset(dataset, size: int, seed: int = LITE_SEED):
    """A ``datasets.Dataset`` subset of ``size`` rows chosen by :func:`seeded_indices`."""
    return dataset.select(seeded_indices(len(dataset), size, seed))
