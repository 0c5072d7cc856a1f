"""Which judge to call, from the environment and a run's settings (for the lm-eval judge task).

Every :class:`~judges.config.ClientConfig` field can be set three ways, the later winning:

1. a YAML file of client settings named by ``IMITATION_JUDGE_CONFIG`` (or ``judge_config``);
2. an environment variable ``IMITATION_JUDGE_<FIELD>`` (``IMITATION_JUDGE_BASE_URL``,
   ``IMITATION_JUDGE_MODEL``, ``IMITATION_JUDGE_API_KEY_ENV``, ``IMITATION_JUDGE_CONCURRENCY``,
   ``IMITATION_JUDGE_CACHE_PATH``, ``IMITATION_JUDGE_MAX_COST``, ...);
3. a setting ``judge_<field>`` (lm-eval task metadata, e.g. ``--metadata '{"judge_model": ...}'``).

The judge prompt is ``IMITATION_JUDGE_PROMPT`` / ``judge_prompt`` (default ``pairwise``).
There is no default endpoint: without a base URL and a model the judge is "not configured", and
:func:`resolve` raises :class:`JudgeNotConfigured` naming what to set. The API key stays in the
variable named by ``api_key_env`` (default ``OPENAI_API_KEY``); :func:`resolve` only checks that
it is set, and nothing here returns, logs or stores its value.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from judges.config import ClientConfig, load_yaml
from judges.templates import load_prompt

ENV_PREFIX = "IMITATION_JUDGE_"
SETTING_PREFIX = "judge_"
REQUIRED = ("base_url", "model")
_NONE = {"", "none", "null"}


class JudgeNotConfigured(ValueError):
    """No usable judge endpoint: raised before any generation, with what to set."""


@dataclass(frozen=True)
class JudgeEndpoint:
    """A resolved judge: client settings (never the key) and the judge prompt.

    Also the judge record of a task's docs: ``doc["judge"]`` is :meth:`to_json`'s string, or ""
    when the task runs without a judge, and :meth:`parse` is the one reader of it (the tasks'
    filters, ``imitation-judge rescore``, the leaderboard)."""

    client: ClientConfig
    prompt: str  # a shipped prompt's name or a .yaml path
    prompt_id: str  # name@vN

    def to_json(self) -> str:
        return json.dumps({"client": dataclasses.asdict(self.client), "prompt": self.prompt,
                           "prompt_id": self.prompt_id}, sort_keys=True)

    @classmethod
    def parse(cls, record: Any) -> JudgeEndpoint | None:
        """The judge a doc records (``doc["judge"]``, as :meth:`to_json` wrote it); None when it
        records none ("" or missing). A malformed record is a ValueError."""
        if record is None or record == "":
            return None
        try:
            data = json.loads(record)
            return cls(ClientConfig(**data["client"]), str(data["prompt"]),
                       str(data["prompt_id"]))
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(f"not a judge record ({type(err).__name__}: {err}); expected the "
                             "JSON of JudgeEndpoint.to_json") from None


def _field_types() -> dict[str, type]:
    hints = typing.get_type_hints(ClientConfig)
    out = {}
    for f in dataclasses.fields(ClientConfig):
        kind = hints[f.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        out[f.name] = kind
    return out


def _convert(name: str, value: Any, where: str) -> Any:
    """A setting's value with the field's type ("none" or "" clears an optional field)."""
    if not isinstance(value, str):
        return value
    kind = _field_types()[name]
    if value.strip().lower() in _NONE:
        return None
    try:
        return kind(value) if kind in (int, float) else value
    except ValueError:
        raise JudgeNotConfigured(f"{where}={value!r}: expected {kind.__name__}") from None


def _layer(source: Mapping[str, Any], prefix: str, upper: bool) -> dict[str, Any]:
    """The ClientConfig fields a mapping sets under ``prefix`` (env: upper-case names)."""
    out = {}
    for name in _field_types():
        key = prefix + (name.upper() if upper else name)
        if key in source and source[key] is not None:
            out[name] = _convert(name, source[key], key)
    return out


def describe_settings() -> str:
    return (f"set {ENV_PREFIX}BASE_URL (an OpenAI-compatible endpoint up to /v1) and "
            f"{ENV_PREFIX}MODEL, with the API key in OPENAI_API_KEY (or in the variable named by "
            f"{ENV_PREFIX}API_KEY_ENV), or pass them as task metadata, e.g. lm_eval "
            f"--metadata '{{\"judge_base_url\": \"http://127.0.0.1:8000/v1\", "
            f"\"judge_model\": \"gpt-4o\"}}'")


def resolve(settings: Mapping[str, Any] | None = None, *,
            environ: Mapping[str, str] | None = None,
            defaults: Mapping[str, Any] | None = None) -> JudgeEndpoint:
    """The judge endpoint from (defaults, YAML file, environment, settings), later winning.

    Raises :class:`JudgeNotConfigured` when no base URL or model is set, when the API key
    variable is unset or empty, or when a setting is invalid.
    """
    settings = settings or {}
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = dict(defaults or {})
    config_file = settings.get(SETTING_PREFIX + "config") or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            values.update(load_yaml(Path(config_file), ClientConfig))
        except ValueError as err:
            raise JudgeNotConfigured(f"judge config file: {err}") from None
    values.update(_layer(environ, ENV_PREFIX, upper=True))
    values.update(_layer(settings, SETTING_PREFIX, upper=False))
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise JudgeNotConfigured(
            f"no judge endpoint configured (missing: {', '.join(missing)}), so the judge task "
            f"stops before generating anything. To run it, {describe_settings()}.")
    try:
        client = ClientConfig(**values)
    except (TypeError, ValueError) as err:
        raise JudgeNotConfigured(f"judge settings: {err}") from None
    if not environ.get(client.api_key_env):
        raise JudgeNotConfigured(
            f"the judge endpoint is {client.base_url} (model {client.model}), but the API key "
            f"variable {client.api_key_env} is not set. Export {client.api_key_env} (any "
            f"non-empty value for a local server without auth), or name the variable that "
            f"holds the key with {ENV_PREFIX}API_KEY_ENV / judge_api_key_env.")
    prompt = str(settings.get(SETTING_PREFIX + "prompt") or environ.get(ENV_PREFIX + "PROMPT")
                 or "pairwise")
    try:
        loaded = load_prompt(prompt)
    except ValueError as err:
        raise JudgeNotConfigured(f"judge prompt: {err}") from None
    if loaded.kind != "pairwise":
        raise JudgeNotConfigured(f"judge prompt {loaded.id} is a {loaded.kind} prompt; the judge "
                                 "task needs a pairwise one")
    return JudgeEndpoint(client, prompt, loaded.id)
