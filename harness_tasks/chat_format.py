"""Which tasks of a run go through the model's chat template: decided per task, not per run.

A task declares how its prompt is meant to be given in ``metadata.prompt_format``:

- ``chat``: one user turn asking for an answer (NQ chat, HumanEval chat, style profile, the
  graded factuality probes, the judge tasks). An instruction-tuned model gets it through its
  chat template; a base model gets the plain text.
- ``completion`` (the default when a task says nothing): a text the model continues (NQ 0/3-shot,
  MMLU 5-shot, HumanEval's signature + docstring, TruthfulQA's multiple choice). Always plain,
  as in the papers these protocols come from.

``--chat-template auto`` (the default) applies that rule; ``always`` and ``never`` force one
choice on every task (``always`` is the old global ``--apply-chat-template``); ``declared``
gives each task its declared format whatever the model, so a base model and its fine-tunes are
prompted identically (the base model needs a chat template: a preset has one). Chat-only API
backends (``*-chat-completions``) get the template on every task whatever the mode: they accept
nothing else. What each task got is written to the results folder (``config.json``:
``chat_template_tasks``) and the leaderboard keeps the two apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

ChatMode = Literal["auto", "always", "never", "declared"]
CHAT_MODES: tuple[str, ...] = ("auto", "always", "never", "declared")
PROMPT_FORMATS: tuple[str, ...] = ("chat", "completion")
CHAT_ONLY_BACKENDS = frozenset({"local-chat-completions", "openai-chat-completions",
                                "anthropic-chat-completions", "anthropic-chat"})

PRESET_MARKER = "imitation_preset.json"  # written by harness_tasks.presets into a preset folder
CARD_FILE = "imitation_card.json"  # written by imitation-train next to a fine-tuned model


def check_mode(mode: str) -> str:
    if mode not in CHAT_MODES:
        raise ValueError(f"--chat-template {mode!r}: expected one of {', '.join(CHAT_MODES)}")
    return mode


def model_is_chat(backend: str, pretrained: str | None) -> bool:
    """Whether a model is meant to be prompted through its chat template.

    Chat-only API backends: yes. A preset folder: its recorded kind. A model trained by
    imitation-train (``imitation_card.json``): yes, it was fine-tuned on chat-formatted data.
    Any other local folder: yes when its tokenizer carries a chat template. A Hub id or an API
    completions backend: no (a base model's plain prompt is the safe reading; pass
    ``--chat-template always`` for an instruction-tuned one).
    """
    if backend in CHAT_ONLY_BACKENDS:
        return True
    if not pretrained:
        return False
    folder = Path(str(pretrained))
    if not folder.is_dir():
        return False
    marker = folder / PRESET_MARKER
    if marker.is_file():
        return _json(marker).get("kind") == "instruct"
    if (folder / CARD_FILE).is_file():
        return True
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    return bool(_json(folder / "tokenizer_config.json").get("chat_template"))


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prompt_format(task: Any) -> str:
    """A task's declared prompt format (``completion`` when it declares none)."""
    metadata = getattr(getattr(task, "config", None), "metadata", None) or {}
    value = metadata.get("prompt_format", "completion") if isinstance(metadata, Mapping) else \
        "completion"
    if value not in PROMPT_FORMATS:
        name = getattr(getattr(task, "config", None), "task", "?")
        raise ValueError(f"task {name}: metadata.prompt_format {value!r} must be one of "
                         f"{', '.join(PROMPT_FORMATS)}")
    return value


def uses_chat_template(fmt: str, mode: str, model_chat: bool, backend: str = "hf") -> bool:
    if backend in CHAT_ONLY_BACKENDS or mode == "always":
        return True
    if mode == "never":
        return False
    return fmt == "chat" and (model_chat or mode == "declared")


def apply_per_task(tasks: Mapping[str, Any], lm: Any, *, mode: str, model_chat: bool,
                   backend: str) -> dict[str, bool]:
    """Fix each task's chat-template choice on the task object itself.

    lm-eval takes one ``apply_chat_template`` for a whole run and hands it to every task's
    ``build_all_requests``; this binds the per-task choice to that method of each task (the
    run-level value is then ignored), so one ``simple_evaluate`` call serves both kinds and the
    model is loaded once. Returns ``{task name: used the template}``.
    """
    chosen: dict[str, bool] = {}
    for name, task in tasks.items():
        use = uses_chat_template(prompt_format(task), mode, model_chat, backend)
        chosen[name] = use
        build = task.build_all_requests

        def build_fixed(*args: Any, _build: Any = build, _use: bool = use, **kwargs: Any) -> Any:
            kwargs["apply_chat_template"] = _use
            kwargs["chat_template"] = getattr(lm, "apply_chat_template", None) if _use else None
            kwargs["tokenizer_name"] = getattr(lm, "tokenizer_name", "") if _use else ""
            kwargs["fewshot_as_multiturn"] = bool(kwargs.get("fewshot_as_multiturn")) and _use
            return _build(*args, **kwargs)

        task.build_all_requests = build_fixed
    return chosen
