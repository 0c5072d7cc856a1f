"""Small builders shared by the leaderboard tests."""

from __future__ import annotations

from typing import Any

from leaderboard.synthetic import card, synthetic_run

TASKS = ("imitation_nq_open_0shot", "imitation_mmlu")


def payload(name: str, kind: str = "base", acc: tuple[float, ...] = (0.3, 0.5), seed: int = 0,
            n: int = 100, samples: bool = True, **model: Any) -> dict[str, Any]:
    results, rows = synthetic_run(dict(zip(TASKS, acc)), n=n, seed=seed)
    body: dict[str, Any] = {"model": {"name": name, "kind": kind, **model}, "results": results}
    if samples:
        body["samples"] = rows
    return body


def imitation(name: str, base: str, teacher: str, acc: tuple[float, ...], seed: int,
              tokens: int = 1_000_000, data: str = "sharegpt-mix") -> dict[str, Any]:
    body = payload(name, "imitation", acc, seed)
    body["card"] = card(name, base, teacher, tokens, data)
    return body
