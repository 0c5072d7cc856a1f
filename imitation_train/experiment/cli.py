"""``imitation-train experiment CONFIG.yaml [--output-dir DIR] [--plan]``.

``CONFIG.yaml`` is a file, or the name of a shipped config (``default``: gemma3-270m on the
Alpaca-GPT4 records, 2-core CPU; ``gpu``; ``hub``: a 7B-class base with the Hub).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from judges.paths import output_path


def config_path(name: str) -> Path:
    from imitation_train.experiment import CONFIGS

    path = Path(name)
    if path.is_file() or path.suffix in (".yaml", ".yml"):
        return path
    shipped = CONFIGS / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
    raise ValueError(f"no config file {name!r} and no shipped config of that name ({known})")


def _cmd(args: argparse.Namespace) -> int:
    from imitation_train.experiment import load_experiment, run_experiment
    from imitation_train.experiment.pipeline import plan

    overrides = {"output_dir": args.output_dir} if args.output_dir else {}
    cfg = load_experiment(config_path(args.config_file), **overrides)
    output_path(cfg.output_dir, "--output-dir" if args.output_dir else f"{args.config_file}: "
                "output_dir", "folder")
    if args.plan:
        for p in plan(cfg):
            print(json.dumps({"stage": p.stage.id, "folder": str(p.stage.folder)}))
        return 0
    out = run_experiment(cfg)
    print(json.dumps(out, indent=2))
    minutes = out["stage_seconds_total"] / 60
    print(f"imitation-train experiment: done; all stages took {minutes:.1f} min; report: "
          f"{', '.join(out['reports'])}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("experiment", help="prepare, train, evaluate, push and report: base "
                       "models x data kinds x nested token budgets")
    p.add_argument("config_file", metavar="CONFIG.yaml",
                   help="an experiment file, or a shipped config's name (default, gpu, hub)")
    p.add_argument("--output-dir", help="override the config's output_dir")
    p.add_argument("--plan", action="store_true", help="list the stages, run nothing")
    p.set_defaults(func=_cmd)
