"""Deterministic HumanEval sample files for tests and the benchmark: canonical solutions,
deliberately broken ones, and a seeded mix of both.

Broken kinds (each fails every HumanEval problem):

- ``perturbed``: the canonical solution, with every return value changed (int+1, str+"x",
  list+[None], not bool, ...): a wrong answer, caught by the asserts;
- ``partial``: right on the first call, perturbed from the second on (in the mix only: a
  test that calls the candidate once passes it);
- ``none`` (returns None), ``raise`` (RuntimeError), ``syntax`` (a SyntaxError);
- ``swapped``: the canonical body of the next problem (NameError or a wrong answer).

``timeout`` (an infinite loop) is available but not in the default mix.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness_tasks.execution.problems import Problem

_PERTURB = '''
def _imitation_perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return value + [None]
    if isinstance(value, tuple):
        return value + (None,)
    if value is None:
        return 0
    return None


_imitation_original = {entry}
_imitation_calls = [0]


def {entry}(*args, **kwargs):
    value = _imitation_original(*args, **kwargs)
    _imitation_calls[0] += 1
    if _imitation_calls[0] >= {first}:
        return _imitation_perturb(value)
    return value
'''

BROKEN_KINDS = ("perturbed", "none", "raise", "syntax", "swapped")
DEFAULT_MIX = {"canonical": 45, "perturbed": 20, "partial": 10, "none": 8, "raise": 6,
               "syntax": 5, "swapped": 6}


def completion(problems: Sequence[Problem], index: int, kind: str) -> str:
    """The completion of kind ``kind`` for ``problems[index]``."""
    problem = problems[index]
    canonical = problem.canonical_solution
    if kind == "canonical":
        return canonical
    if kind in ("perturbed", "partial"):
        first = 2 if kind == "partial" else 1
        return canonical + "\n" + _PERTURB.format(entry=problem.entry_point, first=first)
    if kind == "none":
        return "    return None\n"
    if kind == "raise":
        return "    raise RuntimeError('deliberately broken')\n"
    if kind == "syntax":
        return "    return (\n"
    if kind == "swapped":
        return problems[(index + 1) % len(problems)].canonical_solution
    if kind == "timeout":
        return "    while True:\n        pass\n"
    raise ValueError(f"unknown sample kind {kind!r}; expected canonical, timeout or one of "
                     f"partial, {', '.join(BROKEN_KINDS)}")


def broken_samples(problems: Sequence[Problem]) -> list[dict[str, str]]:
    """One broken completion per problem, cycling through the broken kinds."""
    return [{"task_id": p.task_id, "kind": BROKEN_KINDS[i % len(BROKEN_KINDS)],
             "completion": completion(problems, i, BROKEN_KINDS[i % len(BROKEN_KINDS)])}
            for i, p in enumerate(problems)]


def mixed_samples(problems: Sequence[Problem], per_problem: int = 10, seed: int = 0,
                  mix: Mapping[str, int] | None = None) -> list[dict[str, str]]:
    """``per_problem`` samples per problem, kinds drawn with ``seed`` from ``mix`` weights."""
    mix = dict(mix or DEFAULT_MIX)
    rng = random.Random(seed)
    kinds, weights = list(mix), list(mix.values())
    rows = []
    for i, problem in enumerate(problems):
        for kind in rng.choices(kinds, weights, k=per_problem):
            rows.append({"task_id": problem.task_id, "kind": kind,
                         "completion": completion(problems, i, kind)})
    return rows


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path
