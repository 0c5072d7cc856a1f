"""benchmarks/full_runs.py --chunk: a task run N documents at a time, each chunk's per-document
values kept, gives the same figures as one uninterrupted lm-eval run, and resumes without
re-running finished chunks."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def full_runs():
    return _load(REPO / "benchmarks" / "full_runs.py")


@pytest.fixture(scope="module")
def lm(tiny_model_dir, data_dir):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model_dir), batch_size=8, device="cpu", max_length=512)


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    from harness_tasks import task_dir

    return TaskManager(include_path=str(task_dir()))


# generative tasks whose metrics are corpus-level, computed from a custom filter's output: F1
# over all documents, a Pearson correlation; three chunks each (lite sizes 200 and 20). Short
# generations keep it quick: the aggregation, not the text, is under test.
@pytest.mark.slow
@pytest.mark.parametrize("task,chunk", [("imitation_simpleqa_lite", 67),
                                        ("imitation_style_profile_lite", 7)])
def test_chunks_reproduce_one_whole_run(full_runs, lm, manager, task, chunk, tmp_path,
                                        monkeypatch):
    from lm_eval import simple_evaluate

    gen_kwargs = "max_gen_toks=24"
    args = types.SimpleNamespace(chunk=chunk, apply_chat_template=True, gen_kwargs=gen_kwargs,
                                 pretrained="some/tiny", samples_dir=str(tmp_path / "samples"))
    record = full_runs.run_chunked(lm, manager, task, tmp_path, args)
    whole = full_runs._numbers(simple_evaluate(model=lm, tasks=[task], task_manager=manager,
                                               log_samples=False, apply_chat_template=True,
                                               gen_kwargs=gen_kwargs)
                               ["results"][task])
    assert record["chunks"] == len(list(tmp_path.glob(f"{task}.part*.json"))) >= 2
    assert record["metrics"].keys() <= whole.keys() and record["metrics"]
    for key, value in record["metrics"].items():
        assert full_runs._same(value, whole[key]), (key, value, whole[key])

    # each chunk's samples, outside the results folder, one line per document
    files = sorted((tmp_path / "samples" / "tiny" / task).glob(f"samples_{task}.part*.jsonl"))
    assert len(files) == record["chunks"]
    if task.startswith("imitation_simpleqa"):  # the grader-agreement benchmark reads them
        rows = _load(REPO / "benchmarks" / "factuality_grader_agreement.py").read_samples(files)
        assert len(rows) == record["n"]
        assert {r["det"] for r in rows} <= {"correct", "incorrect", "not_attempted"}

    # resume: finished chunks are read back, never run again
    def refuse(*a, **k):
        raise AssertionError("a finished chunk ran again")

    monkeypatch.setattr("lm_eval.simple_evaluate", refuse)
    again = full_runs.run_chunked(lm, manager, task, tmp_path, args)
    assert again["metrics"].keys() == record["metrics"].keys()
    assert all(full_runs._same(again["metrics"][k], v) for k, v in record["metrics"].items())
