"""Training data for ``sft``: read records (with their file and line), apply the token budget,
and tokenise them with the chat format."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imitation_train.chat_encoding import ChatFormat, EncodeStats, Example, encode_all
from imitation_train.chat_records import ChatRecord

log = logging.getLogger(__name__)


@dataclass
class TrainData:
    examples: list[Example]
    stats: EncodeStats
    sources: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> counts
    teachers: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    contamination: dict[str, Any] | None = None  # from prepare's stats files, per data file


def read_normalised(path: Path) -> tuple[list[ChatRecord], list[int | None]]:
    """Normalised JSONL with the line of each record, so that a record the trainer cannot use
    (no reply, a mask check failing) is reported with its file and line."""
    from imitation_train.input_formats import from_normalised, iter_objects

    records, lines = [], []
    for obj, where in iter_objects(path):
        records.append(from_normalised(obj, where))
        lines.append(where.line)
    return records, lines


def read_file(path: Path, fmt: str) -> tuple[list[ChatRecord], list[int | None]]:
    """Normalised JSONL (with lines), or any raw format through imitation_train.record_loader."""
    if fmt == "normalised" or (fmt == "auto" and path.suffix == ".jsonl" and _is_normalised(path)):
        return read_normalised(path)
    from imitation_train.record_loader import load_records

    records = load_records(path, fmt=fmt)
    return records, [None] * len(records)


def _is_normalised(path: Path) -> bool:
    if not path.is_file():
        return True  # let the reader name the missing file
    with path.open("rb") as handle:
        for raw in handle:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                return True  # let the reader name the byte and the line
            if text.strip():
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError:
                    return True  # let the reader name the line
                return isinstance(obj, dict) and "messages" in obj and "source" in obj
    return True


def _stats_sidecar(path: Path) -> dict[str, Any] | None:
    """The ``<name>.stats.json`` that ``imitation-train prepare`` writes next to its output."""
    name = path.name[:-len(".jsonl")] if path.name.endswith(".jsonl") else path.name
    side = path.with_name(name + ".stats.json")
    if not side.is_file():
        return None
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        log.warning("%s: unreadable stats file, ignored", side)
        return None


def _apply_budget(examples: list[Example], budget: int, seed: int
                  ) -> tuple[list[Example], dict[str, Any]]:
    """Nested budgets through imitation_train.budget, counting tokens exactly as trained."""
    from imitation_train import budget as budget_mod
    by_id = {ex.id: ex for ex in examples}
    if len(by_id) != len(examples):
        raise ValueError("--token-budget needs unique record ids across --data files; run "
                         "imitation-train prepare over all of them together")
    records = [ChatRecord(ex.id, (), ex.source) for ex in examples]
    chosen = budget_mod.select_budget(
        records, lambda r: (len(by_id[r.id]), by_id[r.id].supervised), budget, seed)
    kept = [by_id[r.id] for r in chosen]
    return kept, {"budget_tokens": budget, "seed": seed, "records": len(kept),
                  "tokens": sum(len(e) for e in kept)}


def load_train_data(paths: list[str], fmt: str, chat: ChatFormat, max_seq_len: int,
                    token_budget: int | None = None, seed: int = 0) -> TrainData:
    """Read and tokenise every file (the first bad record stops with its file and line), then
    keep a nested token budget when one is asked for."""
    if not paths:
        raise ValueError("--data is empty: give one or more training files")
    examples: list[Example] = []
    stats = EncodeStats()
    teachers: Counter[str] = Counter()
    contamination: dict[str, Any] = {}
    for name in paths:
        path = Path(name)
        records, lines = read_file(path, fmt)
        part, part_stats = encode_all(chat, records, max_seq_len, path=path, lines=lines)
        examples += part
        stats.dropped_too_long += part_stats.dropped_too_long
        teachers.update(r.teacher for r in records if r.teacher)
        side = _stats_sidecar(path)
        if side and side.get("contamination") is not None:
            contamination[str(path)] = side["contamination"]
    budget_info = None
    if token_budget is not None:
        examples, budget_info = _apply_budget(examples, token_budget, seed)
    stats.kept = len(examples)
    stats.tokens = sum(len(e) for e in examples)
    stats.supervised = sum(e.supervised for e in examples)
    sources: dict[str, dict[str, int]] = {}
    for ex in examples:
        entry = sources.setdefault(ex.source, {"records": 0, "tokens": 0, "supervised_tokens": 0})
        entry["records"] += 1
        entry["tokens"] += len(ex)
        entry["supervised_tokens"] += ex.supervised
    log.info("data: %d examples, %d tokens, %d supervised (%d dropped as too long)",
             stats.kept, stats.tokens, stats.supervised, stats.dropped_too_long)
    return TrainData(examples, stats, sources, sorted(teachers), [str(p) for p in paths],
                     budget_info, contamination or None)
