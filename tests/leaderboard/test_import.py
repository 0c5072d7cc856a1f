"""Importing the leaderboard does nothing expensive: no database file, no socket, no process,
no model library, no plotting library; `python -m leaderboard.cli --help` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.import_probe import probe_imports

REPO = Path(__file__).resolve().parents[2]


def test_import_opens_nothing_and_pulls_no_model_library():
    found = probe_imports("import leaderboard, leaderboard.cli, leaderboard.app, "
                          "leaderboard.export, leaderboard.ingest, leaderboard.views, "
                          "leaderboard.db, leaderboard.auth, leaderboard.charts, "
                          "leaderboard.plots, leaderboard.style",
                          heavy=("torch", "transformers", "datasets", "lm_eval", "openai",
                                 "imitation_train", "psycopg", "matplotlib"))
    opened = [e for e in found["events"] if e[0] != "open" or e[1].endswith(
        (".sqlite", ".db", ".json", ".html"))]
    assert opened == [] and found["heavy"] == []


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "leaderboard.cli", "push", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert "--checkpoint" in out.stdout and "--card" in out.stdout and "--db" in out.stdout
