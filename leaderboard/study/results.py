"""A study's results (rates, agreement, attention checks, LLM judges vs the raters), the LLM
judge's verdicts on its pairs (``imitation-judge pairwise`` output), and the PandaLM export that
``imitation-judge agreement --dataset pandalm --data-dir DIR`` reads.

Every figure is given twice: over all raters, and without the raters who failed an attention
check ("checked raters"). Judge-human agreement is against the raters' majority label per pair
(more than half of its ratings; pairs without one are left out and counted), with and without
ties (``judges.agreement.compare``), over the real pairs the judge has a verdict for.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from judges.agreement import compare, load_verdicts, majority
from judges.jsonl import iter_jsonl
from leaderboard.db import read_session, write_session
from leaderboard.study import stats
from leaderboard.study.build import find_study, sha256_file
from leaderboard.study.tables import Assignment, JudgeVerdict, Study, StudyPair

SUBSETS = ("all raters", "checked raters")
OUTCOME_LABELS = {"win": "1", "loss": "2", "tie": "tie", "inconsistent": "tie",
                  "unscored": "unscored"}
PANDALM_CODES = {"tie": 0, "1": 1, "2": 2}
PANDALM_PATH = "judge_human/pandalm/testset-v1.json"


@dataclasses.dataclass(frozen=True)
class Ratings:
    """What a study's figures are computed from."""

    study: Study
    pairs: list[StudyPair]  # the real pairs, in order
    by_pair: dict[int, list[tuple[str, str]]]  # pair id -> [(rater, label)], answer order
    checks: dict[str, list[str]]  # rater -> labels given on attention checks
    judges: dict[str, dict[int, str]]  # judge -> pair id -> verdict


def load(engine: Engine, ident: str) -> Ratings:
    study = find_study(engine, ident)
    with read_session(engine) as s:
        pairs = s.scalars(select(StudyPair).where(StudyPair.study_id == study.id)
                          .order_by(StudyPair.position)).all()
        kinds = {p.id: p.kind for p in pairs}
        by_pair: dict[int, list[tuple[str, str]]] = defaultdict(list)
        checks: dict[str, list[str]] = defaultdict(list)
        for a in s.scalars(select(Assignment).where(
                Assignment.study_id == study.id, Assignment.verdict.is_not(None))
                .order_by(Assignment.answered_at, Assignment.id)):
            if kinds[a.pair_id] == "check":
                checks[a.rater].append(a.verdict)
            else:
                by_pair[a.pair_id].append((a.rater, a.verdict))
                checks.setdefault(a.rater, [])
        judges: dict[str, dict[int, str]] = defaultdict(dict)
        for v in s.scalars(select(JudgeVerdict).where(JudgeVerdict.study_id == study.id)):
            judges[v.judge][v.pair_id] = v.verdict
    return Ratings(study, [p for p in pairs if p.kind == "real"], dict(by_pair), dict(checks),
                   dict(judges))


def _subset(r: Ratings, dropped: set[str]) -> dict[str, Any]:
    per_pair = {p.id: [label for rater, label in r.by_pair.get(p.id, []) if rater not in dropped]
                for p in r.pairs}
    rated = [labels for labels in per_pair.values() if labels]
    agreement = stats.fleiss_kappa(stats.label_counts(rated))
    raters = {rater for labels in r.by_pair.values() for rater, _ in labels} - dropped
    out: dict[str, Any] = {"raters": len(raters),
                           **dataclasses.asdict(stats.rates(rated, seed=r.study.seed)),
                           **dataclasses.asdict(agreement), "judges": {}}
    majorities = {pid: majority(labels) for pid, labels in per_pair.items() if labels}
    for judge, verdicts in sorted(r.judges.items()):
        both = [(verdicts[pid], m) for pid, m in majorities.items()
                if m is not None and pid in verdicts]
        report = compare([v for v, _ in both], [m for _, m in both])  # type: ignore[misc]
        report["no_majority"] = sum(m is None for m in majorities.values())
        out["judges"][judge] = report
    return out


