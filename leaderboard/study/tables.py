"""The rating studies' tables (SQLAlchemy 2, on the leaderboard's ``Base``; migration 0002).

A :class:`Study` holds :class:`StudyPair` rows: the real pairs (the model's answer and the
reference's to one prompt) and the hidden attention checks (the reference's answer against a
visibly broken copy of it). An :class:`Assignment` is one pair shown to one rater, with the side
the reference was shown on; its ``verdict`` is the rating once given, in the PandaLM labels
read from the model's side: "1" the model's answer (for a check: the intact one) is better,
"2" the reference's (the broken one) is, "tie". ``(pair_id, rater)`` is unique, so a rater never
sees a pair twice and a rating is never counted twice. :class:`JudgeVerdict` is an LLM judge's
verdict on a pair, in the same labels (or "unscored").
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import (Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leaderboard.models import Base, utcnow

STUDY_STATUSES = ("open", "closed")
PAIR_KINDS = ("real", "check")
VERDICTS = ("1", "2", "tie")


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the raters' opaque link
    status: Mapped[str] = mapped_column(String(16), default="open")
    raters_per_pair: Mapped[int] = mapped_column(Integer)
    per_rater: Mapped[int] = mapped_column(Integer)  # real pairs one rater rates at most
    hold_minutes: Mapped[int] = mapped_column(Integer, default=30)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    answers_file: Mapped[str] = mapped_column(Text, default="")  # admin pages only
    reference_file: Mapped[str] = mapped_column(Text, default="")
    answers_sha256: Mapped[str] = mapped_column(String(64), default="")
    reference_sha256: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class StudyPair(Base):
    __tablename__ = "study_pairs"
    __table_args__ = (UniqueConstraint("study_id", "position", name="uq_study_pair_position"),
                      Index("ix_study_pairs_study", "study_id", "kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # "real" | "check"
    key: Mapped[str] = mapped_column(String(500))  # the prompt's id in the answer files
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)  # the model's (a check: the intact reference)
    reference: Mapped[str] = mapped_column(Text)  # the reference's (a check: the broken copy)


class Assignment(Base):
    __tablename__ = "study_assignments"
    __table_args__ = (UniqueConstraint("pair_id", "rater", name="uq_assignment_pair_rater"),
                      Index("ix_assignments_study_rater", "study_id", "rater"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # opaque, shown to raters
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    pair_id: Mapped[int] = mapped_column(ForeignKey("study_pairs.id", ondelete="CASCADE"),
                                         index=True)
    rater: Mapped[str] = mapped_column(String(120))  # a user name, or "annotatorK" imported
    reference_left: Mapped[bool] = mapped_column(Boolean)
    verdict: Mapped[Optional[str]] = mapped_column(String(8))  # None while open
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    pair: Mapped[StudyPair] = relationship()


class JudgeVerdict(Base):
    __tablename__ = "study_judge_verdicts"
    __table_args__ = (UniqueConstraint("pair_id", "judge", name="uq_judge_verdict_pair"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"),
                                          index=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("study_pairs.id", ondelete="CASCADE"))
    judge: Mapped[str] = mapped_column(String(300))  # "MODEL with PROMPT"
    verdict: Mapped[str] = mapped_column(String(16))  # "1" | "2" | "tie" | "unscored"
    source: Mapped[str] = mapped_column(Text, default="")
