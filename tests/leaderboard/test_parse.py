"""Column identity read from a results folder: a group's shot count comes from its tasks (MMLU
is 5-shot, never "0-shot"), and the chat-template flag is per task (config.json's
``chat_template_tasks``), with the run-wide setting as the fallback.

fixtures/mmlu_lite_results.json is the results.json that ``imitation-eval run --tasks
imitation_mmlu_lite --limit 1`` wrote for the tiny random model of tests/conftest.py (lm-eval
0.4.13), with ``configs`` and ``pretty_env_info`` removed to keep it small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leaderboard.parse import PayloadError, chat_template_flag, n_shot, parse_results

MMLU_LITE = Path(__file__).parent / "fixtures" / "mmlu_lite_results.json"
GROUPS = {"suite": ["mmlu", "nq_chat"], "mmlu": ["mmlu_stem", "mmlu_other"],
          "mmlu_stem": ["mmlu_anatomy", "mmlu_virology"], "mmlu_other": ["mmlu_marketing"]}


def _results(n_shots: dict[str, int], groups: dict[str, list[str]] | None = None
             ) -> dict[str, Any]:
    """lm-eval's results.json shape: every task and group in results, versions and n-shot."""
    groups = GROUPS if groups is None else groups
    names = set(groups) | {t for members in groups.values() for t in members}
    return {"results": {t: {"alias": t, "acc,none": 0.5, "acc_stderr,none": "N/A"}
                        for t in sorted(names)},
            "versions": {t: 1.0 for t in names}, "n-shot": n_shots, "group_subtasks": groups,
            "lm_eval_version": "0.4.13"}


# --- n-shot ------------------------------------------------------------------------------------

def test_real_mmlu_lite_results_give_5_shot_columns() -> None:
    results = json.loads(MMLU_LITE.read_text())
    assert "imitation_mmlu_lite" not in results["n-shot"]  # what lm-eval writes for the group
    scores = parse_results(results)
    shots = {s.identity.task: s.identity.n_shot for s in scores}
    assert shots["imitation_mmlu_lite"] == 5 and shots["imitation_mmlu_lite_stem"] == 5
    assert set(shots.values()) == {5}
    labels = {s.identity.label() for s in scores if s.identity.task == "imitation_mmlu_lite"}
    assert labels and all("5-shot" in label for label in labels)


@pytest.mark.parametrize("recorded", [{}, {"mmlu": 0, "mmlu_stem": 0, "mmlu_other": 0}])
def test_a_group_takes_its_tasks_shot_count(recorded: dict[str, int]) -> None:
    leaves = {"mmlu_anatomy": 5, "mmlu_virology": 5, "mmlu_marketing": 5, "nq_chat": 0}
    results = _results({**leaves, **recorded})
    assert n_shot(results, "mmlu") == 5 and n_shot(results, "mmlu_stem") == 5
    assert n_shot(results, "mmlu_anatomy") == 5 and n_shot(results, "nq_chat") == 0
    assert n_shot(results, "suite") == 0  # 5 and 0 disagree: the recorded count (none: 0)
    by_task = {s.identity.task: s.identity.n_shot for s in parse_results(results)}
    assert by_task["mmlu"] == 5 and by_task["mmlu_other"] == 5


def test_disagreeing_tasks_keep_the_groups_recorded_count() -> None:
    results = _results({"mmlu_anatomy": 5, "mmlu_virology": 0, "mmlu_marketing": 5, "mmlu": 3})
    assert n_shot(results, "mmlu") == 3
    assert n_shot(results, "mmlu_other") == 5


def test_bad_n_shot_names_the_field() -> None:
    with pytest.raises(PayloadError, match=r"results.n-shot.mmlu must be an integer"):
        parse_results(_results({"mmlu": "five"}))
    cyclic = _results({"a": 5}, {"a": ["b"], "b": ["a"]})
    assert n_shot(cyclic, "a") == 5  # a cycle ends instead of recursing forever


# --- chat template, per task ---------------------------------------------------------------------

def _config(per_task: dict[str, Any] | None = None, run_wide: bool | None = None
            ) -> dict[str, Any]:
    config: dict[str, Any] = {"imitation_suite_version": "0.1.0", "run_config": {}}
    if run_wide is not None:
        config["run_config"]["apply_chat_template"] = run_wide
    if per_task is not None:
        config["chat_template_tasks"] = per_task
    return config


def test_without_the_mapping_the_run_wide_setting_counts() -> None:
    results = _results({})
    assert chat_template_flag(results, _config(run_wide=True), "mmlu_anatomy") is True
    assert chat_template_flag(results, _config(run_wide=False), "mmlu_anatomy") is False
    assert chat_template_flag(results, None, "mmlu") is False
    assert chat_template_flag({**results, "chat_template": "{{ messages }}"}, None, "mmlu")


def test_the_mapping_decides_per_task() -> None:
    results = _results({})
    config = _config({"mmlu_anatomy": False, "mmlu_virology": False, "mmlu_marketing": False,
                      "nq_chat": True}, run_wide=True)
    assert chat_template_flag(results, config, "nq_chat") is True
    assert chat_template_flag(results, config, "mmlu_anatomy") is False  # over run_config
    assert chat_template_flag(results, config, "mmlu") is False
    chat = {s.identity.task: s.identity.chat_template
            for s in parse_results(results, config)}
    assert chat["nq_chat"] is True
    assert not any(chat[t] for t in ("mmlu", "mmlu_stem", "mmlu_anatomy", "mmlu_marketing"))
    assert chat["suite"] is False  # one of its tasks ran without the template


