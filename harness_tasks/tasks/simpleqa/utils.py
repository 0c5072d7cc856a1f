"""SimpleQA (Wei et al. 2024, OpenAI simple-evals): data loading and the three-way grading glue.

Referenced from the task YAMLs with ``!function utils.<name>``; the grading itself lives in
``harness_tasks.factuality`` (README.md). Importing this file does no I/O and builds no client.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

from harness_tasks.data import DataError, data_dir, hub_dataset, local_file
from harness_tasks.factuality import shortform
from harness_tasks.subsets import seeded_indices

if TYPE_CHECKING:
    import datasets

HUB_ID = "basicv8vc/SimpleQA"  # the simple-evals CSV as a Hub dataset (one split, "train")
LOCAL_FILE = "factuality/simpleqa/simple_qa_test_set.csv"
SPLIT = "test"
COLUMNS = ("metadata", "problem", "answer")


def read_simpleqa_csv(path) -> list[dict[str, Any]]:
    """Rows {id, question, answer: [gold], metadata} of the simple-evals CSV, validated."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}:1: header lacks column(s) {', '.join(missing)}; expected "
                            f"{','.join(COLUMNS)} (the simple-evals simple_qa_test_set.csv)")
        for row in reader:
            question, answer = (row.get("problem") or "").strip(), (row.get("answer") or "").strip()
            if not question or not answer:
                raise DataError(f"{path}:{reader.line_num}: empty problem or answer; fix or "
                                "delete that row")
            rows.append({"id": f"simpleqa-{len(rows)}", "question": question, "answer": [answer],
                         "metadata": row["metadata"]})
    return rows


def simpleqa_rows() -> list[dict[str, Any]]:
    """All 4,326 questions, from the data directory when set, else from the Hub."""
    if data_dir() is not None:
        return read_simpleqa_csv(local_file(LOCAL_FILE, hub_id=HUB_ID))
    hub = hub_dataset(HUB_ID, split="train")  # offline: one line naming the fix
    return [{"id": f"simpleqa-{i}", "question": r["problem"].strip(),
             "answer": [r["answer"].strip()], "metadata": r["metadata"]}
            for i, r in enumerate(hub)]


def load_simpleqa(lite_size: int | None = None, **metadata: Any) -> datasets.DatasetDict:
    """SimpleQA as one split, "test"; ``lite_size`` keeps a fixed seeded subset. Other metadata:
    the optional judge settings (``judge_*``, as the judge tasks)."""
    import datasets

    rows = simpleqa_rows()
    if lite_size is not None:
        rows = [rows[i] for i in seeded_indices(len(rows), int(lite_size))]
    rows = shortform.with_judge(rows, metadata)
    return datasets.DatasetDict({SPLIT: datasets.Dataset.from_list(rows)})
