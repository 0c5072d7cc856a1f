"""The embedded presets become plain bf16 HF folders with tokenizer and chat template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_tasks.presets import PRESETS, build_preset, resolve_model


def _check_folder(folder: Path) -> dict:
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file() or (folder / "tokenizer.model").is_file()
    return config


def test_smollm2_preset_folder(smollm2_dir: Path) -> None:
    config = _check_folder(smollm2_dir)
    assert config["model_type"] == "llama"
    assert resolve_model("smollm2-135m-instruct") == str(smollm2_dir)
    card = json.loads((smollm2_dir / "imitation_preset.json").read_text())
    assert card["hub_id"] == PRESETS["smollm2-135m-instruct"].hub_id


def test_smollm2_preset_generates_sensibly(smollm2_dir: Path) -> None:
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with safe_open(str(smollm2_dir / "model.safetensors"), "pt") as handle:
        name = next(iter(handle.keys()))
        assert handle.get_tensor(name).dtype == torch.bfloat16
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0][ids["input_ids"].shape[1]:])


def test_build_is_cached(smollm2_dir: Path) -> None:
    before = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    assert build_preset("smollm2-135m-instruct") == smollm2_dir
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == before


@pytest.mark.slow
def test_gemma3_preset_folder(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    folder = build_preset("gemma3-270m")
    config = _check_folder(folder)
    assert config["model_type"].startswith("gemma3")
    tok = AutoTokenizer.from_pretrained(folder)
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True)
    assert rendered.endswith("<start_of_turn>model\n")
