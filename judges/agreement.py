"""Judge-vs-human agreement on human-labelled pairwise sets (PandaLM test set, Auto-J pairwise).

Labels are "1" (first response better), "2" (second better) or "tie". A judge verdict that could
not be read is "unscored": left out of the agreement figures, counted, and reported with the
strict figure (agreeing verdicts over all pairs) beside them.

- agreement with ties: share of pairs where judge and human give the same one of three labels;
- agreement without ties: the same over pairs where neither says "tie" (MT-bench's setup S2);
- Cohen's kappa over the three labels (chance-corrected agreement);
- judge vs the human majority (2 of 3; pairs where all 3 annotators differ are left out and
  counted) and, where there are several annotators, judge vs each annotator (mean), next to
  annotator vs annotator for each pair of annotators (the human ceiling) and Fleiss' kappa.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal, Mapping, Sequence

import numpy as np

from judges.jsonl import iter_jsonl

Label = Literal["1", "2", "tie"]
Verdict = Literal["1", "2", "tie", "unscored"]
LABELS: tuple[Label, ...] = ("1", "2", "tie")

PANDALM_FILES = {"testset": "judge_human/pandalm/testset-v1.json",
                 "gpt-3.5-turbo": "judge_human/pandalm/gpt-3.5-turbo-testset-v1.json",
                 "pandalm-7b": "judge_human/pandalm/pandalm-7b-testset-v1.json"}
AUTOJ_FILE = "judge_human/autoj/testdata_pairwise.jsonl.gz"


@dataclass(frozen=True)
class HumanItem:
    id: str
    question: str
    response1: str
    response2: str
    humans: tuple[Label, ...]  # one label per annotator


def _need(root: Path, relative: str, what: str) -> Path:
    path = root / relative
    if not path.is_file():
        raise ValueError(f"{what} not found: {path} (expected {relative} under the data folder "
                         f"{root}; see shared/data/README.md)")
    return path


def _pandalm_label(value: object) -> Label:
    return {"0": "tie", "1": "1", "2": "2"}[str(value)]  # type: ignore[return-value]


def load_pandalm(root: Path) -> list[HumanItem]:
    """PandaLM testset-v1: 999 pairs, 3 annotators each (0 = tie, 1, 2); a file in the same
    format with annotator1..K (``imitation-leaderboard study export``) reads the same way."""
    rows = json.loads(_need(root, PANDALM_FILES["testset"], "PandaLM test set").read_text())
    items = []
    for row in rows:
        question = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
        items.append(HumanItem(str(row["idx"]), question, row["response1"], row["response2"],
                               tuple(_pandalm_label(row[key]) for key in annotator_keys(row))))
    return items


def annotator_keys(row: dict[str, object]) -> list[str]:
    """annotator1, annotator2, ... (PandaLM has 3; a rating study's export may have more)."""
    keys, k = [], 1
    while f"annotator{k}" in row:
        keys, k = keys + [f"annotator{k}"], k + 1
    return keys


def load_autoj(root: Path) -> list[HumanItem]:
    """Auto-J pairwise test: 1,392 pairs, one label (0 = response 1, 1 = response 2, 2 = tie)."""
    path = _need(root, AUTOJ_FILE, "Auto-J pairwise test set")
    rows = [row for _, row in iter_jsonl(path)]
    label = {0: "1", 1: "2", 2: "tie"}
    return [HumanItem(str(i), r["prompt"], r["response 1"], r["response 2"], (label[r["label"]],))
            for i, r in enumerate(rows)]


DATASETS = {"pandalm": load_pandalm, "autoj": load_autoj}


def load_verdicts(path: Path) -> dict[str, Verdict]:
    """Judge verdicts by item id, from PandaLM's shipped files or our JSONL.

    PandaLM: a JSON list of ``{"idx", "gpt_result" | "pandalm_result"}`` ("1", "2", "Tie"/0;
    anything else, e.g. "garbage", is unscored). Ours: JSONL of ``{"id", "verdict"}`` with
    verdict "1", "2", "tie" or "unscored" (as ``imitation-judge agreement --run-judge`` writes).
    """
    from judges.paths import read_json, read_text

    text = read_text(path, "verdict file")
    if text.lstrip().startswith("["):
        out: dict[str, Verdict] = {}
        for number, row in enumerate(read_json(path, "verdict file"), 1):
            if not isinstance(row, dict):
                raise ValueError(f"{path}: row {number} must be a JSON object with idx and "
                                 "gpt_result or pandalm_result")
            key = next((k for k in ("gpt_result", "pandalm_result") if k in row), None)
            if key is None or "idx" not in row:
                raise ValueError(f"{path}: expected PandaLM rows with idx and gpt_result or "
                                 f"pandalm_result, got keys {sorted(row)}")
            value = str(row[key]).strip().lower()
            labels = {"1": "1", "2": "2", "tie": "tie", "0": "tie"}
            out[str(row["idx"])] = labels.get(value, "unscored")  # type: ignore[assignment]
        return out
    out = {}
    for number, row in iter_jsonl(path):
        if "id" not in row or row.get("verdict") not in ("1", "2", "tie", "unscored"):
            raise ValueError(f"{path}:{number}: expected {{\"id\", \"verdict\": 1|2|tie|unscored}}")
        out[str(row["id"])] = row["verdict"]
    return out


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = LABELS) -> float | None:
    if not a:
        return None
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b):
        table[index[x], index[y]] += 1
    table /= table.sum()
    observed = np.trace(table)
    expected = float(table.sum(axis=1) @ table.sum(axis=0))
    return None if expected == 1.0 else float((observed - expected) / (1 - expected))


