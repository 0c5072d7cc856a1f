"""The leaderboard accepts everything the suite writes: every task of imitation_suite,
imitation_suite_lite and imitation_suite_demo (and every other task in the catalog) runs on the
tiny random model (1 document each, 4 new tokens at most), with no judge, with a scripted judge
on 127.0.0.1, and with a judge whose every reply is malformed (so every judged answer is
unscored and its rates are "not applicable"), and each results folder is pushed into a real
SQLite leaderboard by ``imitation-leaderboard push`` (its main(), as the command runs it).

A metric that cannot be computed must be left out or null, never NaN: one NaN (e.g. SimpleQA's
grader agreement without a judge) used to make the push, and so ``make demo``, fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.slow

JUDGE_ENV = ("IMITATION_JUDGE_BASE_URL", "IMITATION_JUDGE_MODEL", "IMITATION_JUDGE_API_KEY_ENV",
             "IMITATION_JUDGE_CONFIG", "IMITATION_JUDGE_CACHE_PATH", "IMITATION_JUDGE_PROMPT",
             "IMITATION_JUDGE_CONCURRENCY")
# One reply that every judge prompt of the suite can read: a pairwise verdict, a factual grade
# and a tone rating, each on its own line.
GOOD_REPLY = "Reasons.\nVerdict: A\nGrade: CORRECT\nAuthoritative: YES"
MALFORMED_REPLY = "I would rather not decide."  # no decision line: unscored, never a grade

# Which tasks each run holds: the three group definitions as groups (the demo's as `make demo`
# runs it, without a judge), and the tasks in no group. Together they cover the whole catalog
# (checked below). The tasks that read a judge when one is configured (SimpleQA, NQ graded,
# style profile) run in all three modes, the judge tasks in both modes with a judge.
RUNS = {
    "no-judge": ["imitation_suite_demo", "imitation_nq_graded_lite", "imitation_simpleqa",
                 "imitation_nq_graded", "imitation_style_profile",
                 "imitation_humaneval_sampled_lite", "imitation_style_profile_gpt4"],
    "judge": ["imitation_suite", "imitation_suite_lite", "imitation_judge_alpaca_eval",
              "imitation_judge_vicuna", "imitation_judge_koala_lite",
              "imitation_judge_alpaca_eval_lite", "imitation_judge_vicuna_lite",
              "imitation_truthfulqa_gen_lite"],
    "unscored": ["imitation_judge_koala_lite", "imitation_truthfulqa_gen_lite",
                 "imitation_simpleqa_lite", "imitation_nq_graded_lite",
                 "imitation_style_profile_lite", "imitation_style_profile_gpt4_lite"],
}


@dataclass(frozen=True)
class Run:
    folder: Path
    results: dict[str, Any]
    config: dict[str, Any]


def _judge_env(mp: pytest.MonkeyPatch, mode: str, base_url: str, tmp: Path) -> None:
    for name in JUDGE_ENV:
        mp.delenv(name, raising=False)
    if mode == "no-judge":
        return
    mp.setenv(KEY_ENV, SECRET)
    mp.setenv("IMITATION_JUDGE_BASE_URL", base_url)
    mp.setenv("IMITATION_JUDGE_MODEL", f"scripted-{mode}")  # a cache key of its own
    mp.setenv("IMITATION_JUDGE_API_KEY_ENV", KEY_ENV)
    mp.setenv("IMITATION_JUDGE_CACHE_PATH", str(tmp / f"judge-cache-{mode}.sqlite"))


def _script(body: dict[str, Any], seen: int) -> Reply:
    return Reply(text=MALFORMED_REPLY if body["model"] == "scripted-unscored" else GOOD_REPLY)


def _run(tasks: list[str], model: Path, output_dir: Path) -> Run:
    from harness_tasks.runner import RunConfig, run

    cfg = RunConfig(pretrained=str(model), model_args="dtype=float32", tasks=",".join(tasks),
                    limit=1, device="cpu", output_dir=str(output_dir),
                    gen_kwargs="max_gen_toks=4", confirm_run_unsafe_code=True, seed=1234)
    folder = run(cfg).folder
    return Run(folder, json.loads((folder / "results.json").read_text()),
               json.loads((folder / "config.json").read_text()))


@pytest.fixture(scope="module")
def runs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """One results folder per mode, from ``harness_tasks.runner.run``."""
    tmp = tmp_path_factory.mktemp("suite-runs")
    out: dict[str, Run] = {}
    with pytest.MonkeyPatch.context() as mp, ScriptedServer(_script) as server:
        mp.setenv("IMITATION_SUITE_CACHE", str(tmp / "cache"))  # no responses from other runs
        for mode, tasks in RUNS.items():
            _judge_env(mp, mode, server.base_url, tmp)
            out[mode] = _run(tasks, tiny_model_dir, tmp / "results" / mode)
    return out


@pytest.fixture(scope="module")
def db(runs: dict[str, Run], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite leaderboard holding every run, each pushed by ``imitation-leaderboard push``."""
    from leaderboard.cli import main

    url = f"sqlite:///{tmp_path_factory.mktemp('leaderboard') / 'leaderboard.sqlite'}"
    for mode, run in runs.items():
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["push", str(run.folder), "--db", url, "--model", f"tiny-{mode}"])
        assert code == 0, f"{mode}: the push was refused: {stderr.getvalue()}"
        assert json.loads(stdout.getvalue())["scores"] > 0, mode
    return url


