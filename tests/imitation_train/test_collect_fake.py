"""Collection against a scripted OpenAI-compatible server on 127.0.0.1 (fault injection):
retries on 500/429, a rejected call counted and retried by the rerun, eval-prompt pools refused
or dropped, multi-turn pools answered turn by turn, the cost guard, and NQ-synthetic's
deduplication against itself, the seeds and the NQ-open dev questions. The server counts
requests, so "nothing is paid twice" is checked on the server's side."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from imitation_train.chat_records import read_records
from imitation_train.collect import main, parse_pairs
from tests.judges.fake_key import KEY_ENV, SECRET
from tests.judges.scripted_server import Reply, ScriptedServer, body_key, echo

SHAREGPT = "imitation/sharegpt/ShareGPT_V3_filtered_1000.json"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


def _client_flags(server: ScriptedServer, *extra: str) -> list[str]:
    return ["--base-url", server.base_url, "--model", "teacher-x", "--api-key-env", KEY_ENV,
            "--backoff-base", "0.01", "--max-retries", "2", "--timeout", "10", "--no-progress",
            *extra]


def _sharegpt_pool(data_dir: Path, tmp_path: Path, n: int, extra: list[dict] = ()) -> Path:
    rows = json.loads((data_dir / SHAREGPT).read_text())[:n] + list(extra)
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(rows))
    return path


def test_broad_retries_failures_and_resume(data_dir: Path, tmp_path: Path, capsys) -> None:
    pool = _sharegpt_pool(data_dir, tmp_path, 6)
    prompts = [row["conversations"][0]["value"] for row in json.loads(pool.read_text())]
    phase = ["first"]

    def script(body: dict, seen: int) -> Reply:
        text = body["messages"][-1]["content"]
        if text == prompts[0] and seen == 1:
            return Reply(status=500)
        if text == prompts[1] and seen == 1:
            return Reply(status=429, headers={"Retry-After": "0"})
        if text == prompts[2] and phase[0] == "first":
            return Reply(status=400)  # rejected: not retried, not written, not cached
        return echo(body, seen)

    out = tmp_path / "broad.jsonl"
    args = ["broad", "--pool", str(pool), "--output", str(out), "--max-tokens", "16"]
    with ScriptedServer(script) as server:
        assert main(args + _client_flags(server)) == 0
        counts = json.loads(capsys.readouterr().out.splitlines()[0])
        assert counts["written"] == 5 and counts["failed_rejected"] == 1
        records = list(read_records(out))
        assert len(records) == 5 and {r.teacher for r in records} == {"teacher-x"}
        assert {r.source for r in records} == {"sharegpt"}  # the pool's source
        assert all(r.messages[1].content == "echo: " + r.messages[0].content[:40] for r in records)
        assert server.hits[body_key(server.bodies[0])] >= 1
        assert sum(server.hits.values()) == 6 + 2 + 0  # 6 prompts + 2 retried (400 is final)
        assert server.bodies[0]["max_tokens"] == 16 and server.bodies[0]["model"] == "teacher-x"

        phase[0] = "rerun"
        hits_before = sum(server.hits.values())
        assert main(args + _client_flags(server)) == 0
        assert sum(server.hits.values()) == hits_before + 1  # only the failed prompt again
        assert len(list(read_records(out))) == 6
        assert max(server.delivered.values()) == 1  # no reply paid for twice
    summary = json.loads((tmp_path / "broad.collect.json").read_text())
    assert summary["counts"]["already_written"] == 5 and SECRET not in json.dumps(summary)
    assert (tmp_path / "broad.cache.sqlite").is_file()


def test_eval_prompt_pools_are_refused_or_dropped(data_dir: Path, tmp_path: Path,
                                                  capsys) -> None:
    koala = [json.loads(line) for line in
             (data_dir / "eval_prompts/koala/koala_test_set.jsonl").read_text().splitlines()[:2]]
    extra = [{"id": k["id"], "conversations": [{"from": "human", "value": k["prompt"]}]}
             for k in koala]
    pool = _sharegpt_pool(data_dir, tmp_path, 3, extra)
    out = tmp_path / "b.jsonl"
    with ScriptedServer() as server:
        assert main(["broad", "--pool", str(pool), "--output", str(out), "--eval-prompts",
                     "refuse"] + _client_flags(server)) == 2
        err = capsys.readouterr().err
        assert "2 of 5 prompts are evaluation prompts" in err and "--eval-prompts drop" in err
        assert not server.bodies and not out.exists()
        # the default drops them (with a warning and their counts in the summary)
        assert main(["broad", "--pool", str(pool), "--output", str(out)]
                    + _client_flags(server)) == 0
        assert len(server.bodies) == 3
        assert not {b["messages"][-1]["content"] for b in server.bodies} & {
            k["prompt"] for k in koala}
        # a pool that is mostly an evaluation set is refused even so
        koala_pool = data_dir / "eval_prompts/koala/koala_test_set.jsonl"
        assert main(["broad", "--pool", str(koala_pool), "--output", str(tmp_path / "k.jsonl")]
                    + _client_flags(server)) == 2
        assert "180 of 180 prompts" in capsys.readouterr().err and len(server.bodies) == 3
    assert {r.id for r in read_records(out)}.isdisjoint({k["id"] for k in koala})
    summary = json.loads((tmp_path / "b.collect.json").read_text())
    assert summary["counts"]["eval_prompts"]["koala"] == 2


def test_multi_turn_pool_is_answered_turn_by_turn(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mt.jsonl"
    prompt = tmp_path / "teacher.yaml"
    prompt.write_text("name: terse\nversion: 1\nsystem: Answer tersely.\nuser: '{prompt}'\n")
    with ScriptedServer() as server:
        assert main(["broad", "--pool", str(data_dir / "eval_prompts/mt_bench/question.jsonl"),
                     "--limit", "2", "--max-turns", "0", "--eval-prompts", "allow",
                     "--prompt", str(prompt), "--output", str(out)] + _client_flags(server)) == 0
    records = list(read_records(out))
    assert [m.role for m in records[0].messages] == ["user", "assistant"] * 2
    assert all(b["messages"][0] == {"role": "system", "content": "Answer tersely."}
               for b in server.bodies)
    second = [b for b in server.bodies if len(b["messages"]) == 4]
    assert len(second) == 2  # turn 2 was sent after the teacher's own turn-1 reply
    assert second[0]["messages"][2]["content"].startswith("echo: ")
    sent = {b["messages"][1]["content"]: b["messages"][2]["content"] for b in second}
    assert {r.messages[0].content: r.messages[1].content for r in records} == sent


def test_cost_guard_stops_before_the_limit(data_dir: Path, tmp_path: Path, capsys) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices": {"teacher-x": {"input": 1000, "output": 1000}}}))
    pool = _sharegpt_pool(data_dir, tmp_path, 8)
    out = tmp_path / "c.jsonl"
    with ScriptedServer() as server:  # every reply: 100 prompt + 20 completion tokens
        assert main(["broad", "--pool", str(pool), "--output", str(out), "--max-tokens", "20"]
                    + _client_flags(server, "--prices-file", str(prices), "--max-cost", "0.5",
                                    "--concurrency", "1")) == 0
    counts = json.loads(capsys.readouterr().out.splitlines()[0])
    summary = json.loads((tmp_path / "c.collect.json").read_text())
    assert summary["usage"]["cost"] <= 0.5
    assert counts["failed_budget"] >= 1 and counts["written"] == len(server.bodies) >= 1


NEW = ["which river flows through vienna", "who painted the night watch",
       "when did the berlin wall fall", "how many moons does mars have",
       "who invented the telephone", "what year did apollo 11 land on the moon",
       "who wrote pride and prejudice", "where is the great barrier reef located",
       "what is the largest desert on earth", "who discovered penicillin",
       "when was the first iphone released", "how long is the amazon river"]


def _nq_dev(data_dir: Path) -> list[str]:
    return [json.loads(line)["question"] for line in
            (data_dir / "nq_open/NQ-open.dev.jsonl").read_text().splitlines()]


def test_nq_synthetic_dedupes_and_answers(data_dir: Path, tmp_path: Path, capsys) -> None:
    eval_question = _nq_dev(data_dir)[0]
    shown: list[list[str]] = []

    def script(body: dict, seen: int) -> Reply:
        text = body["messages"][-1]["content"]
        if "trivia questions" not in text:  # the answer step
            return Reply(text=f"The answer to '{text}' is 42.")
        examples = re.findall(r"^Q: (.*)$", text, re.M)
        shown.append(examples)
        n = body["seed"]
        if n == 2:
            return Reply(text="I cannot help with that.")  # no pairs: counted as unparsed
        return Reply(text="\n\n".join([
            f"Q: {eval_question}\nA: x",                    # an evaluation question
            f"Q: {examples[0]}\nA: y",                      # a seed shown in the prompt
            "Q: What is the tallest mountain in Africa?\nA: Kilimanjaro",  # repeated each time
            f"Q: {NEW[2 * n]}\nA: a{n}",
            f"Q: {NEW[2 * n + 1]}\nA: b{n}",
        ]))

    out = tmp_path / "nq.jsonl"
    args = ["nq-synthetic", "--num-pairs", "6", "--pairs-per-request", "5", "--output", str(out)]
    with ScriptedServer(script) as server:
        assert main(args + _client_flags(server)) == 0
        counts = json.loads(capsys.readouterr().out.splitlines()[0])
        assert counts["new_questions"] == counts["written"] == 6
        assert counts["duplicate_of_eval"] >= 1 and counts["duplicate_of_seed"] >= 1
        assert counts["duplicate_of_new"] >= 1 and counts["unparsed_replies"] == 1
        records = list(read_records(out))
        questions = [r.messages[0].content for r in records]
        assert len(set(questions)) == 6 and eval_question not in questions
        assert "What is the tallest mountain in Africa?" in questions
        assert all(r.messages[1].content.endswith("is 42.") and r.source == "nq_synthetic"
                   for r in records)
        seeds = {q for examples in shown for q in examples}
        assert all(len(examples) == 5 for examples in shown) and len(seeds) <= 10
        # rerun: every generation reply comes from the cache, every record is already written
        hits = sum(server.hits.values())
        assert main(args + _client_flags(server)) == 0
        assert sum(server.hits.values()) == hits
    assert json.loads(capsys.readouterr().out.splitlines()[0])["already_written"] == 6
    side = [json.loads(line) for line in (tmp_path / "nq.questions.jsonl").read_text().splitlines()]
    assert sorted(row["question"] for row in side) == sorted(questions)  # written as answered


def test_parse_pairs_is_lenient_about_layout() -> None:
    text = ("Sure! Here are some:\n1. Q: who wrote hamlet?\n   A: Shakespeare\n\n"
            "Question 2: when did ww2 end\nAnswer 2: 1945\nQ: a b\nA: too short question")
    assert parse_pairs(text) == [("who wrote hamlet?", "Shakespeare"), ("when did ww2 end", "1945")]


def test_fatal_error_stops_with_a_fix_and_keeps_records(data_dir: Path, tmp_path: Path,
                                                        capsys) -> None:
    pool = _sharegpt_pool(data_dir, tmp_path, 4)
    out = tmp_path / "f.jsonl"
    first = json.loads(pool.read_text())[0]["conversations"][0]["value"]

    def script(body: dict, seen: int) -> Reply:
        if body["messages"][-1]["content"] == first:
            return echo(body, seen)
        return Reply(status=401, delay=0.2)  # after the first reply is in

    with ScriptedServer(script) as server:
        code = main(["broad", "--pool", str(pool), "--output", str(out)]
                    + _client_flags(server, "--concurrency", "1"))
    err = capsys.readouterr().err
    assert code == 2 and "HTTP 401" in err and "--base-url, --model or the key" in err
    assert SECRET not in err
    assert [r.messages[0].content for r in read_records(out)] == [first]


def test_yaml_configs_and_unknown_keys(data_dir: Path, tmp_path: Path, capsys) -> None:
    pool = _sharegpt_pool(data_dir, tmp_path, 2)
    out = tmp_path / "y.jsonl"
    with ScriptedServer() as server:
        cfg = tmp_path / "collect.yaml"
        cfg.write_text(f"pool: {pool}\noutput: {out}\nmax_tokens: 7\ntemperature: 0.0\n")
        client = tmp_path / "client.yaml"
        client.write_text(f"base_url: {server.base_url}\nmodel: teacher-y\n"
                          f"api_key_env: {KEY_ENV}\n")
        assert main(["broad", "--config", str(cfg), "--client-config", str(client),
                     "--no-progress", "--max-tokens", "9"]) == 0
        assert {b["max_tokens"] for b in server.bodies} == {9}  # the flag wins over the file
        assert {b["model"] for b in server.bodies} == {"teacher-y"}
    summary = json.loads((tmp_path / "y.collect.json").read_text())
    assert summary["config"]["temperature"] == 0.0 and summary["client"]["model"] == "teacher-y"
    cfg.write_text("pool: x.json\nmax_new_tokens: 5\n")
    assert main(["broad", "--config", str(cfg)]) == 2
    assert "unknown setting(s) max_new_tokens" in capsys.readouterr().err


def test_record_log_cuts_a_torn_last_line(tmp_path: Path) -> None:
    from imitation_train.chat_records import ChatRecord, Message, RecordLog

    path = tmp_path / "log.jsonl"
    record = ChatRecord("a", (Message("user", "q"), Message("assistant", "r")), "s", "t")
    with RecordLog(path) as log:
        log.append(record)
    with path.open("a") as handle:
        handle.write('{"id": "b", "messages": [{"role": "us')  # killed mid-write
    with RecordLog(path) as log:
        assert log.torn == 1 and "a" in log and "b" not in log
        log.append(ChatRecord("b", record.messages, "s", "t"))
    assert [r.id for r in read_records(path)] == ["a", "b"]
