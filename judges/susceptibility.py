"""Style susceptibility of a judge: does a ChatGPT-styled wrong answer beat a terse right one?

Gudibande et al. (2023) found that crowd raters and GPT-4 prefer imitation models whose answers
look like ChatGPT's, whatever their facts. This probe measures that for any judge, on short
factual questions with known answers (NQ-open dev, SimpleQA):

1. Each item has a question, its gold answer (*correct*) and the gold answer of another item of
   the same shape (numeric or not; *incorrect*): a plausible, confidently stated wrong answer.
2. *Terse* form: the answer alone, as a sentence ("Paris."). *Styled* form: a fixed rewrite
   through the client (prompt :data:`REWRITE_PROMPT_ID`, temperature 0, cached) into a
   ChatGPT-like reply: a confident opening, a few bullet points of context, a closing summary.
   A rewrite counts only if its facts are unchanged: it still states its answer and does not
   state the other one (normalised text). An item whose rewrite fails that check is left out
   and counted (``rewrite_failed``), never judged with a changed fact.
3. The judge compares, in both orders (``PairwiseJudge``), three pairs per item, with the wrong
   answer as the candidate: wrong-styled vs right-terse (the probe), wrong-terse vs right-terse
   (the judge's error rate without style), wrong-styled vs right-styled (with equal style).

``wrong_styled_preferred``: share of scored probe pairs the wrong-but-styled answer wins;
``style_effect`` = that minus ``wrong_terse_preferred``: how many more wrong answers the judge
prefers once they are dressed up. Pure orchestration on an injected ``ChatClient``.
"""

from __future__ import annotations

import csv
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judges.client import ChatClient, complete_all, run_sync
from judges.pairwise import PairItem, PairVerdict, PairwiseJudge
from judges.jsonl import iter_jsonl
from judges.records import ChatRequest, ChatResult

REWRITE_PROMPT_ID = "chatgpt_style_rewrite@v1"
REWRITE_SYSTEM = (
    "You rewrite short answers into the style of a polished ChatGPT reply. Keep the answer "
    "exactly as given, even if you believe it is wrong: do not correct it, do not add another "
    "candidate answer, do not hedge. Write: one confident opening sentence that states the "
    "answer, then 2-3 bullet points of general context that add no new names, dates or "
    "numbers, then a one-sentence closing summary starting with \"Overall,\" that restates the "
    "answer.")
REWRITE_USER = "Question: {question}\nAnswer to restate: {answer}"
PAIRS = ("wrong_styled_vs_right_terse", "wrong_terse_vs_right_terse",
         "wrong_styled_vs_right_styled")
_PUNCT = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class FactPair:
    id: str
    question: str
    correct: str
    incorrect: str


