"""Teacher prompts: versioned files whose text is pinned, so a change must bump the version
(the version is part of every request's cache key: old replies are never reused for new text)."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from imitation_train.prompts import load_prompt

# name -> (version, sha256 of the file). Changed a prompt? Bump its version, then update here.
PINNED = {
    "broad": (1, "f6eed2a9a9bd94daac6350de6b0ec958a0c6903a9ce2ef70a7efe62470991a58"),
    "nq_synthetic_generate": (
        1, "fae6f3da4f869b43aefe48a005dcc32c68c1ddb896aee50fbc61d2800790ed82"),
    "nq_synthetic_answer": (
        1, "63a46c3c9cb17cfc2200412fbb05592c7e72069559aace8a66ae81c3589c448c"),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_prompt_text_is_pinned_to_its_version(name: str) -> None:
    text = resources.files("imitation_train.prompts").joinpath(f"{name}.yaml").read_bytes()
    prompt = load_prompt(name)
    assert (prompt.version, hashlib.sha256(text).hexdigest()) == PINNED[name], (
        f"imitation_train/prompts/{name}.yaml changed: bump its version and update PINNED")
    assert prompt.id == f"{name}@v{prompt.version}"


def test_prompt_messages_and_errors(tmp_path: Path) -> None:
    broad = load_prompt("broad")
    assert broad.messages(prompt="  keep  my spacing ") == [
        {"role": "user", "content": "  keep  my spacing "}]
    generate = load_prompt("nq_synthetic_generate")
    assert generate.fields == {"examples", "count"}
    with pytest.raises(ValueError, match="needs \\['count'\\]"):
        generate.messages(examples="Q: a?\nA: b")
    with pytest.raises(ValueError, match="no teacher prompt 'nope'.*broad"):
        load_prompt("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nuser: hi\ntemperature: 2\n")
    with pytest.raises(ValueError, match="bad.yaml: a teacher prompt is a mapping"):
        load_prompt(str(bad))
    custom = tmp_path / "custom.yaml"
    custom.write_text("name: mine\nversion: 3\nsystem: Be brief.\nuser: '{prompt}'\n")
    assert load_prompt(str(custom)).messages(prompt="hi") == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
