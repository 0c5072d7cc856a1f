"""Pydantic schemas of what may be pushed (the I/O boundary; records inside are dataclasses).

Unknown fields are an error (``extra="forbid"``), so a typo is a 422 naming the field.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leaderboard.auth import USER_PATTERN
from leaderboard.parse import MAX_ABS, MAX_INT32, MAX_SHOTS, check_card

NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # any printable text; HTML is escaped on output
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # the same, or empty


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    kind: Literal["base", "imitation", "teacher"]
    base: Optional[str] = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    teacher: Optional[str] = Field(default=None, min_length=1, max_length=200,
                                   pattern=NAME_PATTERN)
    params: Optional[int] = Field(default=None, ge=0, le=10**15)

    @field_validator("name", "base", "teacher")
    @classmethod
    def _strip(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


class PushPayload(BaseModel):
    """One run: the results.json dict verbatim, optional samples per task, card and config."""

    model_config = ConfigDict(extra="forbid")
    model: ModelSpec
    results: dict[str, Any]
    samples: Optional[dict[str, list[dict[str, Any]]]] = None
    card: Optional[dict[str, Any]] = None
    config: Optional[dict[str, Any]] = None

    @field_validator("card")
    @classmethod
    def _card(cls, card: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
        if card is not None:
            check_card(card)  # the fields stored in columns (names, data kind, tokens)
        return card


class PublishedScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    metric: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    value: float = Field(allow_inf_nan=False, ge=-MAX_ABS, le=MAX_ABS)
    stderr: Optional[float] = Field(default=None, ge=0, le=MAX_ABS, allow_inf_nan=False)
    n: Optional[int] = Field(default=None, ge=1, le=MAX_INT32)
    filter: str = Field(default="none", max_length=100, pattern=TEXT_PATTERN)
    task_version: str = Field(default="1.0", max_length=50, pattern=TEXT_PATTERN)
    n_shot: int = Field(default=0, ge=0, le=MAX_SHOTS)
    chat_template: bool = False
    judge_model: str = Field(default="", max_length=200, pattern=TEXT_PATTERN)
    judge_prompt: str = Field(default="", max_length=200, pattern=TEXT_PATTERN)
    harness_version: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN,
                                 description=(
        "the harness version whose protocol the published number follows (it joins the "
        "column of suite runs with the same identity)"))
    higher_is_better: bool = True


class PublishedPayload(BaseModel):
    """Published numbers for a teacher (or any model), entered with their source."""

    model_config = ConfigDict(extra="forbid")
    model: ModelSpec
    source: str = Field(min_length=3, max_length=500, pattern=NAME_PATTERN)
    scores: list[PublishedScore] = Field(min_length=1, max_length=10_000)
    # True: computed by the suite from the teacher's own outputs (e.g. its replies' style),
    # not taken from a report; the page says "measured from the teacher's outputs"
    measured: bool = False

    @model_validator(mode="after")
    def _one_number_per_column(self) -> PublishedPayload:
        seen: dict[tuple[Any, ...], int] = {}
        for k, s in enumerate(self.scores):
            key = (s.task, s.task_version, s.n_shot, s.chat_template, s.judge_model,
                   s.judge_prompt, s.harness_version, s.metric, s.filter)
            if key in seen:
                raise ValueError(f"scores[{k}] has the identity of scores[{seen[key]}] (task, "
                                 "metric, filter, versions, shots, judge): one number each")
            seen[key] = k
        return self


class AgreementPayload(BaseModel):
    """An ``imitation-judge agreement`` report (agreement.json), stored for the judge panel."""

    model_config = ConfigDict(extra="allow")
    dataset: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    judge: str = Field(min_length=1, max_length=300, pattern=NAME_PATTERN)
    judge_vs_majority: dict[str, Any]

    @field_validator("judge_vs_majority")
    @classmethod
    def _numbers(cls, report: dict[str, Any]) -> dict[str, Any]:
        _agreement_numbers(report, "judge_vs_majority")
        return report

    @model_validator(mode="after")
    def _humans(self) -> AgreementPayload:
        humans = (self.model_extra or {}).get("human_vs_human_mean")
        if humans is not None:
            if not isinstance(humans, dict):
                raise ValueError("human_vs_human_mean must be an object")
            _agreement_numbers(humans, "human_vs_human_mean")
        return self


AGREEMENT_NUMBERS = ("agreement_with_ties", "agreement_without_ties", "cohen_kappa", "n")


def _agreement_numbers(report: dict[str, Any], where: str) -> None:
    """The numbers the judge panel shows: finite, of sane size, or null."""
    for key in AGREEMENT_NUMBERS:
        value = report.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                -MAX_ABS <= value <= MAX_ABS):
            raise ValueError(f"{where}.{key} must be a number (|x| <= {MAX_ABS:g}) or null, "
                             f"got {value!r:.40}")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=100, pattern=USER_PATTERN)
    scopes: list[Literal["read", "push", "admin", "rate"]] = Field(min_length=1, max_length=8)
