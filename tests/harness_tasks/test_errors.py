"""Bad input gives one clear error each: unknown preset, missing data, no tokenizer, bad config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from judges.config import ConfigError, add_config_flags, from_args, load_yaml
from harness_tasks.data import DataError, data_dir, iter_jsonl, local_file
from harness_tasks.presets import PresetError, resolve_model
from harness_tasks.runner import RunConfig, parse_kv


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness_tasks", *args], capture_output=True,
                          text=True, env=full_env)


def test_unknown_preset() -> None:
    with pytest.raises(PresetError, match="unknown model preset 'smollm9'.*smollm2-135m-instruct"):
        resolve_model("smollm9")


def test_unknown_preset_cli_exit_code() -> None:
    out = _cli("run", "--pretrained", "smollm9", "--tasks", "imitation_nq_open_0shot")
    assert out.returncode == 2
    assert "unknown model preset 'smollm9'" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_data_directory_cli(tmp_path: Path) -> None:
    out = _cli("run", "--data-dir", str(tmp_path / "nope"), "--tasks", "imitation_nq_open_0shot")
    assert out.returncode == 2
    assert "is not a directory" in out.stderr and str(tmp_path / "nope") in out.stderr


def test_missing_data_file_names_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMITATION_SUITE_DATA", str(tmp_path))
    with pytest.raises(DataError) as err:
        local_file("nq_open/NQ-open.dev.jsonl", hub_id="google-research-datasets/nq_open")
    message = str(err.value)
    assert str(tmp_path / "nq_open" / "NQ-open.dev.jsonl") in message
    assert "IMITATION_SUITE_DATA" in message and "google-research-datasets/nq_open" in message


def test_data_setting_not_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    monkeypatch.setenv("IMITATION_SUITE_DATA", str(file))
    with pytest.raises(DataError, match="is not a directory"):
        data_dir()


def test_corrupt_jsonl_row_names_file_and_line(tmp_path: Path, data_dir: Path) -> None:
    src = data_dir / "nq_open" / "NQ-open.dev.jsonl"
    lines = src.read_text(encoding="utf-8").splitlines()[:5]
    lines[2] = lines[2][:-7]  # truncated row, as after a crash mid-write
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{bad}:3: not valid JSON"):
        list(iter_jsonl(bad))


def test_model_folder_without_tokenizer(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "weights-only"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dir / name, folder / name)
    with pytest.raises(PresetError, match="has no tokenizer.*tokenizer.save_pretrained"):
        resolve_model(str(folder))


def test_model_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="config.json is missing"):
        resolve_model(str(tmp_path))


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="does not exist"):
        resolve_model(str(tmp_path / "ckpt"))


def test_hub_id_passes_through() -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_bad_model_args() -> None:
    with pytest.raises(ValueError, match="'dtype' is not key=value"):
        parse_kv("pretrained=x,dtype")


def test_config_file_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("tasks: imitation_suite_lite\nbatchsize: 4\n")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) batchsize"):
        load_yaml(path, RunConfig)


def test_config_file_bad_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("tasks: a\nlimit: [1,\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: not valid YAML"):
        load_yaml(path, RunConfig)


def test_config_file_then_flags(tmp_path: Path) -> None:
    import argparse

    path = tmp_path / "run.yaml"
    path.write_text(json.dumps({"tasks": "imitation_nq_open_0shot", "limit": 3}))
    parser = argparse.ArgumentParser()
    add_config_flags(parser, RunConfig)
    cfg = from_args(RunConfig, parser.parse_args(["--config", str(path), "--limit", "5"]))
    assert cfg.tasks == "imitation_nq_open_0shot" and cfg.limit == 5.0
    assert cfg.pretrained == "smollm2-135m-instruct"


def test_the_imitation_card_travels_with_the_results(tmp_path) -> None:
    from harness_tasks.runner import CARD_FILE, copy_card

    model, results = tmp_path / "model", tmp_path / "results"
    model.mkdir()
    results.mkdir()
    assert copy_card(str(model), results) is None  # a model without a card: nothing copied
    assert copy_card("HuggingFaceTB/SmolLM2-135M-Instruct", results) is None  # a Hub id
    (model / CARD_FILE).write_text('{"base_model": "x", "token_budget": 300000}\n')
    copied = copy_card(str(model), results)
    assert copied == results / CARD_FILE
    assert copied.read_text() == (model / CARD_FILE).read_text()
