"""Offline end-to-end runs on the real SmolLM2-135M-Instruct (bounded with --limit)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harness_tasks

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_lm_eval_cli_with_include_path(tmp_path: Path, smollm2_dir: Path) -> None:
    lm_eval = shutil.which("lm_eval") or str(Path(sys.executable).parent / "lm_eval")
    out = subprocess.run(
        [lm_eval, "--model", "hf", "--model_args", f"pretrained={smollm2_dir}",
         "--tasks", "imitation_suite_lite", "--include_path", str(harness_tasks.task_dir()),
         "--limit", "1", "--batch_size", "8", "--confirm_run_unsafe_code",
         "--output_path", str(tmp_path / "out")],
        capture_output=True, text=True, env=_env(), timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "imitation_nq_open_0shot_lite" in out.stdout  # lm-eval's table
    [results_file] = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(results_file.read_text())
    reported = set(results["results"]) | set(results.get("groups", {}))
    for name in ("imitation_nq_open_0shot_lite", "imitation_nq_open_3shot_lite",
                 "imitation_nq_open_chat_lite", "imitation_mmlu_lite", "imitation_mmlu_gen_lite",
                 "imitation_humaneval_lite", "imitation_humaneval_chat_lite"):
        assert name in reported, name
    assert 0.0 <= results["results"]["imitation_mmlu_lite"]["acc,none"] <= 1.0


def test_imitation_eval_run(tmp_path: Path, smollm2_dir: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness_tasks", "run", "--pretrained", "smollm2-135m-instruct",
         "--tasks", "imitation_nq_open_0shot_lite,imitation_nq_open_3shot_lite",
         "--limit", "3", "--output-dir", str(tmp_path / "results")],
        capture_output=True, text=True, env=_env(), timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exact_match" in out.stdout
    [results_file] = list((tmp_path / "results").rglob("results.json"))
    results = json.loads(results_file.read_text())
    assert set(results["results"]) >= {"imitation_nq_open_0shot_lite", "imitation_nq_open_3shot_lite"}
    for task in ("imitation_nq_open_0shot_lite", "imitation_nq_open_3shot_lite"):
        rows = (results_file.parent / f"samples_{task}.jsonl").read_text().splitlines()
        assert len(rows) == 3
    config = json.loads((results_file.parent / "config.json").read_text())
    assert config["run_config"]["limit"] == 3.0
    assert config["data_dir"] == os.environ["IMITATION_SUITE_DATA"]


