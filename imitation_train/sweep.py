"""``imitation-train sweep CONFIG.yaml``: base models x token budgets x data kinds, each trained
with ``sft`` and then evaluated by the suite (``harness_tasks.runner.run``, in a fresh child
process per evaluation so each model's memory is freed: :mod:`imitation_train.evaluation`).

    output_dir: sweeps/paper
    base_models: [smollm2-135m-instruct, gemma3-270m]
    budgets: [300000, 3000000, null]          # tokens; null = all the data
    data:                                     # data kind -> file(s)
      broad: data/sharegpt_mix.jsonl
      local: data/nq_synthetic.jsonl
    evaluate_base: true                       # also score each base model once
    train: {lr: 2.0e-5, max_seq_len: 2048}    # any sft setting but model/data/output_dir
    eval: {tasks: imitation_suite_lite}       # imitation-eval run settings but pretrained/output_dir
    push: false                               # true: push each result with imitation-leaderboard
    push_db: sqlite:///sweeps/leaderboard.sqlite   # or push_url: http://HOST:8000 (token in env)

Runs go to ``output_dir/<model>/<kind>/budget-<N|all>/`` (model folder ``model/``, eval results
``eval/``). A run whose model and results exist is skipped, so an interrupted sweep resumes (and
a half-trained run resumes from its last checkpoint). ``sweep.jsonl`` lists every run.

With ``push: true`` every results folder (its imitation card included) goes to the
leaderboard (:mod:`leaderboard.push`): over HTTP to ``push_url`` with the token in
``push_token_env``, or into the local store ``push_db``. A sweep that cannot push (no token,
neither or both targets) stops before training.

Each evaluation's full output (lm-eval's warnings, the progress line, the summary) is echoed to
stderr and kept in ``<run>/eval.log``; a failed evaluation stops the sweep with its error (the
same message ``imitation-eval`` prints), also written at the end of that log.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from imitation_train.evaluation import RESERVED as _RESERVED_EVAL
from imitation_train.evaluation import evaluate as evaluate_in_child
from imitation_train.evaluation import run_config
from judges.config import ConfigError, load_yaml

log = logging.getLogger(__name__)
PushFn = Callable[[Path, "SweepRun", "dict[str, Any] | None"], Any]
# (sweep config, model to evaluate, output folder) -> the results folder it wrote
EvalFn = Callable[["SweepConfig", str, Path], Path]
_RESERVED_TRAIN = {"model", "data", "output_dir", "token_budget", "data_kind"}


@dataclass(frozen=True)
class SweepConfig:
    output_dir: str = field(default="sweeps/run", metadata={"help": "where every run goes"})
    base_models: list = field(default_factory=lambda: ["smollm2-135m-instruct"], metadata={
        "help": "presets, folders or Hub ids"})
    budgets: list = field(default_factory=lambda: [None], metadata={
        "help": "token budgets (null: all the data); each smaller one is a subset of larger"})
    data: dict = field(default_factory=dict, metadata={
        "help": "data kind -> training file (or comma-separated files)"})
    evaluate_base: bool = field(default=True, metadata={"help": "also evaluate base models"})
    train: dict = field(default_factory=dict, metadata={"help": "sft settings for every run"})
    eval: dict = field(default_factory=dict, metadata={"help": "imitation-eval run settings"})
    push: bool = field(default=False, metadata={"help": "push results to the leaderboard"})
    push_url: str | None = field(default=None, metadata={
        "help": "a running leaderboard's URL to push to over HTTP"})
    push_db: str | None = field(default=None, metadata={
        "help": "or a local leaderboard store to push into (sqlite:///FILE or postgresql+psycopg://...)"})
    push_token_env: str = field(default="IMITATION_LEADERBOARD_TOKEN", metadata={
        "help": "environment variable holding the leaderboard write token"})

    def __post_init__(self) -> None:
        if not self.base_models or not all(isinstance(m, str) for m in self.base_models):
            raise ConfigError("base_models must be a non-empty list of model names")
        for b in self.budgets:
            if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b <= 0):
                raise ConfigError(f"budgets: {b!r} is not a positive token count or null")
        if not self.data or not all(isinstance(v, str) for v in self.data.values()):
            raise ConfigError("data must map each data kind to a file (e.g. broad: x.jsonl)")
        bad = (_RESERVED_TRAIN & set(self.train)) | (_RESERVED_EVAL & set(self.eval))
        if bad:
            raise ConfigError(f"train/eval must not set {sorted(bad)}: the sweep sets them")


@dataclass(frozen=True)
class SweepRun:
    model: str
    kind: str  # data kind, or "base" for the untrained base model
    budget: int | None
    folder: Path

    @property
    def name(self) -> str:
        if self.kind == "base":
            return f"{model_slug(self.model)}/base"
        return f"{model_slug(self.model)}/{self.kind}/{_budget_name(self.budget)}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def model_slug(model: str) -> str:
    """A folder name for a model: a local folder's own name, else the slugged name or Hub id."""
    return slug(Path(model).name if Path(model).is_dir() else model)


