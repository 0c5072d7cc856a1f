"""Single-answer grading (1-10, with or without a reference answer) and factual grading
against gold answers (correct / incorrect / not attempted, as SimpleQA; Wei et al. 2024).

A reply the judge did not decide in the agreed form is "unscored", counted apart: it is never a
score, and never "not attempted" (which is a grade of the *answer*, not of the judge's reply).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, Sequence

from judges.client import ChatClient, complete_all, run_sync
from judges.parsing import UnscoredReason, parse_grade, parse_score
from judges.records import ChatError, ChatRequest, ChatResult, JudgedItem, JudgeTrace
from judges.templates import Prompt, load_prompt

FactGrade = Literal["correct", "incorrect", "not_attempted", "unscored"]


@dataclass(frozen=True)
class SingleItem(JudgedItem):
    """One answer to grade 1-10, against a reference answer when there is one."""

    answer: str
    reference: str | None = None


@dataclass(frozen=True)
class FactItem(JudgedItem):
    """One answer to grade as correct, incorrect or not attempted against the gold answers."""

    gold: str  # one gold answer, or several joined by " / "
    answer: str


@dataclass(frozen=True)
class Grade(JudgeTrace):
    """One graded item. ``value``: the 1-10 score or the factual grade; None when unscored."""

    id: str
    value: int | str | None
    unscored: UnscoredReason | None
    text: str
    judge: str
    prompt: str

    @property
    def outcome(self) -> str:
        return "unscored" if self.unscored else str(self.value)


def _grade(item_id: str, reply: ChatResult | ChatError, parsed, judge: str, prompt: str) -> Grade:
    text = "" if isinstance(reply, ChatError) else reply.text  # parsed: unscored "api_error"
    return Grade(item_id, parsed.value, parsed.unscored, text, judge, prompt,
                 **JudgeTrace.of(reply))


class _Grader:
    kind: str
    default_prompt: str

    def __init__(self, client: ChatClient, model: str, prompt: Prompt | None = None, *,
                 temperature: float = 0.0, max_tokens: int | None = None) -> None:
        self.client = client
        self.model = model
        self.prompt = prompt or load_prompt(self.default_prompt)
        if self.prompt.kind != self.kind:
            raise ValueError(f"prompt {self.prompt.id} is a {self.prompt.kind} prompt, "
                             f"not {self.kind}")
        self.temperature = temperature
        self.max_tokens = max_tokens or self.prompt.max_tokens

    def _request(self, prompt: Prompt, **values: str) -> ChatRequest:
        return ChatRequest.make(self.model, prompt.messages(**values), temperature=self.temperature,
                                max_tokens=self.max_tokens, prompt_version=prompt.id)


class SingleGrader(_Grader):
    """1-10 grades. Items with a reference use ``reference_prompt``; others ``prompt``."""

    kind = "single"
    default_prompt = "single"

    def __init__(self, client: ChatClient, model: str, prompt: Prompt | None = None,
                 reference_prompt: Prompt | None = None, **kwargs) -> None:
        super().__init__(client, model, prompt, **kwargs)
        self.reference_prompt = reference_prompt or load_prompt("single_reference")
        if not self.reference_prompt.uses_reference or self.prompt.uses_reference:
            raise ValueError("SingleGrader needs a prompt without {reference} and a "
                             "reference_prompt with it")

    def _prompt_for(self, item: SingleItem) -> Prompt:
        return self.reference_prompt if item.reference is not None else self.prompt

    def requests(self, items: Sequence[SingleItem]) -> list[ChatRequest]:
        out = []
        for item in items:
            values = {"question": item.question, "answer": item.answer}
            if item.reference is not None:
                values["reference"] = item.reference
            out.append(self._request(self._prompt_for(item), **values))
        return out

    async def agrade(self, items: Sequence[SingleItem], *, progress: bool = False) -> list[Grade]:
        replies = await complete_all(self.client, self.requests(items), progress=progress,
                                     desc="single grader")
        return [_grade(it.id, r, parse_score(r), self.model, self._prompt_for(it).id)
                for it, r in zip(items, replies)]

    def grade(self, items: Sequence[SingleItem], *, progress: bool = False) -> list[Grade]:
        return run_sync(self.client, self.agrade(items, progress=progress))


class FactualGrader(_Grader):
    kind = "factual"
    default_prompt = "factual"

    def requests(self, items: Sequence[FactItem]) -> list[ChatRequest]:
        return [self._request(self.prompt, question=it.question, gold=it.gold, answer=it.answer)
                for it in items]

    async def agrade(self, items: Sequence[FactItem], *, progress: bool = False) -> list[Grade]:
        replies = await complete_all(self.client, self.requests(items), progress=progress,
                                     desc="factual grader")
        return [_grade(it.id, r, parse_grade(r), self.model, self.prompt.id)
                for it, r in zip(items, replies)]

    def grade(self, items: Sequence[FactItem], *, progress: bool = False) -> list[Grade]:
        return run_sync(self.client, self.agrade(items, progress=progress))


def summarize_factual(grades: Sequence[Grade]) -> dict[str, object]:
    """SimpleQA's figures over the scored items, with the unscored counted apart.

    correct / incorrect / not_attempted rates; accuracy given attempted; and their harmonic mean
    (SimpleQA's F-score).
    """
    counts = Counter(g.outcome for g in grades)
    scored = sum(counts[k] for k in ("correct", "incorrect", "not_attempted"))
    out: dict[str, object] = {
        "n": len(grades), "scored": scored,
        "counts": {k: counts.get(k, 0) for k in ("correct", "incorrect", "not_attempted", "unscored")},
        "unscored_reasons": dict(Counter(g.unscored for g in grades if g.unscored))}
    if scored:
        correct = counts["correct"] / scored
        attempted = counts["correct"] + counts["incorrect"]
        given = counts["correct"] / attempted if attempted else 0.0
        out.update(correct=correct, incorrect=counts["incorrect"] / scored,
                   not_attempted=counts["not_attempted"] / scored, correct_given_attempted=given,
                   f_score=(2 * correct * given / (correct + given)) if correct + given else 0.0)
    return out


def summarize_scores(grades: Sequence[Grade]) -> dict[str, object]:
    scores = [g.value for g in grades if g.unscored is None]
    return {"n": len(grades), "scored": len(scores),
            "mean": (sum(scores) / len(scores)) if scores else None,  # type: ignore[arg-type]
            "unscored_reasons": dict(Counter(g.unscored for g in grades if g.unscored))}
