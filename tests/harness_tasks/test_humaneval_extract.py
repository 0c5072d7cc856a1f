"""Code extraction from chat replies (tasks/humaneval/extract.py)."""

from __future__ import annotations

from harness_tasks.tasks.humaneval.extract import as_completion, chat_completion, extract_code

FULL = "def add(a, b):\n    return a + b\n"


def test_fenced_python_block_with_the_function() -> None:
    reply = f"Sure! Here it is:\n```python\n{FULL}```\nThis adds the numbers."
    assert extract_code(reply, "add") == FULL
    assert chat_completion(reply, "add") == "\n" + FULL


def test_block_defining_the_entry_point_wins() -> None:
    reply = ("```python\nimport math\n```\nthen\n```py\ndef helper():\n    pass\n\n"
             f"{FULL}```")
    assert "def add" in extract_code(reply, "add")


def test_first_block_when_none_defines_it() -> None:
    assert extract_code("```\nreturn a + b\n```\n```\nx = 1\n```", "add") == "return a + b\n"


def test_unclosed_fence_runs_to_the_end() -> None:
    assert extract_code(f"```python\n{FULL}", "add") == FULL


def test_no_fence_is_code_as_is() -> None:
    assert extract_code(FULL, "add") == FULL


def test_other_language_only_gives_nothing() -> None:
    assert extract_code("```java\nint add() {}\n```", "add") == ""


def test_body_only_is_indented_as_a_whole() -> None:
    body = "result = []\nfor x in xs:\n    result.append(x)\nreturn result"
    assert as_completion(body, "f") == ("    result = []\n    for x in xs:\n"
                                        "        result.append(x)\n    return result\n")
    assert as_completion("    return 1\n", "f") == "    return 1\n"


def test_async_def_and_decorated_name_are_detected() -> None:
    assert as_completion("async def add(a, b):\n    return a\n", "add").startswith("\nasync")
    assert not as_completion("def add_two(a):\n    return a\n", "add").startswith("\n")
