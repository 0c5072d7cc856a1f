"""imitation-train as a careless user runs it: binary or non-UTF-8 data and config files, wrong
nested types in chat records, an output that is a folder (or sits under a file), a --cache-path
in a missing folder, a folder or a file that is not SQLite: each is one line naming the file,
line, field or flag, exit code 2, and nothing written (no output, no cache file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imitation_train.cli import main
from tests.imitation_train.trainer_support import one_thread, tiny_model
from tests.support.careless import assert_refused, check_refusal, make_zoo, run_entry, snapshot

PREP = ["prepare", "--no-decontaminate", "--no-progress"]
COLLECT = ["collect", "broad", "--pool", "pool.jsonl", "--base-url", "http://127.0.0.1:9/v1",
           "--max-retries", "0", "--timeout", "1", "--no-progress"]

CASES = {
    "binary inputs": ([*PREP, "--inputs", "binary.bin", "--output", "out/p.jsonl"],
                      ["binary.bin:1"]),
    "latin-1 inputs": ([*PREP, "--inputs", "latin1.jsonl", "--output", "out/p.jsonl"],
                       ["latin1.jsonl:1", "not UTF-8"]),
    "inputs a folder": ([*PREP, "--inputs", "folder", "--output", "out/p.jsonl"], ["folder"]),
    "content a number": ([*PREP, "--inputs", "chat_bad.jsonl", "--output", "out/p.jsonl"],
                         ["chat_bad.jsonl:1", "messages[0].content"]),
    "output a folder": ([*PREP, "--inputs", "chat.jsonl", "--output", "folder"],
                        ["--output folder", "is a folder"]),
    "output under a file": ([*PREP, "--inputs", "chat.jsonl", "--output", "afile.txt/p.jsonl"],
                            ["--output afile.txt/p.jsonl", "afile.txt is a file"]),
    "tokenizer an empty folder": ([*PREP, "--inputs", "chat.jsonl", "--output", "out/p.jsonl",
                                   "--tokenizer", "folder"],
                                  ["--tokenizer: cannot load the tokenizer 'folder'"]),
    "binary prepare config": (["prepare", "--config", "binary.bin"],
                              ["config file binary.bin", "offset 128", "line 2"]),
    "bad YAML prepare config": (["prepare", "--config", "bad.yaml"], ["bad.yaml:2"]),
    "sft output dir a file": (["sft", "--data", "chat.jsonl", "--output-dir", "afile.txt"],
                              ["--output-dir afile.txt", "is a file"]),
    "latin-1 sft config": (["sft", "--config", "latin1.jsonl"], ["config file latin1.jsonl"]),
    "binary sweep file": (["sweep", "binary.bin", "--dry-run"], ["config file binary.bin"]),
    "binary experiment file": (["experiment", "binary.bin", "--plan"],
                               ["config file binary.bin"]),
    "experiment output a file": (["experiment", "default", "--plan", "--output-dir",
                                  "afile.txt"], ["--output-dir afile.txt", "is a file"]),
    "collect output a folder": ([*COLLECT, "--output", "folder"], ["--output folder"]),
    "collect binary pool": (["collect", "broad", "--pool", "binary.bin", "--output", "c.jsonl"],
                            ["binary.bin:1"]),
    "cache in a missing folder": ([*COLLECT, "--output", "c.jsonl", "--cache-path",
                                   "typo/c.sqlite"], ["--cache-path typo/c.sqlite", "typo"]),
    "cache a folder": ([*COLLECT, "--output", "c.jsonl", "--cache-path", "folder"],
                       ["--cache-path folder", "is a folder"]),
    "cache not SQLite": ([*COLLECT, "--output", "c.jsonl", "--cache-path", "notdb.sqlite"],
                         ["--cache-path notdb.sqlite", "not a SQLite database"]),
    "binary teacher prompt": ([*COLLECT, "--output", "c.jsonl", "--prompt", "binary.yaml"],
                              ["binary.yaml", "not UTF-8"]),
    "binary prices": ([*COLLECT, "--output", "c.jsonl", "--prices-file", "binary.bin",
                       "--max-cost", "1"], ["prices file binary.bin"]),
}


@pytest.mark.parametrize("argv, expect", CASES.values(), ids=CASES.keys())
def test_a_careless_command_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
        argv: list[str], expect: list[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    assert_refused(main, argv, make_zoo(tmp_path), capsys, expect)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "m", data_dir, "gpt2")


SFT_DATA = {
    "binary data": ("binary.bin", ["binary.bin:1"]),
    "latin-1 data": ("latin1.jsonl", ["latin1.jsonl:1", "not UTF-8", "0xe9"]),
    "content a number": ("chat_bad.jsonl", ["chat_bad.jsonl:1", "messages[0].content"]),
    "data a folder": ("folder", ["folder"]),
}


@pytest.mark.parametrize("data, expect", SFT_DATA.values(), ids=SFT_DATA.keys())
def test_bad_training_data_leaves_no_output_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture, tiny: Path, data: str,
        expect: list[str]) -> None:
    with one_thread():
        assert_refused(main, ["sft", "--model", str(tiny), "--data", data, "--output-dir",
                              "out/sft", "--max-steps", "1"], make_zoo(tmp_path / "zoo"),
                       capsys, expect)


def test_the_console_script_refuses_an_output_that_is_a_folder(tmp_path: Path) -> None:
    zoo = make_zoo(tmp_path)
    before = snapshot(zoo)
    code, err = run_entry("imitation-train", "imitation_train.cli",
                          [*PREP, "--inputs", "chat.jsonl", "--output", "folder"], zoo)
    check_refusal(code, err, ["imitation-train prepare: error: --output folder"])
    assert snapshot(zoo) == before
