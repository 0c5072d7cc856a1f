"""A careless user's files, and the check that a CLI refuses them properly.

:func:`make_zoo` writes the usual mistakes into a folder (a binary file, Latin-1 text, a folder
where a file goes, a text file named like a database, answer files with wrong nested types, bad
YAML); :func:`assert_refused` runs a CLI's ``main(argv)`` there and asserts what a user-fixable
error must look like: exit code 2, exactly one line on stderr naming the thing (``expect``), no
traceback, and nothing written or created anywhere in the folder (no half-written output, no
new empty database). :func:`run_entry` does the same through the installed console script in a
subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

BINARY = bytes(range(256)) * 4  # byte 0x80 at offset 128, on line 2 (0x0a is byte 10)


def make_zoo(root: Path) -> Path:
    """The files and folders the cases name, under ``root`` (returned)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "binary.bin").write_bytes(BINARY)
    (root / "binary.yaml").write_bytes(BINARY)
    (root / "latin1.jsonl").write_bytes(b'{"id": "1", "prompt": "caf\xe9", "response": "x"}\n')
    (root / "folder").mkdir()
    (root / "afile.txt").write_text("not a folder\n")
    (root / "notdb.sqlite").write_text("hello, I am not a database\n")
    (root / "bad.yaml").write_text("model: [\n")
    rows = {
        "answers.jsonl": [{"id": "1", "prompt": "q1", "response": "a1"},
                          {"id": "2", "prompt": "q2", "response": "a2"}],
        "nested_prompt.jsonl": [{"id": "1", "prompt": ["q1"], "response": "a1"}],
        "nested_choices.jsonl": [{"id": "1", "prompt": "q1", "response": "a1"},
                                 {"id": "2", "prompt": "q2", "choices": ["a2"]}],
        "nested_turns.jsonl": [{"id": "1", "turns": [5], "response": "a1"}],
        "nested_id.jsonl": [{"id": {"n": 1}, "prompt": "q1", "response": "a1"}],
        "chat.jsonl": [{"messages": [{"role": "user", "content": "hi"},
                                     {"role": "assistant", "content": "hello"}]}],
        "chat_bad.jsonl": [{"messages": [{"role": "user", "content": 5},
                                         {"role": "assistant", "content": "hello"}]}],
        "pool.jsonl": [{"prompt": "say hi"}],
        "he.jsonl": [{"task_id": "HumanEval/0", "completion": "    return True\n"}],
    }
    for name, items in rows.items():
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in items))
    (root / "ints.json").write_text("[1, 2]")
    (root / "he.jsonl_results.jsonl").mkdir()  # where humaneval-exec's results would go
    (root / "run").mkdir()
    (root / "run" / "results.json").write_text('{"results": {}}')
    return root


def snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` with (is a folder, size, modification time); SQLite's -wal and
    -shm files, which a reader may touch, are left out."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith(("-wal", "-shm")):
            continue
        stat = path.lstat()
        out[str(path.relative_to(root))] = (path.is_dir(), stat.st_size, stat.st_mtime_ns)
    return out


def check_refusal(code: int, err: str, expect: Sequence[str]) -> str:
    """Exit code 2 and one stderr line holding every ``expect``; the line."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit code {code}, stderr: {err}"
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err}"
    assert " error: " in lines[0], lines[0]
    for part in expect:
        assert part in lines[0], f"{part!r} not in: {lines[0]}"
    return lines[0]


def assert_refused(main: Callable[[list[str]], int], argv: Sequence[str], root: Path,
                   capsys, expect: Sequence[str]) -> str:
    """Run ``main(argv)`` in ``root``: refused as a user's error, nothing written there."""
    before = snapshot(root)
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = main(list(argv))
    finally:
        os.chdir(cwd)
    _, err = capsys.readouterr()
    line = check_refusal(code, err, expect)
    after = snapshot(root)
    changed = sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))
    assert not changed, f"the command wrote {changed}"
    return line


def run_entry(script: str, module: str, argv: Sequence[str], root: Path,
              env: dict[str, str] | None = None) -> tuple[int, str]:
    """The installed console script (next to this Python; else ``python -m module``) run in
    ``root``: (exit code, stderr)."""
    path = Path(sys.executable).parent / script
    command = [str(path)] if path.exists() else [sys.executable, "-m", module]
    done = subprocess.run(command + list(argv), cwd=root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    return done.returncode, done.stderr
