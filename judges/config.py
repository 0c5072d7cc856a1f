"""Client config: a dataclass whose fields carry help text, become CLI flags, and may come from
YAML (unknown keys are an error). The API key itself is never a field: only the name of the
environment variable that holds it, read when a client is built.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

C = TypeVar("C")


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = field(default="https://api.openai.com/v1", metadata={
        "help": "OpenAI-compatible endpoint, up to /v1 (e.g. http://127.0.0.1:8000/v1)"})
    model: str = field(default="gpt-4o-mini", metadata={"help": "model name sent to the endpoint"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "environment variable holding the API key (the key is never logged or stored)"})
    concurrency: int = field(default=16, metadata={"help": "most calls in flight at once"})
    rpm: float | None = field(default=None, metadata={
        "help": "requests-per-minute limit (none: no limit)"})
    tpm: float | None = field(default=None, metadata={
        "help": "tokens-per-minute limit, prompt estimate + max_tokens per call (none: no limit)"})
    max_retries: int = field(default=5, metadata={
        "help": "retries per call on 429, 5xx, timeouts and connection errors"})
    timeout: float = field(default=120.0, metadata={"help": "seconds per HTTP attempt"})
    http_backend: str = field(default="auto", metadata={
        "help": "HTTP transport of the openai SDK: httpx, aiohttp (openai[aiohttp], faster at "
                "high concurrency) or auto (aiohttp when installed)"})
    backoff_base: float = field(default=1.0, metadata={
        "help": "first backoff in seconds (doubles per retry, with jitter)"})
    backoff_max: float = field(default=60.0, metadata={"help": "longest backoff in seconds"})
    cache_path: str | None = field(default=None, metadata={
        "help": "SQLite cache file (none: no cache; every call is made)"})
    max_cost: float | None = field(default=None, metadata={
        "help": "stop before the spend of this run would exceed this many dollars"})
    prices_file: str | None = field(default=None, metadata={
        "help": "JSON price table overriding the shipped one (dollars per 1M tokens)"})

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("rpm", "tpm", "max_cost"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or unset, got {value}")
        if self.http_backend not in ("auto", "httpx", "aiohttp"):
            raise ValueError("http_backend must be auto, httpx or aiohttp, "
                             f"got {self.http_backend!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")

    def api_key(self) -> str:
        """Read the key from the environment (only when a client is built)."""
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ValueError(f"environment variable {self.api_key_env} is not set: export it with "
                             "your API key (any non-empty value for a local server without auth), "
                             "or pick another variable with --api-key-env")
        return value


class ConfigError(ValueError):
    """A config file or flag a user can fix (file and line where known)."""


def _base_type(annotation: Any) -> type:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _base_type([a for a in typing.get_args(annotation) if a is not type(None)][0])
    return annotation if isinstance(annotation, type) else str


def add_flags(parser: argparse.ArgumentParser | Any, cls: type) -> None:
    """One ``--flag`` per field; defaults SUPPRESSed so only what was given overrides the file."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = _base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = f"{f.metadata.get('help', '')} (default: {default!r})"
        flag = "--" + f.name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=f.name, type=kind, default=argparse.SUPPRESS,
                                help=help_text, metavar=f.name.upper())


def load_yaml(path: Path, cls: type) -> dict[str, Any]:
    """Settings for ``cls`` from a YAML mapping; unknown keys and bad YAML name the file."""
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
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    return data


def from_args(cls: type[C], args: argparse.Namespace, yaml_file: str | None = None) -> C:
    """The dataclass from (YAML file, then the flags given on the command line)."""
    values: dict[str, Any] = load_yaml(Path(yaml_file), cls) if yaml_file else {}
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    try:
        return cls(**values)
    except TypeError as err:
        raise ConfigError(str(err)) from None


def run_main(parser: argparse.ArgumentParser, argv: Sequence[str] | None, *,
             name: Callable[[argparse.Namespace], str] | None = None,
             emit: Callable[[Any], None] | None = None, quiet: Sequence[str] = ()) -> int:
    """The ``main()`` of every command of the suite: parse ``argv`` (default: sys.argv), set
    up logging (``-v``: debug; the ``quiet`` loggers at warnings only), run ``args.func(args)``
    and hand its result to ``emit`` (when given; the exit code is then 0) or return it as the
    exit code. A user-fixable error (any ValueError: ConfigError, RecordError, DataError, ...)
    becomes one ``NAME: error: ...`` line on stderr and exit code 2; NAME is ``name(args)`` or
    the parser's prog."""
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        result = args.func(args)
    except ValueError as err:
        print(f"{name(args) if name else parser.prog}: error: {err}", file=sys.stderr)
        return 2
    if emit is not None:
        emit(result)
        return 0
    return int(result or 0)