def study_results(engine: Engine, ident: str) -> dict[str, Any]:
    """Everything the results page, ``study results`` and the judge panel show."""
    r = load(engine, ident)
    scores = stats.check_scores(r.checks)
    failed = {c.rater for c in scores if c.failed}
    counts = [len(r.by_pair.get(p.id, [])) for p in r.pairs]
    st = r.study
    return {"id": st.id, "name": st.name, "status": st.status, "source": st.source,
            "answers_file": st.answers_file, "reference_file": st.reference_file,
            "raters_per_pair": st.raters_per_pair, "pairs": len(r.pairs),
            "complete_pairs": sum(c >= st.raters_per_pair for c in counts),
            "ratings": sum(counts),
            "attention_checks": [{**dataclasses.asdict(c), "failed": c.failed} for c in scores
                                 if c.answered],
            "failed_raters": sorted(failed),
            "results": {SUBSETS[0]: _subset(r, set()), SUBSETS[1]: _subset(r, failed)}}


def text_report(res: dict[str, Any]) -> str:
    """``study results --format text``."""
    lines = [f"study {res['id']} {res['name']!r} ({res['status']}): {res['pairs']} pairs, "
             f"{res['complete_pairs']} with {res['raters_per_pair']} ratings, "
             f"{res['ratings']} ratings; {res['source']}",
             f"attention checks failed by {len(res['failed_raters'])} of "
             f"{len(res['attention_checks'])} checked raters"
             + (f": {', '.join(res['failed_raters'])}" if res["failed_raters"] else "")]
    for subset, s in res["results"].items():
        lines.append(f"{subset} ({s['raters']}): equal or better {_ci(s['equal_or_better'])}, "
                     f"win rate {_ci(s['win_rate'])}, Fleiss' kappa {_num(s['fleiss_kappa'])} "
                     f"over {s['pairs']} pairs")
        for judge, j in s["judges"].items():
            lines.append(f"  judge {judge}: agreement {_num(j['agreement_with_ties'])} "
                         f"(n={j['scored']}), without ties {_num(j['agreement_without_ties'])} "
                         f"(n={j['n_without_ties']}), Cohen's kappa {_num(j['cohen_kappa'])}")
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _ci(i: dict[str, float] | None) -> str:
    return "n/a" if i is None else f"{i['value']:.1%} [{i['low']:.1%}, {i['high']:.1%}]"


def panel_rows(engine: Engine) -> list[dict[str, Any]]:
    """Judge-human agreement on each study the judge has verdicts for, in the shape of the
    judge panel's published-label rows (``leaderboard.plots.judge_panel``). Closed studies
    only: the panel is public, and an open study's live figures are for its admin."""
    with read_session(engine) as s:
        ids = sorted(set(s.scalars(select(JudgeVerdict.study_id).join(
            Study, Study.id == JudgeVerdict.study_id).where(Study.status == "closed"))))
    rows = []
    for study_id in ids:
        res = study_results(engine, str(study_id))
        for subset, figures in res["results"].items():
            for judge, j in figures["judges"].items():
                model, _, prompt = judge.partition(" with ")
                rows.append({"judge_model": model, "judge_prompt": prompt,
                             "source": f"rating study #{res['id']}, {subset}",
                             "metrics": {"dataset": f"study: {res['name']}", "n": j["scored"],
                                         "agreement": j["agreement_with_ties"],
                                         "agreement_without_ties": j["agreement_without_ties"],
                                         "cohen_kappa": j["cohen_kappa"],
                                         "human_agreement": figures["human_agreement"]}})
    return rows


def _read_verdicts(path: Path) -> tuple[str, dict[str, str]]:
    """(judge, {id: label}) from ``imitation-judge pairwise``'s verdicts.jsonl (outcome from
    the candidate's side), ``{"id", "verdict"}`` rows, or PandaLM's shipped verdict files
    (``judges.agreement.load_verdicts``; these do not name their judge)."""
    from judges.paths import read_text

    judge, out = "", {}
    if read_text(path, "verdict file").lstrip().startswith("["):  # PandaLM's shipped files
        return "", dict(load_verdicts(path))
    for number, row in iter_jsonl(path):
        if "outcome" in row and row.get("outcome") in OUTCOME_LABELS:
            label = OUTCOME_LABELS[row["outcome"]]
            judge = judge or f"{row.get('judge', '')} with {row.get('prompt', '')}"
        elif row.get("verdict") in ("1", "2", "tie", "unscored"):
            label = row["verdict"]
        else:
            raise ValueError(f"{path}:{number}: expected an imitation-judge pairwise verdict "
                             "(id, outcome win|loss|tie|inconsistent|unscored) or {id, verdict}")
        if "id" not in row:
            raise ValueError(f"{path}:{number}: the verdict has no id")
        out[str(row["id"])] = label
    return judge, out


