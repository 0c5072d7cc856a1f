"""Config dataclasses -> argparse flags -> optional YAML file, with unknown keys an error.

The machinery lives in :mod:`judges.config` (the package every other one may use); this adds
the ``--config FILE.yaml`` flag of imitation-eval. Each field carries its help text in
``metadata={"help": ...}``; ``data_dir`` becomes ``--data-dir``; flags given on the command
line win over the file; the resolved config is written next to every output.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar

from judges.config import ConfigError, add_flags, from_args, load_yaml

C = TypeVar("C")

load_yaml_config = load_yaml

__all__ = ["ConfigError", "add_dataclass_flags", "build_config", "config_dict",
           "load_yaml_config"]


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--flag`` per dataclass field, plus ``--config FILE.yaml``."""
    add_flags(parser, cls)
    parser.add_argument("--config", dest="_config_file", default=None, metavar="FILE.yaml",
                        help="YAML file with any of these settings (flags win over the file)")


def build_config(cls: type[C], args: argparse.Namespace) -> C:
    """The dataclass from (YAML file, then flags given on the command line)."""
    return from_args(cls, args, getattr(args, "_config_file", None))


def config_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
