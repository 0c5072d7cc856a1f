"""Importing judges is cheap and self-contained: no SDK, no client, no other package of ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_is_cheap_and_stands_alone() -> None:
    code = (
        "import sys\n"
        "import judges, judges.cli, judges.client, judges.pairwise, judges.grading, judges.metrics,"
        " judges.agreement, judges.templates, judges.cache, judges.pricing\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('openai', 'harness_tasks', 'imitation_train', 'leaderboard', 'torch', 'transformers')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_works() -> None:
    out = subprocess.run([sys.executable, "-m", "judges.cli", "pairwise", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert "--answers" in out.stdout and "--max-cost" in out.stdout and "--api-key-env" in out.stdout