def _budget_name(budget: int | None) -> str:
    return "base" if budget == 0 else f"budget-{budget if budget is not None else 'all'}"


def load_sweep(path: Path) -> SweepConfig:
    values = load_yaml(path, SweepConfig)
    try:
        return SweepConfig(**values)
    except TypeError as err:
        raise ConfigError(f"{path}: {err}") from None


def plan_runs(cfg: SweepConfig) -> list[SweepRun]:
    return run_grid(Path(cfg.output_dir), cfg.base_models, list(cfg.data), cfg.budgets,
                    cfg.evaluate_base)


def run_grid(root: Path, models: list[str], kinds: list[str], budgets: list[int | None],
             with_base: bool = True) -> list[SweepRun]:
    """Every run in order (per model: its base, then each data kind x budget), each in
    ``root/<model>/base`` or ``root/<model>/<kind>/budget-<N|all>``; sweeps and experiments."""
    runs = []
    for model in models:
        if with_base:
            runs.append(SweepRun(model, "base", 0, root / model_slug(model) / "base"))
        for kind in kinds:
            for budget in budgets:
                runs.append(SweepRun(model, kind, budget, root / model_slug(model) /
                                     slug(kind) / _budget_name(budget)))
    folders = [r.folder for r in runs]
    if len(set(folders)) != len(folders):
        raise ConfigError("two runs would share a folder (same model folder name, data kind "
                          "or budget twice); rename one")
    return runs


def _train_config(cfg: SweepConfig, run: SweepRun) -> Any:
    from imitation_train.train_config import SFTConfig

    known = {f.name for f in dataclasses.fields(SFTConfig)}
    unknown = sorted(set(cfg.train) - known)
    if unknown:
        raise ConfigError(f"train: unknown sft setting(s) {unknown}")
    return SFTConfig(**{**cfg.train, "model": run.model, "data": cfg.data[run.kind],
                        "output_dir": str(run.folder), "token_budget": run.budget,
                        "data_kind": run.kind})


def check_eval_settings(cfg: SweepConfig) -> None:
    """Before any training: every ``eval`` setting is one the suite knows, with a valid value."""
    run_config(cfg.eval, "model", Path("out"))


def evaluate(cfg: SweepConfig, pretrained: str, out: Path) -> Path:
    """Evaluate ``pretrained`` in a child process; its results folder."""
    return evaluate_in_child(cfg.eval, pretrained, out, out.parent / "eval.log").folder