def test_a_group_is_chat_only_when_all_its_named_tasks_are() -> None:
    results = _results({})
    all_chat = _config({"mmlu_anatomy": True, "mmlu_virology": True, "mmlu_marketing": True})
    assert chat_template_flag(results, all_chat, "mmlu") is True
    assert chat_template_flag(results, all_chat, "mmlu_stem") is True
    mixed = _config({"mmlu_anatomy": True, "mmlu_virology": False, "mmlu_marketing": True})
    assert chat_template_flag(results, mixed, "mmlu_stem") is False
    assert chat_template_flag(results, mixed, "mmlu_other") is True
    assert chat_template_flag(results, mixed, "mmlu") is False
    group_named = _config({"mmlu": True, "mmlu_anatomy": False})  # a named group is as named
    assert chat_template_flag(results, group_named, "mmlu") is True
    subgroup_named = _config({"mmlu_stem": True, "mmlu_anatomy": False, "mmlu_marketing": True})
    assert chat_template_flag(results, subgroup_named, "mmlu") is True  # stem as named
    partial = _config({"mmlu_anatomy": True}, run_wide=False)  # unnamed tasks are ignored
    assert chat_template_flag(results, partial, "mmlu") is True
    unnamed = _config({"nq_chat": True}, run_wide=False)  # nothing under it named: run-wide
    assert chat_template_flag(results, unnamed, "mmlu") is False
    assert chat_template_flag(results, unnamed, "mmlu_anatomy") is False


def test_per_task_flags_split_columns(tmp_path: Path) -> None:
    from leaderboard.db import make_engine, migrate, read_session
    from leaderboard.ingest import store_push
    from leaderboard.models import Benchmark
    from leaderboard.schemas import PushPayload
    from sqlalchemy import select

    engine = make_engine(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    migrate(engine)
    results = _results({"mmlu_anatomy": 5, "mmlu_virology": 5, "mmlu_marketing": 5,
                        "nq_chat": 0})
    config = _config({"mmlu_anatomy": False, "mmlu_virology": False, "mmlu_marketing": False,
                      "nq_chat": True})
    store_push(engine, PushPayload.model_validate(
        {"model": {"name": "m", "kind": "base"}, "results": results, "config": config}))
    with read_session(engine) as s:
        rows = {b.task: (b.n_shot, b.chat_template) for b in s.scalars(select(Benchmark))}
    assert rows["mmlu"] == (5, False) and rows["nq_chat"] == (0, True)
    engine.dispose()


@pytest.mark.parametrize("per_task, message", [
    (["nq_chat"], "config.chat_template_tasks must be an object"),
    ({"nq_chat": "yes"}, "config.chat_template_tasks.nq_chat must be true or false"),
])
def test_a_malformed_mapping_names_the_field(per_task: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_results(_results({}), _config(per_task))


# --- primary metric ----------------------------------------------------------------------------

def _two_metrics(primary: str | None) -> dict[str, Any]:
    """mmlu (a group) over two tasks reporting acc then acc_macro; each task's config declares
    ``primary`` as its metadata.primary_metric (None: results from before the declaration)."""
    groups = {"mmlu": ["mmlu_a", "mmlu_b"]}
    results = _results({"mmlu_a": 5, "mmlu_b": 5}, groups)
    for row in results["results"].values():
        row["acc_macro,none"] = 0.4
    meta = {"version": 1} | ({"primary_metric": primary} if primary else {})
    results["configs"] = {t: {"metadata": meta} for t in ("mmlu_a", "mmlu_b")}
    return results


@pytest.mark.parametrize("declared, expected", [("acc_macro", "acc_macro"), ("acc", "acc"),
                                                (None, "acc")])
def test_the_main_column_is_the_declared_primary_metric(declared: str | None,
                                                         expected: str) -> None:
    primary = {(s.identity.task, s.identity.metric) for s in parse_results(_two_metrics(declared))
               if s.primary}
    assert primary == {("mmlu", expected), ("mmlu_a", expected), ("mmlu_b", expected)}


def test_a_group_whose_tasks_disagree_falls_back_to_its_first_number() -> None:
    results = _two_metrics("acc_macro")
    results["configs"]["mmlu_b"]["metadata"] = {"version": 1, "primary_metric": "acc"}
    primary = {(s.identity.task, s.identity.metric) for s in parse_results(results) if s.primary}
    assert primary == {("mmlu", "acc"), ("mmlu_a", "acc_macro"), ("mmlu_b", "acc")}


# --- direction -----------------------------------------------------------------------------------

@pytest.mark.parametrize("recorded, expected", [({"acc": True}, True), ({"acc": False}, False),
                                                ({"acc": None}, True), ({}, True)])
def test_a_null_direction_reads_as_higher_is_better(recorded: dict[str, Any],
                                                    expected: bool) -> None:
    """lm-eval writes null for a group whose subtasks disagree: it is not "lower is better"."""
    results = _results({}, {"mmlu": ["mmlu_anatomy"]})
    results["higher_is_better"] = {"mmlu": recorded}
    by_task = {s.identity.task: s.higher_is_better for s in parse_results(results)}
    assert by_task["mmlu"] is expected and by_task["mmlu_anatomy"] is True
