"""The store's tables (SQLAlchemy 2 declarative, typed). Alembic migrations mirror this file.

The identity of a number is a :class:`Benchmark` row: task + task version + n-shot +
chat-template flag + judge model + judge prompt version + harness version (+ metric and filter).
Scores of different benchmarks never share a leaderboard column. Text fields use "" rather
than NULL for "none" so the unique constraint holds on every database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

MODEL_KINDS = ("base", "imitation", "teacher")
RUN_STATUSES = ("verified", "flagged", "unverified", "published")
SCOPES = ("read", "push", "admin", "rate")  # rate: a rater of the human rating studies


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Model(Base):
    """A row of the leaderboard: a base model, an imitation checkpoint or a teacher."""

    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    base_id: Mapped[Optional[int]] = mapped_column(ForeignKey("models.id"))
    teacher_id: Mapped[Optional[int]] = mapped_column(ForeignKey("models.id"))
    params: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the user whose push created the row (leaderboard.lineage); None: unknown, admin only
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[Optional["User"]] = relationship(foreign_keys=[owner_id])
    base: Mapped[Optional["Model"]] = relationship(foreign_keys=[base_id], remote_side=[id])
    teacher: Mapped[Optional["Model"]] = relationship(foreign_keys=[teacher_id], remote_side=[id])
    checkpoint: Mapped[Optional["Checkpoint"]] = relationship(back_populates="model",
                                                              uselist=False)


class Checkpoint(Base):
    """An imitation checkpoint's lineage: its imitation_card, verbatim, plus parsed fields."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), unique=True)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_kind: Mapped[str] = mapped_column(String(200), default="")
    imitation_tokens: Mapped[Optional[int]] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current card's CardVersion
    model: Mapped[Model] = relationship(back_populates="checkpoint")


class CardVersion(Base):
    """Every lineage card a checkpoint has had (a new card adds a version, never overwrites)."""

    __tablename__ = "card_versions"
    __table_args__ = (UniqueConstraint("checkpoint_id", "version", name="uq_card_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_kind: Mapped[str] = mapped_column(String(200), default="")
    imitation_tokens: Mapped[Optional[int]] = mapped_column(BigInteger)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[Optional["User"]] = relationship()


class Run(Base):
    """One pushed evaluation: the lm-eval results JSON verbatim, plus its verification status."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    results_json: Mapped[str] = mapped_column(Text)
    config_json: Mapped[Optional[str]] = mapped_column(Text)
    harness_version: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    status_detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="suite run")
    token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tokens.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    card_version: Mapped[Optional[int]] = mapped_column(Integer)  # the model's card at push time
    model: Mapped[Model] = relationship()


class Benchmark(Base):
    """The identity of a number: one leaderboard column."""

    __tablename__ = "benchmarks"
    __table_args__ = (UniqueConstraint("task", "task_version", "n_shot", "chat_template",
                                       "judge_model", "judge_prompt", "harness_version",
                                       "metric", "filter", name="uq_benchmark_identity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(200))
    task_version: Mapped[str] = mapped_column(String(50))
    n_shot: Mapped[int] = mapped_column(Integer)
    chat_template: Mapped[bool] = mapped_column(Boolean)
    judge_model: Mapped[str] = mapped_column(String(200), default="")
    judge_prompt: Mapped[str] = mapped_column(String(200), default="")
    harness_version: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(100))
    filter: Mapped[str] = mapped_column(String(100))
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    headline: Mapped[bool] = mapped_column(Boolean, default=True)


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("run_id", "benchmark_id", name="uq_score_run_benchmark"),
                      Index("ix_scores_benchmark", "benchmark_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmarks.id"))
    value: Mapped[float] = mapped_column(Float)
    stderr: Mapped[Optional[float]] = mapped_column(Float)
    n: Mapped[Optional[int]] = mapped_column(Integer)
    benchmark: Mapped[Benchmark] = relationship()


class Item(Base):
    """A per-item result from the logged samples (primary metric only): feeds the flips view."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("run_id", "benchmark_id", "doc_id", name="uq_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmarks.id"))
    doc_id: Mapped[int] = mapped_column(Integer)
    doc_hash: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float] = mapped_column(Float)


class JudgeRun(Base):
    """A judge's numbers for one run of a judge task (win rate, position inconsistency, style
    effect) or a judge-human agreement measurement (``kind`` = "agreement")."""

    __tablename__ = "judge_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "pairwise" | "agreement"
    task: Mapped[str] = mapped_column(String(200), default="")
    judge_model: Mapped[str] = mapped_column(String(200))
    judge_prompt: Mapped[str] = mapped_column(String(200), default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Flag(Base):
    __tablename__ = "flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Token(Base):
    """A bearer token: only its SHA-256 is stored; ``prefix`` identifies it in listings."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    user: Mapped[User] = relationship()

    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)
