"""Config dataclasses -> argparse flags -> optional YAML file, with unknown keys an error.

Each field carries its help text in ``metadata={"help": ...}``; a field named ``data_dir``
becomes ``--data-dir``. ``--config FILE.yaml`` supplies values; flags given on the command line
win over the file; the resolved config is written next to every output.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or flag a user can fix."""


def _base_type(annotation: Any) -> type:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0])
    return annotation if isinstance(annotation, type) else str


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one ``--flag`` per dataclass field; defaults are SUPPRESSed so we know what was set."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else None
        help_text = f"{field.metadata.get('help', '')} (default: {default!r})"
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=argparse.SUPPRESS,
                                help=help_text, metavar=field.name.upper())
    parser.add_argument("--config", dest="_config_file", default=None, metavar="FILE.yaml",
                        help="YAML file with any of these settings (flags win over the file)")


def load_yaml_config(path: Path, cls: type) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of setting: value at the top level")
    known = {f.name for f in dataclasses.fields(cls)}
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return data


def build_config(cls: type[C], args: argparse.Namespace) -> C:
    """The dataclass from (YAML file, then flags given on the command line)."""
    values: dict[str, Any] = {}
    config_file = getattr(args, "_config_file", None)
    if config_file:
        values.update(load_yaml_config(Path(config_file), cls))
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(str(err)) from None


def config_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
