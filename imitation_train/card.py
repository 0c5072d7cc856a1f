"""``imitation_card.json``: the lineage of a fine-tuned checkpoint, next to its weights.

Fields (schema version 1): base_model (Hub id or name, a string), base_model_revision (Hub
commit, or sha256 of the weight files), base_model_info, teacher, data_kind (e.g. broad, local),
data_sources [{name, records, tokens, supervised_tokens}], data_files, token_budget, budget,
imitation_tokens (tokens of the training data), supervised_tokens, tokens_seen,
supervised_tokens_seen, contamination (the filter's counts per file, or null), chat_template,
eot_token, hyperparameters (the whole SFT config), steps, final_loss, code_version.
The string fields follow what ``leaderboard.ingest.parse_card`` reads.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

CARD_FILE = "imitation_card.json"
SCHEMA_VERSION = 1


def code_version() -> dict[str, Any]:
    """Package version plus the git commit of this checkout (and whether it had edits)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("imitation-suite")
    except PackageNotFoundError:
        package = None
    repo = Path(__file__).resolve().parent.parent
    info: dict[str, Any] = {"package": package, "git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--",
                                "imitation_train"], capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip()
        info.update(git_commit=commit, git_dirty=bool(dirty))
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _weights_sha256(folder: Path) -> str | None:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def base_model_info(name: str, path: str, revision: str | None) -> dict[str, Any]:
    """Name as given, where it was loaded from, and an exact revision (Hub commit or hash)."""
    info: dict[str, Any] = {"name": name, "path": path, "hub_id": None, "revision": revision}
    folder = Path(path)
    preset = folder / "imitation_preset.json"
    if preset.is_file():
        meta = json.loads(preset.read_text(encoding="utf-8"))
        info["hub_id"] = meta.get("hub_id")
        info["preset"] = meta
    if folder.is_dir():
        info["revision"] = info["revision"] or _weights_sha256(folder)
    else:
        info["hub_id"] = name
        try:
            from transformers import AutoConfig

            info["revision"] = revision or getattr(
                AutoConfig.from_pretrained(name, revision=revision), "_commit_hash", None)
        except (OSError, ValueError):
            pass
    return info


def _contamination(path: str | None) -> Any:
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--contamination-report {path}: cannot read it as JSON ({err})") from None


def build_card(cfg: Any, data: Any, chat: Any, state: dict[str, Any], model_path: str,
               total_steps: int) -> dict[str, Any]:
    teachers = [cfg.teacher] if cfg.teacher else list(data.teachers)
    base = base_model_info(cfg.model, model_path, cfg.revision)
    sources = [{"name": name, **counts} for name, counts in sorted(data.sources.items())]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "imitation",
        "base_model": base["hub_id"] or cfg.model,
        "base_model_revision": base["revision"],
        "base_model_info": base,
        "teacher": "+".join(teachers) if teachers else None,
        "data_kind": cfg.data_kind or "+".join(s["name"] for s in sources),
        "data_sources": sources,
        "data_files": data.files,
        "examples": data.stats.kept,
        "dropped_too_long": data.stats.dropped_too_long,
        "token_budget": cfg.token_budget,
        "budget": data.budget,
        "imitation_tokens": data.stats.tokens,
        "supervised_tokens": data.stats.supervised,
        "tokens_seen": state["tokens"],
        "supervised_tokens_seen": state["supervised_tokens"],
        "contamination": _contamination(cfg.contamination_report) or data.contamination,
        "chat_template": chat.template_name,
        "eot_token": chat.eot,
        "hyperparameters": asdict(cfg),
        "steps": {"done": state["step"], "planned": total_steps},
        "final_loss": state["losses"][-1] if state["losses"] else None,
        "code_version": code_version(),
    }


def write_card(folder: Path, card: dict[str, Any]) -> Path:
    path = Path(folder) / CARD_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_card(folder: str | Path) -> dict[str, Any] | None:
    """The card of a model folder, or None when it has none (a model not trained here)."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        return None
    card = json.loads(path.read_text(encoding="utf-8"))
    if card.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {card.get('schema_version')} is not "
                         f"{SCHEMA_VERSION}; upgrade imitation-suite")
    return card
