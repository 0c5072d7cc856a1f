"""The two judge-backed factuality probes on real models served on 127.0.0.1, for both presets
(SmolLM2-135M-Instruct and gemma3-270m, each with its own chat template): the LLM three-way
grader (what ``grader_agreement`` and benchmarks/factuality_grader_agreement.py compare with the
deterministic grader) and the style-susceptibility probe (``imitation-judge susceptibility``).
Models this small are no graders or judges; what is checked is that every request reaches the
model with the right prompt and that every reply becomes a grade or an explicit "unscored",
never an error or a silent drop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judges.cli import main as judge_main
from judges.config import ClientConfig
from judges.endpoint import JudgeEndpoint
from judges.testing_chat_server import ChatModel, serve
from tests.judges.fake_key import KEY_ENV, SECRET

ROWS = [("Who wrote the novel Nineteen Eighty-Four?", "George Orwell", "Orwell wrote it."),
        ("How many legs does a spider have?", "8", "I am not sure.")]
# wrong answers are another item's gold of the same shape (digits or not): two names
FACTS = [("Who wrote the novel Nineteen Eighty-Four?", "George Orwell"),
         ("Who painted the Mona Lisa?", "Leonardo da Vinci")]
GRADES = {"correct", "incorrect", "not_attempted", "unscored"}


@pytest.fixture(scope="module", params=["smollm2-135m-instruct", "gemma3-270m"])
def served(request):
    from harness_tasks.presets import build_preset

    model = ChatModel(build_preset(request.param))
    server, url = serve(model)
    yield model, url.rsplit("/chat/completions", 1)[0]
    server.shutdown()


@pytest.mark.slow
def test_llm_grader_on_a_real_model(served, api_key: str) -> None:
    from harness_tasks.factuality.llm_grading import grade_with_llm

    model, base_url = served
    before = len(model.requests)
    endpoint = JudgeEndpoint(ClientConfig(base_url=base_url, model="local", api_key_env=KEY_ENV,
                                          concurrency=2, timeout=600.0, cache_path=""),
                             "pairwise", "pairwise@v1")
    graded = grade_with_llm(*zip(*ROWS), endpoint, progress=False)
    assert len(graded) == len(ROWS)
    for record in graded:
        assert record["grade"] in GRADES
        assert (record["grade"] == "unscored") == (record["unscored_reason"] is not None)
    asked = [json.dumps(payload["messages"]) for payload in model.requests[before:]]
    assert len(asked) == len(ROWS)  # one call per answer (concurrent: any order), none lost
    for question, gold, answer in ROWS:
        assert any(question in text and gold in text and answer in text for text in asked)


@pytest.mark.slow
def test_style_susceptibility_on_a_real_model(served, api_key: str, tmp_path: Path) -> None:
    model, base_url = served
    data = tmp_path / "data" / "nq_open"
    data.mkdir(parents=True)
    (data / "NQ-open.dev.jsonl").write_text("".join(
        json.dumps({"question": q, "answer": [a]}) + "\n" for q, a in FACTS))
    out = tmp_path / "out"
    before = len(model.requests)
    code = judge_main(["susceptibility", "--data-dir", str(tmp_path / "data"),
                       "--base-url", base_url, "--model", "local", "--api-key-env", KEY_ENV,
                       "--cache-path", "", "--quiet", "--output-dir", str(out), "--limit", "1",
                       "--max-tokens", "48",
                       # one model on a busy CPU: calls queue behind each other; no retries,
                       # so the request count below is exact
                       "--concurrency", "2", "--timeout", "1800", "--max-retries", "0"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["items"] == 1
    assert summary["judged"] + summary["rewrite_failed"] == 1
    # two rewrites (right and wrong answer), then 3 pairs x 2 orders if the facts held
    assert len(model.requests) - before == 2 + 6 * summary["judged"]
    rewrites = [json.loads(line) for line in (out / "rewrites.jsonl").read_text().splitlines()]
    assert len(rewrites) == 1 and rewrites[0]["right_styled"] and rewrites[0]["wrong_styled"]
    for key in ("wrong_styled_preferred", "wrong_terse_preferred"):
        assert summary[key] is None or 0.0 <= summary[key] <= 1.0
    for path in out.iterdir():
        assert SECRET not in path.read_text()
