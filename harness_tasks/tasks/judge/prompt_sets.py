"""The judge task's prompt sets, each prompt with the teacher's answer (README.md, "Data").

- Koala test set (180 real user prompts, no answers): the teacher's answers come from a reference
  file. By default that is AlpacaEval's ``gpt-3.5-turbo-0301`` outputs for its ``koala`` subset,
  which covers 156 of the 180 prompts (matched on the text: :func:`match_key`).
- AlpacaEval (805 prompts) with the ``gpt-3.5-turbo-0301`` outputs.
- Vicuna-80 (the March-2023 question table) with the ``gpt35`` answers.

Every loader returns rows ``{id, question, reference, reference_model, source, category}``,
read from the data directory (``IMITATION_SUITE_DATA``). A missing file or a bad row is a
:class:`~harness_tasks.data.DataError` naming the file and row.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path
from typing import Any

from harness_tasks.data import (ENV_VAR, DataError, DataUnavailable, data_dir, iter_jsonl,
                                 require_field)

log = logging.getLogger(__name__)

KOALA_FILE = "eval_prompts/koala/koala_test_set.jsonl"
ALPACA_FILE = "eval_prompts/alpaca_eval/gpt-3.5-turbo-0301_model_outputs.json.gz"
VICUNA_QUESTIONS = "eval_prompts/vicuna_bench_v0/question.jsonl"
VICUNA_ANSWERS = "eval_prompts/vicuna_bench_v0/answer/answer_gpt35.jsonl"
ALPACA_MODEL = "gpt-3.5-turbo-0301"
VICUNA_MODEL = "gpt-3.5-turbo:20230327"  # the model_id of answer_gpt35.jsonl

# ShareGPT's "regenerated reply" counter, pasted in front of 13 Koala prompts ("2 / 2Write ...").
_REGEN_COUNTER = re.compile(r"^\d+ / \d+(?=[^\s\d])")
# A leading question label ("#2. To increase ..."), dropped by AlpacaEval's copy of one prompt.
_LABEL = re.compile(r"^#\d+\.\s+")
_ANSWER_KEYS = ("output", "response", "answer", "text")


def _file(relpath: str) -> Path:
    root = data_dir()
    if root is None:
        raise DataUnavailable(
            f"the judge tasks read their prompts from local files, but {ENV_VAR} is not set. "
            f"Point it at the shared data folder (e.g. {ENV_VAR}=../shared/data; "
            f"imitation-eval --data-dir does this), which holds {relpath}.")
    path = root / relpath
    if not path.is_file():
        raise DataError(f"missing data file: expected {path} (from {ENV_VAR}={root}). Copy it "
                        f"there from the project's shared/data folder (README, 'Offline data "
                        f"layout').")
    return path


def clean_koala_prompt(prompt: str) -> str:
    """The prompt without ShareGPT's regeneration counter ("2 / 2") stuck to its start."""
    return _REGEN_COUNTER.sub("", prompt)


def match_key(prompt: str) -> str:
    """What two copies of a prompt must share to be matched: the text without the counter and
    a leading "#N." label, whitespace collapsed."""
    return " ".join(_LABEL.sub("", clean_koala_prompt(prompt.strip())).split())


def _row(id_: str, question: str, reference: str, model: str, source: str,
         category: str) -> dict[str, str]:
    return {"id": id_, "question": question, "reference": reference, "reference_model": model,
            "source": source, "category": category}


def _read_json_list(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            rows = json.load(handle)
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not a readable JSON list ({err})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}: expected a JSON list of objects")
    return rows


