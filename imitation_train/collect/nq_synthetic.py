"""NQ-synthetic (local imitation, Gudibande et al. 2023): QA pairs written by the teacher from
seed NQ pairs, deduplicated against each other, the seeds and the NQ-open dev questions, then
answered by the teacher."""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from imitation_train.chat_records import ChatRecord, Message, RecordLog

from imitation_train.collect.calls import (CollectSettings, Tally, make_request, output_field,
                                           run_calls, usable_text)

log = logging.getLogger(__name__)
SEED_FILE = "nq_open/NQ-open.efficientqa.dev.1.1.jsonl"


@dataclass(frozen=True)
class NQSyntheticConfig(CollectSettings):
    num_pairs: int = field(default=6000, metadata={"help": "new QA pairs to collect (paper: 6000)"})
    seed_file: str | None = field(default=None, metadata={
        "help": f"JSONL of {{question, answer: [..]}} seeds (default: <data-dir>/{SEED_FILE})"})
    num_seeds: int = field(default=10, metadata={"help": "seed QA pairs drawn from the seed file"})
    shots: int = field(default=5, metadata={"help": "seed pairs shown per generation request"})
    pairs_per_request: int = field(default=10, metadata={"help": "new pairs asked per request"})
    max_generation_requests: int | None = field(default=None, metadata={
        "help": "stop generating after this many requests (default: 3x what num_pairs needs)"})
    generate_temperature: float = field(default=1.0, metadata={
        "help": "temperature of the generation requests"})
    generate_max_tokens: int = field(default=1024, metadata={"help": "longest generation reply"})
    answer_temperature: float = field(default=0.0, metadata={"help": "temperature of answers"})
    answer_max_tokens: int = field(default=256, metadata={"help": "longest answer"})
    near_dup_threshold: float = field(default=0.85, metadata={
        "help": "character 5-gram Jaccard at which two questions are the same"})
    eval_questions: str = field(default="nq_open/NQ-open.dev.jsonl", metadata={
        "help": "evaluation questions (under --data-dir) new questions must differ from"})
    generate_prompt: str = field(default="nq_synthetic_generate", metadata={
        "help": "generation prompt (shipped name or YAML file)"})
    answer_prompt: str = field(default="nq_synthetic_answer", metadata={
        "help": "answer prompt (shipped name or YAML file)"})
    source: str = field(default="nq_synthetic", metadata={"help": "source name in each record"})
    output: str = output_field("data/nq_synthetic.jsonl")

    def __post_init__(self) -> None:
        if min(self.num_pairs, self.num_seeds, self.shots, self.pairs_per_request) < 1:
            raise ValueError("num_pairs, num_seeds, shots and pairs_per_request must be >= 1")
        if self.shots > self.num_seeds:
            raise ValueError(f"shots ({self.shots}) cannot exceed num_seeds ({self.num_seeds})")


