"""Run the no-judge factuality probes on one or more models and print one table.

    python benchmarks/factuality_probes.py --models smollm2-135m-instruct,gemma3-270m
    python benchmarks/factuality_probes.py --size full --models smollm2-135m-instruct
    python benchmarks/factuality_probes.py --references-only   # teacher-side style rows only
    python benchmarks/factuality_probes.py --size full --from-full-runs docs/measurements/full-runs

The last form prints the table from the resumable full-size runs of ``benchmarks/full_runs.py``
(``truthfulqa``, ``nq_knowledge_choice``, ``nq_graded``, ``simpleqa``, ``style_profile``), with
"-" for probes not finished yet.

Each model runs the probes through ``imitation-eval run`` (so results folders, samples and the
resolved config are written as usual, under ``--out``), then the table shows, per model, the
three-way figures (SimpleQA, NQ), knowledge versus format on the same NQ questions (generative
accuracy next to 4-way choice accuracy; chance 25%), TruthfulQA MC1/MC2 and the style profile
against gpt-3.5-turbo-0301. Reference rows give the same style profile for other AlpacaEval
generators' answers (GPT-4, text-davinci-003, Alpaca-7B) against gpt-3.5-turbo-0301: no model
runs for those. Needs IMITATION_SUITE_DATA (or ../shared/data next to the checkout).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = ("imitation_simpleqa", "imitation_nq_graded", "imitation_nq_knowledge_choice",
         "imitation_truthfulqa_mc1", "imitation_truthfulqa_mc2", "imitation_style_profile")
REFERENCE_GENERATORS = {"gpt-4-0314": "gpt4_model_outputs.json.gz",
                        "text-davinci-003": "text_davinci_003_model_outputs.json.gz",
                        "alpaca-7b": "alpaca-7b_model_outputs.json.gz"}
STYLE = ("list_when_teacher_lists", "summary_paragraph", "unigram_overlap", "length_pearson",
         "mean_length")


def _data_dir() -> Path:
    value = os.environ.get("IMITATION_SUITE_DATA")
    path = Path(value) if value else (REPO / ".." / "shared" / "data").resolve()
    if not path.is_dir():
        raise SystemExit("set IMITATION_SUITE_DATA to the shared data folder")
    os.environ["IMITATION_SUITE_DATA"] = str(path)
    return path


def run_model(model: str, size: str, limit: int | None, batch_size: int, out: Path,
              chat: bool) -> dict:
    tasks = [t if size == "full" else f"{t}_lite" for t in TASKS]
    cmd = [sys.executable, "-m", "harness_tasks", "run", "--pretrained", model,
           "--tasks", ",".join(tasks), "--batch-size", str(batch_size),
           "--output-dir", str(out)] + (["--apply-chat-template"] if chat else [])
    if limit:
        cmd += ["--limit", str(limit)]
    start = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    [results] = sorted(out.rglob("results.json"), key=lambda p: p.stat().st_mtime)[-1:]
    data = json.loads(results.read_text())
    data["_wall_s"] = time.time() - start
    data["_path"] = str(results)
    return data


def _number(value: float | None) -> float:
    """The table's cell value: a figure that does not apply (None, null) shows as "-"."""
    return math.nan if value is None else float(value)


def _metric(results: dict, task: str, name: str) -> float:
    for key, value in results.get(task, {}).items():
        if key.split(",")[0] == name and not key.split(",")[0].endswith("_stderr"):
            return _number(value)
    return math.nan


def model_row(data: dict, size: str) -> dict[str, float]:
    sfx = "" if size == "full" else "_lite"
    r = data["results"]
    row = {}
    for probe in ("simpleqa", "nq_graded"):
        for name in ("accuracy", "accuracy_given_attempted", "f1", "not_attempted_rate",
                     "confident_wrong_rate", "llm_graded"):
            row[f"{probe}.{name}"] = _metric(r, f"imitation_{probe}{sfx}", name)
    row["nq_choice.acc"] = _metric(r, f"imitation_nq_knowledge_choice{sfx}", "acc")
    row["nq_choice.acc_norm"] = _metric(r, f"imitation_nq_knowledge_choice{sfx}", "acc_norm")
    row["truthfulqa.mc1"] = _metric(r, f"imitation_truthfulqa_mc1{sfx}", "acc")
    row["truthfulqa.mc2"] = _metric(r, f"imitation_truthfulqa_mc2{sfx}", "acc")
    for name in STYLE:
        row[f"style.{name}"] = _metric(r, f"imitation_style_profile{sfx}", name)
    return row


