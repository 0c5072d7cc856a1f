"""Making a study: from two answer files (the model's and the reference's, in the formats
``imitation-judge pairwise`` reads, joined on the prompt's id), or from human labels in the
PandaLM format; listing and closing studies.

The prompts are a seeded sample (``random.Random(seed).sample`` over the shared ids in the
answer file's order), so the same files, count and seed give the same study. An attention
check is a prompt left out of the sample (its intact answer is never met again in a real
pair) whose reference answer is shown against a visibly broken copy of itself: its words
shuffled and cut to half. The broken side must lose.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import Engine, func, select

from judges.agreement import annotator_keys
from judges.answers import Answer, load_answers, load_questions
from judges.paths import read_json
from leaderboard.db import read_session, write_session
from leaderboard.models import utcnow
from leaderboard.study.tables import Assignment, Study, StudyPair

CHECK_MIN_WORDS = 8
PANDALM_LABELS = {"0": "tie", "1": "1", "2": "2"}


@dataclass(frozen=True)
class StudySpec:
    name: str
    answers: Path
    reference: Path
    prompts: int
    raters_per_pair: int = 3
    attention_checks: int = 0
    per_rater: int | None = None  # real pairs one rater rates at most (None: all)
    seed: int = 0
    questions: Path | None = None
    hold_minutes: int = 30

    def validate(self) -> None:
        if not self.name.strip() or len(self.name) > 200:
            raise ValueError("--name must be 1-200 characters")
        for flag, value, low in (("--prompts", self.prompts, 1),
                                 ("--raters-per-pair", self.raters_per_pair, 1),
                                 ("--attention-checks", self.attention_checks, 0),
                                 ("--hold-minutes", self.hold_minutes, 1)):
            if value < low:
                raise ValueError(f"{flag} must be at least {low}, got {value}")
        if self.per_rater is not None and self.per_rater < 1:
            raise ValueError(f"--per-rater must be at least 1, got {self.per_rater}")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corrupt(text: str, rng: random.Random) -> str:
    """A visibly broken copy of ``text``: its words shuffled, cut to half, no final stop."""
    words = text.split()
    shuffled = rng.sample(words, len(words))
    cut = shuffled[:max(CHECK_MIN_WORDS // 2, len(words) // 2)]
    return " ".join(cut).rstrip(".!?") + " " + " ".join(cut[:3]).lower()


def _pairs(spec: StudySpec) -> tuple[list[StudyPair], list[StudyPair]]:
    questions = load_questions(spec.questions) if spec.questions else None
    answers = load_answers(spec.answers, questions)
    reference = load_answers(spec.reference, questions)
    shared = [key for key in answers if key in reference]
    if len(shared) < spec.prompts:
        raise ValueError(f"--prompts {spec.prompts} but only {len(shared)} ids are in both "
                         f"{spec.answers} and {spec.reference} (joined on id / question_id / "
                         "idx, else the prompt text); ask for at most that many")
    rng = random.Random(spec.seed)
    chosen = rng.sample(shared, spec.prompts)
    real = [_pair(answers[k], reference[k], "real") for k in chosen]
    taken = set(chosen)
    rest = [k for k in shared if k not in taken]
    # never a sampled prompt: its intact reference answer, met again in the real pair, would
    # tell the rater which side there is the reference
    pool = [k for k in rest if len(reference[k].answer.split()) >= CHECK_MIN_WORDS]
    if len(pool) < spec.attention_checks:
        raise ValueError(f"--attention-checks {spec.attention_checks} needs "
                         f"{spec.attention_checks} prompts left out of the --prompts sample "
                         f"whose reference answer has at least {CHECK_MIN_WORDS} words; "
                         f"{spec.reference} has {len(pool)}: ask for fewer --prompts or checks")
    checks = []
    for key in pool[:spec.attention_checks]:
        ref = reference[key]
        checks.append(_pair(ref, Answer(key, ref.prompt, corrupt(ref.answer, rng)), "check"))
    return real, checks


def _pair(answer: Answer, reference: Answer, kind: str) -> StudyPair:
    prompt = answer.prompt or reference.prompt
    if not prompt:
        raise ValueError(f"id {answer.id!r} has no prompt in either answer file: pass "
                         "--questions FILE (prompts by id)")
    return StudyPair(kind=kind, key=answer.id[:500], prompt=prompt, answer=answer.answer,
                     reference=reference.answer)


def create_study(engine: Engine, spec: StudySpec) -> dict[str, Any]:
    """Store a new open study; returns its id, the raters' link and its size."""
    spec.validate()
    real, checks = _pairs(spec)
    study = Study(name=spec.name.strip(), code=secrets.token_urlsafe(12), status="open",
                  raters_per_pair=spec.raters_per_pair,
                  per_rater=min(spec.per_rater or len(real), len(real)),
                  hold_minutes=spec.hold_minutes, seed=spec.seed,
                  answers_file=str(spec.answers), reference_file=str(spec.reference),
                  answers_sha256=sha256_file(spec.answers),
                  reference_sha256=sha256_file(spec.reference),
                  source=f"{spec.answers.name} vs {spec.reference.name}")
    _store(engine, study, real + checks)
    return {"id": study.id, "name": study.name, "rate_url": f"/rate/{study.code}",
            "results_url": f"/study/{study.id}", "pairs": len(real), "attention_checks": len(checks),
            "raters_per_pair": study.raters_per_pair, "per_rater": study.per_rater}