def fleiss_kappa(ratings: Sequence[Sequence[str]], labels: Sequence[str] = LABELS) -> float | None:
    """Fleiss' kappa for items each rated by the same number of raters."""
    counts = np.array([[row.count(label) for label in labels] for row in ratings], dtype=float)
    if len(counts) == 0:
        return None
    raters = counts.sum(axis=1)[0]
    p_item = ((counts ** 2).sum(axis=1) - raters) / (raters * (raters - 1))
    p_label = counts.sum(axis=0) / counts.sum()
    expected = float((p_label ** 2).sum())
    return None if expected == 1.0 else float((p_item.mean() - expected) / (1 - expected))


def compare(a: Sequence[Verdict], b: Sequence[Label]) -> dict[str, float | int | None]:
    """Agreement of verdicts ``a`` (may hold "unscored") with labels ``b``."""
    pairs = [(x, y) for x, y in zip(a, b) if x != "unscored"]
    no_ties = [(x, y) for x, y in pairs if x != "tie" and y != "tie"]
    agree = sum(x == y for x, y in pairs)
    return {
        "n": len(a), "scored": len(pairs), "unscored": len(a) - len(pairs),
        "agreement_with_ties": agree / len(pairs) if pairs else None,
        "agreement_without_ties": (sum(x == y for x, y in no_ties) / len(no_ties)
                                   if no_ties else None),
        "n_without_ties": len(no_ties),
        "strict_agreement": agree / len(a) if a else None,  # unscored counted as disagreement
        "cohen_kappa": cohen_kappa([x for x, _ in pairs], [y for _, y in pairs]),
        "macro_f1": macro_f1([x for x, _ in pairs], [y for _, y in pairs]),
    }


def macro_f1(predicted: Sequence[str], truth: Sequence[str]) -> float | None:
    """Mean over the three labels of F1 (PandaLM's headline figure, with ``truth`` = humans)."""
    if not predicted:
        return None
    scores = []
    for label in LABELS:
        tp = sum(p == label and t == label for p, t in zip(predicted, truth))
        fp = sum(p == label and t != label for p, t in zip(predicted, truth))
        fn = sum(p != label and t == label for p, t in zip(predicted, truth))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def majority(labels: Sequence[Label]) -> Label | None:
    label, count = Counter(labels).most_common(1)[0]
    return label if count * 2 > len(labels) else None


def agreement_report(items: Sequence[HumanItem],
                     verdicts: Mapping[str, Verdict]) -> dict[str, object]:
    """Judge vs humans (majority, and each annotator), and humans vs each other."""
    missing = [it.id for it in items if it.id not in verdicts]
    if missing:
        raise ValueError(f"the verdicts lack {len(missing)} of {len(items)} items "
                         f"(e.g. id {missing[0]}); pass a verdict file for this data set")
    judged = [verdicts[it.id] for it in items]
    majorities = [majority(it.humans) for it in items]
    with_majority = [(v, m) for v, m in zip(judged, majorities) if m is not None]
    report: dict[str, object] = {
        "pairs": len(items), "annotators": len(items[0].humans) if items else 0,
        "judge_verdicts": dict(Counter(judged)),
        "human_majority_labels": dict(Counter(m or "none" for m in majorities)),
        "no_majority": sum(m is None for m in majorities),
        "judge_vs_majority": compare([v for v, _ in with_majority], [m for _, m in with_majority]),
    }
    n_humans = len(items[0].humans) if items else 0
    if n_humans > 1:
        per = [compare(judged, [it.humans[k] for it in items]) for k in range(n_humans)]
        report["judge_vs_each_annotator_mean"] = _mean_of(per)
        human_pairs = {
            f"{i + 1}-{j + 1}": compare([it.humans[i] for it in items],  # type: ignore[misc]
                                        [it.humans[j] for it in items])
            for i, j in combinations(range(n_humans), 2)}
        report["human_vs_human"] = human_pairs
        report["human_vs_human_mean"] = _mean_of(list(human_pairs.values()))
        report["fleiss_kappa_humans"] = fleiss_kappa([it.humans for it in items])
    return report


def _mean_of(rows: list[dict[str, float | int | None]]) -> dict[str, float | None]:
    keys = ("agreement_with_ties", "agreement_without_ties", "strict_agreement", "cohen_kappa",
            "macro_f1")
    out: dict[str, float | None] = {}
    for key in keys:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    return out
