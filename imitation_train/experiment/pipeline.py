"""The experiment's stages, in order: prepare each data kind, then for each base model evaluate
it and train + evaluate every (data kind, budget); then push everything with the teacher's row
into the leaderboard store and write the report.

    OUTPUT_DIR/
      stages.json                      what finished, with which settings (ledger.py)
      data/<kind>.jsonl (+ .stats.json) deduplicated, decontaminated imitation data
      runs/<model>/base/eval/...       the base model's results
      runs/<model>/<kind>/budget-N/    model/ (checkpoint + imitation card), eval/ (results)
      leaderboard.sqlite               base, checkpoints, teacher
      report/                          report.md, figures (PNG + SVG), table.json
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from imitation_train.experiment.config import ExperimentConfig
from imitation_train.experiment.ledger import Ledger, Stage
from imitation_train.experiment.progress import ExperimentProgress
from imitation_train.sweep import SweepRun, push_spec, run_grid, slug

log = logging.getLogger(__name__)
TrainFn = Callable[[Any], Any]
EvalFn = Callable[[dict, str, Path, Path], Path]  # settings, model, out, log -> results


@dataclass(frozen=True)
class Planned:
    stage: Stage
    run: SweepRun | None = None  # train / evaluate stages
    tokens: int = 0  # training tokens (the progress display's cost of a train stage)


def _prepare_settings(cfg: ExperimentConfig, kind: str) -> dict[str, Any]:
    spec = cfg.data[kind]
    inputs = [str(p) for p in cfg.inputs(kind)]
    sizes = {p: Path(p).stat().st_size if Path(p).is_file() else None for p in inputs}
    return {**cfg.prepare, "benchmarks": cfg.benchmarks(), "inputs": ",".join(inputs), "format": spec.get("format", "auto"),
            "teacher": spec.get("teacher"), "source": spec.get("source"),
            "data_dir": cfg.data_dir, "tokenizer": cfg.base_models[0], "input_sizes": sizes,
            "output": str(cfg.root / "data" / f"{slug(kind)}.jsonl")}


def _sft_settings(cfg: ExperimentConfig, run: SweepRun, data_file: str) -> dict[str, Any]:
    return {**cfg.train, "model": run.model, "data": data_file,
            "output_dir": str(run.folder), "token_budget": run.budget,  # model in model/
            "data_kind": run.kind, "teacher": cfg.data[run.kind].get("teacher")}


def plan(cfg: ExperimentConfig) -> list[Planned]:
    """Every stage with its fingerprint, before anything runs."""
    out: list[Planned] = []
    prepared: dict[str, dict[str, Any]] = {}
    for kind in cfg.data:
        settings = _prepare_settings(cfg, kind)
        prepared[kind] = settings
        out.append(Planned(Stage(f"prepare {kind}", "prepare", settings,
                                 Path(settings["output"]))))
    settings_eval = cfg.eval_settings()
    for run in run_grid(cfg.root / "runs", cfg.base_models, list(cfg.data), cfg.budgets):
        if run.kind == "base":
            out.append(Planned(Stage(f"evaluate {run.name}", "evaluate",
                                     {"model": run.model, "eval": settings_eval}, run.folder),
                               run))
            continue
        sft = _sft_settings(cfg, run, prepared[run.kind]["output"])
        train_fp = {"sft": sft, "data": prepared[run.kind]}
        out.append(Planned(Stage(f"train {run.name}", "train", train_fp, run.folder / "model"),
                           run, run.budget or 0))
        out.append(Planned(Stage(f"evaluate {run.name}", "evaluate",
                                 {"model": train_fp, "eval": settings_eval},
                                 run.folder / "eval"), run))
    return out


def _prepare(cfg: ExperimentConfig, stage: Stage) -> dict[str, Any]:
    from imitation_train.prepare import PrepareConfig, prepare

    settings = {k: v for k, v in stage.fingerprint.items() if k != "input_sizes"}
    stats = prepare(PrepareConfig(**settings, progress=False))
    return {"records": stats["records"], "total_tokens": stats["total_tokens"],
            "supervised_tokens": stats["supervised_tokens"],
            "contamination": stats.get("contamination"), "dedupe": stats.get("dedupe")}


def _train_in_child(cfg: Any) -> Any:
    from imitation_train.trainer import train

    return train(cfg)


def _train(stage: Stage, train_fn: TrainFn | None) -> dict[str, Any]:
    """Train in a fresh process (the parent stays small while the next evaluation runs)."""
    from imitation_train.evaluation import in_child
    from imitation_train.train_config import SFTConfig

    cfg = SFTConfig(**stage.fingerprint["sft"])
    result = (train_fn(cfg) if train_fn is not None else
              in_child(_train_in_child, cfg, what=f"training {stage.id}"))
    card = result.card if result is not None else {}
    return {"imitation_tokens": card.get("imitation_tokens"), "steps": result.steps,
            "final_loss": result.losses[-1] if result.losses else None}


def _evaluate(cfg: ExperimentConfig, p: Planned, eval_fn: EvalFn | None) -> dict[str, Any]:
    from imitation_train.evaluation import evaluate

    assert p.run is not None
    model = p.run.model if p.run.kind == "base" else str(p.run.folder / "model")
    out, log_file = p.run.folder / "eval", p.run.folder / "eval.log"
    if eval_fn is not None:
        folder = eval_fn(cfg.eval_settings(), model, out, log_file)
    else:
        folder = evaluate(cfg.eval_settings(), model, out, log_file, echo=False).folder
    return {"results": str(folder)}


def run_stages(cfg: ExperimentConfig, train_fn: TrainFn | None = None,
               eval_fn: EvalFn | None = None) -> dict[str, Any]:
    """Run (or skip, when finished with the same settings) every stage; the ledger."""
    from imitation_train.evaluation import run_config

    planned = plan(cfg)
    run_config(cfg.eval_settings(), "model", Path("out"))  # bad eval settings: before any work
    ledger = Ledger(cfg.root / "stages.json")
    ledger.check([p.stage for p in planned])
    cfg.root.mkdir(parents=True, exist_ok=True)
    (cfg.root / "experiment_config.json").write_text(
        json.dumps(dataclasses.asdict(cfg), indent=2) + "\n", encoding="utf-8")
    progress = ExperimentProgress([(p.stage.id, p.stage.kind, p.tokens) for p in planned],
                                  finished={p.stage.id: ledger.finished(p.stage)["seconds"]
                                            for p in planned if ledger.finished(p.stage)})
    for i, p in enumerate(planned):
        if ledger.finished(p.stage):
            progress.end(i, 0.0, skipped=True)
            continue
        progress.begin(i)
        start = time.monotonic()
        if p.stage.kind == "prepare":
            result = _prepare(cfg, p.stage)
        elif p.stage.kind == "train":
            result = _train(p.stage, train_fn)
        else:
            result = _evaluate(cfg, p, eval_fn)
        seconds = time.monotonic() - start
        ledger.record(p.stage, seconds, **result)
        progress.end(i, seconds)
    progress.close()
    return ledger.done


def evaluated_runs(cfg: ExperimentConfig, done: dict[str, Any]) -> list[tuple[SweepRun, Path]]:
    """(run, results folder) of every finished evaluation, in plan order."""
    return [(p.run, Path(done[p.stage.id]["results"])) for p in plan(cfg)
            if p.stage.kind == "evaluate" and p.run is not None and p.stage.id in done]


def push_all(cfg: ExperimentConfig, runs: list[tuple[SweepRun, Path]], engine: Any
             ) -> list[dict[str, Any]]:
    """Every result and the teacher's row into the experiment's leaderboard store (a result
    stored before is reported as a duplicate, so a rerun pushes nothing twice)."""
    from imitation_train.card import read_card
    from imitation_train.experiment.teacher import teacher_rows
    from leaderboard.push import Target, publish_body, push_results

    target = Target(db=cfg.db)
    outcomes = []
    for run, folder in runs:
        card = read_card(run.folder / "model") if run.kind != "base" else None
        spec = push_spec(run, card)
        outcomes.append(push_results(target, folder, name=spec["name"], kind=spec["kind"],
                                     base=spec.get("base"), teacher=spec.get("teacher"),
                                     engine=engine))
    bases = [folder for run, folder in runs if run.kind == "base"]
    if cfg.teacher and bases:
        for body in teacher_rows(cfg.teacher, bases[0]):
            outcomes.append(publish_body(target, body, engine))
    return outcomes