def _stored(url: str, model: type) -> list[Any]:
    from sqlalchemy import select

    from leaderboard.db import make_engine, read_session

    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            return list(session.scalars(select(model)).all())
    finally:
        engine.dispose()


def _no_nan(value: str) -> None:
    raise AssertionError(f"non-finite number {value} in a results.json")


def _metrics(results: dict[str, Any], task: str) -> dict[str, Any]:
    return {k: v for k, v in results["results"][task].items()
            if "," in k and "_stderr" not in k.split(",")[0]}


def test_every_push_is_accepted_and_nothing_stored_is_nan(runs: dict[str, Run],
                                                          db: str) -> None:
    from leaderboard import models

    for run in runs.values():
        json.loads((run.folder / "results.json").read_text(), parse_constant=_no_nan)
    stored_runs = _stored(db, models.Run)
    assert len(stored_runs) == len(RUNS)
    for row in stored_runs:
        json.loads(row.results_json, parse_constant=_no_nan)
    scores = _stored(db, models.Score)
    assert scores and all(s.value is not None and math.isfinite(s.value) for s in scores)
    assert all(s.stderr is None or math.isfinite(s.stderr) for s in scores)
    judged = _stored(db, models.JudgeRun)
    assert judged
    for row in judged:
        assert all(v is None or math.isfinite(v) for v in row.metrics.values()), row.metrics


def test_every_task_of_the_catalog_ran(runs: dict[str, Run]) -> None:
    from harness_tasks.catalog import entries

    covered: set[str] = set()
    for run in runs.values():
        covered |= set(run.results["results"])
        for group, members in run.results.get("group_subtasks", {}).items():
            covered |= {group, *members}
    missing = sorted(e.name for e in entries() if e.name not in covered)
    assert not missing, f"add these tasks to RUNS: {missing}"
    groups = {t for run in runs.values() for t in run.results["group_subtasks"]}
    assert {"imitation_suite", "imitation_suite_lite", "imitation_suite_demo"} <= groups


def test_every_task_reports_its_declared_primary_metric(runs: dict[str, Run]) -> None:
    from harness_tasks.summary import declared_primary

    for mode, run in runs.items():
        results = run.results
        for name, row in results["results"].items():
            if name in results["group_subtasks"] and not any("," in k for k in row):
                continue  # a group with no score of its own
            declared = declared_primary(results, name)
            assert declared, f"{mode}: {name} declares no metadata.primary_metric"
            assert any(k.split(",")[0] == declared for k in row), (
                f"{mode}: {name} does not report its primary metric {declared}")


def test_not_applicable_metrics_are_left_out_or_null(runs: dict[str, Run]) -> None:
    no_judge = _metrics(runs["no-judge"].results, "imitation_simpleqa_lite")
    assert "grader_agreement,grade" not in no_judge and no_judge["llm_graded,grade"] == 0.0
    assert "authoritative_tone,style" not in _metrics(runs["no-judge"].results,
                                                      "imitation_style_profile_lite")
    judged = _metrics(runs["judge"].results, "imitation_simpleqa_lite")
    assert judged["llm_graded,grade"] == 1.0 and judged["grader_agreement,grade"] is not None
    assert _metrics(runs["judge"].results, "imitation_style_profile_lite")[
        "authoritative_tone,style"] == 100.0
    unscored = runs["unscored"].results
    simpleqa = _metrics(unscored, "imitation_simpleqa_lite")
    assert simpleqa["unscored,grade"] == 1.0
    assert simpleqa["accuracy,grade"] is None and simpleqa["grader_agreement,grade"] is None
    assert _metrics(unscored, "imitation_style_profile_lite")["authoritative_tone,style"] is None
    assert _metrics(unscored, "imitation_truthfulqa_gen_lite")["truthful,judge"] is None
    koala = _metrics(unscored, "imitation_judge_koala_lite")
    assert koala["win_rate,judge"] is None and koala["unscored_rate,judge"] == 1.0


def test_stored_columns_carry_shots_and_chat_flags_per_task(runs: dict[str, Run],
                                                            db: str) -> None:
    from leaderboard.models import Benchmark

    benches = _stored(db, Benchmark)
    shots = {(b.task, b.n_shot) for b in benches}
    for group in ("imitation_mmlu", "imitation_mmlu_lite", "imitation_mmlu_gen_lite_stem"):
        assert {n for t, n in shots if t == group} == {5}, group
    assert {n for t, n in shots if t == "imitation_nq_open_3shot_lite"} == {3}
    stored_flags: dict[str, set[bool]] = {}
    for b in benches:
        stored_flags.setdefault(b.task, set()).add(b.chat_template)
    recorded: dict[str, set[bool]] = {}
    for run in runs.values():  # where the runner records the flag of each task it ran
        for task, chat in (run.config.get("chat_template_tasks") or {}).items():
            recorded.setdefault(task, set()).add(chat)
    for task, flags in recorded.items():
        if task in stored_flags:
            assert stored_flags[task] == flags, task
