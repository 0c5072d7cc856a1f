"""Giving raters pairs and taking their ratings, safely under concurrency.

The next pair for a rater is the real pair with the fewest ratings + held (open, not expired)
assignments that this rater has not seen and that has fewer than ``raters_per_pair`` of them
(ties broken by a per-rater hash, so raters do not all start on the same pair). Attention
checks are given to every rater, spread among their real pairs at random (seeded); a rater who
runs out of pairs to rate after rating some gets the checks left. An open
assignment not answered within ``hold_minutes`` may be handed to another rater.

Both steps run in one write transaction (``leaderboard.db.write_session``: BEGIN IMMEDIATE on
SQLite); on PostgreSQL the study's row is locked (SELECT ... FOR UPDATE), so assignments of one
study are made one at a time and no pair ever gets more than its raters. ``(pair, rater)`` is
unique, and a rating is written only into an open assignment (``verdict IS NULL``): a repeated
submission is answered with the stored rating and never counted twice.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from leaderboard.db import write_session
from leaderboard.models import utcnow
from leaderboard.study.tables import Assignment, Study, StudyPair

Choice = Literal["left", "right", "equal"]


class StudyError(Exception):
    """A rater's request that cannot be served: an HTTP status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def verdict_of(choice: Choice, reference_left: bool) -> str:
    """The rating in PandaLM labels from the model's side ("1" the model's answer better)."""
    if choice == "equal":
        return "tie"
    model_left = not reference_left
    return "1" if (choice == "left") == model_left else "2"


def _study(s: Session, code: str, lock: bool) -> Study:
    query = select(Study).where(Study.code == code)
    study = s.scalars(query.with_for_update() if lock else query).first()
    if study is None:
        raise StudyError(404, "no study at this link: ask for a new one")
    return study


def _progress(s: Session, study: Study, rater: str) -> dict[str, int]:
    done = s.scalar(select(func.count(Assignment.id)).where(
        Assignment.study_id == study.id, Assignment.rater == rater,
        Assignment.verdict.is_not(None))) or 0
    checks = s.scalar(select(func.count(StudyPair.id)).where(
        StudyPair.study_id == study.id, StudyPair.kind == "check")) or 0
    return {"done": int(done), "total": study.per_rater + int(checks)}


def _shown(a: Assignment, progress: dict[str, int]) -> dict[str, Any]:
    pair = a.pair
    left, right = (pair.reference, pair.answer) if a.reference_left else (pair.answer,
                                                                         pair.reference)
    return {"assignment": a.public_id, "prompt": pair.prompt, "left": left, "right": right,
            "progress": progress, "finished": False}


def _finished(progress: dict[str, int], why: str) -> dict[str, Any]:
    return {"assignment": None, "progress": progress, "finished": True, "message": why}


def next_pair(engine: Engine, code: str, rater: str) -> dict[str, Any]:
    """The rater's open assignment, else a new one, else ``finished`` with the reason."""
    with write_session(engine) as s:
        study = _study(s, code, lock=True)
        if study.status != "open":
            return _finished(_progress(s, study, rater), "This study is closed. Thank you!")
        held = s.scalars(select(Assignment).where(
            Assignment.study_id == study.id, Assignment.rater == rater,
            Assignment.verdict.is_(None))).first()
        if held is not None:
            held.created_at = utcnow()  # held again from now
            return _shown(held, _progress(s, study, rater))
        pair = _choose(s, study, rater)
        if pair is None:
            return _finished(_progress(s, study, rater),
                             "No more pairs need your rating. Thank you!")
        a = Assignment(public_id=secrets.token_urlsafe(16), study_id=study.id, pair_id=pair.id,
                       rater=rater, reference_left=secrets.randbelow(2) == 1)
        s.add(a)
        s.flush()
        return _shown(a, _progress(s, study, rater))


