"""Build a push payload from files on disk: a results folder written by ``imitation-eval run``
(results.json, samples_<task>.jsonl, config.json) and an ``imitation_card.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judges.jsonl import JSONLError, iter_jsonl

from leaderboard import strict_json
from leaderboard.parse import PayloadError

CARD_FILE = "imitation_card.json"


def read_json(path: Path, what: str) -> Any:
    """One JSON document; a missing file, a folder, bytes that are not UTF-8 (a binary file)
    or bad JSON is a PayloadError naming the file (and the offset or line)."""
    from judges.paths import read_text

    if not path.exists():
        raise PayloadError(f"{what} {path} does not exist")
    try:
        text = read_text(path, what)
    except ValueError as err:
        raise PayloadError(str(err)) from None
    return strict_json.loads(text, where=str(path))  # no NaN, overflow, deep nesting...


def task_of(path: Path) -> str:
    name = path.name
    if not (name.startswith("samples_") and name.endswith(".jsonl")):
        raise PayloadError(f"{path}: a samples file is named samples_<task>.jsonl")
    return name[len("samples_"):-len(".jsonl")]


def read_samples(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("samples_*.jsonl")) if p.is_dir() else [p])
    out: dict[str, list[dict[str, Any]]] = {}
    for f in files:
        task = task_of(f)
        try:
            out[task] = [row for _, row in iter_jsonl(f)]
        except JSONLError as err:
            raise PayloadError(str(err)) from None
    return out


def default_name(results: dict[str, Any], config: dict[str, Any] | None,
                 card: dict[str, Any] | None) -> str:
    if card and isinstance(card.get("name"), str) and card["name"].strip():
        return card["name"].strip()
    pretrained = ((config or {}).get("run_config") or {}).get("pretrained")
    if not pretrained:
        model_args = (results.get("config") or {}).get("model_args")
        if isinstance(model_args, dict):
            pretrained = model_args.get("pretrained") or model_args.get("model")
    if not pretrained:
        raise PayloadError("cannot tell the model's name: pass --model NAME")
    return Path(str(pretrained).rstrip("/")).name or str(pretrained)


def build_payload(results_path: Path, samples: list[Path] | None = None,
                  card_path: Path | None = None, *, name: str | None = None,
                  kind: str | None = None, base: str | None = None,
                  teacher: str | None = None, params: int | None = None) -> dict[str, Any]:
    """The JSON body of a push. ``results_path`` is results.json or its folder (a folder
    brings its samples and config.json along)."""
    folder = results_path if results_path.is_dir() else results_path.parent
    results_file = results_path / "results.json" if results_path.is_dir() else results_path
    results = read_json(results_file, "results file")
    if not isinstance(results, dict):
        raise PayloadError(f"{results_file}: expected a JSON object (lm-eval's results)")
    config_file = folder / "config.json"
    config = read_json(config_file, "config") if config_file.is_file() else None
    sample_paths = list(samples or [])
    if results_path.is_dir() and not sample_paths:
        sample_paths = [folder]
    if card_path is None and (folder / CARD_FILE).is_file():  # imitation-eval copies it there
        card_path = folder / CARD_FILE
    card = read_json(card_path, "imitation card") if card_path else None
    if card is not None and not isinstance(card, dict):
        raise PayloadError(f"{card_path}: expected a JSON object")
    spec: dict[str, Any] = {"name": name or default_name(results, config, card),
                            "kind": kind or ("imitation" if card else "base")}
    for key, value in (("base", base), ("teacher", teacher), ("params", params)):
        if value is not None:
            spec[key] = value
    body: dict[str, Any] = {"model": spec, "results": results}
    if sample_paths:
        body["samples"] = read_samples(sample_paths)
    if card is not None:
        body["card"] = card
    if config is not None:
        body["config"] = config
    return body
