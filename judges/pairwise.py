"""Pairwise judging in both answer orders (MT-bench / Zheng et al. 2023 protocol).

Each pair is judged twice, candidate shown first (as A) and then second (as B). The two
verdicts, read from the candidate's side, combine into one outcome: the same decision twice is
that decision (win / loss / tie); two different decisions are "inconsistent" (the verdict
depended on position); a reply that cannot be read, or a call that failed, makes the pair
"unscored". The position-inconsistency rate is the share of pairs judged in both orders whose
two verdicts differ. Under a max-cost guard the two orders of a pair are sent together or not at
all (``PairVerdict.over_budget``), so a budget stop never leaves half a pair judged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, Sequence

from judges.client import ChatClient, complete_all, run_sync
from judges.parsing import UnscoredReason, parse_verdict
from judges.records import ChatError, ChatRequest, ChatResult, JudgedItem, JudgeTrace
from judges.templates import Prompt, load_prompt

PairOutcome = Literal["win", "loss", "tie", "inconsistent", "unscored"]
Side = Literal["win", "loss", "tie"]


@dataclass(frozen=True)
class PairItem(JudgedItem):
    """One comparison: the candidate's answer against the baseline's (e.g. the teacher's)."""

    candidate: str
    baseline: str


@dataclass(frozen=True)
class Judgment(JudgeTrace):
    """One judge call: its decision from the candidate's side, or why there is none."""

    side: Side | None
    unscored: UnscoredReason | None
    text: str


@dataclass(frozen=True)
class PairVerdict:
    id: str
    outcome: PairOutcome
    candidate_first: Judgment
    candidate_second: Judgment | None
    judge: str
    prompt: str

    @property
    def over_budget(self) -> bool:
        """Not judged because the max-cost guard stopped the run (a rerun with more budget and
        the same cache judges it); with both orders, neither order was sent."""
        return any(j is not None and (j.error or "").startswith("budget:")
                   for j in (self.candidate_first, self.candidate_second))

    @property
    def unscored_reason(self) -> UnscoredReason | None:
        for judgment in (self.candidate_first, self.candidate_second):
            if judgment is not None and judgment.unscored:
                return judgment.unscored
        return None


def judgment(reply: ChatResult | ChatError, candidate_is: Literal["A", "B"]) -> Judgment:
    parsed = parse_verdict(reply)
    side: Side | None = None
    if parsed.value == "tie":
        side = "tie"
    elif parsed.value is not None:
        side = "win" if parsed.value == candidate_is else "loss"
    text = "" if isinstance(reply, ChatError) else reply.text  # parsed: unscored "api_error"
    return Judgment(side, parsed.unscored, text, **JudgeTrace.of(reply))


def combine(first: Judgment, second: Judgment | None) -> PairOutcome:
    """One outcome from the two orders (``second`` None: judged in one order only)."""
    if first.side is None or (second is not None and second.side is None):
        return "unscored"
    if second is None or first.side == second.side:
        return first.side
    return "inconsistent"


class PairwiseJudge:
    def __init__(self, client: ChatClient, model: str, prompt: Prompt | None = None, *,
                 both_orders: bool = True, temperature: float = 0.0,
                 max_tokens: int | None = None) -> None:
        self.client = client
        self.model = model
        self.prompt = prompt or load_prompt("pairwise")
        if self.prompt.kind != "pairwise":
            raise ValueError(f"prompt {self.prompt.id} is a {self.prompt.kind} prompt, "
                             "not pairwise")
        self.both_orders = both_orders
        self.temperature = temperature
        self.max_tokens = max_tokens or self.prompt.max_tokens

    def _request(self, question: str, a: str, b: str) -> ChatRequest:
        return ChatRequest.make(self.model, self.prompt.messages(question=question, answer_a=a,
                                                                 answer_b=b),
                                temperature=self.temperature, max_tokens=self.max_tokens,
                                prompt_version=self.prompt.id)

    def requests(self, items: Sequence[PairItem]) -> list[ChatRequest]:
        """Candidate-first requests for every item, then (both orders) candidate-second ones."""
        out = [self._request(it.question, it.candidate, it.baseline) for it in items]
        if self.both_orders:
            out += [self._request(it.question, it.baseline, it.candidate) for it in items]
        return out

    async def ajudge(self, items: Sequence[PairItem], *,
                     progress: bool = False) -> list[PairVerdict]:
        n = len(items)
        groups = [(i, n + i) for i in range(n)] if self.both_orders else None
        replies = await complete_all(self.client, self.requests(items), progress=progress,
                                     desc="pairwise judge", groups=groups)
        verdicts = []
        for i, item in enumerate(items):
            first = judgment(replies[i], "A")
            second = judgment(replies[len(items) + i], "B") if self.both_orders else None
            verdicts.append(PairVerdict(item.id, combine(first, second), first, second,
                                        self.model, self.prompt.id))
        return verdicts

    def judge(self, items: Sequence[PairItem], *, progress: bool = False) -> list[PairVerdict]:
        return run_sync(self.client, self.ajudge(items, progress=progress))


def summarize_pairs(verdicts: Sequence[PairVerdict]) -> dict[str, object]:
    """Outcome counts, unscored reasons, and the position-inconsistency rate."""
    outcomes = Counter(v.outcome for v in verdicts)
    both = [v for v in verdicts if v.candidate_second is not None
            and v.candidate_first.side is not None and v.candidate_second.side is not None]
    flips = sum(v.outcome == "inconsistent" for v in both)
    return {
        "n": len(verdicts),
        "outcomes": {k: outcomes.get(k, 0)
                     for k in ("win", "loss", "tie", "inconsistent", "unscored")},
        "unscored_reasons": dict(Counter(v.unscored_reason for v in verdicts
                                         if v.outcome == "unscored")),
        "position_inconsistency": (flips / len(both)) if both else None,
        "judged_in_both_orders": len(both),
    }
