"""Style susceptibility: pairs, fact checks, and the rates from a scripted judge on 127.0.0.1.

The scripted judge prefers whichever reply has bullet points (a judge fooled by style) and,
between two terse replies, the one shown first (position bias): the probe must report the
wrong-styled answer preferred every time, the terse comparison as position-inconsistent, and
the item whose rewrite changed a fact as left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from judges import susceptibility as sus
from judges.cli import main as judge_main
from judges.pairwise import PairwiseJudge
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer

ROWS = [("q1", "who wrote hamlet", "William Shakespeare"), ("q2", "capital of france", "Paris"),
        ("q3", "year the wall fell", "1989"), ("q4", "largest planet", "Jupiter"),
        ("q5", "year of the moon landing", "1969")]


def test_states_and_fact_check() -> None:
    assert sus.states("It is **Paris**, of course.", "paris")
    assert not sus.states("Parisian food", "Paris")
    assert sus.facts_unchanged("Overall, Paris.", "Paris", "Lyon")
    assert not sus.facts_unchanged("Paris, not Lyon.", "Paris", "Lyon")
    assert not sus.facts_unchanged("", "Paris", "Lyon")
    assert sus.terse("Paris") == "Paris." and sus.terse("Is it?") == "Is it?"


def test_pairs_match_shape_and_differ() -> None:
    pairs = sus.make_pairs(ROWS)
    assert pairs == sus.make_pairs(ROWS)
    for pair in pairs:
        assert pair.correct != pair.incorrect
        assert any(c.isdigit() for c in pair.correct) == any(c.isdigit() for c in pair.incorrect)


def _script(body: dict[str, Any], seen: int) -> Reply:
    user = body["messages"][-1]["content"]
    if "Answer to restate:" in user:
        answer = user.split("Answer to restate:")[-1].strip()
        if answer == "Jupiter":  # a rewrite that changes the fact
            return Reply(text="The largest planet is Saturn.\n- big\n- gassy\nOverall, Saturn.")
        return Reply(text=f"Great question! The answer is {answer}.\n- context one\n"
                          f"- context two\n\nOverall, it is {answer}.")
    a = user.split("## Reply A")[1].split("## Reply B")[0]
    b = user.split("## Reply B")[1]
    styled_a, styled_b = bool(re.search(r"^- ", a, re.M)), bool(re.search(r"^- ", b, re.M))
    if styled_a != styled_b:
        return Reply(text="More thorough.\nVerdict: " + ("A" if styled_a else "B"))
    return Reply(text="Verdict: A")


def test_probe_rates_from_a_style_fooled_judge(make_client) -> None:
    pairs = sus.make_pairs(ROWS)
    with ScriptedServer(_script) as server:
        client = make_client(server.base_url)
        judge = PairwiseJudge(client, "judge-model")
        result = sus.run(pairs, judge, client, "judge-model")
    summary = result["summary"]
    failed = [p for p in pairs if "Jupiter" in (p.correct, p.incorrect)]
    assert summary["rewrite_failed"] == len(failed) >= 1
    assert summary["judged"] == len(pairs) - len(failed)
    assert summary["wrong_styled_preferred"] == 1.0
    assert summary["wrong_terse_preferred"] == 0.0  # position bias: inconsistent, not a win
    assert summary["style_effect"] == 1.0
    assert summary["wrong_styled_over_styled_preferred"] == 0.0
    kept = [r for r in result["rewrites"] if r["rewrite_ok"]]
    assert all(sus.states(r["wrong_styled"], r["incorrect"]) for r in kept)


def test_cli_writes_summary_and_config(tmp_path: Path, api_key: str) -> None:
    data = tmp_path / "data" / "nq_open"
    data.mkdir(parents=True)
    (data / "NQ-open.dev.jsonl").write_text("".join(
        json.dumps({"question": q, "answer": [a]}) + "\n" for _, q, a in ROWS if a != "Jupiter"))
    out = tmp_path / "out"
    bodies: list[dict[str, Any]] = []

    def script(body: dict[str, Any], seen: int) -> Reply:
        bodies.append(body)
        return _script(body, seen)

    with ScriptedServer(script) as server:
        code = judge_main(["susceptibility", "--data-dir", str(tmp_path / "data"),
                           "--base-url", server.base_url, "--model", "judge-model",
                           "--api-key-env", KEY_ENV, "--cache-path", "", "--quiet",
                           "--output-dir", str(out), "--limit", "3", "--max-tokens", "40"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["items"] == 3 and summary["wrong_styled_preferred"] == 1.0
    config = (out / "config.json").read_text()
    assert json.loads(config)["rewrite_prompt"] == sus.REWRITE_PROMPT_ID
    assert json.loads(config)["max_tokens"] == 40
    rewrites = [b for b in bodies if "Answer to restate:" in b["messages"][-1]["content"]]
    assert rewrites and {b["max_tokens"] for b in rewrites} == {256}
    assert {b["max_tokens"] for b in bodies if b not in rewrites} == {40}  # --max-tokens
    for path in out.iterdir():
        assert SECRET not in path.read_text()


def test_bad_row_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "nq_open").mkdir()
    (tmp_path / "nq_open" / "NQ-open.dev.jsonl").write_text('{"question": "q", "answer": []}\n')
    with pytest.raises(ValueError, match=r"NQ-open.dev.jsonl:1"):
        sus.read_rows("nq", tmp_path)
