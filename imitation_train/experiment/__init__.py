"""``imitation-train experiment CONFIG.yaml``: the paper's experiment in one command.

For each base model x data kind x nested token budget: prepare the data (dedup,
decontamination against the eval sets), train, evaluate the base and every checkpoint with
identical settings, push every result and the teacher's row into a leaderboard store, and write
a report (gap closed and raw delta with 95% CIs, the style rows, figures, wall time per stage).
It resumes where it stopped and refuses a changed setting that invalidates a finished stage.
See pipeline.py for the folder layout and configs/ for the shipped configs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from imitation_train.experiment.config import ExperimentConfig, load_experiment

CONFIGS = Path(__file__).resolve().parent / "configs"

__all__ = ["CONFIGS", "ExperimentConfig", "load_experiment", "run_experiment", "write_outputs"]


def write_outputs(cfg: ExperimentConfig, ledger: dict[str, Any]) -> dict[str, Any]:
    """Push everything, then the report of each base model (report/ or report/<model>/)."""
    from imitation_train.experiment.figures import gap_figure, style_factuality_figure
    from imitation_train.experiment.pipeline import evaluated_runs, push_all
    from imitation_train.experiment.report import write_report
    from imitation_train.experiment.table import build_columns, teacher_scores
    from imitation_train.sweep import model_slug
    from leaderboard.push import Target

    runs = evaluated_runs(cfg, ledger)
    engine = Target(db=cfg.db).engine()
    pushed = push_all(cfg, runs, engine)
    teacher = teacher_scores(engine, cfg.teacher) if cfg.teacher else {}
    reports, half_widths = [], {}
    for model in cfg.base_models:
        mine = [(r, f) for r, f in runs if r.model == model]
        rows = [("base" if r.kind == "base" else r.name.split("/", 1)[1].replace("/", "-"),
                 None if r.kind == "base" else
                 ledger.get(f"train {r.name}", {}).get("imitation_tokens"), f) for r, f in mine]
        columns = build_columns(rows, teacher, cfg.bootstrap_draws, cfg.seed)
        folder = cfg.root / "report" / (model_slug(model) if len(cfg.base_models) > 1 else "")
        folder.mkdir(parents=True, exist_ok=True)
        figures = gap_figure(columns, folder) + style_factuality_figure(
            columns, folder, *_axes(columns))
        reports.append(str(write_report(cfg, columns, ledger, figures, folder)))
        half_widths.update({f"{model_slug(model)}: {c.key}": c.half_width() for c in columns})
    stage_seconds = sum(v.get("seconds") or 0 for v in ledger.values())
    return {"pushed": len(pushed), "reports": reports, "leaderboard": cfg.db,
            "stage_seconds_total": round(stage_seconds, 1),
            "ci95_half_width_of_base": half_widths}


def _axes(columns: list[Any]) -> tuple[str, str]:
    """The style row and the factual row of the style-vs-factuality figure."""
    style = next((c.key for c in columns if c.metric == "unigram_overlap"),
                 next((c.key for c in columns if c.style), ""))
    fact = next((c.key for c in columns if not c.style and "nq_open" in c.task),
                next((c.key for c in columns if not c.style), ""))
    return style, fact


def run_experiment(cfg: ExperimentConfig, train_fn: Any = None, eval_fn: Any = None
                   ) -> dict[str, Any]:
    from imitation_train.experiment.pipeline import run_stages

    start = time.monotonic()
    ledger = run_stages(cfg, train_fn=train_fn, eval_fn=eval_fn)
    out = write_outputs(cfg, ledger)
    out["wall_seconds_this_session"] = round(time.monotonic() - start, 1)
    (cfg.root / "experiment_summary.json").write_text(json.dumps(out, indent=2) + "\n",
                                                      encoding="utf-8")
    return out
