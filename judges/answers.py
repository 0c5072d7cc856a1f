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
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from judges.jsonl import iter_jsonl
from judges.paths import read_text

ID_KEYS = ("id", "question_id", "idx")
PROMPT_KEYS = ("prompt", "question", "instruction")
ANSWER_KEYS = ("response", "output", "answer", "text")


@dataclass(frozen=True)
class Answer:
    id: str
    prompt: str | None
    answer: str


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file or a JSON list (``.gz`` allowed); anything else (a folder,
    bytes that are not UTF-8, bad JSON, a row that is not an object) is a ValueError naming the
    file and the line or row."""
    text = read_text(path)
    if not text.lstrip().startswith("["):
        return [row for _, row in iter_jsonl(path)]
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from None
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: row {number} is a JSON {type(row).__name__}; every row "
                             "must be a JSON object")
    return rows


def _text(row: dict[str, Any], key: str, where: str) -> str | None:
    """``row[key]`` when it is a string, None when absent or null; another type is an error
    naming the field."""
    value = row.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where}: field {key!r} must be a string, got {_kind(value)}")


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", bool: "a boolean"}
    return kinds.get(type(value), type(value).__name__)


def _turn(turns: Any, field: str, where: str) -> str | None:
    """The first turn of a FastChat ``turns`` list: a string or a {"content": str} object."""
    if turns is None:
        return None
    if not isinstance(turns, list):
        raise ValueError(f"{where}: field {field!r} must be a list, got {_kind(turns)}")
    if not turns:
        return None
    first = turns[0]
    if isinstance(first, dict):
        return _text(first, "content", f"{where} ({field}[0])")
    if not isinstance(first, str):
        raise ValueError(f"{where}: field '{field}[0]' must be a string or an object with "
                         f"'content', got {_kind(first)}")
    return first


def _prompt(row: dict[str, Any], where: str) -> str | None:
    for key in PROMPT_KEYS:
        value = _text(row, key, where)
        if value is not None:
            extra = _text(row, "input", where) if key == "instruction" else None
            return value + (f"\n\n{extra}" if extra else "")
    return _turn(row.get("turns"), "turns", where)


def _answer(row: dict[str, Any], where: str) -> str | None:
    for key in ANSWER_KEYS:
        value = _text(row, key, where)
        if value is not None:
            return value
    choices = row.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        raise ValueError(f"{where}: field 'choices' must be a list, got {_kind(choices)}")
    if not choices:
        return None
    if not isinstance(choices[0], dict):
        raise ValueError(f"{where}: field 'choices[0]' must be an object with 'turns', got "
                         f"{_kind(choices[0])}")
    return _turn(choices[0].get("turns"), "choices[0].turns", where)


def _id(row: dict[str, Any], where: str) -> str | None:
    for key in ID_KEYS:
        if key in row:
            value = row[key]
            if isinstance(value, (dict, list)) or value is None:
                raise ValueError(f"{where}: field {key!r} must be a string or a number, got "
                                 f"{_kind(value) if value is not None else 'null'}")
            return str(value)
    return None


def load_answers(path: Path, questions: dict[str, str] | None = None) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for number, row in enumerate(read_rows(path), 1):
        where = f"{path}: row {number}"
        prompt = _prompt(row, where)
        key = _id(row, where) or prompt
        if key is None:
            raise ValueError(f"{path}: row {number} has neither an id ({', '.join(ID_KEYS)}) "
                             f"nor a prompt ({', '.join(PROMPT_KEYS)})")
        answer = _answer(row, where)
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
        where = f"{path}: row {number}"
        key = _id(row, where)
        prompt = _prompt(row, where) or _text(row, "text", where)
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
