"""``imitation-train prepare`` end to end on real shared data: cleaning, dedupe, contamination,
nested budgets, token counts in the stats file, and user errors with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imitation_train.chat_records import ChatRecord, Message, read_records
from imitation_train.prepare import PrepareConfig, clean, main, prepare

ALPACA = "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json"
DEMO = "imitation/alpaca_gpt4/alpaca_en_demo.json"


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


def _small_input(data_dir: Path, tmp_path: Path) -> Path:
    """300 real Alpaca-GPT4 rows, one repeated, one holding a Koala prompt, one broken turn."""
    rows = json.loads((data_dir / ALPACA).read_text())[:300]
    koala = json.loads((data_dir / "eval_prompts/koala/koala_test_set.jsonl").read_text()
                       .splitlines()[5])["prompt"]
    rows += [rows[3], {"instruction": koala, "input": "", "output": "A reply."},
             {"instruction": "No reply yet", "input": "", "output": ""}]
    path = tmp_path / "alpaca_small.json"
    path.write_text(json.dumps(rows))
    return path


def test_prepare_writes_records_and_stats(data_dir: Path, tmp_path: Path, tokenizer) -> None:
    source = _small_input(data_dir, tmp_path)
    full = prepare(PrepareConfig(inputs=str(source), output=str(tmp_path / "all.jsonl"),
                                 teacher="gpt-4", progress=False), tokenizer)
    assert full["inputs"] == [{"path": str(source), "records": 303}]
    assert full["dropped"] == {"no_assistant_reply": 1}
    assert full["dedupe"]["exact_duplicates"] == 1
    assert full["contamination"]["per_benchmark"]["koala"]["records"] == 1
    assert full["records"] == 300 and full["teachers"] == {"gpt-4": 300}
    written = list(read_records(tmp_path / "all.jsonl"))
    assert len(written) == 300 and all(r.messages[-1].role == "assistant" for r in written)
    assert full["total_tokens"] > full["supervised_tokens"] > 0
    stats = json.loads((tmp_path / "all.stats.json").read_text())
    assert stats["records"] == 300 and stats["config"]["teacher"] == "gpt-4"

    small, large = (prepare(PrepareConfig(inputs=str(source), output=str(tmp_path / f"{b}.jsonl"),
                                          budget_tokens=b, seed=3, progress=False), tokenizer)
                    for b in (10_000, 40_000))
    assert small["total_tokens"] <= 10_000 < large["total_tokens"] <= 40_000
    ids_small = [r.id for r in read_records(tmp_path / "10000.jsonl")]
    ids_large = [r.id for r in read_records(tmp_path / "40000.jsonl")]
    assert ids_large[:len(ids_small)] == ids_small and len(ids_small) == small["records"]
    assert small["budget"]["available_total_tokens"] == full["total_tokens"]


def test_clean_cuts_and_counts() -> None:
    def rec(rid: str, *turns: tuple[str, str]) -> ChatRecord:
        return ChatRecord(rid, tuple(Message(r, c) for r, c in turns), "t")

    kept, dropped = clean([
        rec("ok", ("system", "s"), ("user", "q"), ("assistant", "a"), ("user", "trailing")),
        rec("twice", ("user", "q"), ("user", "q2"), ("assistant", "a")),
        rec("empty", ("user", " "), ("assistant", "a")),
        rec("prompt-only", ("user", "q")),
    ])
    assert [r.id for r in kept] == ["ok"] and len(kept[0].messages) == 3
    assert dropped == {"turns_not_alternating": 1, "empty_turn": 1, "no_assistant_reply": 1}


def test_cli_errors_name_file_and_line(tmp_path: Path, capsys, smollm2_dir: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": 7}\n')
    assert main(["--inputs", str(bad), "--output", str(tmp_path / "o.jsonl"),
                 "--tokenizer", str(smollm2_dir), "--no-progress"]) == 2
    assert f"{bad}:2 field 'output': must be a string" in capsys.readouterr().err
    config = tmp_path / "prep.yaml"
    config.write_text("inputs: x.json\nbudget: 5\n")
    assert main(["--config", str(config)]) == 2
    assert "unknown setting(s) budget" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text('{"instruction": "a", "output": "b"}\n')
    assert main(["--inputs", str(good), "--output", str(tmp_path / "o.jsonl"), "--no-progress",
                 "--no-decontaminate", "--tokenizer", "some-org/NoSuchModel"]) == 2
    assert "cannot load the tokenizer 'some-org/NoSuchModel'" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_runs_from_yaml(data_dir: Path, tmp_path: Path, smollm2_dir: Path, capsys) -> None:
    config = tmp_path / "prep.yaml"
    config.write_text(f"inputs: {data_dir / DEMO}\noutput: {tmp_path / 'demo.jsonl'}\n"
                      f"tokenizer: {smollm2_dir}\nbudget_tokens: 20000\ndecontaminate: false\n")
    assert main(["--config", str(config), "--no-progress", "--seed", "5"]) == 0
    stats = json.loads((tmp_path / "demo.stats.json").read_text())
    assert stats["config"]["seed"] == 5 and "contamination" not in stats
    assert 0 < stats["total_tokens"] <= 20_000
    assert json.loads(capsys.readouterr().out.splitlines()[0])["records"] == stats["records"]