_QA = re.compile(r"^\W*(?:\d+\s*[.)]\s*)?(?:Q|Question)\s*\d*\s*[:.]\s*(?P<q>.+?)\s*\n+"
                 r"\W*(?:A|Answer)\s*\d*\s*[:.]\s*(?P<a>.+?)\s*$", re.I | re.M)


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs of a generation reply in the ``Q: ... / A: ...`` format."""
    pairs = []
    for match in _QA.finditer(text):
        question, answer = match["q"].strip(), match["a"].strip()
        if 3 <= len(question.split()) <= 40 and 1 <= len(answer.split()) <= 40:
            pairs.append((question, answer))
    return pairs


def load_seeds(cfg: NQSyntheticConfig) -> list[tuple[str, str]]:
    from judges.jsonl import iter_jsonl

    from imitation_train.contamination import resolve_data_dir

    path = Path(cfg.seed_file) if cfg.seed_file else resolve_data_dir(cfg.data_dir) / SEED_FILE
    rows = []
    for line, obj in iter_jsonl(path):
        question, answers = obj.get("question"), obj.get("answer")
        if not isinstance(question, str) or not isinstance(answers, list) or not answers:
            raise ValueError(f"{path}:{line}: a seed needs 'question' (string) and 'answer' "
                             "(non-empty list of strings)")
        rows.append((question.strip(), str(answers[0]).strip()))
    if len(rows) < cfg.num_seeds:
        raise ValueError(f"{path}: {len(rows)} seed rows, fewer than --num-seeds {cfg.num_seeds}")
    # the same draw as harness_tasks.subsets.seeded_indices: a seeded sample, in file order
    return [rows[i] for i in sorted(random.Random(cfg.seed).sample(range(len(rows)),
                                                                   cfg.num_seeds))]


def _qa_block(pairs: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(f"Q: {q.rstrip('?')}?\nA: {a}" for q, a in pairs)


class QuestionFilter:
    """Keeps a question only when it differs from the evaluation questions, the seeds and every
    question kept before: exactly (case and punctuation aside) and by character 5-gram Jaccard."""

    def __init__(self, threshold: float, known: dict[str, Sequence[str]]) -> None:
        from imitation_train.dedup import NearDupIndex

        self.index = NearDupIndex(threshold, n=5, unit="char")
        self.exact: dict[str, str] = {}
        self.kept = 0
        for tag, questions in known.items():
            for k, question in enumerate(questions):
                self.exact.setdefault(self._key(question), tag)
                self.index.add(f"{tag}:{k}", question)

    @staticmethod
    def _key(question: str) -> str:
        from imitation_train.dedup import words

        return " ".join(words(question))

    def verdict(self, question: str) -> str:
        """``new`` (and remembered), or why not: ``[near_]duplicate_of_<eval|seed|new>``."""
        key = self._key(question)
        if key in self.exact:
            return f"duplicate_of_{self.exact[key]}"
        hit = self.index.add(f"new:{self.kept}", question)
        if hit is not None:
            return f"near_duplicate_of_{hit.split(':')[0]}"
        self.exact[key] = "new"
        self.kept += 1
        return "new"


def _generation_jobs(cfg: NQSyntheticConfig, model: str, prompt: Any,
                     seeds: Sequence[tuple[str, str]], batch: range) -> list[tuple[int, Any]]:
    """Request i shows ``shots`` seed pairs drawn with (seed, i): the same on every rerun."""
    jobs = []
    for i in batch:
        shown = random.Random(f"{cfg.seed}:{i}").sample(list(seeds), cfg.shots)
        messages = prompt.messages(examples=_qa_block(shown), count=str(cfg.pairs_per_request))
        jobs.append((i, make_request(model, messages, prompt.id, seed=cfg.seed * 1_000_003 + i,
                                     temperature=cfg.generate_temperature,
                                     max_tokens=cfg.generate_max_tokens)))
    return jobs


def generate_questions(cfg: NQSyntheticConfig, client: Any, model: str,
                       tally: Tally) -> list[tuple[str, str]]:
    """New (question, generated answer) pairs, deduplicated; deterministic given the replies."""
    from judges.jsonl import iter_jsonl

    from imitation_train.contamination import resolve_data_dir
    from imitation_train.prompts import load_prompt

    prompt = load_prompt(cfg.generate_prompt)
    seeds = load_seeds(cfg)
    eval_path = resolve_data_dir(cfg.data_dir) / cfg.eval_questions
    questions = QuestionFilter(cfg.near_dup_threshold, {
        "eval": [o["question"] for _, o in iter_jsonl(eval_path)], "seed": [q for q, _ in seeds]})
    kept: list[tuple[str, str]] = []
    limit = cfg.max_generation_requests or 3 * -(-cfg.num_pairs // cfg.pairs_per_request)
    sent = 0
    while len(kept) < cfg.num_pairs and sent < limit:
        need = -(-(cfg.num_pairs - len(kept)) * 3 // (2 * cfg.pairs_per_request))
        batch = range(sent, min(limit, sent + max(1, need)))
        replies: dict[int, Any] = {}
        run_calls(client, _generation_jobs(cfg, model, prompt, seeds, batch),
                  replies.__setitem__, desc="nq-synthetic questions", progress=cfg.progress)
        sent = batch.stop
        for i in batch:  # in request order, so the kept set does not depend on timing
            text = usable_text(replies[i], tally, drop_truncated=False)
            pairs = parse_pairs(text) if text is not None else []
            if pairs and getattr(replies[i], "finish_reason", None) == "length":
                pairs = pairs[:-1]  # the last pair may be cut off mid-answer
                tally.add("cut_off_pairs")
            tally.add("generation_requests")
            tally.add("unparsed_replies", text is not None and not pairs)
            for question, answer in pairs:
                if len(kept) == cfg.num_pairs:
                    break
                tally.add("generated_pairs")
                verdict = questions.verdict(question)
                if verdict == "new":
                    kept.append((question, answer))
                else:
                    tally.add(verdict)
    if len(kept) < cfg.num_pairs:
        log.warning("only %d of %d new questions after %d generation requests (raise "
                    "--max-generation-requests)", len(kept), cfg.num_pairs, sent)
    return kept


def collect_nq_synthetic(cfg: NQSyntheticConfig, client: Any, model: str) -> dict[str, Any]:
    """NQ-synthetic records appended to ``cfg.output``; returns the counts."""
    from imitation_train.dedup import normalise
    from imitation_train.prompts import load_prompt
    from imitation_train.input_formats import content_id

    tally = Tally()
    pairs = generate_questions(cfg, client, model, tally)
    output = Path(cfg.output)
    side = output.with_name(output.name.removesuffix(".jsonl") + ".questions.jsonl")
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text("".join(json.dumps({"question": q, "generated_answer": a},
                                      ensure_ascii=False) + "\n" for q, a in pairs),
                   encoding="utf-8")
    tmp.replace(side)
    prompt = load_prompt(cfg.answer_prompt)
    teacher = cfg.teacher or model
    with RecordLog(output) as out:
        jobs = []
        for question, _ in pairs:
            rid = content_id("nqsyn", normalise(question))
            if rid in out:
                tally.add("already_written")
                continue
            messages = prompt.messages(question=question)
            request = make_request(model, messages, prompt.id, seed=cfg.seed,
                                   temperature=cfg.answer_temperature,
                                   max_tokens=cfg.answer_max_tokens)
            jobs.append(((rid, messages), request))

        def on_reply(key: tuple[str, list[dict[str, str]]], result: Any) -> None:
            text = usable_text(result, tally, drop_truncated=False)
            if text is not None:
                rid, messages = key
                turns = tuple(Message(m["role"], m["content"]) for m in messages)
                out.append(ChatRecord(rid, turns + (Message("assistant", text),), cfg.source,
                                      teacher))
                tally.add("written")

        run_calls(client, jobs, on_reply, desc="nq-synthetic answers", progress=cfg.progress)
    return {"new_questions": len(pairs), **tally.counts}
