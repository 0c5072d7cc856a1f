"""The experiment's YAML file: one frozen dataclass, unknown keys an error.

    name: gemma3-270m x Alpaca-GPT4
    output_dir: experiments/default
    base_models: [gemma3-270m]
    data:                         # data kind -> the files prepare reads ({data}: the data folder)
      broad: {inputs: "{data}/imitation/alpaca_gpt4/alpaca_data_cleaned_1000.json",
              format: alpaca, teacher: gpt-4}
    budgets: [10000, 30000, 90000]        # nested token budgets (null: all the prepared data)
    train: {lr: 1.0e-4, max_seq_len: 512}  # any sft setting but model/data/output_dir
    eval: {tasks: [...], limit: 100}       # imitation-eval run settings, the same for every model
    teacher: gpt-4                         # its row: published figures + what the data measures
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judges.config import ConfigError, load_yaml
from judges.data import data_dir as find_data_dir

RESERVED_TRAIN = frozenset({"model", "data", "output_dir", "token_budget", "data_kind",
                            "teacher"})
DEFAULT_EVAL = {"chat_template": "declared", "confirm_run_unsafe_code": True}
PREPARE_KEYS = frozenset({"inputs", "format", "teacher", "source"})
# a task name fragment -> the contamination benchmark of its items (imitation_train.contamination)
TASK_BENCHMARKS = (("nq_", "nq_open"), ("mmlu", "mmlu"), ("humaneval", "humaneval"),
                   ("truthfulqa", "truthfulqa"), ("simpleqa", "simpleqa"),
                   ("style_profile", "alpaca_eval"), ("alpaca_eval", "alpaca_eval"),
                   ("koala", "koala"), ("vicuna", "vicuna"), ("mt_bench", "mt_bench"),
                   ("suite", "nq_open,mmlu,humaneval,truthfulqa,simpleqa,alpaca_eval,koala"))


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = field(default="experiment", metadata={"help": "a title for the report"})
    output_dir: str = field(default="experiments/run", metadata={
        "help": "where data, models, results, the leaderboard and the report go"})
    base_models: list = field(default_factory=lambda: ["gemma3-270m"], metadata={
        "help": "presets, model folders or Hub ids of the base models"})
    data: dict = field(default_factory=dict, metadata={
        "help": "data kind -> {inputs, format, teacher}: the files prepare reads"})
    budgets: list = field(default_factory=lambda: [None], metadata={
        "help": "nested token budgets (null: all the prepared data)"})
    train: dict = field(default_factory=dict, metadata={"help": "sft settings for every run"})
    eval: dict = field(default_factory=dict, metadata={
        "help": "imitation-eval run settings, identical for base and checkpoints"})
    prepare: dict = field(default_factory=dict, metadata={
        "help": "prepare settings (dedupe, benchmarks, ngram, ...) for every data kind"})
    teacher: str | None = field(default=None, metadata={
        "help": "the teacher's leaderboard row: published figures (leaderboard.teachers) and "
                "the style of its replies measured on the eval's style prompts"})
    data_dir: str | None = field(default=None, metadata={
        "help": "shared data folder (default: IMITATION_SUITE_DATA, else ../shared/data)"})
    leaderboard_db: str | None = field(default=None, metadata={
        "help": "the leaderboard store (default: sqlite:///OUTPUT_DIR/leaderboard.sqlite)"})
    bootstrap_draws: int = field(default=2000, metadata={"help": "draws for the 95% CIs"})
    seed: int = field(default=1234, metadata={"help": "seed of the CIs' bootstrap"})

    def __post_init__(self) -> None:
        if not self.base_models or not all(isinstance(m, str) for m in self.base_models):
            raise ConfigError("base_models must be a non-empty list of model names")
        budgets = [b for b in self.budgets if b is not None]
        if any(isinstance(b, bool) or not isinstance(b, int) or b <= 0 for b in budgets):
            raise ConfigError(f"budgets: {self.budgets} must be positive token counts or null")
        if budgets != sorted(set(budgets)) or self.budgets.count(None) > 1:
            raise ConfigError(f"budgets: {self.budgets} must increase, each once (null last)")
        if not self.data:
            raise ConfigError("data must name at least one data kind, e.g. "
                              "broad: {inputs: FILE, format: alpaca, teacher: gpt-4}")
        for kind, spec in self.data.items():
            if not isinstance(spec, dict) or "inputs" not in spec or set(spec) - PREPARE_KEYS:
                raise ConfigError(f"data.{kind}: expected {{inputs, format, teacher, source}} "
                                  f"with inputs, got {spec!r}")
        bad = RESERVED_TRAIN & set(self.train)
        if bad:
            raise ConfigError(f"train must not set {sorted(bad)}: the experiment sets them")

    @property
    def root(self) -> Path:
        return Path(self.output_dir)

    @property
    def db(self) -> str:
        return self.leaderboard_db or f"sqlite:///{self.root / 'leaderboard.sqlite'}"

    def eval_settings(self) -> dict[str, Any]:
        return {**DEFAULT_EVAL, **self.eval}

    def benchmarks(self) -> str:
        """The contamination sets: prepare's defaults plus every set the eval tasks use."""
        from imitation_train.contamination import DEFAULT_BENCHMARKS

        tasks = self.eval.get("tasks", "")
        names = tasks if isinstance(tasks, (list, tuple)) else str(tasks).split(",")
        found = list(DEFAULT_BENCHMARKS)
        for name in names:
            for fragment, sets in TASK_BENCHMARKS:
                if fragment in str(name):
                    found += [b for b in sets.split(",") if b not in found]
        return ",".join(self.prepare.get("benchmarks", ",".join(found)).split(","))

    def inputs(self, kind: str) -> list[Path]:
        """The data kind's files, ``{data}`` replaced by the shared data folder."""
        text = str(self.data[kind]["inputs"])
        if "{data}" in text:
            text = text.replace("{data}", str(find_data_dir(self.data_dir)))
        return [Path(p.strip()) for p in text.split(",") if p.strip()]


def load_experiment(path: Path, **overrides: Any) -> ExperimentConfig:
    values = {**load_yaml(path, ExperimentConfig), **overrides}
    try:
        return ExperimentConfig(**values)
    except TypeError as err:
        raise ConfigError(f"{path}: {err}") from None


def as_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
