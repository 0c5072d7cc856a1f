"""The MMLU task family: generated files are fresh, every YAML loads, groups and sizes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

from harness_tasks import task_dir
from harness_tasks.tasks.mmlu import _generate
from harness_tasks.tasks.mmlu.subjects import CATEGORIES, SUBJECTS, description

MMLU_DIR = task_dir() / "mmlu"
LM_EVAL_MMLU = Path(importlib.util.find_spec("lm_eval").origin).parent / "tasks" / "mmlu"
TOP_GROUPS = [
    "imitation_mmlu", "imitation_mmlu_gen", "imitation_mmlu_lite", "imitation_mmlu_gen_lite",
    "imitation_mmlu_demo",
]


@pytest.fixture(scope="module")
def loaded(data_dir):
    manager = TaskManager(include_path=str(MMLU_DIR), include_defaults=False)
    return manager.load(TOP_GROUPS)


def test_generated_files_are_fresh():
    stale = _generate.stale_files()
    assert not stale, (
        f"{len(stale)} generated MMLU files are stale (e.g. {stale[:3]}); "
        f"run: python -m harness_tasks.tasks.mmlu._generate"
    )


def test_category_map_is_lm_evals():
    script = LM_EVAL_MMLU / "_generate_configs.py"
    spec = importlib.util.spec_from_file_location("lm_eval_mmlu_generate_configs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(SUBJECTS) == 57
    assert SUBJECTS == module.SUBJECTS
    assert set(SUBJECTS.values()) == set(CATEGORIES)


def test_prompt_fields_are_lm_evals():
    ours = load_yaml(MMLU_DIR / "default" / "imitation_mmlu_abstract_algebra.yaml",
                     resolve_func=False)
    theirs = load_yaml(LM_EVAL_MMLU / "default" / "mmlu_abstract_algebra.yaml", resolve_func=False)
    for key in ("test_split", "fewshot_split", "fewshot_config", "output_type", "doc_to_text",
                "doc_to_choice", "doc_to_target"):
        assert ours[key] == theirs[key], key
    assert ours["num_fewshot"] == 5
    for subject in SUBJECTS:
        theirs = load_yaml(LM_EVAL_MMLU / "default" / f"mmlu_{subject}.yaml", resolve_func=False)
        assert description(subject) == theirs["description"], subject


def _defined_names() -> tuple[set[str], list[Path]]:
    names, templates = set(), []
    for path in sorted(MMLU_DIR.rglob("*.yaml")):
        cfg = load_yaml(path, resolve_func=False, recursive=False)
        name = cfg.get("group") or cfg.get("task")
        if name is None:
            templates.append(path)
        else:
            names.add(name)
    return names, templates


def test_every_yaml_loads(loaded):
    names, templates = _defined_names()
    assert sorted(p.name for p in templates) == ["_default_template.yaml", "_gen_template.yaml"]
    assert len(names) == len(_generate.VARIANTS) * (57 + 5) == 5 * (57 + 5)
    assert set(loaded["tasks"]) | set(loaded["groups"]) == names


@pytest.mark.parametrize("prefix", TOP_GROUPS)
def test_groups_hold_the_right_subjects(loaded, prefix):
    groups = loaded["groups"]
    leaves = {t.task_name for t in groups[prefix].get_all_tasks()}
    assert leaves == {f"{prefix}_{s}" for s in SUBJECTS}
    for category in CATEGORIES:
        leaves = {t.task_name for t in groups[f"{prefix}_{category}"].get_all_tasks()}
        assert leaves == {f"{prefix}_{s}" for s, c in SUBJECTS.items() if c == category}
    metrics = [(agg.metric, agg.weight_by_size) for agg in groups[prefix].aggregate_metric_list]
    assert metrics[:2] == [("acc", True), ("acc_macro", False)]


def test_sizes_and_shots(loaded):
    tasks = loaded["tasks"]
    size = {p: sum(len(tasks[f"{p}_{s}"].test_docs()) for s in SUBJECTS) for p in TOP_GROUPS}
    assert size == {"imitation_mmlu": 14042, "imitation_mmlu_gen": 14042,
                    "imitation_mmlu_lite": 57 * _generate.LITE_TEST_SIZE,
                    "imitation_mmlu_gen_lite": 57 * _generate.LITE_TEST_SIZE,
                    "imitation_mmlu_demo": 57 * _generate.DEMO_TEST_SIZE}
    per_category = {
        c: sum(len(t.test_docs()) for t in loaded["groups"][f"imitation_mmlu_{c}"].get_all_tasks())
        for c in CATEGORIES
    }
    assert per_category == {
        "stem": 3153, "humanities": 4705, "social_sciences": 3077, "other": 3107,
    }
    for subject in SUBJECTS:
        full, lite = tasks[f"imitation_mmlu_{subject}"], tasks[f"imitation_mmlu_lite_{subject}"]
        assert list(lite.fewshot_docs()) == list(full.fewshot_docs())
        assert len(full.fewshot_docs()) == 5
        full_questions = set(full.test_docs()["question"])
        assert set(lite.test_docs()["question"]) <= full_questions
        for prefix in TOP_GROUPS:
            assert tasks[f"{prefix}_{subject}"].get_config("num_fewshot") == 5


def test_gen_prompt_asks_for_the_letter(loaded):
    task = loaded["tasks"]["imitation_mmlu_gen_anatomy"]
    doc = task.test_docs()[0]
    prompt = task.fewshot_context(doc, num_fewshot=0)
    assert prompt.startswith(
        "The following are multiple choice questions (with answers) about anatomy. "
        "Answer with the letter (A, B, C or D) of the correct option.\n\n"
    )
    assert prompt.endswith(f"D. {doc['choices'][3]}\nAnswer:")
    assert task.doc_to_target(doc) == "ABCD"[doc["answer"]]
