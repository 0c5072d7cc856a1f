"""End to end: the real SmolLM2-135M-Instruct preset fine-tuned for a few steps on the
Alpaca-GPT4 sample in the shared data (read raw, through imitation_train.record_loader), then
evaluated by imitation-eval on a lite-sized slice of NQ-open."""

from __future__ import annotations

import json

import pytest

from tests.imitation_train.trainer_support import ALPACA, one_thread


@pytest.mark.slow
def test_smollm2_fine_tune_then_imitation_eval(smollm2_dir, data_dir, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    from harness_tasks.cli import main as eval_main
    from imitation_train.cli import main as train_main

    with one_thread():
        code = train_main(["sft", "--model", "smollm2-135m-instruct", "--data",
                           str(data_dir / ALPACA), "--output-dir", str(tmp_path / "sft"),
                           "--max-seq-len", "256", "--batch-size", "1", "--grad-accum", "2",
                           "--max-steps", "3", "--lr", "1e-4", "--log-every", "1"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    model = tmp_path / "sft" / "model"
    assert summary["steps"] == 3 and summary["supervised_tokens"] > 0
    card = json.loads((model / "imitation_card.json").read_text())
    assert card["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card["base_model_revision"].startswith("sha256:")
    assert card["examples"] + card["dropped_too_long"] == 999  # longer than 256: dropped
    assert card["chat_template"] == "model"
    assert card["eot_token"] == "<|im_end|>"
    base = load_file(smollm2_dir / "model.safetensors")
    tuned = load_file(model / "model.safetensors")
    assert tuned["model.norm.weight"].dtype == torch.bfloat16  # saved like the base
    assert base.keys() == tuned.keys()
    changed = [n for n in base if not torch.equal(base[n], tuned[n])]
    assert len(changed) > 0.9 * len(base)  # (bf16 hides updates smaller than its precision)
    with one_thread():
        code = eval_main(["run", "--pretrained", str(model), "--tasks",
                          "imitation_nq_open_0shot", "--limit", "4", "--batch-size", "4",
                          "--device", "cpu", "--output-dir", str(tmp_path / "eval")])
    assert code == 0
    results = next((tmp_path / "eval").rglob("results.json"))
    scores = json.loads(results.read_text())["results"]["imitation_nq_open_0shot"]
    assert 0.0 <= scores["exact_match,none"] <= 1.0
