"""Token budgets: nested (each smaller budget a subset of each larger one), deterministic,
independent of input order; total and supervised counts from a real tokenizer."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from imitation_train.budget import count_tokens, select_budget, total_counts
from imitation_train.record_loader import load_records

ALPACA = "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json"


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="module")
def records(data_dir: Path):
    return load_records(data_dir / ALPACA)[:300]


def test_budgets_are_nested_and_fit(records, tokenizer) -> None:
    counts = count_tokens(records, tokenizer)
    by_id = {r.id: c for r, c in zip(records, counts)}
    budgets = [2_000, 10_000, 30_000, 60_000]
    chosen = [select_budget(records, tokenizer, b, seed=7, counts=counts) for b in budgets]
    for budget, subset in zip(budgets, chosen):
        used = sum(by_id[r.id].total for r in subset)
        assert 0 < used <= budget
    for small, large in zip(chosen, chosen[1:]):
        assert {r.id for r in small} < {r.id for r in large}
        assert large[:len(small)] == small  # a prefix of one seeded ranking
    # same seed, shuffled input: the same subset; another seed: another subset
    shuffled = records[:]
    random.Random(1).shuffle(shuffled)
    assert select_budget(shuffled, tokenizer, 30_000, seed=7) == chosen[2]
    other = select_budget(records, tokenizer, 30_000, seed=8, counts=counts)
    assert {r.id for r in other} != {r.id for r in chosen[2]}


def test_supervised_budget_and_counts(records, tokenizer) -> None:
    counts = count_tokens(records[:20], tokenizer)
    first = records[0]
    reply_ids = tokenizer(first.messages[1].content, add_special_tokens=False)["input_ids"]
    assert counts[0].supervised == len(reply_ids) + 1  # + the end-of-turn token
    rendered = tokenizer.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in first.messages], tokenize=True)
    rendered = rendered["input_ids"] if hasattr(rendered, "keys") else rendered
    assert counts[0].total == len(rendered) > counts[0].supervised
    totals = total_counts(counts)
    assert totals.supervised == sum(c.supervised for c in counts)
    subset = select_budget(records[:20], tokenizer, 500, seed=0, by="supervised", counts=counts)
    assert sum(counts[records.index(r)].supervised for r in subset) <= 500


def test_count_function_and_errors(records, caplog) -> None:
    def length(record):
        return sum(len(m.content.split()) for m in record.messages)

    everything = select_budget(records, length, 10**9, seed=0)
    assert len(everything) == len(records) and "more than the data holds" in caplog.text
    assert len(select_budget(records, length, 1, seed=0)) == 0
    with pytest.raises(ValueError, match="budget_tokens must be > 0"):
        select_budget(records, length, 0)
