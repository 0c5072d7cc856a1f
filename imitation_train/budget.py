"""Token counts and nested token budgets.

``select_budget`` ranks records by a seeded hash of their id (independent of the budget and of
the order of the input), then takes the longest prefix of that ranking whose tokens fit the
budget. Every budget is a prefix of one ranking, so each smaller budget is a subset of each
larger one (nested scaling curves), and the same seed gives the same subsets on every machine.

Counts come from a tokenizer or any ``count(record) -> int | (total, supervised)`` function:
total tokens are the chat-template rendering when the tokenizer has a template (else the turns'
text), supervised tokens are the tokens of the assistant turns' text plus one end-of-turn token
each (the trainer reports the exact masked count of its template).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from imitation_train.chat_records import ChatRecord

log = logging.getLogger(__name__)

CountFn = Callable[[ChatRecord], "int | tuple[int, int]"]


@dataclass(frozen=True)
class TokenCounts:
    total: int
    supervised: int


def _is_tokenizer(obj: Any) -> bool:
    return hasattr(obj, "encode") and callable(obj)


def count_tokens(records: Sequence[ChatRecord], tokenizer_or_count_fn: Any,
                 *, batch_size: int = 256) -> list[TokenCounts]:
    """Total and supervised tokens of each record."""
    if not _is_tokenizer(tokenizer_or_count_fn):
        out = []
        for record in records:
            value = tokenizer_or_count_fn(record)
            total, supervised = value if isinstance(value, tuple) else (value, value)
            out.append(TokenCounts(int(total), int(supervised)))
        return out
    tokenizer = tokenizer_or_count_fn
    has_template = bool(getattr(tokenizer, "chat_template", None))
    out = []
    for start in range(0, len(records), batch_size):
        chunk = records[start:start + batch_size]
        replies = [[m.content for m in r.messages if m.role == "assistant"] for r in chunk]
        flat = [text for texts in replies for text in texts]
        lengths = iter(len(ids) for ids in
                       tokenizer(flat, add_special_tokens=False)["input_ids"]) if flat else iter(())
        supervised = [sum(next(lengths) + 1 for _ in texts) for texts in replies]
        if has_template:
            convs = [[{"role": m.role, "content": m.content} for m in r.messages] for r in chunk]
            rendered = tokenizer.apply_chat_template(convs, tokenize=False)
            totals = [len(ids) for ids in
                      tokenizer(rendered, add_special_tokens=False)["input_ids"]]
        else:
            texts = ["\n".join(m.content for m in r.messages) for r in chunk]
            totals = [len(ids) for ids in tokenizer(texts)["input_ids"]]
        out += [TokenCounts(t, s) for t, s in zip(totals, supervised)]
    return out


def rank_key(record_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}\x1f{record_id}".encode("utf-8")).hexdigest()


def ranked(records: Sequence[ChatRecord], seed: int) -> list[int]:
    """Indices of ``records`` in the seeded order every budget is a prefix of."""
    return sorted(range(len(records)), key=lambda i: (rank_key(records[i].id, seed), i))


def select_budget(records: Sequence[ChatRecord], tokenizer_or_count_fn: Any, budget_tokens: int,
                  seed: int = 0, *, counts: Sequence[TokenCounts] | None = None,
                  by: str = "total") -> list[ChatRecord]:
    """The records of a ``budget_tokens`` budget (``by`` total or supervised tokens).

    Nested: for the same records and seed, the selection for a smaller budget is a subset of the
    selection for any larger one. Records come back in the seeded order. A budget larger than
    the data returns everything, with a warning.
    """
    if budget_tokens <= 0:
        raise ValueError(f"budget_tokens must be > 0, got {budget_tokens}")
    if by not in ("total", "supervised"):
        raise ValueError(f"by must be 'total' or 'supervised', got {by!r}")
    if counts is None:
        counts = count_tokens(records, tokenizer_or_count_fn)
    if len(counts) != len(records):
        raise ValueError(f"{len(counts)} counts for {len(records)} records")
    chosen: list[ChatRecord] = []
    used = 0
    for i in ranked(records, seed):
        size = getattr(counts[i], by)
        if used + size > budget_tokens:
            break
        used += size
        chosen.append(records[i])
    else:
        if used < budget_tokens:
            log.warning("budget of %d %s tokens is more than the data holds (%d tokens in %d "
                        "records): using all of it", budget_tokens, by, used, len(records))
    return chosen


def total_counts(counts: Sequence[TokenCounts]) -> TokenCounts:
    return TokenCounts(sum(c.total for c in counts), sum(c.supervised for c in counts))
