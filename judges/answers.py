"""Reading answer files for pairwise judging, and writing records as JSONL.

An answer file is JSONL, or a JSON list (``.gz`` allowed), one answer per row:
an id (``id``, ``question_id`` or ``idx``; when absent, the prompt text is the id), the prompt
(``prompt``, ``question`` or ``instruction`` with an optional ``input``; FastChat's ``turns``)
and the answer (``response``, ``output``, ``answer`` or ``text``; FastChat's ``choices``).
This covers lm-eval samples reduced to (id, prompt, response), AlpacaEval model outputs and
FastChat / Vicuna answer files. A separate questions file can supply prompts by id.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from judges.jsonl import iter_jsonl

ID_KEYS = ("id", "question_id", "idx")
PROMPT_KEYS = ("prompt", "question", "instruction")
ANSWER_KEYS = ("response", "output", "answer", "text")


@dataclass(frozen=True)
class Answer:
    id: str
    prompt: str | None
    answer: str


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ValueError(f"file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        text = handle.read()
    if text.lstrip().startswith("["):
        rows = json.loads(text)
    else:
        rows = [row for _, row in iter_jsonl(path)]
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{path}: every row must be a JSON object")
    return rows


def _prompt(row: dict[str, Any]) -> str | None:
    for key in PROMPT_KEYS:
        if isinstance(row.get(key), str):
            extra = row.get("input")
            return row[key] + (f"\n\n{extra}" if key == "instruction" and extra else "")
    turns = row.get("turns")
    if isinstance(turns, list) and turns:
        first = turns[0]
        return first if isinstance(first, str) else first.get("content")
    return None


def _answer(row: dict[str, Any]) -> str | None:
    for key in ANSWER_KEYS:
        if isinstance(row.get(key), str):
            return row[key]
    choices = row.get("choices")
    if isinstance(choices, list) and choices:
        turn = choices[0].get("turns", [None])[0]
        return turn if isinstance(turn, str) else (turn or {}).get("content")
    return None


def load_answers(path: Path, questions: dict[str, str] | None = None) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for number, row in enumerate(read_rows(path), 1):
        prompt = _prompt(row)
        key = next((str(row[k]) for k in ID_KEYS if k in row), prompt)
        if key is None:
            raise ValueError(f"{path}: row {number} has neither an id ({', '.join(ID_KEYS)}) "
                             f"nor a prompt ({', '.join(PROMPT_KEYS)})")
        answer = _answer(row)
        if answer is None:
            raise ValueError(f"{path}: row {number} has no answer field ({', '.join(ANSWER_KEYS)})")
        if questions is not None and key in questions:
            prompt = questions[key]
        if key in out:
            raise ValueError(f"{path}: id {key!r} appears twice (row {number})")
        out[key] = Answer(key, prompt, answer)
    return out


def load_questions(path: Path) -> dict[str, str]:
    out = {}
    for number, row in enumerate(read_rows(path), 1):
        key = next((str(row[k]) for k in ID_KEYS if k in row), None)
        prompt = _prompt(row) or (row["text"] if isinstance(row.get("text"), str) else None)
        if key is None or prompt is None:
            raise ValueError(f"{path}: row {number} needs an id and a prompt")
        out[key] = prompt
    return out


def write_jsonl(path: Path, records: Iterable[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            data = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record
            handle.write(json.dumps(data, ensure_ascii=False) + "\n")
