"""lm-eval aggregations that read one number from a summary of all of a task's items.

Several of a task's metrics often come from one pass over its items (win rates from the
verdicts, three-way grading figures, the style profile). lm-eval wants one function per metric,
named at module level in the task's utils.py (``!function utils.<metric>``); this builds it.
A figure that does not apply to a run (a rate over nothing) is None, never NaN: lm-eval writes
it as null, and the leaderboard reads null as "not applicable".
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence


def summary_metric(summarize: Callable[[Sequence[Any]], Mapping[str, float | None]],
                   name: str) -> Callable[[list[Any]], float | None]:
    """The aggregation returning ``summarize(items)[name]``, named ``name``."""

    def aggregate(items: list[Any]) -> float | None:
        return summarize(items)[name]

    aggregate.__name__ = name
    return aggregate