def reference_rows(data_dir: Path, size: str) -> dict[str, dict[str, float]]:
    from harness_tasks.factuality.style_profile import features, profile
    from harness_tasks.subsets import seeded_indices

    folder = data_dir / "eval_prompts" / "alpaca_eval"
    teacher = json.loads(gzip.open(folder / "gpt-3.5-turbo-0301_model_outputs.json.gz").read())
    indices = range(len(teacher)) if size == "full" else seeded_indices(len(teacher), 20)
    rows = {}
    for name, file in REFERENCE_GENERATORS.items():
        other = json.loads(gzip.open(folder / file).read())
        by_prompt = {o["instruction"]: o["output"] for o in other}
        items = [features(by_prompt[teacher[i]["instruction"]], teacher[i]["output"])
                 for i in indices if teacher[i]["instruction"] in by_prompt]
        rows[name] = {f"style.{k}": _number(v) for k, v in profile(items).items() if k in STYLE}
    return rows


def full_run_results(folder: Path, model: str) -> dict:
    """lm-eval-shaped ``{"results": {task: metrics}}`` from full_runs.py's per-task records."""
    results = {}
    for path in sorted((folder / Path(model).name).glob("*/imitation_*.json")):
        if ".part" not in path.name:
            record = json.loads(path.read_text())
            results[record["task"]] = record["metrics"]
    return {"results": results}


def print_table(rows: dict[str, dict[str, float]]) -> None:
    names = list(rows)
    keys = sorted({k for r in rows.values() for k in r})
    width = max(len(k) for k in keys) + 2
    print("metric".ljust(width) + "".join(n[:22].rjust(24) for n in names))
    for key in keys:
        cells = []
        for n in names:
            v = rows[n].get(key, math.nan)
            cells.append(("-" if math.isnan(v) else f"{v:.3f}").rjust(24))
        print(key.ljust(width) + "".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="smollm2-135m-instruct,gemma3-270m",
                        help="comma-separated presets or HF folders")
    parser.add_argument("--size", choices=("lite", "full"), default="lite")
    parser.add_argument("--limit", type=int, default=None, help="first N docs per task only")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--chat-models", default="smollm2-135m-instruct",
                        help="comma-separated models run with --apply-chat-template (instruction-"
                             "tuned ones); the others get plain prompts (base models)")
    parser.add_argument("--out", default=str(REPO / "results" / "factuality_probes"))
    parser.add_argument("--references-only", action="store_true",
                        help="only the teacher-side style rows (no model runs)")
    parser.add_argument("--from-full-runs", default=None, metavar="DIR",
                        help="no model runs: read full_runs.py's records under DIR (--size full)")
    args = parser.parse_args(argv)
    data_dir = _data_dir()
    rows: dict[str, dict[str, float]] = {}
    if args.from_full_runs:
        if args.size != "full":
            parser.error("--from-full-runs goes with --size full")
        for model in args.models.split(","):
            rows[model] = model_row(full_run_results(Path(args.from_full_runs), model), "full")
    elif not args.references_only:
        chat_models = set(args.chat_models.split(","))
        for model in args.models.split(","):
            data = run_model(model, args.size, args.limit, args.batch_size,
                             Path(args.out) / model.replace("/", "_"), model in chat_models)
            rows[model] = model_row(data, args.size)
            rows[model]["wall_s"] = data["_wall_s"]
            print(f"{model}: {data['_path']} ({data['_wall_s']:.0f} s)", file=sys.stderr)
    rows.update(reference_rows(data_dir, args.size))
    print(f"size={args.size} limit={args.limit} (style reference: gpt-3.5-turbo-0301 replies)")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
