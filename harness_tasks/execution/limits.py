"""Per-problem CPU-time limits, calibrated from the canonical solutions on this machine.

limit(problem) = max(cpu_floor_s, cpu_factor x CPU seconds of the canonical solution), where
the canonical CPU time is measured in the sandbox (prompt + canonical_solution + test): one
run, or the median of 3 for solutions that take 10 ms or more (below that the floor decides).
Limits count CPU time, not wall time, so a loaded machine gives the same verdicts; and they
scale with the machine's speed, so a slower machine gives the same verdicts too.

The measured table is cached in ``<cache>/humaneval/cpu-<host>-py<version>.json`` (cache:
``IMITATION_SUITE_CACHE`` or ``~/.cache/imitation-suite``), keyed per problem by a hash of its
prompt, canonical solution, test and entry point: the full set, the lite subset and the Hub copy
share entries, and a changed problem is measured again. Delete the file to re-calibrate.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.problems import Problem
from harness_tasks.execution.records import Job, Outcome

log = logging.getLogger(__name__)
REPEATS = 3
HEAVY_S = 0.01  # canonical solutions using at least this much CPU are measured REPEATS times
CALIBRATION_CPU_S = 30.0  # the limit while measuring a canonical solution
CALIBRATION_WALL_S = 60.0


def cache_file() -> Path:
    from harness_tasks.presets import cache_root

    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in platform.node()) or "host"
    version = ".".join(platform.python_version_tuple()[:2])
    return cache_root() / "humaneval" / f"cpu-{host}-py{version}.json"


def _load(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.get("canonical_cpu_s", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _save(path: Path, table: Mapping[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"about": "CPU seconds of each HumanEval canonical solution on this machine "
                        "(sandboxed; median of %d runs from %g s), keyed by Problem.digest"
                        % (REPEATS, HEAVY_S),
               "canonical_cpu_s": dict(sorted(table.items()))}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
    os.replace(tmp, path)


def measure(problems: Sequence[Problem], pool: WorkerPool) -> dict[str, float]:
    """Canonical CPU seconds by problem digest; failures are skipped (their limit: the floor).

    One run each; problems at or above HEAVY_S run REPEATS times and keep the median (below
    it the floor decides the limit anyway)."""
    runs = _run(problems, pool, 1)
    heavy = [p for p in problems if runs[p.digest] and runs[p.digest][0].cpu_s >= HEAVY_S]
    for digest, more in _run(heavy, pool, REPEATS - 1).items():
        runs[digest] += more
    table: dict[str, float] = {}
    for problem in problems:
        outcomes = runs[problem.digest]
        if all(o.passed for o in outcomes):
            table[problem.digest] = statistics.median(o.cpu_s for o in outcomes)
        else:
            bad = next(o for o in outcomes if not o.passed)
            log.warning("%s: the canonical solution does not pass in the sandbox (%s: %s); its "
                        "CPU limit is the floor", problem.task_id, bad.verdict, bad.reason)
    return table


def _run(problems: Sequence[Problem], pool: WorkerPool, times: int) -> dict[str, list[Outcome]]:
    jobs = [Job(p.program(p.canonical_solution), p.test, p.entry_point, CALIBRATION_CPU_S,
                CALIBRATION_WALL_S, p.task_id) for p in problems for _ in range(times)]
    outcomes = pool.run(jobs, progress=len(jobs) > 60, desc="calibrating CPU limits")
    return {p.digest: outcomes[i * times:(i + 1) * times] for i, p in enumerate(problems)}


def canonical_cpu(problems: Sequence[Problem], pool: WorkerPool,
                  path: Path | None = None) -> dict[str, float]:
    """The cached table, completed by measuring the problems it lacks (then saved)."""
    path = path or cache_file()
    table = _load(path)
    todo = [p for p in problems if p.digest not in table and p.canonical_solution]
    if todo:
        log.info("calibrating CPU limits of %d problem(s) (cached in %s)", len(todo), path)
        table.update(measure(todo, pool))
        try:
            _save(path, table)
        except OSError as err:
            log.warning("could not cache the CPU limits in %s: %s", path, err)
    return table


def cpu_limits(problems: Sequence[Problem], pool: WorkerPool, cfg: ExecConfig,
               path: Path | None = None) -> dict[str, float]:
    """The CPU-time limit of each problem, by task_id."""
    table = canonical_cpu(problems, pool, path) if cfg.calibrate else {}
    return {p.task_id: cfg.cpu_limit(table.get(p.digest)) for p in problems}
