"""Every YAML in the task folder loads, and the groups name tasks that exist."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness_tasks
from harness_tasks.catalog import entries, read_yaml


def test_every_yaml_loads_with_lm_eval() -> None:
    from lm_eval.tasks._yaml_loader import load_yaml

    paths = sorted(harness_tasks.task_dir().rglob("*.yaml"))
    assert len(paths) > 60
    defined = 0
    for path in paths:
        config = load_yaml(path)  # resolves include: and imports every !function
        if not (config.get("task") or config.get("group")):
            assert path.name.startswith("_"), f"{path}: neither task nor group (templates start with _)"
            continue
        defined += 1
        version = (config.get("metadata") or {}).get("version")
        assert version is not None, f"{path} has no metadata.version"
    assert defined == len(entries())


def test_task_manager_indexes_every_entry() -> None:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(harness_tasks.task_dir()))
    names = set(manager.all_tasks)
    ours = {e.name for e in entries()}
    assert ours <= names
    for required in ("imitation_suite", "imitation_suite_lite", "imitation_mmlu",
                     "imitation_nq_open_0shot", "imitation_nq_open_3shot",
                     "imitation_nq_open_chat"):
        assert required in ours


@pytest.mark.parametrize("group", ["imitation_suite", "imitation_suite_lite"])
def test_top_groups_reference_defined_entries(group: str) -> None:
    known = {e.name for e in entries()}
    data = read_yaml(harness_tasks.task_dir() / f"{group}.yaml")
    missing = [t for t in data["task"] if t not in known]
    assert missing == []


def test_python_m_harness_tasks_path() -> None:
    out = subprocess.run([sys.executable, "-m", "harness_tasks", "path"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(harness_tasks.task_dir())


def test_imitation_eval_tasks_lists_groups_and_tasks() -> None:
    out = subprocess.run([sys.executable, "-m", "harness_tasks", "tasks"],
                         capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert any(line.split()[:2] == ["imitation_suite", "group"] for line in lines)
    assert any(line.split()[:2] == ["imitation_nq_open_0shot", "task"] for line in lines)


def test_entry_point_declared() -> None:
    from importlib.metadata import entry_points

    eps = entry_points(group="lm_eval.tasks")
    ours = [ep for ep in eps if ep.name == "imitation_suite"]
    assert ours and ours[0].value == "harness_tasks.tasks"
    assert ours[0].load().__file__.startswith(str(harness_tasks.task_dir()))


def _leaf_tasks(manager, name: str) -> list[str]:
    """The tasks a group, tag or task name runs, from lm-eval's index (no dataset is loaded)."""
    if name in manager.all_subtasks:
        return [name]
    if name in manager.all_tags:
        return sorted(n for n in manager.all_subtasks if name in manager.task_index[n].tags)
    assert name in manager.all_groups, f"{name} is no task, tag or group"
    return [leaf for child in manager.task_index[name].cfg["task"]
            for leaf in _leaf_tasks(manager, child)]


# the full suite's tasks whose lite variant the lite group leaves out, and why
NOT_IN_LITE = {"imitation_judge_koala": "needs a judge endpoint",
               "imitation_truthfulqa_gen": "needs a judge endpoint",
               "imitation_humaneval_sampled": "samples 20 completions per problem: too slow"}


def test_the_lite_group_runs_the_lite_variant_of_every_offline_task() -> None:
    from lm_eval.tasks import TaskManager

    from harness_tasks.tasks.mmlu.subjects import SUBJECTS

    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False)
    leaves = _leaf_tasks(manager, "imitation_suite_lite")
    assert len(leaves) == len(set(leaves))
    mmlu = [t for t in leaves if t.startswith("imitation_mmlu_")]
    assert sorted(mmlu) == sorted([f"imitation_mmlu_lite_{s}" for s in SUBJECTS]
                                  + [f"imitation_mmlu_gen_lite_{s}" for s in SUBJECTS])
    full = [t for t in _leaf_tasks(manager, "imitation_suite")
            if not t.startswith("imitation_mmlu_")]
    assert sorted(set(leaves) - set(mmlu)) == sorted(
        f"{task}_lite" for task in full if task not in NOT_IN_LITE)


def test_shared_code_never_imports_a_task_folder() -> None:
    """Shared modules (scoring, grading, loaders) live outside harness_tasks/tasks; the task
    folders import them, never the other way round."""
    from pathlib import Path

    from tests.test_dependency_rule import imported_modules

    root = Path(harness_tasks.__file__).resolve().parent
    found = [f"{path.relative_to(root.parent)}:{line} imports {module}"
             for path in sorted(root.rglob("*.py")) if root / "tasks" not in path.parents
             for line, module in imported_modules(path.read_text(encoding="utf-8"),
                                                  list(path.relative_to(root.parent).parent.parts))
             if module == "harness_tasks.tasks" or module.startswith("harness_tasks.tasks.")]
    assert not found, "move the shared code out of the task folder:\n" + "\n".join(found)


def test_every_task_declares_a_primary_metric_it_reports() -> None:
    """``metadata.primary_metric`` names a task's main number (the run summary's line, the
    leaderboard's main column: harness_tasks.summary.primary_metric): one of the metrics the
    task reports. A group's is among its aggregates and is the one all its tasks declare (lm-eval
    writes no group config into results.json, so readers take it from the tasks); a group with
    no score of its own declares none."""
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    configs = {}
    for path in sorted(harness_tasks.task_dir().rglob("*.yaml")):
        config = load_yaml(path, resolve_func=False)  # with its include: resolved
        name = config.get("group") or config.get("task")
        if isinstance(name, str):
            configs[name] = config
    declared = {n: (c.get("metadata") or {}).get("primary_metric") for n, c in configs.items()}
    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False)
    for name, config in configs.items():
        if "group" not in config:
            assert declared[name] in [m["metric"] for m in config["metric_list"]], name
            continue
        aggregates = [m["metric"] for m in config.get("aggregate_metric_list") or []]
        if not aggregates:
            assert declared[name] is None, f"{name} has no score of its own"
            continue
        assert declared[name] in aggregates, name
        assert {declared[t] for t in _leaf_tasks(manager, name)} == {declared[name]}, name
