"""Prompt files: loading, validation, and a guard that text changes come with a version bump."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from judges.templates import load_prompt, parse_prompt, shipped_prompts

# sha256 (first 16 hex) of system + user + max_tokens for every shipped prompt version. A change
# to a prompt's wording must bump its `version` (which changes every cache key and every
# reported number's identity) and add a line here; editing the text in place fails this test.
GOLDEN = {
    "factual@v1": "fb37a35b834e9f3a",
    "pairwise@v1": "3230dc401af9af39",
    "single@v1": "a94f1b9209998a5c",
    "single_reference@v1": "22e0b242a6ea8d58",
}


def _digest(prompt) -> str:
    text = prompt.system + "\x00" + prompt.user + "\x00" + str(prompt.max_tokens)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_prompt_text_changes_bump_the_version() -> None:
    found = {p.id: _digest(p) for p in shipped_prompts().values()}
    assert found == GOLDEN, ("a prompt changed: bump its version in judges/prompts/*.yaml and "
                             "record the new digest in GOLDEN")


def test_load_by_name_and_version() -> None:
    assert load_prompt("pairwise").id == "pairwise@v1"
    assert load_prompt("pairwise", 1).kind == "pairwise"
    with pytest.raises(ValueError, match="no prompt 'nope'; shipped: factual, pairwise"):
        load_prompt("nope")
    with pytest.raises(ValueError, match="has versions"):
        load_prompt("pairwise", 9)


def test_messages_fill_every_field_and_keep_braces_in_answers() -> None:
    prompt = load_prompt("pairwise")
    system, user = prompt.messages(question="Q {x}", answer_a="def f(): return {}", answer_b="B")
    assert system["role"] == "system" and "Verdict: A" in system["content"]
    assert "def f(): return {}" in user["content"] and "Q {x}" in user["content"]
    with pytest.raises(ValueError, match="needs"):
        prompt.messages(question="Q", answer_a="A")


def test_custom_prompt_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nversion: 2\nkind: single\ndescription: d\nmax_tokens: 64\n"
                    "system: Grade it.\nuser: \"{question} -> {answer}\"\n")
    prompt = load_prompt(str(path))
    assert prompt.id == "mine@v2" and not prompt.uses_reference


@pytest.mark.parametrize("text, message", [
    ("name: x\nversion: 1\nkind: pairwise\ndescription: d\nmax_tokens: 9\nsystem: s\nuser: '{question}'\n",
     "must use exactly"),
    ("name: x\nversion: 0\nkind: single\ndescription: d\nmax_tokens: 9\nsystem: s\nuser: '{question}{answer}'\n",
     "version must be"),
    ("name: x\nversion: 1\nkind: essay\ndescription: d\nmax_tokens: 9\nsystem: s\nuser: u\n",
     "kind must be"),
    ("name: x\nversion: 1\nkind: single\ndescription: d\nmax_tokens: 9\nsystem: s\nuser: u\ncolour: red\n",
     "unknown keys \\['colour'\\]"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_bad_prompt_files(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_prompt(text, "bad.yaml")
