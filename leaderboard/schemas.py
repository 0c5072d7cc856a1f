"""Pydantic schemas of what may be pushed (the I/O boundary; records inside are dataclasses).

Unknown fields are an error (``extra="forbid"``), so a typo is a 422 naming the field.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # any printable text; HTML is escaped on output


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


class PublishedScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    metric: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    value: float = Field(allow_inf_nan=False)
    stderr: Optional[float] = Field(default=None, ge=0, allow_inf_nan=False)
    n: Optional[int] = Field(default=None, ge=1)
    filter: str = Field(default="none", max_length=100)
    task_version: str = Field(default="1.0", max_length=50)
    n_shot: int = Field(default=0, ge=0, le=1000)
    chat_template: bool = False
    judge_model: str = Field(default="", max_length=200)
    judge_prompt: str = Field(default="", max_length=200)
    harness_version: str = Field(min_length=1, max_length=100, description=(
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


class AgreementPayload(BaseModel):
    """An ``imitation-judge agreement`` report (agreement.json), stored for the judge panel."""

    model_config = ConfigDict(extra="allow")
    dataset: str = Field(min_length=1, max_length=100)
    judge: str = Field(min_length=1, max_length=300)
    judge_vs_majority: dict[str, Any]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    scopes: list[Literal["read", "push", "admin", "rate"]] = Field(min_length=1)
