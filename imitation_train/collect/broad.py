"""Broad imitation data: the teacher's replies to a pool of real user prompts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from imitation_train.chat_records import ChatRecord, Message, RecordLog

from imitation_train.collect.calls import (CollectSettings, Tally, make_request, output_field,
                                           run_calls, usable_text)

log = logging.getLogger(__name__)
EVAL_PROMPT_SETS = "koala,alpaca_eval,vicuna,mt_bench,arena_hard"


@dataclass(frozen=True)
class BroadConfig(CollectSettings):
    pool: str = field(default="", metadata={
        "help": "comma-separated prompt files (ShareGPT, Alpaca, OpenAI messages, normalised...)"})
    pool_format: str = field(default="auto", metadata={"help": "format of the pool files"})
    limit: int | None = field(default=None, metadata={"help": "use the first N prompts only"})
    max_turns: int = field(default=1, metadata={
        "help": "user turns answered per conversation (0: all)"})
    max_tokens: int = field(default=1024, metadata={"help": "longest teacher reply, in tokens"})
    temperature: float = field(default=0.7, metadata={"help": "teacher sampling temperature"})
    prompt: str = field(default="broad", metadata={
        "help": "teacher prompt: a shipped name or a YAML file (name, version, system, user)"})
    eval_prompts: str = field(default="drop", metadata={
        "help": "pool prompts that are evaluation prompts: drop (with a warning; an error when "
                "they are most of the pool), refuse (an error if there is any), or allow"})
    eval_sets: str = field(default=EVAL_PROMPT_SETS, metadata={
        "help": "evaluation prompt sets the pool is checked against"})
    drop_truncated: bool = field(default=False, metadata={
        "help": "leave out replies cut at --max-tokens (finish_reason=length)"})
    source: str | None = field(default=None, metadata={
        "help": "source name stored in each record (default: the pool's, e.g. sharegpt)"})
    output: str = output_field("data/broad.jsonl")

    def __post_init__(self) -> None:
        if self.eval_prompts not in ("refuse", "drop", "allow"):
            raise ValueError("eval_prompts must be refuse, drop or allow, "
                             f"got {self.eval_prompts!r}")
        if self.max_turns < 0 or self.max_tokens < 1:
            raise ValueError("max_turns must be >= 0 and max_tokens >= 1")


def load_pool(cfg: BroadConfig) -> tuple[list[ChatRecord], dict[str, Any]]:
    """Prompt-only records (system + user turns) of the pool, exact duplicates and (per
    ``eval_prompts``) evaluation prompts removed."""
    from imitation_train.contamination import filter_contamination
    from imitation_train.dedup import dedupe
    from imitation_train.prepare import unique_ids
    from imitation_train.record_loader import load_records

    paths = [p.strip() for p in cfg.pool.split(",") if p.strip()]
    if not paths:
        raise ValueError("give a prompt pool: --pool FILE[,FILE...] (ShareGPT, Alpaca, ...)")
    pool: list[ChatRecord] = []
    for path in paths:
        for r in load_records(path, cfg.pool_format):
            kept = tuple(m for m in r.messages if m.role != "assistant")
            if any(m.role == "user" for m in kept):
                pool.append(ChatRecord(r.id, kept, r.source, None))
    pool, dedupe_report = dedupe(pool, near=False)
    pool, _ = unique_ids(pool)  # an id names a record in the output: one id, one prompt
    if cfg.limit is not None:
        pool = pool[:cfg.limit]
    report: dict[str, Any] = {"pool": len(pool),
                              "pool_duplicates": dedupe_report["exact_duplicates"]}
    if cfg.eval_sets.strip():
        clean, found = filter_contamination(pool, cfg.data_dir, benchmarks=cfg.eval_sets,
                                            on="user")
        report["eval_prompts"] = {k: v["records"] for k, v in found["per_benchmark"].items()}
        removed, mode = found["removed"], cfg.eval_prompts
        if removed and (mode == "refuse" or (mode == "drop" and 2 * removed > len(pool))):
            what = ("most of the pool is an evaluation set" if mode == "drop" else
                    "training on them makes those evaluations meaningless")
            raise ValueError(
                f"prompt pool {cfg.pool}: {removed} of {len(pool)} prompts are evaluation "
                f"prompts ({report['eval_prompts']}); {what}. Use another pool, or pass "
                "--eval-prompts drop to leave them out (--eval-prompts allow keeps them: only for "
                "models never evaluated on those sets)")
        if removed and mode == "drop":
            log.warning("dropping %d evaluation prompts from the pool: %s", removed,
                        report["eval_prompts"])
            pool = clean
        elif removed:
            log.warning("the pool holds %d evaluation prompts (%s): kept (--eval-prompts allow)",
                        removed, report["eval_prompts"])
    return pool, report


def collect_broad(cfg: BroadConfig, client: Any, model: str,
                  loaded: tuple[list[ChatRecord], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Teacher replies to the pool (``loaded``: what :func:`load_pool` returned, if already
    called), appended to ``cfg.output``; returns the counts."""
    from imitation_train.prompts import load_prompt

    prompt = load_prompt(cfg.prompt)
    pool, report = loaded if loaded is not None else load_pool(cfg)
    tally = Tally()
    teacher = cfg.teacher or model
    with RecordLog(cfg.output) as out:
        todo = [r for r in pool if r.id not in out]
        report["already_written"] = len(pool) - len(todo)
        turns = {r.id: [m for m in r.messages if m.role == "user"] for r in todo}
        if cfg.max_turns:
            turns = {k: v[:cfg.max_turns] for k, v in turns.items()}
        history: dict[str, list[Message]] = {r.id: [m for m in r.messages if m.role == "system"]
                                             for r in todo}
        lead = [{"role": "system", "content": prompt.system.strip()}] if prompt.system.strip() \
            else []  # the teacher prompt's system message, unless the pool has its own
        active = [r.id for r in todo]
        sources = {r.id: r.source for r in todo}
        for turn in range(max((len(v) for v in turns.values()), default=0)):
            jobs = []
            for rid in (r for r in active if len(turns[r]) > turn):
                user = turns[rid][turn]
                messages = [{"role": m.role, "content": m.content} for m in history[rid]]
                if not (history[rid] and history[rid][0].role == "system"):
                    messages = lead + messages
                messages.append({"role": "user", "content": prompt.user_text(prompt=user.content)})
                history[rid].append(user)
                jobs.append((rid, make_request(model, messages, prompt.id, seed=cfg.seed,
                                               temperature=cfg.temperature,
                                               max_tokens=cfg.max_tokens)))
            failed: set[str] = set()

            def on_reply(rid: str, result: Any, turn: int = turn) -> None:
                text = usable_text(result, tally, cfg.drop_truncated)
                if text is None:
                    failed.add(rid)
                    return
                history[rid].append(Message("assistant", text))
                if turn == len(turns[rid]) - 1:
                    out.append(ChatRecord(rid, tuple(history[rid]), cfg.source or sources[rid],
                                          teacher))
                    tally.add("written")

            run_calls(client, jobs, on_reply, desc=f"broad turn {turn + 1}", progress=cfg.progress)
            active = [r for r in active if r not in failed and len(turns[r]) > turn + 1]
    return {**report, **tally.counts}
