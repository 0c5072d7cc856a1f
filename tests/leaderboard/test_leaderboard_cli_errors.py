"""imitation-leaderboard as a careless user runs it: a bad --db (a missing folder, a folder, a
file that is not SQLite), binary or non-UTF-8 input files, a payload of the wrong shape or one
the store refuses, and an --html folder that is a file are each one line naming it, exit code 2,
and nothing written: no new empty database (one made for a refused push is removed again), no
export."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from leaderboard.cli import main
from tests.support.careless import assert_refused, check_refusal, make_zoo, run_entry, snapshot

DB = ["--db", "lb.sqlite"]  # a new database in the zoo: it must not appear

CASES = {
    "db in a missing folder": (["migrate", "--db", "typo/lb.sqlite"],
                               ["--db typo/lb.sqlite", "typo does not exist"]),
    "db a folder": (["migrate", "--db", "folder"], ["--db folder", "is a folder"]),
    "db a folder, as a URL": (["migrate", "--db", "sqlite:///folder"], ["--db folder"]),
    "db not SQLite": (["migrate", "--db", "notdb.sqlite"],
                      ["--db notdb.sqlite", "not a SQLite database"]),
    "db binary": (["migrate", "--db", "binary.bin"], ["--db binary.bin"]),
    "token create, db in a missing folder": (["token", "create", "--user", "a", "--db",
                                              "typo/lb.sqlite"], ["--db typo/lb.sqlite"]),
    "token create, db not SQLite": (["token", "create", "--user", "a", "--db", "notdb.sqlite"],
                                    ["--db notdb.sqlite"]),
    "token list, db not SQLite": (["token", "list", "--db", "notdb.sqlite"],
                                  ["--db notdb.sqlite", "not a SQLite database"]),
    "serve, db not SQLite": (["serve", "--db", "notdb.sqlite", "--port", "1"],
                             ["--db notdb.sqlite"]),
    "push, db in a missing folder": (["push", "run", "--db", "typo/lb.sqlite"],
                                     ["--db typo/lb.sqlite"]),
    "push binary results": (["push", "binary.bin", *DB],
                            ["results file binary.bin", "not UTF-8", "offset 128", "line 2"]),
    "push latin-1 results": (["push", "latin1.jsonl", *DB], ["latin1.jsonl", "offset 26"]),
    "push results not JSON": (["push", "answers.jsonl", *DB], ["answers.jsonl:2:1"]),
    "push a run the store refuses": (["push", "run", "--model", "m", *DB],
                                     ["results.results is empty"]),
    "token create without a user": (["token", "create", *DB], ["--user"]),
    "token create, a user the server refuses": (["token", "create", "--user", "a b", *DB],
                                                ["--user 'a b'", "letters, digits"]),
    "token create, a user beyond the column": (["token", "create", "--user", "u" * 101, *DB],
                                               ["--user", "1-100 characters"]),
    "token revoke, an id beyond INTEGER": (["token", "revoke", "--id", "9" * 20, *DB],
                                           ["--id 99999", "no token has"]),
    "push binary card": (["push", "run", "--card", "binary.bin", *DB],
                         ["imitation card binary.bin", "not UTF-8"]),
    "push card a folder": (["push", "run", "--card", "folder", *DB],
                           ["imitation card folder", "is a folder"]),
    "publish binary numbers": (["publish", "binary.bin", *DB],
                               ["published numbers binary.bin", "not UTF-8"]),
    "publish teacher on binary columns": (["publish", "--teacher", "gpt-3.5-turbo",
                                           "--columns-of", "binary.bin", *DB], ["binary.bin"]),
    "agreement latin-1": (["push-agreement", "latin1.jsonl", *DB],
                          ["agreement report latin1.jsonl", "byte 0xe9"]),
    "agreement of the wrong shape": (["push-agreement", "run/results.json", *DB],
                                     ["run/results.json", "dataset: Field required"]),
    "binary settings": (["migrate", "--settings", "binary.bin", *DB],
                        ["config file binary.bin", "not UTF-8"]),
    "export into a file": (["export", "--html", "afile.txt", *DB],
                           ["--html afile.txt", "is a file"]),
    "serve, a payload limit of NaN": (["serve", *DB, "--max-payload-mb", "nan", "--port", "1"],
                                      ["max_payload_mb must be"]),  # every push was a 500
    "export under a file": (["export", "--html", "afile.txt/site", *DB],
                            ["--html afile.txt/site", "afile.txt is a file"]),
}


@pytest.mark.parametrize("argv, expect", CASES.values(), ids=CASES.keys())
def test_a_careless_command_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
        expect: list[str]) -> None:
    assert_refused(main, argv, make_zoo(tmp_path), capsys, expect)


STUDY = {
    "judge binary verdicts": (["judge", "s", "--verdicts", "binary.bin"],
                              ["verdict file binary.bin", "offset 128"]),
    "judge latin-1 verdicts": (["judge", "s", "--verdicts", "latin1.jsonl"],
                               ["verdict file latin1.jsonl", "byte 0xe9"]),
    "judge verdicts a folder": (["judge", "s", "--verdicts", "folder"],
                                ["verdict file folder", "is a folder"]),
    "export into a file": (["export", "s", "--format", "pandalm", "--output", "afile.txt"],
                           ["--output afile.txt", "is a file"]),
    "create from binary answers": (["create", "--name", "t", "--answers", "binary.bin",
                                    "--reference", "answers.jsonl", "--prompts", "1"],
                                   ["binary.bin", "not UTF-8"]),
    "create from a prompt list": (["create", "--name", "t", "--answers", "nested_prompt.jsonl",
                                   "--reference", "answers.jsonl", "--prompts", "1"],
                                  ["nested_prompt.jsonl", "row 1", "'prompt'"]),
}


@pytest.mark.parametrize("argv, expect", STUDY.values(), ids=STUDY.keys())
def test_a_careless_study_command_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
        argv: list[str], expect: list[str]) -> None:
    zoo = make_zoo(tmp_path)
    monkeypatch.chdir(zoo)
    assert main(["study", "create", "--name", "s", "--answers", "answers.jsonl", "--reference",
                 "answers.jsonl", "--prompts", "2", "--raters-per-pair", "1",
                 "--attention-checks", "0", *DB]) == 0
    capsys.readouterr()
    gc.collect()  # the create's connections close now (SQLite checkpoints its WAL on the last)
    assert_refused(main, ["study", *argv, *DB], zoo, capsys, expect)


def test_a_wrong_nested_type_in_an_agreement_report_names_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    zoo = make_zoo(tmp_path)
    report = {"dataset": "pandalm", "judge": "j", "judge_vs_majority": [0.5]}
    (zoo / "agreement.json").write_text(json.dumps(report))
    assert_refused(main, ["push-agreement", "agreement.json", *DB], zoo, capsys,
                   ["agreement.json", "judge_vs_majority:", "dictionary"])


def test_the_console_script_refuses_a_db_in_a_missing_folder(tmp_path: Path) -> None:
    zoo = make_zoo(tmp_path)
    before = snapshot(zoo)
    code, err = run_entry("imitation-leaderboard", "leaderboard.cli",
                          ["token", "create", "--user", "a", "--db", "typo/lb.sqlite"], zoo)
    check_refusal(code, err, ["imitation-leaderboard token: error: --db typo/lb.sqlite"])
    assert snapshot(zoo) == before
