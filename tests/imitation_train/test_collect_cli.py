"""``imitation-train collect`` and ``imitation-train prepare`` are wired into the main CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from imitation_train import collect, prepare
from imitation_train.cli import build_parser, main
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import ScriptedServer


def test_subcommands_are_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(["collect", "nq-synthetic", "--num-pairs", "3", "--model", "m"])
    assert args.func is collect.run and args.num_pairs == 3 and args.model == "m"
    args = parser.parse_args(["prepare", "--inputs", "a.json", "--budget-tokens", "1000"])
    assert args.func is prepare.run and args.budget_tokens == 1000


def test_collect_through_imitation_train(data_dir: Path, tmp_path: Path, capsys,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    rows = json.loads((data_dir / "imitation/alpaca_gpt4/alpaca_en_demo.json").read_text())[:3]
    pool = tmp_path / "alpaca.json"
    pool.write_text(json.dumps(rows))
    out = tmp_path / "o.jsonl"
    with ScriptedServer() as server:
        assert main(["collect", "broad", "--pool", str(pool), "--output", str(out),
                     "--base-url", server.base_url, "--api-key-env", KEY_ENV,
                     "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["written"] == 3
    monkeypatch.chdir(tmp_path)
    assert main(["collect", "broad", "--pool", str(tmp_path / "missing.json")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # a failed start leaves no cache file behind


def test_a_missing_extra_names_what_to_install(tmp_path: Path, capsys,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands are there without their optional dependencies; using one says, in one
    line, which extra to install."""
    monkeypatch.setitem(sys.modules, "datasketch", None)  # import datasketch: ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "openai", None)
    assert {"collect", "prepare"} <= set(build_parser()._subparsers._group_actions[0].choices)
    good = tmp_path / "good.jsonl"
    good.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n')
    assert main(["prepare", "--inputs", str(good), "--output", str(tmp_path / "o.jsonl"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err == ("imitation-train prepare: error: this command needs 'datasketch', an optional "
                   "dependency: pip install 'imitation-suite[train]'\n")
    monkeypatch.setenv(KEY_ENV, SECRET)
    assert main(["collect", "broad", "--pool", str(good), "--output", str(tmp_path / "c.jsonl"),
                 "--api-key-env", KEY_ENV]) == 2
    assert "pip install 'imitation-suite[judges]'" in capsys.readouterr().err
