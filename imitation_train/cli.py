"""``imitation-train``: collect teacher data, prepare it, fine-tune, sweep, experiment.

    imitation-train sft --model smollm2-135m-instruct --data train.jsonl --output-dir out/sft
    imitation-train sft --config sft.yaml --lr 1e-5            # flags win over the file
    imitation-train sweep sweep.yaml [--dry-run]               # models x budgets x data kinds
    imitation-train experiment default                         # the paper's experiment, reported
    imitation-train collect broad|nq-synthetic ...             # teacher data (see --help)
    imitation-train prepare --inputs ... --output train.jsonl  # validate, dedupe, decontaminate, budget
    accelerate launch --config_file "$(imitation-train accelerate-config ddp)" \\
        -m imitation_train.cli sft --config sft.yaml           # multi-GPU / multi-node
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from judges.config import add_config_flags, from_args, run_main
from judges.paths import output_path

from imitation_train import collect, prepare
from imitation_train.experiment import cli as experiment_cli

ACCELERATE_DIR = Path(__file__).resolve().parent / "accelerate"


def _cmd_sft(args: argparse.Namespace) -> int:
    from imitation_train.train_config import SFTConfig
    from imitation_train.trainer import train

    cfg = from_args(SFTConfig, args)
    output_path(cfg.output_dir, "--output-dir", "folder")  # before the model loads
    with _no_empty_folder_left(Path(cfg.output_dir)):
        result = train(cfg)
    if result.card:
        print(json.dumps({"model": str(result.output_dir), "steps": result.steps,
                          "supervised_tokens": result.supervised_tokens,
                          "final_loss": result.losses[-1] if result.losses else None}))
    return 0


@contextlib.contextmanager
def _no_empty_folder_left(folder: Path) -> Iterator[None]:
    """When the body fails with a user's error (bad data, say), the folders it made for
    ``folder`` are removed again if nothing was written into them."""
    first_new = folder
    while not first_new.parent.exists() and first_new.parent != first_new:
        first_new = first_new.parent
    fresh = not first_new.exists()
    try:
        yield
    except ValueError:
        if fresh and first_new.is_dir() and not any(
                p.is_file() or p.is_symlink() for p in first_new.rglob("*")):
            shutil.rmtree(first_new)
        raise


def _cmd_sweep(args: argparse.Namespace) -> int:
    from imitation_train.evaluation import EvaluationFailed
    from imitation_train.sweep import load_sweep, run_sweep

    sweep = load_sweep(Path(args.config_file))
    try:
        rows = run_sweep(sweep, dry_run=args.dry_run)
    except EvaluationFailed as err:  # an evaluation's process died
        print(f"imitation-train sweep: error: {err}", file=sys.stderr)
        return 1
    for row in rows:
        print(json.dumps(row))
    return 0


def _cmd_accelerate(args: argparse.Namespace) -> int:
    path = ACCELERATE_DIR / f"{args.kind}.yaml"
    print(path)
    return 0


def _add_sft(sub: Any) -> None:
    from imitation_train.train_config import SFTConfig

    sft = sub.add_parser("sft", help="fine-tune a causal LM on chat data (loss on replies only)")
    add_config_flags(sft, SFTConfig)
    sft.set_defaults(func=_cmd_sft)


def _add_sweep(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="train and evaluate base models x budgets x data kinds")
    sweep.add_argument("config_file", metavar="CONFIG.yaml", help="the sweep file")
    sweep.add_argument("--dry-run", action="store_true",
                       help="print the runs the sweep would do, do nothing")
    sweep.set_defaults(func=_cmd_sweep)


def _add_accelerate_config(sub: Any) -> None:
    acc = sub.add_parser("accelerate-config", help="print the path of a shipped accelerate "
                         "config (for accelerate launch --config_file)")
    acc.add_argument("kind", choices=sorted(p.stem for p in ACCELERATE_DIR.glob("*.yaml")))
    acc.set_defaults(func=_cmd_accelerate)


# Every sub-command, each added by a function of the sub-parsers (a new command is one more
# entry). Optional dependencies are imported when a command runs, never here: a missing one is
# a one-line error naming the extra to install (judges.config.run_main).
COMMANDS = (_add_sft, _add_sweep, _add_accelerate_config, collect.register, prepare.register,
            experiment_cli.register)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imitation-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