def _choose(s: Session, study: Study, rater: str) -> StudyPair | None:
    pairs = s.scalars(select(StudyPair).where(StudyPair.study_id == study.id)
                      .order_by(StudyPair.position)).all()
    seen = set(s.scalars(select(Assignment.pair_id).where(Assignment.study_id == study.id,
                                                          Assignment.rater == rater)))
    real_done = sum(1 for p in pairs if p.kind == "real" and p.id in seen)
    checks = [p for p in pairs if p.kind == "check" and p.id not in seen]
    real_left = max(0, study.per_rater - real_done)
    real = _real_candidate(s, study, rater, pairs, seen) if real_left else None
    if real is None and real_left:  # every pair has its raters: a rater who rated some
        return checks[0] if checks and real_done else None  # still gets the checks
    if checks:
        draw = random.Random(f"{study.seed}:{rater}:{len(seen)}").random()
        if draw < len(checks) / (len(checks) + real_left):
            return checks[0]
    return real


def _real_candidate(s: Session, study: Study, rater: str, pairs: list[StudyPair],
                    seen: set[int]) -> StudyPair | None:
    cutoff = utcnow() - timedelta(minutes=study.hold_minutes)
    live = dict(s.execute(select(Assignment.pair_id, func.count(Assignment.id)).where(
        Assignment.study_id == study.id,
        or_(Assignment.verdict.is_not(None), Assignment.created_at > cutoff))
        .group_by(Assignment.pair_id)).all())
    every = dict(s.execute(select(Assignment.pair_id, func.count(Assignment.id)).where(
        Assignment.study_id == study.id).group_by(Assignment.pair_id)).all())

    def order(p: StudyPair) -> tuple[int, str]:
        salt = hashlib.sha256(f"{study.seed}:{rater}:{p.position}".encode()).hexdigest()
        return live.get(p.id, 0), salt

    open_pairs = [p for p in pairs if p.kind == "real" and p.id not in seen
                  and live.get(p.id, 0) < study.raters_per_pair]
    for pair in sorted(open_pairs, key=order):
        if every.get(pair.id, 0) < study.raters_per_pair or _release(s, pair, cutoff):
            return pair
    return None


def _release(s: Session, pair: StudyPair, cutoff: Any) -> bool:
    """Free the slot of one expired open assignment of ``pair`` (False if it was answered in
    the meantime)."""
    stale = s.scalars(select(Assignment.id).where(
        Assignment.pair_id == pair.id, Assignment.verdict.is_(None),
        Assignment.created_at <= cutoff).limit(1)).first()
    if stale is None:
        return False
    gone = s.execute(delete(Assignment).where(Assignment.id == stale,
                                              Assignment.verdict.is_(None)))
    return gone.rowcount == 1


def submit(engine: Engine, code: str, rater: str, public_id: str,
           choice: Choice) -> dict[str, Any]:
    """Store a rating (idempotent: the same choice again is answered as stored; another choice
    for a rated pair is a 409)."""
    with write_session(engine) as s:
        study = _study(s, code, lock=False)
        if study.status != "open":
            raise StudyError(409, "this study is closed: ratings are no longer taken")
        a = s.scalars(select(Assignment).where(
            Assignment.public_id == public_id, Assignment.study_id == study.id,
            Assignment.rater == rater)).first()
        if a is None:
            raise StudyError(404, "no such assignment for you (it may have expired): load "
                                  "the next pair")
        verdict, stored = verdict_of(choice, a.reference_left), a.verdict
        if stored is None:
            done = s.execute(update(Assignment).where(
                Assignment.id == a.id, Assignment.verdict.is_(None)).values(
                verdict=verdict, answered_at=utcnow()))
            if done.rowcount == 1:
                return {"stored": True, "progress": _progress(s, study, rater)}
            # answered meanwhile, or released to another rater (PostgreSQL: not serialized)
            stored = s.scalar(select(Assignment.verdict).where(Assignment.id == a.id))
            if stored is None:
                raise StudyError(404, "no such assignment for you (it may have expired): "
                                      "load the next pair")
        if stored != verdict:
            raise StudyError(409, "you rated this pair already, differently; a rating is "
                                  "not changed")
        return {"stored": False, "progress": _progress(s, study, rater)}
