"""What the experiment has finished, and with which settings: ``OUTPUT_DIR/stages.json``.

Every stage has an id (``train gemma3-270m/broad/budget-10000``) and a fingerprint: the
settings its output depends on, its upstream stages' fingerprints included. A finished stage
with the same fingerprint is skipped; one whose settings changed is refused before any work
starts, naming the setting and the way out (a new output_dir, or deleting that stage's folder).
The file is rewritten atomically after each stage, so a kill loses at most the stage running.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from judges.config import ConfigError


@dataclass(frozen=True)
class Stage:
    id: str  # "prepare broad", "train m/broad/budget-N", "evaluate m/base", ...
    kind: str  # prepare | train | evaluate
    fingerprint: Mapping[str, Any]
    folder: Path  # what deleting redoes the stage


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def changed_settings(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``setting: old -> new`` for every leaf that differs."""
    old, new = _flat(json.loads(json.dumps(before, default=str))), _flat(
        json.loads(json.dumps(now, default=str)))
    return [f"{k}: {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                self.done = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as err:
                raise ConfigError(f"{path}: not valid JSON ({err}); delete it to start over"
                                  ) from None

    def check(self, stages: list[Stage]) -> None:
        """Refuse (ConfigError) when a finished stage's settings changed."""
        for stage in stages:
            entry = self.done.get(stage.id)
            if entry is None:
                continue
            diff = changed_settings(entry["fingerprint"], stage.fingerprint)
            if diff:
                raise ConfigError(
                    f"stage '{stage.id}' was finished with other settings ("
                    + "; ".join(diff[:5]) + f"). To keep both, give a new output_dir; to redo "
                    f"it, delete {stage.folder} and its entry in {self.path}")

    def finished(self, stage: Stage) -> dict[str, Any] | None:
        return self.done.get(stage.id)

    def record(self, stage: Stage, seconds: float, **result: Any) -> None:
        self.done[stage.id] = {"fingerprint": json.loads(json.dumps(stage.fingerprint,
                                                                   default=str)),
                               "seconds": round(seconds, 1), **result}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.done, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
