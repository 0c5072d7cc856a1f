"""NQ-open closed-book QA: data loading, prompts, few-shot exemplars and per-question results.

Referenced from the task YAMLs with ``!function utils.<name>``. lm-eval loads this file by path,
so it imports its siblings through the installed package. Importing it does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness_tasks.data import (DataError, data_dir, hub_dataset, iter_jsonl, local_file,
                                 require_field)
from harness_tasks.subsets import seeded_subset
from harness_tasks.factuality.chat_answer import extract_answer
from harness_tasks.factuality.scoring import score

if TYPE_CHECKING:
    import datasets

HUB_ID = "google-research-datasets/nq_open"
DEV_FILE = "nq_open/NQ-open.dev.jsonl"
EXEMPLAR_FILE = "nq_open/NQ-open.efficientqa.dev.1.1.jsonl"
SPLIT = "validation"

# The three fixed exemplars of imitation_nq_open_3shot, shown in this order with their first
# gold answer. NQ-open train is not available offline, so they come from the EfficientQA dev
# set (google-research-datasets/natural-questions@fb26a3073b1f:nq_open/
# NQ-open.efficientqa.dev.1.1.jsonl, lines 45, 1 and 46), which shares no question with
# NQ-open dev. Embedded here so the prompt is the same whether the data comes from the Hub or
# from local files. A person, a year and a place: the three common NQ answer types.
FEWSHOT_EXEMPLARS: tuple[dict[str, Any], ...] = (
    {"question": "who played apollo creed in the original rocky", "answer": ["Carl Weathers"]},
    {"question": "the last time la dodgers won the world series", "answer": ["1988"]},
    {"question": "kuchipudi is a dance form of which state", "answer": ["Andhra Pradesh"]},
)
EXEMPLAR_LINES = (45, 1, 46)  # 1-based lines of FEWSHOT_EXEMPLARS in EXEMPLAR_FILE

CHAT_INSTRUCTION = (
    "Answer the following question with a short answer: just the name, date, number or "
    "phrase, without explanation."
)


def load_nq_open(lite_size: int | None = None, **_: Any) -> datasets.DatasetDict:
    """NQ-open dev as a DatasetDict with one split, "validation": {question, answer: [str]}.

    Reads the Hub dataset unless the data-directory setting (IMITATION_SUITE_DATA) is given,
    in which case <data_dir>/nq_open/NQ-open.dev.jsonl is read. ``lite_size`` keeps a fixed
    seeded subset (harness_tasks.subsets). Other keyword arguments (task metadata such as
    ``version``, which lm-eval passes to every custom_dataset) are ignored.
    """
    import datasets

    if data_dir() is None:
        dev = hub_dataset(HUB_ID, split=SPLIT)
    else:
        dev = _local_dev()
    if lite_size is not None:
        dev = seeded_subset(dev, int(lite_size))
    return datasets.DatasetDict({SPLIT: dev})


def read_qa_jsonl(relpath: str) -> list[dict[str, Any]]:
    """Rows {question, answer} of an NQ-open JSONL file in the data directory, validated."""
    path = local_file(relpath, hub_id=HUB_ID)
    rows = []
    for lineno, obj in iter_jsonl(path):
        question = require_field(path, lineno, obj, "question", str)
        answer = require_field(path, lineno, obj, "answer", list)
        if not answer or not all(isinstance(a, str) for a in answer):
            raise DataError(
                f"{path}:{lineno}: field 'answer' should be a non-empty list of strings, "
                f"got {answer!r}."
            )
        rows.append({"question": question, "answer": answer})
    return rows


def _local_dev() -> datasets.Dataset:
    import datasets

    rows = read_qa_jsonl(DEV_FILE)
    string = datasets.Value("string")
    features = datasets.Features({"question": string, "answer": datasets.Sequence(string)})
    return datasets.Dataset.from_list(rows, features=features)


def fewshot_samples() -> list[dict[str, Any]]:
    """The fixed exemplars, for ``fewshot_config.samples`` (with the first_n sampler)."""
    return [dict(doc, answer=list(doc["answer"])) for doc in FEWSHOT_EXEMPLARS]


def doc_to_text(doc: dict[str, Any]) -> str:
    """The closed-book prompt of the NQ-open literature: "Q: <question>?\\nA:"."""
    question = doc["question"].strip()
    return f"Q: {question}{'' if question.endswith('?') else '?'}\nA:"


def doc_to_text_chat(doc: dict[str, Any]) -> str:
    """The question as an instruction to a chat model, asking for a short answer."""
    question = doc["question"].strip()
    question = question[:1].upper() + question[1:]
    return f"{CHAT_INSTRUCTION}\n\nQuestion: {question}{'' if question.endswith('?') else '?'}"


def process_results(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """exact_match and f1 of the generated answer (0-shot / 3-shot tasks)."""
    return score(results[0], doc["answer"])


def process_results_chat(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """exact_match and f1 of the answer extracted from a chat reply (chat_answer module)."""
    answer = extract_answer(results[0], doc["answer"], doc["question"])
    return score(answer, doc["answer"])
