"""Offline without the data folder: every task loader ends the run with one line that says the
Hub is unreachable (or the data folder is not set) and how to set IMITATION_SUITE_DATA.

The loaders run in a fresh interpreter, as under stock ``lm_eval`` (which catches nothing around
them), with the Hub off and an empty Hugging Face cache, so what is checked is what a user sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness_tasks.data import DataError, DataUnavailable

LOADERS = {
    "nq_open": ("from harness_tasks.tasks.nq_open.utils import load_nq_open as f; f(lite_size=5)",
                "google-research-datasets/nq_open"),
    "mmlu": ("from harness_tasks.tasks.mmlu.utils import load_mmlu as f; f('anatomy')",
             "cais/mmlu"),
    "truthfulqa": ("from harness_tasks.tasks.truthfulqa.utils import load_mc as f; f()",
                   "truthfulqa"),
    "simpleqa": ("from harness_tasks.tasks.simpleqa.utils import simpleqa_rows as f; f()",
                 "basicv8vc/SimpleQA"),
    "judge prompts": ("from harness_tasks.tasks.judge.prompt_sets import alpaca_eval_rows as f; f()",
                      "judge tasks"),
}


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IMITATION_SUITE_DATA"}
    return {**env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_CACHE": str(tmp_path / "hf-datasets")}


@pytest.mark.parametrize("name", LOADERS)
def test_a_loader_without_data_ends_in_one_line(name: str, tmp_path: Path) -> None:
    code, names = LOADERS[name]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_offline_env(tmp_path), cwd=tmp_path, timeout=300)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1, out.stderr[-2000:]
    assert len(lines) == 1, out.stderr[-2000:]  # no traceback
    assert names in lines[0]
    assert "IMITATION_SUITE_DATA=" in lines[0] and "--data-dir" in lines[0]


def test_data_unavailable_is_a_data_error_with_its_message_as_exit_text() -> None:
    err = DataUnavailable("cannot load x: the Hub is unreachable")
    assert isinstance(err, DataError) and isinstance(err, ValueError)  # imitation-eval's catch
    assert str(err) == err.code == "cannot load x: the Hub is unreachable"
    with pytest.raises(ValueError, match="unreachable"):
        raise err
