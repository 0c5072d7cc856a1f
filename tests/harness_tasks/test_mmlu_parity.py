"""Parity: our 5-shot imitation_mmlu_<subject> gives per-question results identical to
lm-eval's OWN mmlu_<subject> task definitions, run on the same model and the same local files.

lm-eval's tasks are loaded by name from its own YAMLs through TaskManager; only their data
source is replaced (``custom_dataset`` override, as lm-eval's group syntax allows) by a
reader of the original CSVs written here, independent of ours, that mirrors how ``cais/mmlu``
was built (csv.reader, choices = columns 1-4, answer = index of the letter). Both runs log
every sample; we compare docs, request arguments (prompt + continuation), per-choice
log-likelihoods (exactly: same inputs, batch size 1) and acc.
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path

import pytest
from lm_eval.evaluator import simple_evaluate
from lm_eval.tasks import TaskManager

from harness_tasks import task_dir

FAST_SUBJECTS = ("abstract_algebra", "college_computer_science", "high_school_european_history")
SLOW_SUBJECTS = ("global_facts", "high_school_geography", "moral_scenarios")


def reference_mmlu(subject: str, root: Path, **_metadata):
    """One subject from the original CSVs, the way the cais/mmlu dataset was built."""
    import datasets

    features = datasets.Features({
        "question": datasets.Value("string"),
        "subject": datasets.Value("string"),
        "choices": datasets.Sequence(datasets.Value("string")),
        "answer": datasets.ClassLabel(names=["A", "B", "C", "D"]),
    })

    def split(folder: str):
        path = root / "mmlu" / folder / f"{subject}_{folder}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
        return datasets.Dataset.from_dict({
            "question": [r[0] for r in rows],
            "subject": [subject] * len(rows),
            "choices": [r[1:5] for r in rows],
            "answer": ["ABCD".index(r[5]) for r in rows],
        }, features=features)

    return datasets.DatasetDict(test=split("test"), validation=split("val"), dev=split("dev"))


@pytest.fixture(scope="module")
def manager(data_dir):
    # lm-eval's own tasks (include_defaults) plus ours.
    return TaskManager(include_path=str(task_dir() / "mmlu"))


def _run_pair(model, manager, data_dir, subjects, limit):
    reference = {
        "group": "lm_eval_mmlu_reference",
        "task": [{"task": f"mmlu_{s}", "custom_dataset": partial(reference_mmlu, s, data_dir)}
                 for s in subjects],
    }
    common = dict(model=model, task_manager=manager, limit=limit, log_samples=True,
                  bootstrap_iters=0)
    # lm-eval's mmlu has no default shot count: 5 as the paper; ours is 5 by its YAML.
    theirs = simple_evaluate(tasks=[reference], num_fewshot=5, **common)
    ours = simple_evaluate(tasks=[f"imitation_mmlu_{s}" for s in subjects], **common)
    return ours, theirs


def _assert_identical(ours, theirs, subjects, limit):
    for subject in subjects:
        mine = sorted(ours["samples"][f"imitation_mmlu_{subject}"], key=lambda x: x["doc_id"])
        ref = sorted(theirs["samples"][f"mmlu_{subject}"], key=lambda x: x["doc_id"])
        assert len(mine) == len(ref) == limit
        assert ours["n-shot"][f"imitation_mmlu_{subject}"] == 5
        assert theirs["n-shot"][f"mmlu_{subject}"] == 5
        source = Path(theirs["configs"][f"mmlu_{subject}"]["metadata"]["config_source"])
        assert source.parts[-5:] == ("lm_eval", "tasks", "mmlu", "default", f"mmlu_{subject}.yaml")
        for a, b in zip(mine, ref, strict=True):
            assert a["doc_id"] == b["doc_id"]
            assert a["doc"] == b["doc"]
            assert a["target"] == b["target"]
            assert a["arguments"] == b["arguments"]  # (5-shot prompt, " A".." D") per choice
            assert a["resps"] == b["resps"]  # per-choice (log-likelihood, is_greedy)
            assert a["acc"] == b["acc"]
        assert ours["results"][f"imitation_mmlu_{subject}"]["acc,none"] == (
            theirs["results"][f"mmlu_{subject}"]["acc,none"])
    prompt = mine[0]["arguments"][0][0]
    assert prompt.startswith("The following are multiple choice questions (with answers) about ")
    assert prompt.count("\nAnswer:") == 6  # 5 shots + the question


@pytest.fixture(scope="module")
def tiny_lm(tiny_model_dir):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model_dir), batch_size=1, device="cpu")


def test_parity_with_lm_eval_mmlu_tiny_model(tiny_lm, manager, data_dir):
    ours, theirs = _run_pair(tiny_lm, manager, data_dir, FAST_SUBJECTS, limit=8)
    _assert_identical(ours, theirs, FAST_SUBJECTS, limit=8)


@pytest.mark.slow
def test_parity_with_lm_eval_mmlu_smollm2(smollm2_dir, manager, data_dir):
    from lm_eval.models.huggingface import HFLM

    model = HFLM(pretrained=str(smollm2_dir), batch_size=1, device="cpu")
    ours, theirs = _run_pair(model, manager, data_dir, SLOW_SUBJECTS, limit=10)
    _assert_identical(ours, theirs, SLOW_SUBJECTS, limit=10)
    accs = [ours["results"][f"imitation_mmlu_{s}"]["acc,none"] for s in SLOW_SUBJECTS]
    assert any(acc > 0 for acc in accs)  # a real model, not all-wrong
