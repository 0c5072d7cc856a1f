"""Loss masks from incremental prefix rendering, on real Alpaca and multi-turn ShareGPT records,
with the hard checks (supervised tokens, end-of-turn supervised, decode round trip, pad id)."""

from __future__ import annotations

import json

import pytest

from imitation_train.chat_encoding import (IGNORE, MaskError, encode, encode_all, pad_id_for,
                                    prepare_format)
from imitation_train.chat_records import ChatRecord, Message, RecordError, record_from_json
from tests.imitation_train.trainer_support import (alpaca_records, sharegpt_multiturn,
                                                   tiny_tokenizer, write_jsonl)


@pytest.fixture(scope="module")
def records(data_dir, tmp_path_factory):
    from imitation_train.record_loader import load_records

    folder = tmp_path_factory.mktemp("mask-data")
    share = write_jsonl(folder / "mt.jsonl", sharegpt_multiturn(data_dir))
    multi = load_records(share, fmt="sharegpt")  # the real ShareGPT reader
    assert len(multi) == 30 and all(len(r.messages) == 4 for r in multi)
    alpaca = [record_from_json(r) for r in alpaca_records(data_dir, 40)]
    return alpaca + multi


def _supervised_turns(example, eot_id):
    """Split the supervised target ids into turns, each ending with the end-of-turn id."""
    turns, current = [], []
    for t in example.targets:
        if t == IGNORE:
            if current:
                turns.append(current)
                current = []
            continue
        current.append(t)
    if current:
        turns.append(current)
    return turns


def _check_all(fmt, records):
    tok = fmt.tokenizer
    for record in records:
        example = encode(fmt, record, 100_000)
        replies = [m.content for m in record.messages if m.role == "assistant"]
        turns = _supervised_turns(example, fmt.eot_id)
        assert len(turns) == len(replies), record.id
        for ids, reply in zip(turns, replies):
            assert ids[-1] == fmt.eot_id  # end-of-turn trained
            assert ids.count(fmt.eot_id) == 1
            assert tok.decode(ids[:-1]).strip() == reply.strip()
        users = [m.content for m in record.messages if m.role == "user"]
        trained_text = tok.decode([t for t in example.targets if t != IGNORE])
        assert not any(u.strip() and u.strip() in trained_text for u in users if len(u) > 40)
        assert example.targets[-1] == IGNORE and len(example.targets) == len(example.input_ids)


@pytest.mark.parametrize("template", ["auto", "chatml"])
def test_gpt2_shaped_tokenizer_without_template(data_dir, records, template):
    tok = tiny_tokenizer(data_dir, chat=False)
    fmt, added = prepare_format(tok, template)
    if template == "auto":
        assert fmt.template_name == "vicuna" and fmt.eot == "<|endoftext|>" and not added
    else:
        assert fmt.eot == "<|im_end|>" and added == ["<|im_start|>", "<|im_end|>"]
    _check_all(fmt, records)


def test_llama_shaped_tokenizer_with_own_template(data_dir, records):
    fmt, added = prepare_format(tiny_tokenizer(data_dir, chat=True), "auto")
    assert fmt.template_name == "model" and fmt.eot == "<|im_end|>" and not added
    _check_all(fmt, records)


def test_real_smollm2_template_and_pad_equal_to_eos(smollm2_dir, records):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    fmt, _ = prepare_format(tok, "auto")
    assert tok.pad_token_id == fmt.eot_id  # SmolLM2 ships pad == eos ...
    assert pad_id_for(fmt) != fmt.eot_id  # ... we never pad with it
    _check_all(fmt, records[:10] + records[-10:])


def test_truncation_keeps_whole_replies(data_dir, records):
    fmt, _ = prepare_format(tiny_tokenizer(data_dir, chat=True), "auto")
    record = records[-1]
    full = encode(fmt, record, 100_000)
    turns = _supervised_turns(full, fmt.eot_id)
    cut = encode(fmt, record, len(full) - 1)
    assert cut is not None and len(_supervised_turns(cut, fmt.eot_id)) == len(turns) - 1
    assert _supervised_turns(cut, fmt.eot_id)[-1][-1] == fmt.eot_id
    assert encode(fmt, record, 3) is None  # not even the first reply fits: dropped


def test_template_without_end_of_turn_is_refused(data_dir, records):
    tok = tiny_tokenizer(data_dir, chat=True)
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n"
                         "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
    fmt, _ = prepare_format(tok, "model", eot_token="<|im_end|>")
    with pytest.raises(MaskError, match="not followed by the end-of-turn token"):
        encode(fmt, records[0], 1000, path="train.jsonl", line=7)


def test_unstable_prefix_template_is_refused(data_dir, records):
    tok = tiny_tokenizer(data_dir, chat=True)
    tok.chat_template = ("{% for m in messages %}{% if loop.last and m['role'] == 'assistant' %}"
                         "FINAL {% endif %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}"
                         "{% if add_generation_prompt %}<|im_start|>{% endif %}")
    fmt, _ = prepare_format(tok, "model")
    with pytest.raises(MaskError, match=r"train\.jsonl:3 field \"record 'mt-.*prefix"):
        encode(fmt, records[-1], 5000, path="train.jsonl", line=3)


def test_record_without_reply_names_file_and_line(data_dir, tmp_path):
    fmt, _ = prepare_format(tiny_tokenizer(data_dir, chat=True), "auto")
    record = ChatRecord("q1", (Message("user", "Only a question"),), "x")
    with pytest.raises(MaskError, match=r"data\.jsonl:12 .*no assistant turn"):
        encode_all(fmt, [record], 512, path="data.jsonl", lines=[12])


def test_bad_records_give_line_numbered_errors(tmp_path):
    from imitation_train.train_dataset import read_normalised

    good = {"id": "a", "source": "s", "messages": [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "yo"}]}
    cases = {
        "json": (["{not json"], r":2: not valid JSON"),
        "role": ([json.dumps({**good, "messages": [{"role": "gpt", "content": "x"}]})],
                 r":2 field 'messages\[0\]\.role'"),
        "content": ([json.dumps({**good, "messages": [{"role": "user", "content": 3}]})],
                    r":2 field 'messages\[0\]\.content'"),
        "id": ([json.dumps({**good, "id": ""})], r":2 field 'id'"),
    }
    for name, (lines, pattern) in cases.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps(good) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(RecordError, match=pattern):
            read_normalised(path)
