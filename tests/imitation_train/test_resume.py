"""Kill-and-resume: a real training subprocess is killed (SIGKILL) in the middle of an
optimizer step; resuming from its last checkpoint ends in exactly the state of an uninterrupted
run (same weights, same tokens seen: nothing replayed, nothing skipped)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imitation_train.trainer import HOLD_ENV
from tests.imitation_train.trainer_support import tiny_model, training_file

REPO = Path(__file__).resolve().parents[2]


def _sft(model: Path, data: Path, out: Path, extra_env: dict[str, str] | None = None):
    cmd = [sys.executable, "-m", "imitation_train.cli", "sft", "--model", str(model), "--data",
           str(data), "--output-dir", str(out), "--max-seq-len", "512", "--batch-size", "1",
           "--grad-accum", "2", "--lr", "5e-3", "--max-steps", "6", "--save-every", "2",
           "--warmup-steps", "1", "--log-every", "1", "--seed", "11"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **(extra_env or {})}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_kill_and_resume_matches_uninterrupted(data_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    model = tiny_model(tmp_path / "base", data_dir, "llama")
    data = training_file(data_dir, tmp_path / "train.jsonl", n_alpaca=60)
    straight = _sft(model, data, tmp_path / "straight")
    victim = _sft(model, data, tmp_path / "killed", {HOLD_ENV: "3"})
    held = tmp_path / "killed" / ".held"
    deadline = time.monotonic() + 240
    while not held.exists():  # parked after the first micro-batch of step 4
        assert victim.poll() is None, victim.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the training subprocess never reached step 4"
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    checkpoints = sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir())
    assert checkpoints == ["step-00000002"]  # step 3 was done but not saved: it is redone
    assert not (tmp_path / "killed" / "model").exists()
    resumed = _finish(_sft(model, data, tmp_path / "killed"))
    assert "resumed from" in resumed and "step 2" in resumed
    _finish(straight)
    a = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    card_a = json.loads((tmp_path / "straight" / "model" / "imitation_card.json").read_text())
    card_b = json.loads((tmp_path / "killed" / "model" / "imitation_card.json").read_text())
    assert card_a["steps"] == {"done": 6, "planned": 6}
    for key in ("tokens_seen", "supervised_tokens_seen", "final_loss", "steps"):
        assert card_a[key] == card_b[key], key


def test_resume_refuses_a_changed_data_order(data_dir, tmp_path):
    from imitation_train.train_config import SFTConfig
    from imitation_train.trainer import train

    model = tiny_model(tmp_path / "base", data_dir, "gpt2")
    data = training_file(data_dir, tmp_path / "train.jsonl")
    cfg = dict(model=str(model), data=str(data), output_dir=str(tmp_path / "run"),
               max_seq_len=512, batch_size=2, max_steps=1)
    train(SFTConfig(**cfg))
    with pytest.raises(ValueError, match="batch_size"):
        train(SFTConfig(**{**cfg, "batch_size": 3, "max_steps": 2}))
