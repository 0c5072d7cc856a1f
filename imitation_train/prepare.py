"""``imitation-train prepare``: read, validate, clean, dedupe, decontaminate, budget, write.

    imitation-train prepare --inputs sharegpt.json,alpaca.json --output data/train.jsonl \\
        --tokenizer smollm2-135m-instruct --budget-tokens 300000

Writes the normalised JSONL (in the budget's seeded order when a budget is given) and, next to
it, ``<name>.stats.json``: what each step dropped, contamination counts per benchmark, total and
supervised tokens, sources and teachers, and the resolved config. ``python -m
imitation_train.prepare --help`` works too.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from judges.config import add_config_flags, from_args, run_main

from imitation_train.chat_records import ChatRecord, write_records
from imitation_train.contamination import DEFAULT_BENCHMARKS
from imitation_train.record_loader import FORMATS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareConfig:
    inputs: str = field(default="", metadata={
        "help": "comma-separated data files (JSON array or JSONL, .gz ok): ShareGPT, Alpaca, "
                "OpenAI messages, HC3, AlpacaEval outputs or normalised JSONL"})
    output: str = field(default="data/prepared.jsonl", metadata={
        "help": "normalised JSONL to write; the stats go to <name>.stats.json next to it"})
    format: str = field(default="auto", metadata={
        "help": f"input format for every file: {', '.join(FORMATS)}"})
    source: str | None = field(default=None, metadata={"help": "override the records' source"})
    teacher: str | None = field(default=None, metadata={
        "help": "the teacher that wrote the replies, when the files do not say (e.g. gpt-4)"})
    html: str = field(default="auto", metadata={
        "help": "ShareGPT HTML replies to text: auto (replies starting with a tag), always, never"})
    dedupe: bool = field(default=True, metadata={"help": "remove exact and near duplicates"})
    near_dup_threshold: float = field(default=0.8, metadata={
        "help": "Jaccard similarity of word 5-gram shingles at which two records are duplicates"})
    decontaminate: bool = field(default=True, metadata={
        "help": "remove records sharing an n-gram with an evaluation item"})
    benchmarks: str = field(default=",".join(DEFAULT_BENCHMARKS), metadata={
        "help": "evaluation sets to decontaminate against (also: mt_bench, arena_hard)"})
    ngram: int = field(default=13, metadata={"help": "n-gram length of the contamination check"})
    min_tokens: int = field(default=6, metadata={
        "help": "shorter evaluation items are skipped; items shorter than --ngram count whole"})
    data_dir: str | None = field(default=None, metadata={
        "help": "shared data folder (default: IMITATION_SUITE_DATA, else ../shared/data)"})
    tokenizer: str = field(default="smollm2-135m-instruct", metadata={
        "help": "tokenizer for token counts: a model preset, an HF folder or a Hub id; use the "
                "model you will train"})
    budget_tokens: int | None = field(default=None, metadata={
        "help": "keep a seeded, nested subset of at most this many tokens (none: keep all)"})
    budget_by: str = field(default="total", metadata={
        "help": "what the budget counts: total or supervised tokens"})
    seed: int = field(default=0, metadata={"help": "seed of the budget's ranking"})
    progress: bool = field(default=True, metadata={"help": "progress bars"})

    def __post_init__(self) -> None:
        if self.budget_tokens is not None and self.budget_tokens <= 0:
            raise ValueError(f"budget_tokens must be > 0, got {self.budget_tokens}")
        if self.budget_by not in ("total", "supervised"):
            raise ValueError(f"budget_by must be total or supervised, got {self.budget_by!r}")

    def input_paths(self) -> list[Path]:
        paths = [Path(p.strip()) for p in self.inputs.split(",") if p.strip()]
        if not paths:
            raise ValueError("give at least one input file: --inputs FILE[,FILE...]")
        return paths


def clean(records: Sequence[ChatRecord]) -> tuple[list[ChatRecord], dict[str, int]]:
    """Training-ready records: trailing non-assistant turns cut; records with no reply, an empty
    turn, or turns that do not alternate user/assistant dropped (counted by reason)."""
    dropped: collections.Counter[str] = collections.Counter()
    kept: list[ChatRecord] = []
    for record in records:
        messages = list(record.messages)
        while messages and messages[-1].role != "assistant":
            messages.pop()
        body = messages[1:] if messages and messages[0].role == "system" else messages
        if not body:
            dropped["no_assistant_reply"] += 1
        elif any(not m.content.strip() for m in messages):
            dropped["empty_turn"] += 1
        elif any(m.role != ("user", "assistant")[i % 2] for i, m in enumerate(body)):
            dropped["turns_not_alternating"] += 1
        else:
            kept.append(ChatRecord(record.id, tuple(messages), record.source, record.teacher))
    return kept, dict(dropped)


def unique_ids(records: Sequence[ChatRecord]) -> tuple[list[ChatRecord], int]:
    """Distinct records that share an id get ``#2``, ``#3``... (ids rank the budget)."""
    seen: collections.Counter[str] = collections.Counter()
    out, renamed = [], 0
    for record in records:
        seen[record.id] += 1
        if seen[record.id] > 1:
            renamed += 1
            record = ChatRecord(f"{record.id}#{seen[record.id]}", record.messages, record.source,
                                record.teacher)
        out.append(record)
    return out, renamed


