"""Two real processes (torchrun, gloo on CPU) against one: with the loss normalised by the
supervised tokens of the whole step across ranks, 2 ranks x 2 accumulated micro-batches train
exactly like 1 process x 4 micro-batches (same micro-batches per step, same losses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imitation_train.trainer_support import tiny_model, training_file

REPO = Path(__file__).resolve().parents[2]


def _run(prefix: list[str], model: Path, data: Path, out: Path, accum: int) -> list[float]:
    cmd = prefix + ["-m", "imitation_train.cli", "sft", "--model", str(model), "--data",
                    str(data), "--output-dir", str(out), "--max-seq-len", "512",
                    "--batch-size", "1", "--grad-accum", str(accum), "--lr", "5e-3",
                    "--max-steps", "3", "--warmup-steps", "0", "--log-every", "1", "--seed", "5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO),
           "ACCELERATE_USE_CPU": "1"}  # torchrun on CPU: gloo
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return [json.loads(x)["loss"] for x in (out / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_ranks_train_like_one_process_with_more_accumulation(data_dir, tmp_path):
    model = tiny_model(tmp_path / "m", data_dir, "llama")
    data = training_file(data_dir, tmp_path / "train.jsonl", n_alpaca=40)
    single = _run([sys.executable], model, data, tmp_path / "one", accum=4)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2"]
    ranks = _run(torchrun, model, data, tmp_path / "two", accum=2)
    assert len(single) == len(ranks) == 3
    assert ranks == pytest.approx(single, rel=1e-5)