def _store(engine: Engine, study: Study, pairs: list[StudyPair],
           labels: Sequence[Sequence[tuple[str, str]]] = ()) -> None:
    """The study, its pairs and (imported) ratings ``labels[i]`` = [(rater, verdict)] of
    pair i, in one transaction."""
    for pair in pairs:  # PostgreSQL cannot store NUL in text; refused on every database
        for field in ("key", "prompt", "answer", "reference"):
            if "\x00" in getattr(pair, field):
                raise ValueError(f"prompt id {pair.key.replace(chr(0), '?')!r:.60}: its {field} "
                                 "holds a NUL character (\\u0000), which the database cannot "
                                 "store: remove it from the answer file")
    with write_session(engine) as s:
        if s.scalar(select(Study.id).where(Study.name == study.name)) is not None:
            raise ValueError(f"a study named {study.name!r} exists already: choose another "
                             "--name (see `study list`)")
        s.add(study)
        s.flush()
        for position, pair in enumerate(pairs):
            pair.study_id, pair.position = study.id, position
            s.add(pair)
        s.flush()
        s.add_all(Assignment(public_id=secrets.token_urlsafe(16), study_id=study.id,
                             pair_id=pair.id, rater=rater, reference_left=False,
                             verdict=verdict, answered_at=utcnow())
                  for pair, given in zip(pairs, labels) for rater, verdict in given)


def import_pandalm(engine: Engine, path: Path, name: str, limit: int | None = None
                   ) -> dict[str, Any]:
    """A closed study from human labels in the PandaLM format (a JSON list of ``{idx,
    instruction, input, response1, response2, annotator1..K}``, 0 tie / 1 / 2): response1 is
    the model's answer, response2 the reference's, each annotator a rater."""
    if not 1 <= len(name.strip()) <= 200:
        raise ValueError("--name must be 1-200 characters")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    rows = _read_pandalm(path)[:limit]
    annotators = annotator_keys(rows[0]) if rows else []
    if not annotators:
        raise ValueError(f"{path}: no rows with annotator1.. labels (PandaLM testset format)")
    study = Study(name=name.strip(), code=secrets.token_urlsafe(12), status="closed",
                  raters_per_pair=len(annotators), per_rater=len(rows), seed=0,
                  answers_file=str(path), reference_file=str(path),
                  answers_sha256=sha256_file(path), reference_sha256=sha256_file(path),
                  source=f"imported human labels (PandaLM format): {path.name}",
                  closed_at=utcnow())
    pairs, labels = [], []
    for number, row in enumerate(rows, 1):
        if annotator_keys(row) != annotators:
            raise ValueError(f"{path}: row {number} has annotators {annotator_keys(row)}, "
                             f"the first row {annotators}: every row needs the same ones")
        prompt = str(row["instruction"]) + (f"\n\n{row['input']}" if row.get("input") else "")
        pairs.append(StudyPair(kind="real", key=str(row["idx"])[:500], prompt=prompt,
                               answer=str(row["response1"]), reference=str(row["response2"])))
        labels.append([(a, _label(path, number, a, row[a])) for a in annotators])
    _store(engine, study, pairs, labels)
    return {"id": study.id, "name": study.name, "pairs": len(pairs),
            "raters": len(annotators), "ratings": len(pairs) * len(annotators)}


def _read_pandalm(path: Path) -> list[dict[str, Any]]:
    rows = read_json(path, "PandaLM human labels")  # names the file, byte, line and column
    need = ("idx", "instruction", "response1", "response2")
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty JSON list of PandaLM rows")
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or any(k not in row for k in need):
            raise ValueError(f"{path}: row {number} needs the fields {', '.join(need)} and "
                             "annotator1..K")
    return rows


def _label(path: Path, number: int, field: str, value: object) -> str:
    label = PANDALM_LABELS.get(str(value).strip())
    if label is None:
        raise ValueError(f"{path}: row {number} field {field} is {value!r}; expected 0 (tie), "
                         "1 or 2")
    return label


def find_study(engine: Engine, ident: str) -> Study:
    """A study by id (a number) or name (a ValueError naming `study list` otherwise)."""
    with read_session(engine) as s:
        found = s.get(Study, int(ident)) if ident.isdigit() and len(ident) < 10 else None
        if found is None:
            found = s.scalars(select(Study).where(Study.name == ident)).first()
    if found is None:
        raise ValueError(f"no study {ident!r} (see `imitation-leaderboard study list`)")
    return found


def list_studies(engine: Engine) -> list[dict[str, Any]]:
    with read_session(engine) as s:
        counts = dict(s.execute(select(Assignment.study_id, func.count(Assignment.id))
                                .where(Assignment.verdict.is_not(None))
                                .group_by(Assignment.study_id)).all())
        pairs = dict(s.execute(select(StudyPair.study_id, func.count(StudyPair.id))
                               .where(StudyPair.kind == "real")
                               .group_by(StudyPair.study_id)).all())
        return [{"id": st.id, "name": st.name, "status": st.status, "pairs": pairs.get(st.id, 0),
                 "raters_per_pair": st.raters_per_pair, "ratings": counts.get(st.id, 0),
                 "rate_url": f"/rate/{st.code}" if st.status == "open" else None,
                 "source": st.source, "created_at": st.created_at.isoformat()}
                for st in s.scalars(select(Study).order_by(Study.id))]


def close_study(engine: Engine, ident: str) -> dict[str, Any]:
    study = find_study(engine, ident)
    with write_session(engine) as s:
        row = s.get(Study, study.id)
        assert row is not None
        if row.status != "closed":
            row.status, row.closed_at = "closed", utcnow()
        return {"id": row.id, "name": row.name, "status": row.status}
