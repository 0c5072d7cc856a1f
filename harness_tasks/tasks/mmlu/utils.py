"""MMLU data loading and scoring for the ``imitation_mmlu*`` tasks (Hendrycks et al. 2021).

Pure functions referenced from the YAMLs with ``!function utils.<name>``:

* :func:`load_mmlu` - ``custom_dataset``: one subject as a DatasetDict (test / validation /
  dev) in the ``cais/mmlu`` schema, from the Hub or from the local CSVs (``IMITATION_SUITE_DATA``).
* :func:`process_results_mc` - log-likelihood scoring: ``acc`` and its macro twin ``acc_macro``.
* :func:`extract_letters` / :func:`process_results_gen` - the generative variant: the answer
  letter read from a free-text reply; a reply with no readable letter is ``unscored``.

Nothing here runs at import time.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness_tasks.data import DataError, data_dir, hub_dataset, local_file, read_headerless_csv
from harness_tasks.subsets import seeded_subset
from harness_tasks.tasks.mmlu.subjects import SUBJECTS

HUB_ID = "cais/mmlu"
LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
# Hub split name -> folder / file suffix of the original CSVs.
SPLITS: dict[str, str] = {"test": "test", "validation": "val", "dev": "dev"}


# --------------------------------------------------------------------------- data


def load_mmlu(subject: str, test_size: int | None = None, **_ignored: Any):
    """One MMLU subject as ``DatasetDict(test, validation, dev)`` in the ``cais/mmlu`` schema.

    Rows are ``{question: str, subject: str, choices: [4 str], answer: int 0-3}``. Reads the
    Hub dataset ``cais/mmlu`` (config ``subject``) when no data directory is set, else the
    original CSVs ``mmlu/{test,val,dev}/<subject>_<split>.csv`` under it. ``test_size`` keeps
    a fixed seeded subset of the test split only (the dev shots stay intact). Other keyword
    arguments (lm-eval passes the task metadata and model arguments) are ignored.
    """
    if subject not in SUBJECTS:
        raise DataError(
            f"unknown MMLU subject {subject!r}; expected one of the 57 names in "
            f"harness_tasks/tasks/mmlu/subjects.py (e.g. 'abstract_algebra')."
        )
    root = data_dir()
    dataset = _from_hub(subject) if root is None else _from_local(subject)
    if test_size is not None:
        dataset["test"] = seeded_subset(dataset["test"], test_size)
    return dataset


def _from_hub(subject: str):
    import datasets

    hub = hub_dataset(HUB_ID, subject)
    return datasets.DatasetDict({split: hub[split] for split in SPLITS})


def _features():
    import datasets

    return datasets.Features(
        {
            "question": datasets.Value("string"),
            "subject": datasets.Value("string"),
            "choices": datasets.Sequence(datasets.Value("string")),
            "answer": datasets.ClassLabel(names=list(LETTERS)),
        }
    )


def _from_local(subject: str):
    import datasets

    features = _features()
    splits = {}
    for split, folder in SPLITS.items():
        path = local_file(f"mmlu/{folder}/{subject}_{folder}.csv", hub_id=HUB_ID)
        records = read_mmlu_csv(path, subject)
        columns = {name: [rec[name] for rec in records] for name in features}
        splits[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(splits)


def read_mmlu_csv(path: Path, subject: str) -> list[dict[str, Any]]:
    """The rows of one original MMLU CSV as ``cais/mmlu`` records.

    A bad answer letter raises DataError naming ``file:line`` (the row's first line).
    """
    records = []
    for index, row in enumerate(read_headerless_csv(path, 6)):
        letter = row[5].strip()
        if letter not in LETTERS:
            line = _row_start_lines(path)[index]
            raise DataError(
                f"{path}:{line}: answer column must be one of A, B, C, D, got {row[5]!r}. "
                f"Fix that row (columns: question,A,B,C,D,answer) or restore the original file."
            )
        records.append(
            {"question": row[0], "subject": subject, "choices": row[1:5],
             "answer": LETTERS.index(letter)}
        )
    return records


def _row_start_lines(path: Path) -> list[int]:
    """The line on which each non-empty CSV row starts (a quoted field may span lines)."""
    starts = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        previous_end = 0
        for row in reader:
            if row:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts


# --------------------------------------------------------------------------- scoring


def process_results_mc(
    doc: dict[str, Any], results: Sequence[tuple[float, bool]]
) -> dict[str, float]:
    """Accuracy of the highest-log-likelihood letter, as lm-eval's multiple_choice ``acc``.

    ``acc_macro`` is the same per-question value under a second name, so that a group can
    average it over subjects (weight_by_size: false) while ``acc`` is averaged over questions.
    """
    lls = [ll for ll, _is_greedy in results]
    acc = 1.0 if int(np.argmax(lls)) == int(doc["answer"]) else 0.0
    return {"acc": acc, "acc_macro": acc}


def process_results_gen(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """Score the letter that the ``letter`` filter read from the reply ("" = none readable).

    An unreadable reply gets no credit in ``acc`` and is counted in ``unscored``.
    """
    letter = results[0]
    scored = letter in LETTERS
    acc = 1.0 if scored and LETTERS.index(letter) == int(doc["answer"]) else 0.0
    return {"acc": acc, "acc_macro": acc, "unscored": 0.0 if scored else 1.0}


def extract_letters(
    resps: Sequence[Sequence[str]], docs: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """lm-eval ``custom`` filter: each reply -> its answer letter, or "" when none is readable."""
    return [
        [extract_letter(reply, doc.get("choices")) or "" for reply in replies]
        for replies, doc in zip(resps, docs, strict=True)
    ]


_MARKUP = r"[\s*_`\"'(\[]*"
# The whole reply is one letter, possibly decorated: "B", "b.", "(C)", "**D**", "'A'".
_ONLY_LETTER = re.compile(r"^[\W_]*([A-Da-d])[\W_]*$")
# The reply opens with an option label: "B. Paris", "C) ...", "**D**: ...", "A\n...",
# or "D is correct"; an opening article ("A cat ...") is not a label.
_LEADING = re.compile(
    r"^" + _MARKUP + r"(?:([A-Da-d])(?:[)\].:,;*_`!]|\s*\n)"
    r"|([A-D])\s+is\s+(?:the\s+)?(?:correct|right|best|answer)\b)"
)
# An explicit statement: "The answer is B", "Answer: a", "correct option: (C)".
_PHRASE = re.compile(
    r"(?i:\b(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?)"
    r"\s*[:=]?" + _MARKUP + r"(?i:(?:option|choice|letter)\s+)?" + _MARKUP
    + r"(?:([A-D])(?![A-Za-z0-9])|([a-d])(?=[)\].:*_`\"']|\s*$))"
    + r"(?!\W*(?:and|or|,|/)\W*[A-Da-d](?![A-Za-z0-9]))"  # not a hedge: "B or C"
)
# A marked letter anywhere: "**C**", "(C)", "[C]".
_MARKED = re.compile(r"\*\*([A-D])\*\*|\(([A-D])\)|\[([A-D])\]")


def extract_letter(reply: str, choices: Sequence[str] | None = None) -> str | None:
    """The answer letter (A-D) a free-text reply gives, or None when it gives none clearly.

    In order: the reply is just a letter; it opens with an option label; it states "the answer
    is X" / "Answer: X" (first such statement); exactly one distinct letter is marked as
    ``**X**``, ``(X)`` or ``[X]``; the reply is exactly the text of one choice.
    """
    text = reply.strip()
    if not text:
        return None
    for pattern in (_ONLY_LETTER, _LEADING):
        match = pattern.match(text)
        if match:
            return _first_group(match).upper()
    match = _PHRASE.search(text)
    if match:
        return _first_group(match).upper()
    marked = {_first_group(m) for m in _MARKED.finditer(text)}
    if len(marked) == 1:
        return marked.pop()
    return _letter_of_choice_text(text, choices)


def _first_group(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group)


def _letter_of_choice_text(text: str, choices: Sequence[str] | None) -> str | None:
    if not choices:
        return None

    def norm(value: str) -> str:
        return re.sub(r"[\s*_`\"'.!]+$|^[\s*_`\"']+", "", value).casefold()

    hits = [i for i, choice in enumerate(choices[: len(LETTERS)]) if norm(choice) == norm(text)]
    return LETTERS[hits[0]] if len(hits) == 1 and norm(text) else None
