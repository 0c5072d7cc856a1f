"""imitation-judge as a careless user runs it: every bad path or file flag of every sub-command
is one line naming the file, line, field or flag, exit code 2, and nothing written (no output
folder, no empty cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from judges.cli import main
from tests.judges.fake_key import KEY_ENV
from tests.support.careless import assert_refused, check_refusal, make_zoo, run_entry, snapshot

OFFLINE = ["--base-url", "http://127.0.0.1:9/v1", "--api-key-env", KEY_ENV, "--max-retries", "0",
           "--timeout", "1", "--quiet"]
PAIR = ["pairwise", "--answers", "answers.jsonl", "--reference", "answers.jsonl", *OFFLINE]

CASES = {
    "binary answers": (["pairwise", "--answers", "binary.bin", "--reference", "answers.jsonl"],
                       ["binary.bin", "not UTF-8", "offset 128", "line 2"]),
    "latin-1 reference": (["pairwise", "--answers", "answers.jsonl", "--reference",
                           "latin1.jsonl"], ["latin1.jsonl", "byte 0xe9", "offset 26", "line 1"]),
    "answers a folder": (["pairwise", "--answers", "folder", "--reference", "answers.jsonl"],
                         ["folder", "is a folder"]),
    "missing answers": (["pairwise", "--answers", "nope.jsonl", "--reference", "answers.jsonl"],
                        ["nope.jsonl", "does not exist"]),
    "prompt a list": (["pairwise", "--answers", "nested_prompt.jsonl", "--reference",
                       "answers.jsonl"], ["nested_prompt.jsonl", "row 1", "'prompt'", "a list"]),
    "choices of strings": (["pairwise", "--answers", "nested_choices.jsonl", "--reference",
                            "answers.jsonl"], ["nested_choices.jsonl", "row 2", "'choices[0]'"]),
    "turns of numbers": (["pairwise", "--answers", "nested_turns.jsonl", "--reference",
                          "answers.jsonl"], ["nested_turns.jsonl", "row 1", "'turns[0]'"]),
    "id an object": (["pairwise", "--answers", "nested_id.jsonl", "--reference", "answers.jsonl"],
                     ["nested_id.jsonl", "row 1", "'id'"]),
    "rows not objects": (["pairwise", "--answers", "ints.json", "--reference", "answers.jsonl"],
                         ["ints.json", "row 1"]),
    "binary questions": ([*PAIR, "--questions", "binary.bin"], ["binary.bin", "not UTF-8"]),
    "cache in a missing folder": ([*PAIR, "--cache-path", "typo/cache.sqlite"],
                                  ["--cache-path typo/cache.sqlite", "typo does not exist"]),
    "cache a folder": ([*PAIR, "--cache-path", "folder"], ["--cache-path folder", "is a folder"]),
    "cache not SQLite": ([*PAIR, "--cache-path", "notdb.sqlite"],
                         ["--cache-path notdb.sqlite", "not a SQLite database"]),
    "cache binary": ([*PAIR, "--cache-path", "binary.bin"], ["--cache-path binary.bin"]),
    "output dir a file": ([*PAIR, "--output-dir", "afile.txt"],
                          ["--output-dir afile.txt", "is a file"]),
    "output dir under a file": ([*PAIR, "--output-dir", "afile.txt/run"],
                                ["--output-dir afile.txt/run", "afile.txt is a file"]),
    "binary prices": ([*PAIR, "--prices-file", "binary.bin", "--max-cost", "1"],
                      ["prices file binary.bin", "not UTF-8"]),
    "prices not JSON": ([*PAIR, "--prices-file", "answers.jsonl", "--max-cost", "1"],
                        ["prices file answers.jsonl:2:1", "not valid JSON"]),
    "binary client config": ([*PAIR, "--client-config", "binary.bin"],
                             ["config file binary.bin", "not UTF-8"]),
    "bad YAML client config": ([*PAIR, "--client-config", "bad.yaml"],
                               ["bad.yaml:2", "not valid YAML"]),
    "binary prompt": ([*PAIR, "--prompt", "binary.yaml"], ["binary.yaml", "not UTF-8"]),
    "agreement binary verdicts": (["agreement", "--verdicts", "binary.bin"],
                                  ["verdict file binary.bin", "offset 128"]),
    "agreement verdicts a folder": (["agreement", "--verdicts", "folder"], ["folder"]),
    "agreement verdict rows": (["agreement", "--verdicts", "ints.json"], ["ints.json", "row 1"]),
    "agreement output a file": (["agreement", "--verdicts", "gpt-3.5-turbo", "--output-dir",
                                 "afile.txt"], ["--output-dir afile.txt"]),
    "rescore binary samples": (["rescore", "binary.bin", *OFFLINE], ["binary.bin", "line 2"]),
    "rescore latin-1 samples": (["rescore", "latin1.jsonl", *OFFLINE], ["latin1.jsonl"]),
    "rescore output a file": (["rescore", "answers.jsonl", "--output-dir", "afile.txt",
                               *OFFLINE], ["--output-dir afile.txt"]),
    "susceptibility output a file": (["susceptibility", "--output-dir", "afile.txt", *OFFLINE],
                                     ["--output-dir afile.txt"]),
    "susceptibility data a file": (["susceptibility", "--data-dir", "afile.txt", *OFFLINE],
                                   ["--data-dir", "afile.txt"]),
}


@pytest.mark.parametrize("argv, expect", CASES.values(), ids=CASES.keys())
def test_a_careless_command_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture, argv: list[str],
        expect: list[str]) -> None:
    assert_refused(main, argv, make_zoo(tmp_path), capsys, expect)


def test_an_output_file_that_is_a_folder_is_refused_before_any_call(
        tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    zoo = make_zoo(tmp_path)
    (zoo / "out" / "verdicts.jsonl").mkdir(parents=True)
    assert_refused(main, [*PAIR, "--output-dir", "out"], zoo, capsys,
                   ["out/verdicts.jsonl is a folder"])


def test_the_console_script_refuses_a_binary_file(tmp_path: Path, api_key: str) -> None:
    zoo = make_zoo(tmp_path)
    before = snapshot(zoo)
    code, err = run_entry("imitation-judge", "judges.cli",
                          ["pairwise", "--answers", "binary.bin", "--reference", "answers.jsonl"],
                          zoo)
    check_refusal(code, err, ["imitation-judge pairwise: error: binary.bin", "offset 128"])
    assert snapshot(zoo) == before
