"""Take the code out of a chat model's reply to a HumanEval prompt.

Chat models answer "Here is the function:\\n```python\\ndef f(...):\\n    ...\\n```\\nIt works by
...". The rule (pure functions, no I/O):

1. Code: the fenced blocks of the reply (```python, ```py or a bare ```; an opening fence that is
   never closed runs to the end of the reply). Of these, the first that defines the entry point
   (``def <entry_point>(`` at the start of a line) wins, else the first block. A reply without
   any fence is taken as code as it is.
2. Completion (what is appended to the prompt, as for a base model): if the code defines the
   entry point, ``"\\n" + code``: it redefines the function after the prompt's stub, and the
   prompt's imports and helper functions stay available. Otherwise the code is taken as the
   function's body, indented by four spaces if it starts at column 0.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)",
                    re.MULTILINE | re.DOTALL)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3"})


def code_blocks(reply: str) -> list[str]:
    """The contents of the reply's fenced blocks tagged python/py/none, in order."""
    return [m.group(2) for m in _FENCE.finditer(reply) if m.group(1).lower() in _PYTHON_TAGS]


def defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code,
                     re.MULTILINE) is not None


def extract_code(reply: str, entry_point: str) -> str:
    """The code of a chat reply (rule 1)."""
    blocks = code_blocks(reply)
    if not blocks:
        return reply if "```" not in reply else ""
    for block in blocks:
        if defines(block, entry_point):
            return block
    return blocks[0]


def as_completion(code: str, entry_point: str) -> str:
    """The completion that follows the prompt (rule 2)."""
    if defines(code, entry_point):
        return "\n" + code
    body = code.strip("\n")
    if body[:1] not in (" ", "\t"):  # a body written at column 0: indent it as a whole
        body = "\n".join("    " + line if line.strip() else line for line in body.splitlines())
    return body + "\n"


def chat_completion(reply: str, entry_point: str) -> str:
    return as_completion(extract_code(reply, entry_point), entry_point)
