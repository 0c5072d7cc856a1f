"""Config and command-line plumbing shared by every command of the suite (this is the leftmost
package, so all four CLIs use it):

- a config is a dataclass whose fields carry help text (:func:`option`, or
  ``metadata={"help": ...}``) and become
  ``--flags`` (:func:`add_config_flags`), with an optional YAML file of the same settings
  (unknown keys are an error; flags win over the file; :func:`from_args`);
- :func:`run_main` is every ``main()``: logging, then the command, with a user-fixable error or
  a missing optional dependency as one ``PROG: error: ...`` line and exit code 2.

:class:`ClientConfig` is the judge / teacher client's config. The API key itself is never a
field: only the name of the environment variable that holds it, read when a client is built.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any, TypeVar

C = TypeVar("C")


def option(default: Any, help_text: str) -> Any:
    """A config field with its help text, which becomes the ``--flag``'s help (and the field
    list of every config of the suite reads as one line per setting)."""
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = option("https://api.openai.com/v1",
        "OpenAI-compatible endpoint, up to /v1 (e.g. http://127.0.0.1:8000/v1)")
    model: str = option("gpt-4o-mini", "model name sent to the endpoint")
    api_key_env: str = option("OPENAI_API_KEY",
        "environment variable holding the API key (the key is never logged or stored)")
    concurrency: int = option(16, "most calls in flight at once")
    rpm: float | None = option(None, "requests-per-minute limit (none: no limit)")
    tpm: float | None = option(None,
        "tokens-per-minute limit, prompt estimate + max_tokens per call (none: no limit)")
    max_retries: int = option(5, "retries per call on 429, 5xx, timeouts and connection errors")
    timeout: float = option(120.0, "seconds per HTTP attempt")
    http_backend: str = option("auto",
        "HTTP transport of the openai SDK: httpx, aiohttp (openai[aiohttp], faster at high "
        "concurrency) or auto (aiohttp when installed)")
    backoff_base: float = option(1.0, "first backoff in seconds (doubles per retry, with jitter)")
    backoff_max: float = option(60.0, "longest backoff in seconds")
    cache_path: str | None = option(None, "SQLite cache file (none: no cache; every call is made)")
    max_cost: float | None = option(None,
        "stop before the spend of this run would exceed this many dollars")
    prices_file: str | None = option(None,
        "JSON price table overriding the shipped one (dollars per 1M tokens)")

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("rpm", "tpm", "max_cost"):  # NaN would pass '<= 0': a budget never hit
            value = getattr(self, name)
            if value is not None and not (0 < value < math.inf):
                raise ValueError(f"{name} must be > 0 and finite, or unset, got {value}")
        if not 0 < self.timeout < math.inf:
            raise ValueError(f"timeout must be a finite number > 0, got {self.timeout}")
        for name in ("backoff_base", "backoff_max"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
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
    """One ``--flag`` per field; defaults SUPPRESSed so only what was given overrides the file.
    Keyword-only fields (settings a config shares through its base class) come last, as in
    the config's constructor."""
    hints = typing.get_type_hints(cls)
    for f in sorted(dataclasses.fields(cls), key=lambda f: bool(f.kw_only)):
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

    from judges.paths import read_text

    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    text = read_text(path, "config file")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        raise ConfigError(f"{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of setting: value at the top level")
    data = {str(k).replace("-", "_"): v for k, v in data.items()}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")
    return data


def _file_dest(cls: type) -> str:
    return f"_config_file_{cls.__name__}"


def add_config_flags(parser: argparse.ArgumentParser | Any, cls: type, option: str = "--config",
                     what: str = "of these") -> None:
    """One ``--flag`` per field of ``cls``, plus ``option FILE.yaml``: a YAML file with any of
    them. ``from_args(cls, args)`` reads both back (flags win over the file)."""
    add_flags(parser, cls)
    parser.add_argument(option, dest=_file_dest(cls), default=None, metavar="FILE.yaml",
                        help=f"YAML file with any {what} settings (flags win over the file)")