def _field(path: Path, number: int, row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise DataError(f"{path}: row {number} has no string field {name!r}")
    return value


# AlpacaEval's 805 instructions answered by each teacher whose outputs ship in the data folder
ALPACA_TEACHERS = {
    "gpt-3.5-turbo-0301": ALPACA_FILE,
    "gpt-4-0314": "eval_prompts/alpaca_eval/gpt4_model_outputs.json.gz",
    "gpt-4-1106-preview": "eval_prompts/alpaca_eval/gpt4_1106_preview_model_outputs.json.gz",
    "text-davinci-003": "eval_prompts/alpaca_eval/text_davinci_003_model_outputs.json.gz",
}


def alpaca_eval_rows(teacher: str = ALPACA_MODEL) -> list[dict[str, str]]:
    """AlpacaEval's 805 instructions with ``teacher``'s outputs (gpt-3.5-turbo-0301 by
    default; see ALPACA_TEACHERS), in file order."""
    if teacher not in ALPACA_TEACHERS:
        raise ValueError(f"no AlpacaEval outputs of {teacher!r} in the data folder; known: "
                         f"{', '.join(ALPACA_TEACHERS)}")
    path = _file(ALPACA_TEACHERS[teacher])
    rows = []
    for i, row in enumerate(_read_json_list(path)):
        number = i + 1
        rows.append(_row(f"alpaca_eval_{i}", _field(path, number, row, "instruction"),
                         _field(path, number, row, "output"),
                         str(row.get("generator", teacher)), "alpaca_eval",
                         _field(path, number, row, "dataset")))
    return rows


def vicuna_rows() -> list[dict[str, str]]:
    """The 80 Vicuna questions with the gpt35 answers, joined on question_id."""
    qpath, apath = _file(VICUNA_QUESTIONS), _file(VICUNA_ANSWERS)
    answers: dict[int, dict[str, Any]] = {}
    for lineno, obj in iter_jsonl(apath):
        answers[require_field(apath, lineno, obj, "question_id", int)] = obj
        require_field(apath, lineno, obj, "text", str)
    rows = []
    for lineno, obj in iter_jsonl(qpath):
        qid = require_field(qpath, lineno, obj, "question_id", int)
        if qid not in answers:
            raise DataError(f"{apath}: no answer for question_id {qid} ({qpath}:{lineno})")
        answer = answers[qid]
        rows.append(_row(f"vicuna_{qid}", require_field(qpath, lineno, obj, "text", str),
                         answer["text"], str(answer.get("model_id", VICUNA_MODEL)), "vicuna",
                         str(obj.get("category", ""))))
    return rows


def koala_prompts() -> list[dict[str, str]]:
    """The 180 Koala test prompts {id, prompt}, the regeneration counter removed."""
    path = _file(KOALA_FILE)
    return [{"id": require_field(path, n, obj, "id", str),
             "prompt": clean_koala_prompt(require_field(path, n, obj, "prompt", str))}
            for n, obj in iter_jsonl(path)]


def _default_koala_references() -> tuple[dict[str, str], str, str]:
    path = _file(ALPACA_FILE)
    refs = {}
    for i, row in enumerate(_read_json_list(path)):
        if row.get("dataset") == "koala":
            refs[match_key(_field(path, i + 1, row, "instruction"))] = _field(path, i + 1, row,
                                                                              "output")
    return refs, ALPACA_MODEL, str(path)


def _file_references(path: Path) -> tuple[dict[str, str], str, str]:
    """A reference file: JSONL or a JSON list (.gz allowed); each row an ``id`` (koala_N) or a
    prompt (``prompt`` / ``instruction`` / ``question``) and an answer (output / response /
    answer / text). Keys are ids where given, else match keys of the prompt."""
    if not path.is_file():
        raise DataError(f"Koala reference file {path} does not exist (set by "
                        f"koala_reference / IMITATION_JUDGE_KOALA_REFERENCE)")
    text_rows: list[dict[str, Any]]
    if path.name.endswith((".json", ".json.gz")):
        text_rows = _read_json_list(path)
    else:
        text_rows = [obj for _, obj in iter_jsonl(path)]
    refs: dict[str, str] = {}
    model = ""
    for number, row in enumerate(text_rows, 1):
        answer = next((row[k] for k in _ANSWER_KEYS if isinstance(row.get(k), str)), None)
        prompt = next((row[k] for k in ("prompt", "instruction", "question")
                       if isinstance(row.get(k), str)), None)
        key = str(row["id"]) if "id" in row else (match_key(prompt) if prompt else None)
        if answer is None or key is None:
            raise DataError(f"{path}: row {number} needs an id (koala_N) or a prompt, and an "
                            f"answer ({', '.join(_ANSWER_KEYS)})")
        refs[key] = answer
        model = model or str(row.get("generator") or row.get("model_id") or "")
    return refs, model or path.name, str(path)


def koala_rows(reference_file: str | None = None) -> list[dict[str, str]]:
    """Koala test prompts that have a teacher answer, in file order.

    ``reference_file`` None: AlpacaEval's gpt-3.5-turbo-0301 outputs (156 of 180 prompts).
    Prompts the reference lacks are left out (logged); a reference matching none is an error.
    """
    if reference_file:
        refs, model, source = _file_references(Path(reference_file).expanduser())
    else:
        refs, model, source = _default_koala_references()
    prompts = koala_prompts()
    rows, used = [], set()
    for prompt in prompts:
        for key in (prompt["id"], match_key(prompt["prompt"])):
            if key in refs:
                used.add(key)
                rows.append(_row(prompt["id"], prompt["prompt"], refs[key], model, "koala", ""))
                break
    if not rows:
        raise DataError(f"{source}: no row matches a Koala test prompt (rows are joined on id "
                        f"koala_N, else on the prompt text)")
    if len(rows) < len(prompts):
        level = logging.INFO if reference_file is None else logging.WARNING  # default: README
        log.log(level, "Koala: %d of %d prompts have a teacher answer in %s; the other %d are "
                "left out", len(rows), len(prompts), source, len(prompts) - len(rows))
    if len(refs) > len(used):
        log.warning("Koala: %d rows of %s match no Koala prompt", len(refs) - len(used), source)
    return rows
