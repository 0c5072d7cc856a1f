"""Contamination filter: planted benchmark text (NQ, MMLU, HumanEval, Koala, AlpacaEval, Vicuna)
is found and counted per benchmark; clean real training records are kept."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from imitation_train.chat_records import ChatRecord, Message
from imitation_train.contamination import filter_contamination
from imitation_train.record_loader import load_records


def _rec(rid: str, user: str, reply: str = "Sure, here it is.") -> ChatRecord:
    return ChatRecord(rid, (Message("user", user), Message("assistant", reply)), "test")


def _first_jsonl(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[0])


def test_planted_items_are_counted_per_benchmark(data_dir: Path) -> None:
    from harness_tasks.execution.problems import read_problems

    nq = _first_jsonl(data_dir / "nq_open/NQ-open.dev.jsonl")["question"]
    with (data_dir / "mmlu/test/anatomy_test.csv").open(newline="") as handle:
        mmlu = next(csv.reader(handle))
    humaneval = next(iter(read_problems().values())).prompt
    koala = _first_jsonl(data_dir / "eval_prompts/koala/koala_test_set.jsonl")["prompt"]
    with gzip.open(data_dir / "eval_prompts/alpaca_eval/gpt4_model_outputs.json.gz", "rt") as f:
        alpaca_eval = json.load(f)[400]["instruction"]
    vicuna = _first_jsonl(data_dir / "eval_prompts/vicuna_bench/question.jsonl")["turns"][0]
    clean = load_records(data_dir / "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json")[:50]
    planted = [
        _rec("nq", f"Quick quiz. {nq.upper()}? Answer briefly."),
        _rec("mmlu", "Solve this.", f"{mmlu[0]} Options: {' '.join(mmlu[1:5])}. Answer: {mmlu[5]}"),
        _rec("humaneval", "Complete the function:\n" + humaneval),
        _rec("koala", koala),
        _rec("alpaca_eval", "Please help: " + alpaca_eval),
        _rec("vicuna", vicuna),
    ]
    kept, report = filter_contamination(clean + planted, data_dir)
    assert kept == clean
    per = report["per_benchmark"]
    assert {name: per[name]["records"] for name in per} == {
        # AlpacaEval holds the Koala and Vicuna prompts too
        "nq_open": 1, "mmlu": 1, "humaneval": 1, "koala": 1, "alpaca_eval": 3, "vicuna": 1}
    assert report["removed"] == 6 and report["checked"] == 56
    assert per["mmlu"]["items"] == 14042 and per["nq_open"]["items"] == 3610
    assert {e["id"] for e in report["examples"]} == {r.id for r in planted}


def test_only_user_turns_and_near_misses(data_dir: Path) -> None:
    nq = _first_jsonl(data_dir / "nq_open/NQ-open.dev.jsonl")["question"]
    words = nq.split()
    records = [_rec("in-reply", "Tell me something.", f"Someone asked: {nq}"),
               _rec("partial", " ".join(words[:-1]) + " tomorrow")]
    kept, report = filter_contamination(records, data_dir, benchmarks="nq_open")
    assert [r.id for r in kept] == ["partial"]
    assert report["per_benchmark"]["nq_open"]["records"] == 1
    kept, _ = filter_contamination(records, data_dir, benchmarks="nq_open", on="user")
    assert [r.id for r in kept] == ["in-reply", "partial"]


def test_short_items_match_whole_turns_only(data_dir: Path) -> None:
    koala = [json.loads(line)["prompt"] for line in
             (data_dir / "eval_prompts/koala/koala_test_set.jsonl").read_text().splitlines()]
    short = min(koala, key=lambda p: len(p.split()))
    assert len(short.split()) < 6
    kept, report = filter_contamination([_rec("exact", short.upper()),
                                         _rec("inside", f"{short} and more words here")],
                                        data_dir, benchmarks=["koala"])
    assert [r.id for r in kept] == ["inside"]
    assert report["per_benchmark"]["koala"]["items_too_short"] >= 1


def test_bad_settings_name_the_fix(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown benchmark.*known: nq_open"):
        filter_contamination([], data_dir, benchmarks="nq,mmlu")
    with pytest.raises(ValueError, match="missing .*NQ-open.dev.jsonl.*--benchmarks"):
        filter_contamination([], tmp_path, benchmarks="nq_open")
    with pytest.raises(ValueError, match="does not exist"):
        filter_contamination([], tmp_path / "nope")
