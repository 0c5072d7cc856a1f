"""The factuality tasks inside lm-eval.

- Three-way graded tasks with a scripted LM (answers: the gold, a hedged wrong one, "I don't
  know"): the metrics are exactly what the grades imply, and the results name the grader.
- With a judge endpoint (a scripted OpenAI-compatible server on 127.0.0.1) the LLM's grades
  count, the deterministic grades are kept and their agreement reported; a judge that cannot be
  used leaves every answer unscored, never graded.
- TruthfulQA generation stops before generating when no judge is configured.
- The log-likelihood tasks (TruthfulQA MC1/MC2, NQ choices) on the tiny random model; the
  choices task asks the same NQ questions as the graded one.
- Bad data files name file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import harness_tasks
from harness_tasks.data import DataError
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer

JUDGE_ENV = ("IMITATION_JUDGE_BASE_URL", "IMITATION_JUDGE_MODEL", "IMITATION_JUDGE_API_KEY_ENV",
             "IMITATION_JUDGE_CONFIG", "IMITATION_JUDGE_CACHE_PATH", "IMITATION_JUDGE_PROMPT")


@pytest.fixture(autouse=True)
def no_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in JUDGE_ENV:
        monkeypatch.delenv(name, raising=False)


def scripted_lm(answer_for: Any) -> Any:
    """An lm-eval LM whose reply to a prompt is ``answer_for(prompt)``; records the calls."""
    from lm_eval.api.model import LM

    class Scripted(LM):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def loglikelihood(self, requests: Any) -> Any:
            raise AssertionError("no log-likelihood requests expected")

        def loglikelihood_rolling(self, requests: Any) -> Any:
            raise AssertionError("no rolling requests expected")

        def generate_until(self, requests: Any) -> Any:
            self.calls.append("generate_until")
            return [answer_for(r.args[0]) for r in requests]

    return Scripted()


def evaluate(model: Any, tasks: list[str], metadata: dict[str, Any] | None = None,
             **kwargs: Any) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False,
                          metadata=metadata)
    return simple_evaluate(model=model, tasks=tasks, bootstrap_iters=0, task_manager=manager,
                           log_samples=True, **kwargs)


def three_answers(task_docs: list[dict]) -> Any:
    """Question 0: the gold; question 1: a hedged wrong answer; question 2: "I don't know"."""
    by_question = {d["question"].strip().lower().rstrip("?"): i for i, d in enumerate(task_docs)}

    def answer_for(prompt: str) -> str:
        question = prompt.split("Question: ")[-1].split("\nAnswer:")[0].strip().lower()
        index = by_question[question.rstrip("?")]
        return [f" {task_docs[0]['answer'][0]}", " Probably Atlantis.", " I don't know."][index]

    return answer_for


def first_docs(task: str, n: int = 3) -> list[dict]:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False)
    [task_obj] = manager.load_task_or_group([task]).values()
    return list(task_obj.eval_docs)[:n]


@pytest.mark.parametrize("task", ["imitation_simpleqa_lite", "imitation_nq_graded_lite"])
def test_deterministic_grades_give_exact_metrics(task: str) -> None:
    docs = first_docs(task)
    results = evaluate(scripted_lm(three_answers(docs)), [task], limit=3)
    metrics = results["results"][task]
    assert metrics["accuracy,grade"] == pytest.approx(1 / 3)
    assert metrics["accuracy_given_attempted,grade"] == pytest.approx(1 / 2)
    assert metrics["f1,grade"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert metrics["not_attempted_rate,grade"] == pytest.approx(1 / 3)
    assert metrics["confident_wrong_rate,grade"] == 0.0  # the wrong one hedged
    assert metrics["hedge_rate,grade"] == pytest.approx(1 / 2)
    assert metrics["llm_graded,grade"] == 0.0
    assert "grader_agreement,grade" not in metrics  # no judge: nothing to agree with, no NaN
    assert results["versions"][task] == 1.1
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    assert [s["filtered_resps"][0]["grade"] for s in samples] == [
        "correct", "incorrect", "not_attempted"]
    assert {s["filtered_resps"][0]["grader"] for s in samples} == {"deterministic"}


def _judge_script(body: dict[str, Any], seen: int) -> Reply:
    user = body["messages"][-1]["content"]
    answer = user.split("Model answer:")[-1].strip()
    if "Atlantis" in answer:
        return Reply(text="Commits to a wrong place.\nGrade: INCORRECT")
    if "know" in answer:
        return Reply(text="I am not going to say.")  # no grade line: unscored
    return Reply(text="It is the gold.\nGrade: CORRECT")


def test_llm_grader_counts_when_configured(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    task = "imitation_simpleqa_lite"
    docs = first_docs(task)
    with ScriptedServer(_judge_script) as server:
        results = evaluate(scripted_lm(three_answers(docs)), [task], limit=3, metadata={
            "judge_base_url": server.base_url, "judge_model": "scripted-grader",
            "judge_api_key_env": KEY_ENV, "judge_cache_path": str(tmp_path / "c.sqlite")})
        assert len(server.bodies) == 3  # one batch, one call per answer
    metrics = results["results"][task]
    assert metrics["llm_graded,grade"] == 1.0
    assert metrics["unscored,grade"] == 1.0  # the reply without a grade line
    assert metrics["accuracy,grade"] == pytest.approx(1 / 2)  # over the 2 scored answers
    assert metrics["grader_agreement,grade"] == 1.0
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    records = [s["filtered_resps"][0] for s in samples]
    assert [r["grade"] for r in records] == ["correct", "incorrect", "unscored"]
    assert records[2]["deterministic_grade"] == "not_attempted"
    assert {r["grader"] for r in records} == {"llm:scripted-grader@factual"}
    assert SECRET not in str(results)


def test_unusable_judge_leaves_every_answer_unscored(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from harness_tasks.factuality import shortform
    from harness_tasks.factuality.llm_grading import required_endpoint

    monkeypatch.setenv(KEY_ENV, SECRET)
    with ScriptedServer(lambda body, seen: Reply(status=401, text=None)) as server:
        judge = required_endpoint({"judge_base_url": server.base_url, "judge_model": "m",
                                   "judge_api_key_env": KEY_ENV, "judge_cache_path": ""}).to_json()
        docs = [{"question": "capital of France", "answer": ["Paris"], "judge": judge}] * 2
        records = shortform.grade_answers([["Paris"], ["Lyon"]], docs)
    assert [r["grade"] for r in records] == ["unscored", "unscored"]
    assert [r["deterministic_grade"] for r in records] == ["correct", "incorrect"]
    assert [r["answer"] for r in records] == ["Paris", "Lyon"]  # answers kept


def test_judge_settings_without_key_are_an_error_not_a_silent_fallback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from harness_tasks.factuality.llm_grading import optional_endpoint
    from judges.endpoint import JudgeNotConfigured

    assert optional_endpoint({}) is None
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(JudgeNotConfigured, match="NO_SUCH_KEY_VAR is not set"):
        optional_endpoint({"judge_base_url": "http://127.0.0.1:9/v1", "judge_model": "m",
                           "judge_api_key_env": "NO_SUCH_KEY_VAR"})


def test_truthfulqa_gen_stops_before_generating_without_a_judge() -> None:
    from judges.endpoint import JudgeNotConfigured

    lm = scripted_lm(lambda prompt: "x")
    with pytest.raises(JudgeNotConfigured, match="no judge endpoint configured"):
        evaluate(lm, ["imitation_truthfulqa_gen_lite"])
    assert lm.calls == []


def test_truthfulqa_gen_graded_by_the_factual_grader(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)
    replies = iter(["Grade: CORRECT", "Grade: NOT_ATTEMPTED", "Grade: INCORRECT"])
    grades: dict[str, str] = {}

    def script(body: dict[str, Any], seen: int) -> Reply:
        key = body["messages"][-1]["content"]
        grades.setdefault(key, next(replies))
        return Reply(text=grades[key])

    with ScriptedServer(script) as server:
        results = evaluate(scripted_lm(lambda p: " Nothing happens."),
                           ["imitation_truthfulqa_gen_lite"], limit=3, metadata={
                               "judge_base_url": server.base_url, "judge_model": "g",
                               "judge_api_key_env": KEY_ENV,
                               "judge_cache_path": str(tmp_path / "c.sqlite")})
        first = server.bodies[0]["messages"][-1]["content"]
    metrics = results["results"]["imitation_truthfulqa_gen_lite"]
    assert metrics["truthful,judge"] == pytest.approx(2 / 3)
    assert metrics["truthful_informative,judge"] == pytest.approx(1 / 3)
    assert metrics["untruthful,judge"] == pytest.approx(1 / 3)
    assert "Gold answer:" in first and "Model answer: Nothing happens." in first


def test_log_likelihood_tasks_on_the_tiny_model(tiny_model_dir: Path) -> None:
    tasks = ["imitation_truthfulqa_mc1_lite", "imitation_truthfulqa_mc2_lite",
             "imitation_nq_knowledge_choice_lite"]
    results = evaluate("hf", tasks, limit=1,
                       model_args=f"pretrained={tiny_model_dir},dtype=float32", device="cpu")
    for task in tasks:
        assert 0.0 <= results["results"][task]["acc,none"] <= 1.0
    mc2 = results["samples"]["imitation_truthfulqa_mc2_lite"][0]
    assert mc2["doc"]["mc2_targets"]["labels"].count(1) >= 1
    assert "Q: Where were the 1992 Olympics held?" in str(mc2["arguments"])
    choice_docs = [s["doc"] for s in results["samples"]["imitation_nq_knowledge_choice_lite"]]
    graded_docs = first_docs("imitation_nq_graded_lite", n=1)
    assert [d["question"] for d in choice_docs] == [d["question"] for d in graded_docs]
    for doc in choice_docs:
        assert doc["choices"][doc["label"]] == doc["answer"][0] and len(doc["choices"]) == 4


def test_bad_files_name_file_and_line(tmp_path: Path) -> None:
    from harness_tasks.tasks.simpleqa.utils import read_simpleqa_csv

    bad = tmp_path / "simple_qa_test_set.csv"
    bad.write_text("metadata,question,answer\n{},Q?,A\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"simple_qa_test_set.csv:1: header lacks column"):
        read_simpleqa_csv(bad)
    bad.write_text("metadata,problem,answer\n{},Q?,A\n{},,A\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"simple_qa_test_set.csv:3: empty problem"):
        read_simpleqa_csv(bad)


def test_full_sizes(data_dir: Path) -> None:
    from harness_tasks.tasks.simpleqa.utils import simpleqa_rows
    from harness_tasks.tasks.truthfulqa.utils import _local_gen, _local_mc

    assert len(simpleqa_rows()) == 4326
    assert len(_local_mc()) == 817 and len(_local_gen()) == 817