def load_tokenizer(name: str) -> Any:
    """A tokenizer from a preset name, a local folder or a Hub id."""
    from transformers import AutoTokenizer

    from imitation_train.model_setup import resolve_model

    if not Path(name).exists():  # a preset or a Hub id; a folder may hold just a tokenizer
        name = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:  # not a tokenizer's folder (an empty one, a file), or
        # the Hub is unreachable or has no such model
        problem = " ".join(str(err).split())[:300]
        raise ValueError(f"--tokenizer: cannot load the tokenizer {name!r} ({problem}); pass a "
                         "local model folder or a preset (imitation-eval models)") from None


def prepare(cfg: PrepareConfig, tokenizer: Any = None) -> dict[str, Any]:
    """Run every step; write the output and its stats; return the stats."""
    from imitation_train.budget import count_tokens, select_budget, total_counts
    from imitation_train.contamination import filter_contamination
    from imitation_train.dedup import dedupe
    from imitation_train.record_loader import load_records

    stats: dict[str, Any] = {"inputs": []}
    records: list[ChatRecord] = []
    for path in cfg.input_paths():
        loaded = load_records(path, cfg.format, source=cfg.source, teacher=cfg.teacher,
                              html=cfg.html)
        stats["inputs"].append({"path": str(path), "records": len(loaded)})
        records += loaded
    records, stats["dropped"] = clean(records)
    if cfg.dedupe:
        records, stats["dedupe"] = dedupe(records, threshold=cfg.near_dup_threshold,
                                          progress=cfg.progress)
    records, stats["ids_renamed"] = unique_ids(records)
    if cfg.decontaminate:
        records, stats["contamination"] = filter_contamination(
            records, cfg.data_dir, benchmarks=cfg.benchmarks, n=cfg.ngram,
            min_tokens=cfg.min_tokens, progress=cfg.progress)
    if not records:
        raise ValueError(f"no records left to write from {cfg.inputs} (see the counts: "
                         f"{json.dumps({k: v for k, v in stats.items() if k != 'inputs'})})")
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(cfg.tokenizer)
    counts = count_tokens(records, tokenizer)
    available = total_counts(counts)
    if cfg.budget_tokens is not None:
        by_id = {r.id: c for r, c in zip(records, counts)}
        records = select_budget(records, tokenizer, cfg.budget_tokens, cfg.seed, counts=counts,
                                by=cfg.budget_by)
        counts = [by_id[r.id] for r in records]
    chosen = total_counts(counts)
    stats.update({
        "records": len(records), "total_tokens": chosen.total,
        "supervised_tokens": chosen.supervised,
        "budget": {"budget_tokens": cfg.budget_tokens, "by": cfg.budget_by, "seed": cfg.seed,
                   "available_total_tokens": available.total,
                   "available_supervised_tokens": available.supervised},
        "sources": dict(collections.Counter(r.source for r in records)),
        "teachers": dict(collections.Counter(r.teacher or "unknown" for r in records)),
        "token_counts": "total: chat-template rendering; supervised: assistant text + 1 "
                        "end-of-turn token per reply",
        "config": dataclasses.asdict(cfg)})
    output = Path(cfg.output)
    write_records(output, records)
    stats_path = stats_file(output)
    stats_path.write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("wrote %d records (%d tokens, %d supervised) to %s; stats in %s", len(records),
             chosen.total, chosen.supervised, output, stats_path)
    return stats


def stats_file(output: Path) -> Path:
    name = output.name[:-len(".jsonl")] if output.name.endswith(".jsonl") else output.name
    return output.with_name(name + ".stats.json")


def run(args: argparse.Namespace) -> int:
    from judges.paths import output_path

    cfg = from_args(PrepareConfig, args)
    output_path(cfg.output, "--output", "file")  # before any input is read
    output_path(stats_file(Path(cfg.output)), "--output (its stats file)", "file")
    stats = prepare(cfg)
    print(json.dumps({k: stats[k] for k in ("records", "total_tokens", "supervised_tokens")}))
    print(f"wrote {cfg.output} and {stats_file(Path(cfg.output))}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``prepare`` to an ``imitation-train`` parser (its handler is ``args.func``)."""
    parser = subparsers.add_parser("prepare", help="validate, dedupe, decontaminate and budget "
                                   "chat data into normalised JSONL", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flags(parser, PrepareConfig)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imitation-train prepare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run_main(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
