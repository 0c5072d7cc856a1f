"""imitation-train's command line: sub-commands, flags from the config dataclass, YAML configs
with unknown keys refused, and user errors as one line naming file and line (exit code 2)."""

from __future__ import annotations

import json

import pytest

from imitation_train.cli import build_parser, main
from tests.imitation_train.trainer_support import one_thread, tiny_model, training_file


def test_subcommands_and_flags(capsys):
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert {"sft", "sweep", "accelerate-config", "prepare"} <= set(choices)
    with pytest.raises(SystemExit):
        main(["sft", "--help"])
    text = capsys.readouterr().out
    for flag in ("--packing", "--no-packing", "--grad-accum", "--lora", "--chat-template",
                 "--token-budget", "--resume", "--config"):
        assert flag in text


def test_accelerate_configs_are_shipped(capsys):
    import yaml

    for kind, backend in (("ddp", "MULTI_GPU"), ("fsdp", "FSDP")):
        assert main(["accelerate-config", kind]) == 0
        path = capsys.readouterr().out.strip()
        assert yaml.safe_load(open(path))["distributed_type"] == backend


def test_unknown_yaml_key_is_an_error(tmp_path, capsys):
    cfg = tmp_path / "sft.yaml"
    cfg.write_text("model: x\nlearning_rate: 0.1\n")
    assert main(["sft", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown setting(s) learning_rate" in err and str(cfg) in err


def test_bad_record_is_reported_with_file_and_line(data_dir, tmp_path, capsys):
    model = tiny_model(tmp_path / "m", data_dir, "gpt2")
    data = training_file(data_dir, tmp_path / "train.jsonl", n_alpaca=3)
    lines = data.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["messages"] = bad["messages"][:1]  # a question without a reply
    lines[1] = json.dumps(bad)
    data.write_text("\n".join(lines) + "\n")
    with one_thread():
        code = main(["sft", "--model", str(model), "--data", str(data), "--output-dir",
                     str(tmp_path / "out"), "--max-steps", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{data}:2 field \"record 'alpaca-1'\"" in err and "no assistant turn" in err
