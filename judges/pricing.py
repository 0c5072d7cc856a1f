"""Token prices, cost accounting and the max-cost guard.

The guard reserves an upper bound of each call's cost before sending it (prompt: one token per
UTF-8 byte plus a per-message overhead, which no byte-level BPE tokenizer exceeds; completion:
``max_tokens``), and settles the real cost from the reply's usage. A call is sent only when
spent + reserved + its bound stays within ``max_cost`` (it waits while calls in flight may still
free room), so a run stops before exceeding the limit, never after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, Sequence

from judges.records import ChatRequest, Usage

MESSAGE_OVERHEAD_TOKENS = 8


@dataclass(frozen=True)
class Price:
    input: float  # dollars per 1M prompt tokens
    output: float  # dollars per 1M completion tokens

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1e6


class PriceTable:
    def __init__(self, prices: dict[str, Price], source: str) -> None:
        self.prices = prices
        self.source = source

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PriceTable":
        """The shipped table, or ``path`` (same JSON shape) when given."""
        if path is None:
            text = resources.files("judges").joinpath("prices.json").read_text(encoding="utf-8")
            source = "judges/prices.json"
        else:
            from judges.paths import read_text

            text, source = read_text(path, "prices file"), str(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"prices file {source}:{err.lineno}:{err.colno}: not valid JSON "
                             f"({err.msg})") from None
        table = data.get("prices") if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise ValueError(f"{source}: expected "
                             '{"prices": {model: {"input": $, "output": $}}} (per 1M tokens)')
        prices = {}
        for model, entry in table.items():
            try:
                prices[model] = Price(input=float(entry["input"]), output=float(entry["output"]))
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{source}: model {model!r} needs numeric 'input' and 'output' "
                                 "(dollars per 1M tokens)") from None
        return cls(prices, source)

    def lookup(self, model: str) -> Price | None:
        matches = [key for key in self.prices if model.startswith(key)]
        return self.prices[max(matches, key=len)] if matches else None


def cost_bound(request: ChatRequest, price: Price) -> float:
    """An upper bound of what ``request`` can cost."""
    if request.max_tokens is None:
        raise ValueError("a max-cost guard needs max_tokens on every request (the completion "
                         "length bounds the cost); set max_tokens or drop --max-cost")
    prompt = sum(len(v.encode("utf-8")) for m in request.messages for k, v in m if k == "content")
    prompt += MESSAGE_OVERHEAD_TOKENS * (len(request.messages) + 1)
    return price.cost(Usage(prompt_tokens=prompt, completion_tokens=request.max_tokens))


class Ledger:
    """Spend and token totals for one client; the guard's reservations live here too."""

    def __init__(self, prices: PriceTable, max_cost: float | None) -> None:
        self.prices = prices
        self.max_cost = max_cost
        self.spent = 0.0
        self.reserved = 0.0
        self.calls = 0
        self.cache_hits = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.unpriced_calls = 0

    def check(self, request: ChatRequest) -> tuple[Literal["ok", "wait", "never"], float]:
        """Can the call be sent? "ok" (then :meth:`reserve` its bound), "never" (even with no
        call in flight it could pass the limit) or "wait" (it may fit once calls in flight
        settle below their bounds)."""
        status, bounds = self.check_all([request])
        return status, bounds[0]

    def check_all(self, requests: Sequence[ChatRequest]
                  ) -> tuple[Literal["ok", "wait", "never"], list[float]]:
        """:meth:`check` for calls that are sent together or not at all (both orders of a
        pair): their bounds, and whether the sum of them fits."""
        if self.max_cost is None:
            return "ok", [0.0] * len(requests)
        bounds = []
        for request in requests:
            price = self.prices.lookup(request.model)
            if price is None:
                raise ValueError(f"model {request.model!r} has no price in {self.prices.source}: "
                                 "add it (via --prices-file) or drop --max-cost")
            bounds.append(cost_bound(request, price))
        total = sum(bounds)
        if self.spent + total > self.max_cost:
            return "never", bounds
        if self.spent + self.reserved + total > self.max_cost:
            return "wait", bounds
        return "ok", bounds

    def reserve(self, bound: float) -> float:
        self.reserved += bound
        return bound

    def settle(self, reservation: float, request: ChatRequest, usage: Usage | None, *,
               usage_known: bool = True) -> float | None:
        """Release the reservation and book the real cost (None when the model has no price).

        ``usage=None``: the call produced no reply (nothing booked). A reply without usage is
        booked at its reservation, the upper bound, so the guard stays safe.
        """
        self.reserved -= reservation
        if usage is None:
            return None
        self.calls += 1
        if not usage_known and self.max_cost is not None:
            self.spent += reservation
            return reservation
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        price = self.prices.lookup(request.model)
        if price is None:
            self.unpriced_calls += 1
            return None
        cost = price.cost(usage)
        self.spent += cost
        return cost

    def summary(self) -> dict[str, float | int | None]:
        return {"calls": self.calls, "cache_hits": self.cache_hits,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": round(self.spent, 6), "unpriced_calls": self.unpriced_calls,
                "max_cost": self.max_cost}
