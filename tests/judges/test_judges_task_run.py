"""The judge task inside lm-eval: it stops before any generation when no judge is configured;
with one, a lite run of the tiny model is judged in one concurrent batch by a scripted
OpenAI-compatible server, the metrics follow from the scripted verdicts, the API key appears
nowhere, and ``imitation-judge rescore`` re-judges the samples file the run wrote.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from judges.cli import main as judge_main
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer

TASK = "imitation_judge_vicuna_lite"
JUDGE_ENV = ("IMITATION_JUDGE_BASE_URL", "IMITATION_JUDGE_MODEL", "IMITATION_JUDGE_API_KEY_ENV",
             "IMITATION_JUDGE_CONFIG", "IMITATION_JUDGE_CACHE_PATH", "IMITATION_JUDGE_PROMPT",
             "IMITATION_JUDGE_CONCURRENCY")
LATENCY = 0.15


def _clear_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in JUDGE_ENV:
        monkeypatch.delenv(name, raising=False)


class RecordingLM:
    """An lm-eval LM that records every call (built lazily: lm_eval is slow to import)."""

    @staticmethod
    def make() -> Any:
        from lm_eval.api.model import LM

        class Recording(LM):
            def __init__(self) -> None:
                super().__init__()
                self.calls: list[str] = []

            def loglikelihood(self, requests: Any) -> Any:
                self.calls.append("loglikelihood")
                raise AssertionError("no log-likelihood requests expected")

            def loglikelihood_rolling(self, requests: Any) -> Any:
                self.calls.append("loglikelihood_rolling")
                raise AssertionError("no rolling requests expected")

            def generate_until(self, requests: Any) -> Any:
                self.calls.append("generate_until")
                return ["an answer"] * len(requests)

        return Recording()


def _evaluate(lm: Any, tasks: list[str], metadata: dict[str, Any] | None = None) -> Any:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    import harness_tasks

    manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False,
                          metadata=metadata)
    return simple_evaluate(model=lm, tasks=tasks, bootstrap_iters=0, task_manager=manager)


@pytest.mark.parametrize("configured", [{}, {"IMITATION_JUDGE_BASE_URL": "http://127.0.0.1:9/v1",
                                             "IMITATION_JUDGE_MODEL": "judge",
                                             "IMITATION_JUDGE_API_KEY_ENV": "NO_SUCH_KEY_VAR"}])
def test_no_endpoint_stops_before_any_generation(monkeypatch: pytest.MonkeyPatch,
                                                 configured: dict[str, str]) -> None:
    from judges.endpoint import JudgeNotConfigured

    _clear_judge_env(monkeypatch)
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    for name, value in configured.items():
        monkeypatch.setenv(name, value)
    lm = RecordingLM.make()
    with pytest.raises(JudgeNotConfigured) as caught:
        _evaluate(lm, ["imitation_judge_koala_lite"])
    assert lm.calls == []  # the model was never asked for anything
    message = str(caught.value)
    if configured:
        assert "NO_SUCH_KEY_VAR is not set" in message
    else:
        assert "no judge endpoint configured" in message and "IMITATION_JUDGE_BASE_URL" in message


def test_task_metadata_configures_the_judge_over_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clear_judge_env(monkeypatch)
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.setenv("IMITATION_JUDGE_MODEL", "env-judge")
    monkeypatch.setenv("IMITATION_JUDGE_BASE_URL", "http://127.0.0.1:9/v1")  # nothing there
    lm = RecordingLM.make()
    with ScriptedServer(lambda body, seen: Reply(text="Verdict: A")) as server:
        results = _evaluate(lm, ["imitation_judge_alpaca_eval_lite"], metadata={
            "judge_base_url": server.base_url, "judge_model": "meta-judge",
            "judge_api_key_env": KEY_ENV, "judge_cache_path": str(tmp_path / "cache.sqlite")})
    assert lm.calls == ["generate_until"]  # one batch of generations, then the judge
    assert len(server.bodies) == 40 and {b["model"] for b in server.bodies} == {"meta-judge"}
    metrics = results["results"]["imitation_judge_alpaca_eval_lite"]
    # "A" whatever the order: every pair is inconsistent, which counts as a tie
    assert metrics["position_inconsistency,judge"] == 1.0
    assert metrics["win_rate,judge"] == 0.0 and metrics["win_or_tie_rate,judge"] == 1.0
    assert metrics["unscored,judge"] == 0


# ---- a judged run --------------------------------------------------------------------------

def _section(text: str, title: str, next_title: str | None) -> str:
    start = text.index(title) + len(title)
    end = text.index(next_title, start) if next_title else len(text)
    return text[start:end].strip()


class ScriptedJudge:
    """Verdicts from the question: the first docs win, tie, flip with the order, or get an
    unreadable reply; every other pair the teacher wins. Counts requests in flight."""

    def __init__(self, docs: list[dict[str, str]]) -> None:
        self.plan: dict[str, str] = {}
        for doc, outcome in zip(docs, ("win", "tie", "inconsistent", "unscored")):
            self.plan[doc["question"].strip()] = outcome
        self.references = {doc["question"].strip(): doc["reference"].strip() for doc in docs}
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any], seen: int) -> Reply:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(LATENCY)
        with self.lock:
            self.in_flight -= 1
        text = body["messages"][-1]["content"]
        question = _section(text, "## User request", "## Reply A")
        reply_a = _section(text, "## Reply A", "## Reply B")
        candidate = "B" if reply_a == self.references[question] else "A"
        outcome = self.plan.get(question, "loss")
        verdict = {"win": candidate, "loss": "B" if candidate == "A" else "A", "tie": "tie",
                   "inconsistent": "A"}.get(outcome)
        if verdict is None:
            return Reply(text="Both replies have merits, and I will not decide.")
        return Reply(text=f"A short justification.\nVerdict: {verdict}")


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Any]:
    from harness_tasks.runner import RunConfig, run
    from harness_tasks.subsets import seeded_indices
    from harness_tasks.tasks.judge import prompt_sets

    tmp = tmp_path_factory.mktemp("judged-run")
    with pytest.MonkeyPatch.context() as mp:
        for name in JUDGE_ENV:
            mp.delenv(name, raising=False)
        mp.setenv(KEY_ENV, SECRET)
        rows = prompt_sets.vicuna_rows()
        docs = [rows[i] for i in seeded_indices(len(rows), 20)]
        script = ScriptedJudge(docs)
        with ScriptedServer(script) as server:
            mp.setenv("IMITATION_JUDGE_BASE_URL", server.base_url)
            mp.setenv("IMITATION_JUDGE_MODEL", "scripted-judge")
            mp.setenv("IMITATION_JUDGE_API_KEY_ENV", KEY_ENV)
            mp.setenv("IMITATION_JUDGE_CONCURRENCY", "8")
            mp.setenv("IMITATION_JUDGE_CACHE_PATH", str(tmp / "judge-cache.sqlite"))
            handler = _Capture()
            judges_log = logging.getLogger("judges")
            level = judges_log.level
            judges_log.setLevel(logging.INFO)
            logging.getLogger().addHandler(handler)
            try:
                out = run(RunConfig(pretrained=str(tiny_model_dir), tasks=TASK, device="cpu",
                                    batch_size="20", apply_chat_template=True,
                                    gen_kwargs="max_gen_toks=8", output_dir=str(tmp / "results")))
            finally:
                logging.getLogger().removeHandler(handler)
                judges_log.setLevel(level)
            hits_after_run = len(server.bodies)
            auth = set(server.auth_headers)
            rescored = {}
            samples = out.folder / f"samples_{TASK}.jsonl"
            # the same judge and cache as the run (recorded in the samples): nothing is re-sent
            rescored["cached"] = _rescore([str(samples), "--output-dir", str(tmp / "rescore1"),
                                           "--quiet"])
            hits_after_cached = len(server.bodies)
            rescored["uncached"] = _rescore([str(samples), "--output-dir", str(tmp / "rescore2"),
                                             "--cache-path", "", "--quiet"])
            hits_after_uncached = len(server.bodies)
            times = list(server.times)
    return {"out": out, "docs": docs, "script": script, "hits": hits_after_run, "auth": auth,
            "hits_cached": hits_after_cached, "hits_uncached": hits_after_uncached,
            "rescored": rescored, "tmp": tmp, "logs": handler.text(), "times": times}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


def _rescore(argv: list[str]) -> dict[str, Any]:
    assert judge_main(["rescore", *argv]) == 0
    out = Path(argv[argv.index("--output-dir") + 1])
    return json.loads((out / "results.json").read_text())


EXPECTED = {"win_rate": 1 / 19, "win_or_tie_rate": 3 / 19, "win_rate_ties_half": 2 / 19,
            "position_inconsistency": 1 / 19, "unscored": 1, "unscored_rate": 1 / 20}


def test_run_metrics_follow_the_scripted_verdicts(judged_run: dict[str, Any]) -> None:
    results = judged_run["out"].results["results"][TASK]
    for name, value in EXPECTED.items():
        assert results[f"{name},judge"] == pytest.approx(value), name
    assert 0.0 <= results["style_controlled_win_rate,judge"] <= 1.0
    assert judged_run["out"].results["n-samples"][TASK]["effective"] == 20


def test_judge_calls_went_out_as_one_concurrent_batch(judged_run: dict[str, Any]) -> None:
    assert judged_run["hits"] == 40  # 20 pairs x both orders, each sent once
    assert judged_run["script"].most_in_flight >= 4  # up to 8 at once; one at a time would be 1
    times = judged_run["times"][:40]
    # one at a time would take 40 x LATENCY = 6 s; 8 at a time about 0.75 s
    assert max(times) - min(times) < 20 * LATENCY


def test_samples_hold_the_verdicts_and_the_judge_but_never_the_key(
        judged_run: dict[str, Any]) -> None:
    folder = judged_run["out"].folder
    rows = [json.loads(line) for line in (folder / f"samples_{TASK}.jsonl").open()]
    assert len(rows) == 20
    first = rows[0]
    verdict = first["filtered_resps"][0]
    assert verdict["outcome"] in ("win", "loss", "tie", "inconsistent", "unscored")
    assert verdict["candidate_first"]["text"] and verdict["prompt"] == "pairwise@v1"
    judge = json.loads(first["doc"]["judge"])
    assert judge["client"]["model"] == "scripted-judge"
    assert judge["client"]["api_key_env"] == KEY_ENV
    assert judged_run["auth"] == {f"Bearer {SECRET}"}  # the key was used, and only sent
    files = list(folder.iterdir()) + list((judged_run["tmp"]).rglob("*.json*"))
    for path in files:
        if path.is_file() and path.suffix != ".sqlite":
            assert SECRET not in path.read_text(encoding="utf-8"), path
    assert SECRET not in judged_run["logs"]
    assert "scripted-judge" in judged_run["logs"]  # the judge's summary was logged


def test_rescore_of_the_run_repeats_no_call_and_gives_the_same_metrics(
        judged_run: dict[str, Any]) -> None:
    cached, uncached = judged_run["rescored"]["cached"], judged_run["rescored"]["uncached"]
    assert judged_run["hits_cached"] == judged_run["hits"]  # all 40 from the run's cache
    assert cached["usage"]["calls"] == 0 and cached["usage"]["cache_hits"] == 40
    assert judged_run["hits_uncached"] == judged_run["hits"] + 40  # no cache: judged again
    run_results = judged_run["out"].results["results"][TASK]
    for report in (cached, uncached):
        assert report["judge"]["model"] == "scripted-judge"  # taken from the samples
        metrics = report["results"][TASK]
        for name in EXPECTED:
            assert metrics[name] == pytest.approx(run_results[f"{name},judge"]), name
        assert metrics["style_controlled_win_rate"] == pytest.approx(
            run_results["style_controlled_win_rate,judge"])
        details = report["details"][TASK]
        assert details["outcomes"] == {"win": 1, "loss": 16, "tie": 1, "inconsistent": 1,
                                       "unscored": 1}
        assert details["win_rates"]["win_rate"]["low"] <= details["win_rates"]["win_rate"]["value"]
    verdicts = (judged_run["tmp"] / "rescore1" / f"verdicts_{TASK}.jsonl").read_text()
    assert len(verdicts.splitlines()) == 20 and SECRET not in verdicts


@pytest.mark.slow
def test_a_real_model_server_as_judge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      smollm2_dir: Path) -> None:
    """SmolLM2-135M-Instruct behind a real OpenAI-compatible server judges two pairs. A 135M
    model is no judge (its verdicts are mostly unscored): this checks the plumbing."""
    import yaml

    from judges.templates import load_prompt
    from judges.testing_chat_server import ChatModel, serve

    shipped = load_prompt("pairwise")
    prompt = tmp_path / "short.yaml"
    prompt.write_text(yaml.safe_dump({
        "name": "pairwise-short", "version": 1, "kind": "pairwise", "max_tokens": 16,
        "description": "the shipped pairwise prompt with a short reply",
        "system": shipped.system, "user": shipped.user}))
    _clear_judge_env(monkeypatch)
    monkeypatch.setenv(KEY_ENV, SECRET)
    model = ChatModel(smollm2_dir)
    server, url = serve(model)
    try:
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager

        import harness_tasks

        manager = TaskManager(include_path=str(harness_tasks.task_dir()), include_defaults=False,
                              metadata={"judge_base_url": url.rsplit("/chat/completions", 1)[0],
                                        "judge_model": "smollm2", "judge_api_key_env": KEY_ENV,
                                        "judge_prompt": str(prompt),
                                        "judge_cache_path": str(tmp_path / "cache.sqlite")})
        results = simple_evaluate(model=RecordingLM.make(), tasks=[TASK], limit=2,
                                  bootstrap_iters=0, task_manager=manager, log_samples=True)
    finally:
        server.shutdown()
    assert len(model.requests) == 4 and all(r["max_tokens"] == 16 for r in model.requests)
    metrics = results["results"][TASK]
    assert 0 <= metrics["unscored,judge"] <= 2
    for sample in results["samples"][TASK]:
        verdict = sample["filtered_resps"][0]
        assert verdict["prompt"] == "pairwise-short@v1" and verdict["judge"] == "smollm2"
        assert verdict["candidate_first"]["text"]  # the model replied
        assert verdict["candidate_first"]["error"] is None