def given_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The settings of ``cls`` given for this run: its YAML file (when one was named), then the
    flags given on the command line."""
    yaml_file = getattr(args, _file_dest(cls), None)
    values: dict[str, Any] = load_yaml(Path(yaml_file), cls) if yaml_file else {}
    names = {f.name for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in names})
    return values


def from_args(cls: type[C], args: argparse.Namespace) -> C:
    """The dataclass from its YAML file (see :func:`add_config_flags`), then the flags given."""
    try:
        return cls(**given_values(cls, args))
    except TypeError as err:
        raise ConfigError(str(err)) from None


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_main(parser: argparse.ArgumentParser, argv: Sequence[str] | None, *,
             quiet: Sequence[str] = (),
             levels: tuple[int, int] = (logging.INFO, logging.DEBUG)) -> int:
    """The ``main()`` of every command of the suite. Parse ``argv`` (default: sys.argv), set up
    logging (``levels``: without and with ``-v``; the ``quiet`` loggers at warnings unless
    ``-v``) and run ``args.func(args)``. Its result is the exit code when it is an int or None;
    anything else is printed as JSON (exit code 0). A user-fixable error (any ValueError:
    ConfigError, RecordError, DataError, ...) or a missing optional dependency becomes one
    ``PROG: error: ...`` line on stderr and exit code 2, never a traceback; PROG is the prog of
    the (sub)command that ran, as argparse names it in its own errors."""
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(level=levels[verbose], format=LOG_FORMAT)
    for noisy in () if verbose else quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        result = args.func(args)
    except ValueError as err:
        message = one_line(err)
    except ModuleNotFoundError as err:
        message = missing_extra(err)
        if message is None:  # not an optional dependency: a bug or a broken install
            raise
    else:
        if result is None or isinstance(result, int):
            return int(result or 0)
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"{command_prog(parser, args)}: error: {message}", file=sys.stderr)
    return 2


def one_line(err: ValueError) -> str:
    """A user's error as one line: a pydantic ValidationError as ``field.path: problem`` per
    error (the first five), any other message with its line breaks joined."""
    errors = getattr(err, "errors", None)
    if type(err).__name__ == "ValidationError" and callable(errors):
        found = errors(include_url=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'the body'}: {e['msg']}"
                 for e in found[:5]]
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        return f"{getattr(err, 'title', 'input')}: {'; '.join(parts)}{more}"
    return " ".join(line.strip() for line in str(err).splitlines() if line.strip())


def command_prog(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The prog of the sub-command ``args`` chose (``imitation-train collect broad``), found by
    following the sub-parser choices recorded in ``args``; the parser's own prog without any."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None))
            if chosen is not None:
                return command_prog(chosen, args)
    return parser.prog


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The one-line fix for a missing optional dependency (``pip install
    'imitation-suite[EXTRA]'``, the extra read from the installed package's metadata, i.e.
    pyproject.toml), or None when the module is in no extra."""
    module = (err.name or "").split(".")[0]
    extras = extras_of(module)
    if not extras:
        return None
    also = f" (also in the extra(s) {', '.join(extras[1:])})" if len(extras) > 1 else ""
    return (f"this command needs {module!r}, an optional dependency: pip install "
            f"'imitation-suite[{extras[0]}]'{also}")


def extras_of(module: str) -> list[str]:
    """The extras of imitation-suite that list the distribution named like ``module`` (``_``,
    ``-`` and ``.`` alike, any case), dev last; none when the suite is not installed."""
    from importlib import metadata

    try:
        requires = metadata.requires("imitation-suite") or []
    except metadata.PackageNotFoundError:
        return []
    found: list[str] = []
    for line in requires:
        match = re.match(r"\s*([A-Za-z0-9._-]+).*;\s*extra\s*==\s*['\"]([^'\"]+)['\"]", line)
        if match and _normalise(match[1]) == _normalise(module) and match[2] not in found:
            found.append(match[2])
    return sorted(found, key=lambda extra: extra == "dev")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
