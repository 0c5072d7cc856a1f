"""Readers: real ShareGPT / Alpaca / AlpacaEval / Koala files from shared/data, a real multi-turn
conversation in ShareGPT form (MT-bench turns + GPT-4 reference replies, one reply as scraped
HTML), the other formats, and bad records that must name file, line and field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from imitation_train.chat_records import RecordError, read_records, write_records
from imitation_train.input_formats import html_to_text, iter_objects
from imitation_train.record_loader import load_records

SHAREGPT = "imitation/sharegpt/ShareGPT_V3_filtered_1000.json"
ALPACA = "imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json"
ALPACA_DEMO = "imitation/alpaca_gpt4/alpaca_en_demo.json"


def _mt_bench_sharegpt(data_dir: Path, tmp_path: Path) -> tuple[Path, list[dict]]:
    """Real two-turn conversations (MT-bench questions + GPT-4 reference answers) as ShareGPT."""
    questions = {}
    for line in (data_dir / "eval_prompts/mt_bench/question.jsonl").read_text().splitlines():
        row = json.loads(line)
        questions[row["question_id"]] = row["turns"]
    rows = []
    ref = data_dir / "eval_prompts/mt_bench/reference_answer/gpt-4.jsonl"
    for line in ref.read_text().splitlines()[:3]:
        row = json.loads(line)
        turns = []
        for user, reply in zip(questions[row["question_id"]], row["choices"][0]["turns"]):
            turns += [{"from": "human", "value": user}, {"from": "gpt", "value": reply}]
        rows.append({"id": f"mt-{row['question_id']}", "conversations": turns})
    # the way ChatGPT's page was scraped: the reply as HTML with a code block and a list
    rows[0]["conversations"][1]["value"] = (
        '<div class="markdown prose"><p>Second place.</p><ol><li>You pass <b>the second</b>'
        '</li><li>they drop</li></ol><pre><div>pythonCopy code</div><code class="language-python">'
        'print(2)\n</code></pre></div>')
    path = tmp_path / "sharegpt_multi.json"
    path.write_text(json.dumps(rows, indent=2))
    return path, rows


def test_real_sharegpt_and_alpaca_files(data_dir: Path) -> None:
    sharegpt = load_records(data_dir / SHAREGPT)
    assert len(sharegpt) == 1000 and {r.source for r in sharegpt} == {"sharegpt"}
    assert sharegpt[0].id == "wc1OQ5t_9" and sharegpt[0].messages[0].role == "user"
    assert not any(r.has_assistant_reply for r in sharegpt)  # this file holds prompts only
    alpaca = load_records(data_dir / ALPACA, teacher="gpt-4")
    assert len(alpaca) == 1000 and alpaca[0].teacher == "gpt-4"
    first = alpaca[0]
    assert [m.role for m in first.messages] == ["user", "assistant"]
    assert first.messages[0].content == "Give three tips for staying healthy."
    raw = json.loads((data_dir / ALPACA).read_text())
    with_input = next(i for i, row in enumerate(raw) if row["input"])
    assert alpaca[with_input].messages[0].content == (
        f"{raw[with_input]['instruction'].strip()}\n\n{raw[with_input]['input'].strip()}")
    demo = load_records(data_dir / ALPACA_DEMO)
    # ids come from the content: equal rows (the demo file repeats some) share one id
    assert len(demo) == 999
    assert len({r.id for r in demo}) == len({r.messages for r in demo}) < 999


def test_alpaca_eval_outputs_and_prompt_files(data_dir: Path) -> None:
    outputs = load_records(data_dir / "eval_prompts/alpaca_eval/gpt4_model_outputs.json.gz")
    assert len(outputs) == 805 and {r.teacher for r in outputs} == {"gpt4"}
    koala = load_records(data_dir / "eval_prompts/koala/koala_test_set.jsonl")
    assert len(koala) == 180 and koala[0].id == "koala_0"
    mt = load_records(data_dir / "eval_prompts/mt_bench/question.jsonl")
    assert [m.role for m in mt[0].messages] == ["user", "user"]


def test_real_multi_turn_sharegpt_with_html(data_dir: Path, tmp_path: Path) -> None:
    path, rows = _mt_bench_sharegpt(data_dir, tmp_path)
    records = load_records(path)
    assert [m.role for m in records[1].messages] == ["user", "assistant"] * 2
    assert records[1].messages[3].content == rows[1]["conversations"][3]["value"]  # untouched
    html_reply = records[0].messages[1].content
    assert "<" not in html_reply and "Copy code" not in html_reply
    assert "Second place." in html_reply and "**the second**" in html_reply
    assert "```python\nprint(2)" in html_reply and "1. You pass" in html_reply
    kept_raw = load_records(path, html="never")[0].messages[1].content
    assert kept_raw.startswith("<div")


def test_html_to_text_leaves_plain_text_alone() -> None:
    assert html_to_text("<p>a <i>b</i></p>") == "a *b*"


def test_openai_hc3_and_normalised_round_trip(tmp_path: Path) -> None:
    openai_file = tmp_path / "chat.jsonl"
    openai_file.write_text(json.dumps({"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello", "weight": 1}]}) + "\n")
    (rec,) = load_records(openai_file)
    assert rec.source == "openai" and [m.role for m in rec.messages] == [
        "system", "user", "assistant"]
    hc3 = tmp_path / "hc3.jsonl.gz"
    with gzip.open(hc3, "wt") as handle:
        handle.write(json.dumps({"question": "What is DNA?", "human_answers": ["A molecule."],
                                 "chatgpt_answers": ["DNA is ...", "Deoxyribonucleic acid."],
                                 "source": "open_qa"}) + "\n")
    chatgpt = load_records(hc3)
    assert len(chatgpt) == 2 and chatgpt[0].teacher == "chatgpt"
    human = load_records(hc3, hc3_answers="human")
    assert human[0].messages[1].content == "A molecule." and human[0].teacher is None
    out = tmp_path / "norm.jsonl"
    write_records(out, chatgpt + [rec])
    assert load_records(out) == chatgpt + [rec] == list(read_records(out))


@pytest.mark.parametrize("text, line, field", [
    ('{"instruction": "a", "output": "b"}\n\n{"instruction": 3, "output": "b"}\n', 3,
     "instruction"),
    ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": "b",\n', 2, None),
])
def test_bad_jsonl_names_file_and_line(tmp_path: Path, text: str, line: int,
                                       field: str | None) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordError) as err:
        load_records(path, fmt="alpaca")
    assert (err.value.path, err.value.line, err.value.field) == (path, line, field)
    assert f"{path}:{line}" in str(err.value)


def test_bad_json_array_element_names_index_and_line(tmp_path: Path) -> None:
    rows = [{"id": "a", "conversations": [{"from": "human", "value": "hi"}]},
            {"id": "b", "conversations": [{"from": "human", "value": "hi"},
                                          {"from": "robot", "value": "beep"}]}]
    path = tmp_path / "bad.json"
    text = json.dumps(rows, indent=2)
    path.write_text(text)
    start = text[:text.index('"id": "b"')].count("\n")  # the line of element 1's "{"
    with pytest.raises(RecordError) as err:
        load_records(path)
    assert err.value.field == "[1].conversations[1].from"
    assert err.value.line == start == 11
    assert "robot" in str(err.value) and f"{path}:{start}" in str(err.value)
    rows[1]["conversations"][1] = {"from": "gpt", "value": None}
    path.write_text(json.dumps(rows))
    with pytest.raises(RecordError, match=r"bad.json:1 field '\[1\].conversations\[1\].value'"):
        load_records(path)


def test_bad_normalised_record_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "norm.jsonl"
    good = {"id": "x", "source": "s", "messages": [{"role": "user", "content": "q"}]}
    bad = {**good, "messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RecordError) as err:
        load_records(path)
    assert (err.value.line, err.value.field) == (2, "messages[1].role")
    other = tmp_path / "other.json"
    other.write_text('[{"foo": 1}]')
    with pytest.raises(RecordError, match="cannot tell the format.*--format"):
        load_records(other)
    with pytest.raises(RecordError, match="expected ',' or ']'"):
        list(iter_objects(_write(tmp_path / "t.json", '[{"a": 1} {"b": 2}]')))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_llama_factory_fields_and_text_parts(tmp_path: Path) -> None:
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(json.dumps([{"instruction": "And 3+3?", "input": "", "output": "6",
                                   "system": "Be brief.", "history": [["2+2?", "4"]]},
                                  {"instruction": "x", "output": "y", "history": [["only"]]}]))
    with pytest.raises(RecordError) as err:
        load_records(alpaca)
    assert err.value.field == "[1].history[0]"
    alpaca.write_text(json.dumps(json.loads(alpaca.read_text())[:1]))
    (rec,) = load_records(alpaca)
    assert [(m.role, m.content) for m in rec.messages] == [
        ("system", "Be brief."), ("user", "2+2?"), ("assistant", "4"), ("user", "And 3+3?"),
        ("assistant", "6")]
    sharegpt = tmp_path / "sg.jsonl"
    sharegpt.write_text(json.dumps({"system": "S", "conversations": [
        {"from": "human", "value": "hi"}, {"from": "system", "value": "late"}]}) + "\n")
    with pytest.raises(RecordError) as err:  # indices still name the conversations list
        load_records(sharegpt)
    assert (err.value.line, err.value.field) == (1, "conversations[1].from")
    parts = tmp_path / "parts.jsonl"
    parts.write_text(json.dumps({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "c"}]}) + "\n")
    assert load_records(parts)[0].messages[0].content == "ab"