def _check_files(study: Study, folder: Path) -> None:
    config = folder / "config.json"
    if not config.is_file():
        return
    used = json.loads(config.read_text(encoding="utf-8"))
    for key, digest in (("answers", study.answers_sha256), ("reference", study.reference_sha256)):
        file = Path(str(used.get(key) or ""))
        if used.get(key) and file.is_file() and sha256_file(file) != digest:
            raise ValueError(f"{config}: the judge read {key} {file}, not the file this study "
                             "was made from (their contents differ): judge the same files")


def add_judge_verdicts(engine: Engine, ident: str, path: Path,
                       judge: str | None = None) -> dict[str, Any]:
    """Store an LLM judge's verdicts on a study's pairs (replacing that judge's earlier ones)."""
    r = load(engine, ident)
    found, verdicts = _read_verdicts(path)
    judge = (judge or found).strip()
    if not judge:
        raise ValueError(f"{path} does not name its judge: pass --judge 'MODEL with PROMPT'")
    if "\x00" in judge:  # PostgreSQL cannot store it; refused on every database
        raise ValueError(f"{path}: the judge's name holds a NUL character (\\u0000): pass "
                         "--judge 'MODEL with PROMPT'")
    _check_files(r.study, path.parent)
    matched = {p.id: verdicts[p.key] for p in r.pairs if p.key in verdicts}
    if not matched:
        raise ValueError(f"{path}: none of its ids is a pair of study {r.study.name!r}: "
                         "run imitation-judge pairwise on the study's answer files")
    with write_session(engine) as s:
        s.execute(delete(JudgeVerdict).where(JudgeVerdict.study_id == r.study.id,
                                             JudgeVerdict.judge == judge[:300]))
        s.add_all(JudgeVerdict(study_id=r.study.id, pair_id=pid, judge=judge[:300],
                               verdict=label, source=str(path)[:500])
                  for pid, label in matched.items())
    return {"study": r.study.id, "judge": judge, "pairs_judged": len(matched),
            "pairs_without_verdict": len(r.pairs) - len(matched),
            "verdicts_not_in_study": len(verdicts) - len(matched)}


def export_pandalm(engine: Engine, ident: str, out: Path) -> dict[str, Any]:
    """The study's real pairs with all their ratings (the first ``raters_per_pair``) as
    OUT/judge_human/pandalm/testset-v1.json, and each judge's verdicts on them as
    OUT/verdicts-<judge>.jsonl (when it judged every exported pair)."""
    from judges.paths import output_path

    output_path(out, "--output", "folder")  # a file given for the folder: one line, exit 2
    output_path(out / PANDALM_PATH, "--output", "file")
    r = load(engine, ident)
    n = r.study.raters_per_pair
    rows, keys = [], {}
    for p in r.pairs:
        labels = [label for _, label in r.by_pair.get(p.id, [])][:n]
        if len(labels) < n:
            continue
        idx: int | str = int(p.key) if p.key.isdigit() else p.key
        rows.append({"idx": idx, "motivation_app": "", "cmp_key": "", "instruction": p.prompt,
                     "input": "", "response1": p.answer, "response2": p.reference,
                     **{f"annotator{k + 1}": PANDALM_CODES[label]
                        for k, label in enumerate(labels)}})
        keys[p.id] = p.key
    target = out / PANDALM_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written = {}
    for judge, verdicts in sorted(r.judges.items()):
        if all(pid in verdicts for pid in keys):
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", judge).strip("_")[:80] or "judge"
            path = out / f"verdicts-{slug}.jsonl"
            path.write_text("".join(json.dumps({"id": key, "verdict": verdicts[pid]}) + "\n"
                                    for pid, key in keys.items()), encoding="utf-8")
            written[judge] = str(path)
    return {"file": str(target), "pairs": len(rows),
            "left_out_incomplete": len(r.pairs) - len(rows),
            "judge_verdicts": written,
            "read_with": f"imitation-judge agreement --dataset pandalm --data-dir {out} "
                         "--verdicts FILE"}
