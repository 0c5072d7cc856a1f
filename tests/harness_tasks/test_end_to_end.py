"""Offline end-to-end runs of stock ``lm_eval`` and of ``imitation-eval run`` in a subprocess.

They check plumbing, not model quality, so they run the tiny random model (tests/conftest.py) on
one log-likelihood and one short generation task with --limit: seconds of work, so that a loaded
machine slows them down without failing them (the timeouts are only a safety net). Which tasks
the lite group runs is checked without running them
(test_task_folder.py::test_the_lite_group_runs_the_lite_variant_of_every_offline_task).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import harness_tasks

LOGLIKELIHOOD_TASK = "imitation_truthfulqa_mc1_lite"
GENERATION_TASK = "imitation_nq_open_0shot_lite"
SAFETY_TIMEOUT_S = 900  # a hung run fails; a slow machine does not come near it


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_lm_eval_cli_with_include_path(tmp_path: Path, tiny_model_dir: Path) -> None:
    lm_eval = shutil.which("lm_eval") or str(Path(sys.executable).parent / "lm_eval")
    out = subprocess.run(
        [lm_eval, "--model", "hf", "--model_args", f"pretrained={tiny_model_dir}",
         "--tasks", f"{LOGLIKELIHOOD_TASK},{GENERATION_TASK}",
         "--include_path", str(harness_tasks.task_dir()), "--limit", "2", "--batch_size", "8",
         "--gen_kwargs", "max_gen_toks=8", "--output_path", str(tmp_path / "out"),
         "--log_samples"],
        capture_output=True, text=True, env=_env(), timeout=SAFETY_TIMEOUT_S,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert GENERATION_TASK in out.stdout and LOGLIKELIHOOD_TASK in out.stdout  # lm-eval's table
    [results_file] = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(results_file.read_text())
    assert set(results["results"]) == {LOGLIKELIHOOD_TASK, GENERATION_TASK}
    assert 0.0 <= results["results"][LOGLIKELIHOOD_TASK]["acc,none"] <= 1.0
    assert 0.0 <= results["results"][GENERATION_TASK]["exact_match,none"] <= 1.0
    for task in (LOGLIKELIHOOD_TASK, GENERATION_TASK):
        [samples] = list((tmp_path / "out").rglob(f"samples_{task}_*.jsonl"))
        assert len(samples.read_text().splitlines()) == 2


def test_imitation_eval_run(tmp_path: Path, tiny_model_dir: Path) -> None:
    tasks = ("imitation_nq_open_0shot_lite", "imitation_nq_open_3shot_lite")
    out = subprocess.run(
        [sys.executable, "-m", "harness_tasks", "run", "--pretrained", str(tiny_model_dir),
         "--tasks", ",".join(tasks), "--limit", "3", "--gen-kwargs", "max_gen_toks=8",
         "--output-dir", str(tmp_path / "results")],
        capture_output=True, text=True, env=_env(), timeout=SAFETY_TIMEOUT_S,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exact_match" in out.stdout
    [results_file] = list((tmp_path / "results").rglob("results.json"))
    results = json.loads(results_file.read_text())
    assert set(results["results"]) >= set(tasks)
    for task in tasks:
        rows = (results_file.parent / f"samples_{task}.jsonl").read_text().splitlines()
        assert len(rows) == 3
    config = json.loads((results_file.parent / "config.json").read_text())
    assert config["run_config"]["limit"] == 3.0
    assert config["data_dir"] == os.environ["IMITATION_SUITE_DATA"]