def leaderboard_push(cfg: SweepConfig) -> PushFn | None:
    """The push hook, or None when pushing is off; an error before any training when it is on
    but cannot work: to a running leaderboard over HTTP (``push_url``, token from
    ``push_token_env``) or into a local store (``push_db``)."""
    if not cfg.push:
        return None
    if bool(cfg.push_url) == bool(cfg.push_db):
        raise ConfigError("push: true needs exactly one of push_url (a running leaderboard) "
                          "or push_db (a local store, e.g. sqlite:///leaderboard.sqlite)")
    if cfg.push_url and not os.environ.get(cfg.push_token_env):
        raise ConfigError(f"push: true needs the write token in ${cfg.push_token_env}")
    from leaderboard.push import Target, push_results

    target = Target(db=cfg.push_db, url=cfg.push_url, token_env=cfg.push_token_env)
    engine = None if cfg.push_url else target.engine()

    def push(folder: Path, run: SweepRun, card: dict[str, Any] | None) -> Any:
        spec = push_spec(run, card)
        return push_results(target, folder, name=spec["name"], kind=spec["kind"],
                            base=spec.get("base"), teacher=spec.get("teacher"), engine=engine)

    return push


def push_spec(run: SweepRun, card: dict[str, Any] | None) -> dict[str, Any]:
    """The leaderboard's model spec of a run: its name, kind, base and teacher."""
    model = {"name": run.name.replace("/", "-") if run.kind != "base" else
             model_slug(run.model), "kind": "base" if run.kind == "base" else "imitation"}
    if card:
        model["base"] = model_slug(run.model)
        if card.get("teacher"):
            model["teacher"] = card["teacher"]
    return model


def _done(run: SweepRun) -> Path | None:
    marker = run.folder / "eval_done.json"
    if marker.is_file():
        return Path(json.loads(marker.read_text(encoding="utf-8"))["results"])
    return None


def run_one(cfg: SweepConfig, run: SweepRun, push: PushFn | None,
            train_fn: Callable[[Any], Any] | None = None,
            eval_fn: EvalFn = evaluate) -> dict[str, Any]:
    from imitation_train.card import read_card
    from imitation_train.trainer import train

    row: dict[str, Any] = {"run": run.name, "model": run.model, "kind": run.kind,
                           "budget": run.budget, "folder": str(run.folder)}
    done = _done(run)
    if done is not None:
        return {**row, "status": "skipped (done)", "results": str(done)}
    pretrained = run.model
    card = None
    if run.kind != "base":
        model_dir = run.folder / "model"
        if read_card(model_dir) is None:
            (train_fn or train)(_train_config(cfg, run))
        pretrained, card = str(model_dir), read_card(model_dir)
    # imitation-eval copies the model folder's imitation card next to the results
    results = eval_fn(cfg, pretrained, run.folder / "eval")
    run.folder.mkdir(parents=True, exist_ok=True)
    (run.folder / "eval_done.json").write_text(json.dumps({"results": str(results)}) + "\n",
                                               encoding="utf-8")
    if push is not None:
        push(results, run, card)
    return {**row, "status": "done", "results": str(results)}


def run_sweep(cfg: SweepConfig, dry_run: bool = False,
              eval_fn: EvalFn = evaluate) -> list[dict[str, Any]]:
    runs = plan_runs(cfg)
    if dry_run:
        return [{"run": r.name, "folder": str(r.folder), "status": "planned"} for r in runs]
    for run in runs:  # fail on bad settings before hours of training, not after
        if run.kind != "base":
            _train_config(cfg, run)
    check_eval_settings(cfg)
    push = leaderboard_push(cfg)
    Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
    (Path(cfg.output_dir) / "sweep_config.json").write_text(
        json.dumps(dataclasses.asdict(cfg), indent=2) + "\n", encoding="utf-8")
    rows = []
    for i, run in enumerate(runs, start=1):
        log.info("sweep run %d/%d: %s", i, len(runs), run.name)
        row = run_one(cfg, run, push, eval_fn=eval_fn)
        rows.append(row)
        with (Path(cfg.output_dir) / "sweep.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
    return rows
