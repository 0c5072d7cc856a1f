"""--max-cost at concurrency > 1 over real HTTP (the scripted server on 127.0.0.1): the spend
never passes the limit, even when every reply costs its worst case, and a budget stop leaves
whole pairs (both orders judged, or neither sent), reported as such and resumable."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from judges.cli import main
from judges.pricing import MESSAGE_OVERHEAD_TOKENS, Price
from judges.records import Usage
from tests.judges.fake_key import KEY_ENV
from tests.judges.scripted_server import Reply, ScriptedServer, body_key

PRICE = Price(input=1000.0, output=1000.0)  # $0.001 a token: a pair costs about $2-3
N_PAIRS = 12


def _worst_case(body: dict[str, Any]) -> tuple[int, int]:
    """The usage a call can cost at most under the guard's bound (prompt: a token per byte)."""
    prompt = sum(len(m["content"].encode("utf-8")) for m in body["messages"])
    return prompt + MESSAGE_OVERHEAD_TOKENS * (len(body["messages"]) + 1), body["max_tokens"]


class Judge:
    """Replies "Verdict: A" after a short delay (so calls overlap), reporting the worst-case usage
    for most calls; records what each delivered reply cost, independently of the client."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paid: list[float] = []

    def __call__(self, body: dict[str, Any], seen: int) -> Reply:
        prompt, completion = _worst_case(body)
        if body_key(body).endswith(("0", "1", "2")):  # some replies cheaper than the bound
            completion = 5
        with self.lock:
            self.paid.append(PRICE.cost(Usage(prompt, completion)))
        return Reply(text="Verdict: A", usage=(prompt, completion), delay=0.02)


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    answers, reference, prices = (tmp_path / "model.jsonl", tmp_path / "teacher.jsonl",
                                  tmp_path / "prices.json")
    answers.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"question {i} " * (i + 1),
                                           "response": f"answer {i}"}) + "\n"
                               for i in range(N_PAIRS)))
    reference.write_text("".join(json.dumps({"id": f"q{i}", "response": f"teacher {i} " * 3})
                                 + "\n" for i in range(N_PAIRS)))
    prices.write_text(json.dumps({"prices": {"judge-model": {"input": PRICE.input,
                                                             "output": PRICE.output}}}))
    return answers, reference, prices


def _run(tmp_path: Path, server: ScriptedServer, out: Path, max_cost: float) -> int:
    answers, reference, prices = _files(tmp_path)
    return main(["pairwise", "--answers", str(answers), "--reference", str(reference),
                 "--quiet", "--base-url", server.base_url, "--model", "judge-model",
                 "--api-key-env", KEY_ENV, "--concurrency", "8", "--max-retries", "0",
                 "--prices-file", str(prices), "--max-cost", str(max_cost),
                 "--cache-path", str(tmp_path / "cache.sqlite"), "--output-dir", str(out)])


@pytest.mark.parametrize("max_cost", [7.0, 15.0])
def test_a_budget_stop_leaves_whole_pairs_and_never_passes_max_cost(
        tmp_path: Path, api_key: str, caplog: pytest.LogCaptureFixture, max_cost: float) -> None:
    judge = Judge()
    with ScriptedServer(judge) as server:
        assert _run(tmp_path, server, tmp_path / "run", max_cost) == 0
        assert server.most_in_flight > 1  # the calls did overlap
        bodies = list(server.bodies)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # the spend, by the client and by the server's own tally, stays within the budget
    assert summary["usage"]["cost"] <= max_cost
    assert sum(judge.paid) <= max_cost + 1e-9
    assert sum(judge.paid) == pytest.approx(summary["usage"]["cost"], abs=1e-5)
    # the budget stopped it: said in the summary, with the pairs left and how to resume
    stopped = summary["stopped_by_budget"]
    assert stopped["max_cost"] == max_cost and stopped["unjudged_pairs"] > 0
    assert "--max-cost" in stopped["resume"] and "cache" in stopped["resume"]
    verdicts = [json.loads(line) for line in
                (tmp_path / "run" / "verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == summary["n"] == N_PAIRS - stopped["unjudged_pairs"] > 0
    # only whole pairs: every written verdict has both orders judged, none a budget error ...
    for v in verdicts:
        for order in ("candidate_first", "candidate_second"):
            assert v[order]["error"] is None and v[order]["side"] is not None
    # ... and the server saw both orders of each judged pair and nothing of the others
    asked = {m["content"] for b in bodies for m in b["messages"] if m["role"] == "user"}
    for i in range(N_PAIRS):
        both = sum(f"question {i} " * (i + 1) in text and f"answer {i}" in text
                   for text in asked)
        assert both == (2 if f"q{i}" in {v["id"] for v in verdicts} else 0), i
    assert len(bodies) == 2 * len(verdicts)
    assert "pairs left unjudged" in caplog.text


def test_the_unjudged_pairs_are_resumable_from_the_cache(tmp_path: Path, api_key: str) -> None:
    judge = Judge()
    with ScriptedServer(judge) as server:
        assert _run(tmp_path, server, tmp_path / "first", 7.0) == 0
        first = json.loads((tmp_path / "first" / "summary.json").read_text())
        calls_before = len(server.bodies)
        assert _run(tmp_path, server, tmp_path / "second", 1000.0) == 0
    second = json.loads((tmp_path / "second" / "summary.json").read_text())
    assert second["stopped_by_budget"] is None and second["n"] == N_PAIRS
    judged_before = N_PAIRS - first["stopped_by_budget"]["unjudged_pairs"]
    # the pairs paid for in the first run come from the cache; only the rest are sent
    assert second["usage"]["cache_hits"] == 2 * judged_before
    assert len(server.bodies) - calls_before == 2 * (N_PAIRS - judged_before)
    assert max(server.hits.values()) == 1


def test_a_budget_below_one_pair_is_one_line_and_writes_nothing(
        tmp_path: Path, api_key: str, capsys: pytest.CaptureFixture) -> None:
    with ScriptedServer(Judge()) as server:
        assert _run(tmp_path, server, tmp_path / "run", 0.5) == 2
        assert not server.bodies
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-cost 0.5" in err[0] and "before one pair" in err[0]
    assert not (tmp_path / "run").exists()


def test_rescore_under_a_budget_judges_whole_pairs_and_says_how_many_are_left(
        tmp_path: Path, api_key: str) -> None:
    """The same guard through ``judge_run`` (the lm-eval judge tasks' path): a pair the budget
    stopped is unscored with neither order sent, never judged in one order only."""
    rows = [{"doc_id": i, "doc": {"id": f"d{i}", "question": f"question {i}",
                                  "reference": f"reference {i}"},
             "resps": [[f"answer {i}"]], "filtered_resps": ["x"], "filter": "judge"}
            for i in range(8)]
    samples = tmp_path / "samples_mytask.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, _, prices = _files(tmp_path)
    judge = Judge()
    with ScriptedServer(judge) as server:
        assert main(["rescore", str(samples), "--quiet", "--base-url", server.base_url,
                     "--model", "judge-model", "--api-key-env", KEY_ENV, "--concurrency", "8",
                     "--prices-file", str(prices), "--max-cost", "5",
                     "--output-dir", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    left = report["stopped_by_budget"]["unjudged_pairs"]
    assert 0 < left < 8 and report["usage"]["cost"] <= 5 and sum(judge.paid) <= 5 + 1e-9
    verdicts = [json.loads(line) for line in
                (tmp_path / "out" / "verdicts_mytask.jsonl").read_text().splitlines()]
    errors = [(v["candidate_first"]["error"], v["candidate_second"]["error"]) for v in verdicts]
    whole = [e for e in errors if e == (None, None)]
    stopped = [e for e in errors if e[0] and e[1] and e[0].startswith("budget:")
               and e[1].startswith("budget:")]
    assert len(whole) == 8 - left and len(stopped) == left  # no half pair
    assert len(server.bodies) == 2 * len(whole)
