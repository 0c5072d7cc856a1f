"""imitation-eval as a careless user runs it: a binary or non-UTF-8 config or sample file, a
folder where a file goes, an --output-dir that is a file, an --include-path that is not a folder
are each one line naming it, exit code 2, and nothing written (checked before a model loads or a
program runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_tasks.cli import main
from tests.support.careless import assert_refused, check_refusal, make_zoo, run_entry, snapshot

RUN = ["run", "--tasks", "imitation_nq_open_lite", "--limit", "1", "--pretrained", "folder"]

CASES = {
    "binary run config": (["run", "--config", "binary.bin"],
                          ["config file binary.bin", "not UTF-8", "offset 128"]),
    "latin-1 run config": (["run", "--config", "latin1.jsonl"], ["latin1.jsonl", "byte 0xe9"]),
    "run config a folder": (["run", "--config", "folder"], ["folder"]),
    "output dir a file": ([*RUN, "--output-dir", "afile.txt"],
                         ["--output-dir afile.txt", "is a file"]),
    "output dir under a file": ([*RUN, "--output-dir", "afile.txt/results"],
                                ["afile.txt is a file"]),
    "include path a file": ([*RUN, "--include-path", "binary.bin"],
                            ["--include-path binary.bin", "not a folder"]),
    "binary samples": (["humaneval-exec", "binary.bin"], ["binary.bin:1"]),
    "latin-1 samples": (["humaneval-exec", "latin1.jsonl"], ["latin1.jsonl:1", "not UTF-8"]),
    "samples a folder": (["humaneval-exec", "folder"], ["folder"]),
    "results path a folder": (["humaneval-exec", "he.jsonl", "--ignore-incomplete"],
                              ["he.jsonl_results.jsonl is a folder"]),
    "binary problem file": (["humaneval-exec", "he.jsonl", "--problem-file", "binary.bin"],
                            ["binary.bin:1"]),
    "binary exec config": (["humaneval-exec", "he.jsonl", "--config", "binary.bin"],
                           ["config file binary.bin"]),
    "model a file": (["resolve-model", "binary.bin"], ["binary.bin is a file"]),
}


@pytest.mark.parametrize("argv, expect", CASES.values(), ids=CASES.keys())
def test_a_careless_command_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
        expect: list[str]) -> None:
    assert_refused(main, argv, make_zoo(tmp_path), capsys, expect)


def test_the_console_script_refuses_an_output_dir_that_is_a_file(tmp_path: Path) -> None:
    zoo = make_zoo(tmp_path)
    before = snapshot(zoo)
    code, err = run_entry("imitation-eval", "harness_tasks.cli",
                          [*RUN, "--output-dir", "afile.txt"], zoo)
    check_refusal(code, err, ["imitation-eval run: error: --output-dir afile.txt"])
    assert snapshot(zoo) == before
