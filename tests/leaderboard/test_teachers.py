"""A teacher's published numbers on the columns of a run (leaderboard.teachers,
``imitation-leaderboard publish --teacher``), shown on the page next to the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaderboard.cli import main
from leaderboard.synthetic import synthetic_run
from leaderboard.teachers import family, teacher_payload


def _run_folder(tmp_path: Path) -> Path:
    results, _ = synthetic_run({"imitation_mmlu_lite": 0.3, "imitation_nq_open_0shot_lite": 0.1,
                                "imitation_other_task": 0.5}, n=20, n_shot=5)
    results["results"]["imitation_nq_open_0shot_lite"] = {
        "alias": "nq", "exact_match,remove_whitespace": 0.05,
        "exact_match_stderr,remove_whitespace": 0.01}
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({
        "imitation_suite_version": "9.9", "run_config": {},
        "chat_template_tasks": {"imitation_mmlu_lite": False,
                                "imitation_nq_open_0shot_lite": False}}), encoding="utf-8")
    return folder


def test_family_strips_only_the_size_suffix() -> None:
    assert family("imitation_mmlu_lite") == "imitation_mmlu"
    assert family("imitation_style_profile_demo") == "imitation_style_profile"
    assert family("imitation_mmlu_lite_anatomy") == "imitation_mmlu_lite_anatomy"


def test_teacher_figures_land_on_the_runs_columns(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    body = teacher_payload("gpt-3.5-turbo", json.loads((folder / "results.json").read_text()),
                           json.loads((folder / "config.json").read_text()))
    by_task = {(s["task"], s["metric"]): s for s in body["scores"]}
    assert set(by_task) == {("imitation_mmlu_lite", "acc"),
                            ("imitation_nq_open_0shot_lite", "exact_match")}
    mmlu = by_task[("imitation_mmlu_lite", "acc")]
    assert mmlu["value"] == 0.700 and mmlu["n_shot"] == 5
    assert mmlu["harness_version"] == "suite 9.9 / lm-eval 0.4.13"
    assert by_task[("imitation_nq_open_0shot_lite", "exact_match")]["filter"] == \
        "remove_whitespace"
    assert "GPT-4 Technical Report" in body["source"] and "Gudibande" in body["source"]
    with pytest.raises(ValueError, match="no published numbers for teacher 'gpt-9'"):
        teacher_payload("gpt-9", {}, None)


def test_publish_teacher_puts_it_beside_the_run_on_the_page(tmp_path: Path, capsys) -> None:
    folder = _run_folder(tmp_path)
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    assert main(["push", str(folder), "--db", db, "--model", "demo-model",
                 "--teacher", "gpt-3.5-turbo"]) == 0
    args = ["publish", "--teacher", "gpt-3.5-turbo", "--columns-of", str(folder), "--db", db]
    assert main(args) == 0
    assert main(args) == 0  # a second demo: the same numbers are a duplicate, not an error
    assert '"duplicate": true' in capsys.readouterr().out
    assert main(["export", "--html", str(tmp_path / "site"), "--db", db]) == 0
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "gpt-3.5-turbo" in page and "demo-model" in page and "0.700" in page
    assert main(["publish", "--teacher", "gpt-3.5-turbo", "--db", db]) == 2  # no --columns-of
