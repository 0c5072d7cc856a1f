"""``imitation-train``: collect teacher data, prepare it, fine-tune, sweep.

    imitation-train sft --model smollm2-135m-instruct --data train.jsonl --output-dir out/sft
    imitation-train sft --config sft.yaml --lr 1e-5            # flags win over the file
    imitation-train sweep sweep.yaml [--dry-run]               # models x budgets x data kinds
    imitation-train collect broad|nq-synthetic ...             # teacher data (see --help)
    imitation-train prepare --inputs ... --output train.jsonl  # validate, dedupe, decontaminate, budget
    accelerate launch --config_file "$(imitation-train accelerate-config ddp)" \\
        -m imitation_train.cli sft --config sft.yaml           # multi-GPU / multi-node
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judges.config import add_flags, from_args, run_main

log = logging.getLogger("imitation-train")
ACCELERATE_DIR = Path(__file__).resolve().parent / "accelerate"


def add_config_flags(parser: argparse.ArgumentParser, cls: type, what: str = "of these") -> None:
    """One ``--flag`` per field of the config dataclass ``cls``, plus ``--config FILE.yaml``
    (read back by ``from_args(cls, args, args._config_file)``)."""
    add_flags(parser, cls)
    parser.add_argument("--config", dest="_config_file", default=None, metavar="FILE.yaml",
                        help=f"YAML file with any {what} settings (flags win over the file)")


def _cmd_sft(args: argparse.Namespace) -> int:
    from imitation_train.train_config import SFTConfig
    from imitation_train.trainer import train

    cfg = from_args(SFTConfig, args, args._config_file)
    result = train(cfg)
    if result.card:
        print(json.dumps({"model": str(result.output_dir), "steps": result.steps,
                          "supervised_tokens": result.supervised_tokens,
                          "final_loss": result.losses[-1] if result.losses else None}))
    return 0


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


def _register_optional(sub: Any, module: str) -> None:
    """collect and prepare live in their own modules; add them when they import."""
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        log.debug("%s not available: %s", module, err)
        return
    mod.register(sub)


def build_parser() -> argparse.ArgumentParser:
    from imitation_train.train_config import SFTConfig

    parser = argparse.ArgumentParser(prog="imitation-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sft = sub.add_parser("sft", help="fine-tune a causal LM on chat data (loss on replies only)")
    add_config_flags(sft, SFTConfig)
    sft.set_defaults(func=_cmd_sft)
    sweep = sub.add_parser("sweep", help="train and evaluate base models x budgets x data kinds")
    sweep.add_argument("config_file", metavar="CONFIG.yaml", help="the sweep file")
    sweep.add_argument("--dry-run", action="store_true",
                       help="print the runs the sweep would do, do nothing")
    sweep.set_defaults(func=_cmd_sweep)
    acc = sub.add_parser("accelerate-config", help="print the path of a shipped accelerate "
                         "config (for accelerate launch --config_file)")
    acc.add_argument("kind", choices=sorted(p.stem for p in ACCELERATE_DIR.glob("*.yaml")))
    acc.set_defaults(func=_cmd_accelerate)
    for module in ("imitation_train.collect", "imitation_train.prepare"):
        _register_optional(sub, module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser(), argv, name=lambda args: f"imitation-train {args.command}")


if __name__ == "__main__":
    sys.exit(main())
