"""Pairwise, single and factual judges end to end against a scripted judge server."""

from __future__ import annotations

import re

import pytest

from judges.grading import FactItem, FactualGrader, SingleGrader, SingleItem, summarize_factual
from judges.pairwise import PairItem, PairwiseJudge, combine, Judgment, summarize_pairs
from tests.judges.scripted_server import Reply, ScriptedServer


def _shown(content: str) -> tuple[str, str, str]:
    question = re.search(r"## User request\n(.*?)\n", content).group(1)
    a = re.search(r"## Reply A\n(.*?)\n", content).group(1)
    b = re.search(r"## Reply B\n(.*?)$", content, re.S).group(1).strip()
    return question, a, b


def pairwise_script(body, seen) -> Reply:
    question, a, b = _shown(body["messages"][-1]["content"])
    cand = "A" if a.startswith("CAND") else "B"
    base = "B" if cand == "A" else "A"
    policy = {
        "q-win": Reply(text=f"Better.\nVerdict: {cand}"),
        "q-loss": Reply(text=f"Worse.\nVerdict: {base}"),
        "q-tie": Reply(text="Same.\nVerdict: tie"),
        "q-first": Reply(text="The first one.\nVerdict: A"),  # pure position bias
        "q-garbage": Reply(text="I like both of them a lot."),
        "q-trunc": Reply(text="Reply A is careful, but", finish_reason="length"),
        "q-refuse": Reply(text=None, refusal="I can't judge this."),
        "q-down": Reply(status=500),
    }
    return policy[question]


def items(*questions: str) -> list[PairItem]:
    return [PairItem(q, q, f"CAND answer to {q}", f"BASE answer to {q}") for q in questions]


def test_pairwise_both_orders(make_client) -> None:
    names = ["q-win", "q-loss", "q-tie", "q-first", "q-garbage", "q-trunc", "q-refuse", "q-down"]
    with ScriptedServer(pairwise_script) as server:
        judge = PairwiseJudge(make_client(server.base_url, max_retries=1), "judge-model")
        verdicts = judge.judge(items(*names))
        assert len(server.bodies) == 2 * len(names) + 2  # q-down retried once, both orders
    by_id = {v.id: v for v in verdicts}
    assert {k: by_id[k].outcome for k in names} == {
        "q-win": "win", "q-loss": "loss", "q-tie": "tie", "q-first": "inconsistent",
        "q-garbage": "unscored", "q-trunc": "unscored", "q-refuse": "unscored", "q-down": "unscored"}
    assert by_id["q-garbage"].unscored_reason == "no_decision"
    assert by_id["q-trunc"].unscored_reason == "truncated"
    assert by_id["q-refuse"].unscored_reason == "refusal"
    down = by_id["q-down"].candidate_first
    assert down.unscored == "api_error" and down.text == "" and "HTTP 500" in down.error
    assert by_id["q-first"].candidate_first.side == "win" and by_id["q-first"].candidate_second.side == "loss"
    assert all(v.prompt == "pairwise@v1" and v.judge == "judge-model" for v in verdicts)
    summary = summarize_pairs(verdicts)
    assert summary["outcomes"] == {"win": 1, "loss": 1, "tie": 1, "inconsistent": 1, "unscored": 4}
    assert summary["position_inconsistency"] == pytest.approx(1 / 4)
    assert summary["unscored_reasons"] == {"no_decision": 1, "truncated": 1, "refusal": 1, "api_error": 1}


def test_pairwise_requests_show_both_orders(make_client) -> None:
    with ScriptedServer(pairwise_script) as server:
        judge = PairwiseJudge(make_client(server.base_url), "judge-model")
        judge.judge(items("q-win"))
        first, second = (_shown(b["messages"][-1]["content"]) for b in
                         sorted(server.bodies, key=lambda b: "CAND" in _shown(b["messages"][-1]["content"])[2]))
    assert first[1].startswith("CAND") and second[1].startswith("BASE")
    body = server.bodies[0]
    assert body["messages"][0]["role"] == "system" and "Verdict: tie" in body["messages"][0]["content"]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 1024


def test_one_order_only(make_client) -> None:
    with ScriptedServer(pairwise_script) as server:
        judge = PairwiseJudge(make_client(server.base_url), "judge-model", both_orders=False)
        verdicts = judge.judge(items("q-first", "q-loss"))
        assert len(server.bodies) == 2
    assert [v.outcome for v in verdicts] == ["win", "loss"]
    assert all(v.candidate_second is None for v in verdicts)


def test_combine_rules() -> None:
    win, loss, tie = (Judgment(s, None, "") for s in ("win", "loss", "tie"))
    unscored = Judgment(None, "no_decision", "")
    assert combine(win, win) == "win" and combine(loss, loss) == "loss" and combine(tie, tie) == "tie"
    assert combine(win, loss) == combine(win, tie) == combine(tie, loss) == "inconsistent"
    assert combine(win, unscored) == combine(unscored, win) == "unscored"
    assert combine(tie, None) == "tie"


def test_single_grades_with_and_without_reference(make_client) -> None:
    def script(body, seen):
        content = body["messages"][-1]["content"]
        if "garbled" in content:
            return Reply(text="Pretty good, I'd say.")
        return Reply(text="Checked.\nScore: 3" if "## Reference answer" in content else "Fine.\nScore: 8")

    with ScriptedServer(script) as server:
        grader = SingleGrader(make_client(server.base_url), "judge-model")
        grades = grader.grade([SingleItem("plain", "Q?", "answer"),
                               SingleItem("ref", "2+2?", "5", reference="4"),
                               SingleItem("bad", "Q?", "garbled")])
    assert [(g.value, g.unscored) for g in grades] == [(8, None), (3, None), (None, "no_decision")]
    assert [g.prompt for g in grades] == ["single@v1", "single_reference@v1", "single@v1"]


def test_factual_grades(make_client) -> None:
    replies = {"Paris": "Grade: CORRECT", "Lyon": "Grade: INCORRECT",
               "I am not sure.": "Grade: NOT_ATTEMPTED", "Marseille": "Probably wrong."}

    def script(body, seen):
        answer = re.search(r"Model answer: (.*)$", body["messages"][-1]["content"]).group(1)
        return Reply(text=replies[answer])

    with ScriptedServer(script) as server:
        grader = FactualGrader(make_client(server.base_url), "judge-model")
        grades = grader.grade([FactItem(str(i), "Capital of France?", "Paris", answer)
                               for i, answer in enumerate(replies)])
    assert [g.outcome for g in grades] == ["correct", "incorrect", "not_attempted", "unscored"]
    summary = summarize_factual(grades)
    assert summary["scored"] == 3 and summary["counts"]["unscored"] == 1
    assert summary["correct"] == pytest.approx(1 / 3)
    assert summary["correct_given_attempted"] == pytest.approx(1 / 2)
    assert summary["f_score"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_judges_reject_the_wrong_kind_of_prompt(make_client) -> None:
    from judges.templates import load_prompt

    with pytest.raises(ValueError, match="not pairwise"):
        PairwiseJudge(make_client("http://127.0.0.1:9/v1"), "m", load_prompt("single"))
