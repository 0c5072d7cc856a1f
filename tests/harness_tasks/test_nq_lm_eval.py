"""The NQ-open tasks run in-process through lm-eval with a tiny random model (limit=3).

Scores are meaningless (random weights); the test checks the plumbing: every task loads from
the include path, the logged prompts and stop sequences are the intended ones, the lite tasks
read their seeded subset, and both metrics are reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness_tasks
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.nq_open import utils

BASE_TASKS = [
    "imitation_nq_open_0shot",
    "imitation_nq_open_3shot",
    "imitation_nq_open_0shot_lite",
    "imitation_nq_open_3shot_lite",
]
CHAT_TASKS = ["imitation_nq_open_chat", "imitation_nq_open_chat_lite"]
LITE_SIZES = {
    "imitation_nq_open_0shot_lite": 200,
    "imitation_nq_open_3shot_lite": 200,
    "imitation_nq_open_chat_lite": 100,
}
EXEMPLAR_TEXT = (
    "Q: who played apollo creed in the original rocky?\nA: Carl Weathers\n"
    "Q: the last time la dodgers won the world series?\nA: 1988\n"
    "Q: kuchipudi is a dance form of which state?\nA: Andhra Pradesh\n"
)


@pytest.fixture(scope="module")
def task_manager():
    import lm_eval.tasks

    return lm_eval.tasks.TaskManager(include_path=str(harness_tasks.task_dir()))


def run(model_dir: Path, task_manager, tasks: list[str], **kwargs) -> dict:
    import lm_eval

    return lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=tasks,
        task_manager=task_manager,
        limit=3,
        log_samples=True,
        device="cpu",
        batch_size=1,
        **kwargs,
    )


@pytest.fixture(scope="module")
def base_results(tiny_model_dir, task_manager):
    return run(tiny_model_dir, task_manager, BASE_TASKS)


@pytest.fixture(scope="module")
def chat_results(tiny_model_dir, task_manager):
    return run(tiny_model_dir, task_manager, CHAT_TASKS, apply_chat_template=True)


@pytest.fixture(scope="module")
def dev(data_dir) -> list[dict]:
    path = data_dir / utils.DEV_FILE
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def expected_docs(task: str, dev: list[dict]) -> list[dict]:
    indices = seeded_indices(len(dev), LITE_SIZES[task]) if task in LITE_SIZES else range(3)
    return [dev[i] for i in list(indices)[:3]]


def check_common(results: dict, task: str, dev: list[dict]) -> list[dict]:
    assert results["versions"][task] == 1.0
    metrics = results["results"][task]
    for name in ("exact_match", "f1"):
        assert 0.0 <= metrics[f"{name},none"] <= 1.0
    assert results["higher_is_better"][task] == {"exact_match": True, "f1": True}
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    assert [s["doc"] for s in samples] == expected_docs(task, dev)
    for sample in samples:
        assert sample["target"] == sample["doc"]["answer"]
        assert set(sample) >= {"exact_match", "f1"}
    return samples


@pytest.mark.parametrize("task", BASE_TASKS)
def test_base_tasks_prompt_and_stop(base_results, dev, task):
    samples = check_common(base_results, task, dev)
    shots = 3 if "3shot" in task else 0
    assert base_results["n-shot"][task] == shots
    for sample in samples:
        prompt, gen_kwargs = sample["arguments"][0]
        question = sample["doc"]["question"]
        assert gen_kwargs["until"] == ["\n"]
        assert gen_kwargs["max_gen_toks"] == 32
        assert gen_kwargs["do_sample"] is False
        expected = "Answer these questions:\n\n" + (EXEMPLAR_TEXT if shots else "")
        assert prompt == f"{expected}Q: {question}?\nA:"
        assert "\n" not in sample["resps"][0][0]  # generation stopped at the newline


@pytest.mark.parametrize("task", CHAT_TASKS)
def test_chat_tasks_prompt_and_stop(chat_results, dev, task):
    samples = check_common(chat_results, task, dev)
    for sample in samples:
        prompt, gen_kwargs = sample["arguments"][0]
        question = sample["doc"]["question"]
        assert gen_kwargs["until"] == []  # the backend adds end-of-turn; no newline stop
        assert gen_kwargs["max_gen_toks"] == 128
        assert "<|im_start|>user\n" + utils.CHAT_INSTRUCTION in prompt
        assert f"Question: {question[0].upper()}{question[1:]}?<|im_end|>" in prompt
        assert prompt.endswith("<|im_start|>assistant\n")
        assert "Answer these questions" not in prompt
