"""Full-size runs that take hours on a CPU, made resumable: one task at a time, each task's
results written atomically as soon as it finishes, finished tasks skipped on a re-run.

    python benchmarks/full_runs.py mmlu --pretrained smollm2-135m-instruct
    python benchmarks/full_runs.py nq_open_0shot --pretrained smollm2-135m-instruct
    python benchmarks/full_runs.py mmlu --summary        # micro/macro so far, wall time

MMLU is run subject by subject (57 lm-eval tasks, model loaded once), so an interrupted run
loses at most the subject in progress. Output: <out>/<model>/<family>/<task>.json holding
lm-eval's results for that task plus the wall seconds it took.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness_tasks import task_dir  # noqa: E402
from harness_tasks.presets import resolve_model  # noqa: E402
from harness_tasks.runner import RunConfig, apply_data_setting  # noqa: E402
from harness_tasks.tasks.mmlu.subjects import SUBJECTS  # noqa: E402

log = logging.getLogger("full_runs")
FAMILIES = {
    "mmlu": [f"imitation_mmlu_{s}" for s in sorted(SUBJECTS)],
    "nq_open_0shot": ["imitation_nq_open_0shot"],
    "nq_open_3shot": ["imitation_nq_open_3shot"],
}


def summary(folder: Path) -> dict:
    rows = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    out: dict = {"tasks_done": len(rows), "wall_s": round(sum(r["wall_s"] for r in rows), 1)}
    if not rows:
        return out
    metric = "acc,none" if "acc,none" in rows[0]["metrics"] else "exact_match,none"
    sizes = [r["n"] for r in rows]
    values = [r["metrics"][metric] for r in rows]
    out.update({"metric": metric, "n": sum(sizes),
                "micro": sum(v * n for v, n in zip(values, sizes)) / sum(sizes),
                "macro": sum(values) / len(values)})
    if "f1,none" in rows[0]["metrics"]:
        out["f1"] = sum(r["metrics"]["f1,none"] * r["n"] for r in rows) / sum(sizes)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("--pretrained", default="smollm2-135m-instruct")
    parser.add_argument("--batch-size", default="8")
    parser.add_argument("--out", default=str(Path.home() / ".cache/imitation-suite/full-runs"))
    parser.add_argument("--summary", action="store_true", help="print what is done and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    folder = Path(args.out) / Path(args.pretrained).name / args.family
    folder.mkdir(parents=True, exist_ok=True)
    todo = [t for t in FAMILIES[args.family] if not (folder / f"{t}.json").is_file()]
    if args.summary or not todo:
        print(json.dumps(summary(folder) | {"tasks_left": len(todo)}, indent=2))
        return 0

    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    apply_data_setting(RunConfig())
    device = "cuda" if __import__("torch").cuda.is_available() else "cpu"
    model = HFLM(pretrained=resolve_model(args.pretrained), batch_size=args.batch_size,
                 device=device)
    manager = TaskManager(include_path=str(task_dir()))
    for task in todo:
        start = time.perf_counter()
        results = simple_evaluate(model=model, tasks=[task], task_manager=manager,
                                  log_samples=False)
        record = {"task": task, "wall_s": round(time.perf_counter() - start, 1),
                  "n": results["n-samples"][task]["effective"],
                  "metrics": {k: v for k, v in results["results"][task].items()
                              if isinstance(v, (int, float))},
                  "pretrained": args.pretrained, "device": device,
                  "batch_size": args.batch_size, "cpu_count": os.cpu_count()}
        tmp = folder / f".{task}.json.tmp"
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(folder / f"{task}.json")
        log.info("%s: %s in %.0f s", task, record["metrics"], record["wall_s"])
    print(json.dumps(summary(folder), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