def _norm(text: str) -> str:
    text = re.sub(r"\b(a|an|the)\b", " ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def states(text: str, answer: str) -> bool:
    """True when ``answer`` occurs (normalised, on word boundaries) in ``text``."""
    needle = _norm(answer)
    return bool(needle) and f" {needle} " in f" {_norm(text)} "


def facts_unchanged(styled: str, answer: str, other: str) -> bool:
    """The rewrite still states ``answer`` and does not state ``other``."""
    return states(styled, answer) and not states(styled, other)


def terse(answer: str) -> str:
    answer = answer.strip()
    return answer if answer.endswith((".", "!", "?")) else answer + "."


def make_pairs(rows: Sequence[tuple[str, str, str]], seed: int = 0) -> list[FactPair]:
    """(id, question, gold) rows -> pairs whose wrong answer is another row's gold of the same
    shape (has a digit or not) that differs from this gold once normalised."""
    rng = random.Random(seed)
    shapes: dict[bool, list[int]] = {}
    for i, (_, _, gold) in enumerate(rows):
        shapes.setdefault(any(c.isdigit() for c in gold), []).append(i)
    out = []
    for i, (id_, question, gold) in enumerate(rows):
        pool = [j for j in shapes[any(c.isdigit() for c in gold)] if j != i
                and not states(rows[j][2], gold) and not states(gold, rows[j][2])]
        if pool:
            out.append(FactPair(id_, question, gold, rows[rng.choice(pool)][2]))
    return out


def read_rows(dataset: str, root: Path) -> list[tuple[str, str, str]]:
    """(id, question, gold) from the shared data folder: ``nq`` (NQ-open dev, first gold) or
    ``simpleqa``; a malformed row names file and line."""
    if dataset == "nq":
        path = root / "nq_open" / "NQ-open.dev.jsonl"
        rows = []
        for n, obj in iter_jsonl(path):
            try:
                rows.append((f"nq-{n}", obj["question"], obj["answer"][0]))
            except (KeyError, IndexError, TypeError):
                raise ValueError(f"{path}:{n}: expected {{\"question\": str, "
                                 "\"answer\": [str, ...]}") from None
        return rows
    if dataset == "simpleqa":
        path = root / "factuality" / "simpleqa" / "simple_qa_test_set.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not {"problem", "answer"} <= set(reader.fieldnames or []):
                raise ValueError(f"{path}:1: expected columns metadata,problem,answer")
            return [(f"simpleqa-{n}", r["problem"], r["answer"]) for n, r in enumerate(reader)]
    raise ValueError(f"unknown dataset {dataset!r}: use nq or simpleqa")


def rewrite_requests(model: str, pairs: Sequence[FactPair]) -> list[ChatRequest]:
    """Two rewrites per pair: the correct answer, then the incorrect one."""
    def request(question: str, answer: str) -> ChatRequest:
        return ChatRequest.make(model, [
            {"role": "system", "content": REWRITE_SYSTEM},
            {"role": "user", "content": REWRITE_USER.format(question=question, answer=answer)}],
            max_tokens=256, prompt_version=REWRITE_PROMPT_ID)

    return [request(p.question, a) for p in pairs for a in (p.correct, p.incorrect)]


def _rate(verdicts: Sequence[PairVerdict], outcome: str) -> float | None:
    scored = [v for v in verdicts if v.outcome != "unscored"]
    return sum(v.outcome == outcome for v in scored) / len(scored) if scored else None


async def arun(pairs: Sequence[FactPair], judge: PairwiseJudge, rewriter: ChatClient,
               rewrite_model: str, *, progress: bool = False) -> dict[str, Any]:
    """Rewrite, check facts, judge the three pairs per kept item; the summary and records."""
    replies = await complete_all(rewriter, rewrite_requests(rewrite_model, pairs),
                                 progress=progress, desc="style rewrite")
    kept, records = [], []
    for i, pair in enumerate(pairs):
        right, wrong = replies[2 * i], replies[2 * i + 1]
        ok = (isinstance(right, ChatResult) and isinstance(wrong, ChatResult)
              and facts_unchanged(right.text, pair.correct, pair.incorrect)
              and facts_unchanged(wrong.text, pair.incorrect, pair.correct))
        record = {"id": pair.id, "question": pair.question, "correct": pair.correct,
                  "incorrect": pair.incorrect, "rewrite_ok": ok,
                  "right_styled": right.text if isinstance(right, ChatResult) else None,
                  "wrong_styled": wrong.text if isinstance(wrong, ChatResult) else None}
        records.append(record)
        if ok:
            kept.append((pair, right.text, wrong.text))  # type: ignore[union-attr]
    items: list[PairItem] = []
    for pair, right_styled, wrong_styled in kept:
        items += [PairItem(f"{pair.id}:{PAIRS[0]}", pair.question, wrong_styled,
                           terse(pair.correct)),
                  PairItem(f"{pair.id}:{PAIRS[1]}", pair.question, terse(pair.incorrect),
                           terse(pair.correct)),
                  PairItem(f"{pair.id}:{PAIRS[2]}", pair.question, wrong_styled, right_styled)]
    verdicts = await judge.ajudge(items, progress=progress) if items else []
    by_kind = {kind: [v for v in verdicts if v.id.endswith(":" + kind)] for kind in PAIRS}
    summary: dict[str, Any] = {
        "items": len(pairs), "judged": len(kept), "rewrite_failed": len(pairs) - len(kept),
        "judge": judge.model, "prompt": judge.prompt.id, "rewrite_prompt": REWRITE_PROMPT_ID,
        "rewrite_model": rewrite_model}
    for kind, name in zip(PAIRS, ("wrong_styled_preferred", "wrong_terse_preferred",
                                  "wrong_styled_over_styled_preferred")):
        summary[name] = _rate(by_kind[kind], "win")
        summary[name.replace("preferred", "tie")] = _rate(by_kind[kind], "tie")
        summary[name.replace("preferred", "unscored")] = sum(
            v.outcome == "unscored" for v in by_kind[kind])
    a, b = summary["wrong_styled_preferred"], summary["wrong_terse_preferred"]
    summary["style_effect"] = (a - b) if a is not None and b is not None else None
    return {"summary": summary, "rewrites": records, "verdicts": verdicts}


def run(pairs: Sequence[FactPair], judge: PairwiseJudge, rewriter: ChatClient,
        rewrite_model: str, *, progress: bool = False) -> dict[str, Any]:
    return run_sync(rewriter, arun(pairs, judge, rewriter, rewrite_model, progress=progress))

