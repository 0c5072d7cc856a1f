"""Full-size runs that take hours on a CPU, made resumable: one task at a time, each task's
results written atomically as soon as it finishes, finished tasks skipped on a re-run.

    python benchmarks/full_runs.py mmlu --pretrained smollm2-135m-instruct
    python benchmarks/full_runs.py nq_open_0shot --pretrained smollm2-135m-instruct
    python benchmarks/full_runs.py mmlu --summary        # micro/macro so far, wall time
    python benchmarks/full_runs.py simpleqa --pretrained smollm2-135m-instruct \
        --apply-chat-template --chunk 500                # the factuality probes (issue 5)

MMLU is run subject by subject (57 lm-eval tasks, model loaded once), so an interrupted run
loses at most the subject in progress. Output: <out>/<model>/<family>/<task>.json holding
lm-eval's results for that task plus the wall seconds it took.

With ``--chunk N`` a long task runs N documents at a time (lm-eval's ``samples=``): each chunk
stores its per-document metric values in ``<task>.part<k>.json``; when every chunk is done the
task's own aggregation functions turn the values of all chunks into ``<task>.json``, exactly as
one uninterrupted lm-eval run would (corpus-level metrics such as F1 or a Pearson correlation
are aggregated over all documents, never averaged over chunks). Each chunk is checked on the
spot: the stored values, aggregated alone, must reproduce lm-eval's figures for that chunk.
Each chunk's lm-eval samples (the answers and their grades) go to ``--samples-dir``, outside the
repository, for example as input to ``benchmarks/factuality_grader_agreement.py``.
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
    # issue 5's factuality probes, full size
    "truthfulqa": ["imitation_truthfulqa_mc1", "imitation_truthfulqa_mc2"],
    "nq_knowledge_choice": ["imitation_nq_knowledge_choice"],
    "nq_graded": ["imitation_nq_graded"],
    "simpleqa": ["imitation_simpleqa"],
    "style_profile": ["imitation_style_profile"],
}
AVERAGED = ("acc,none", "exact_match,none")


def summary(folder: Path) -> dict:
    rows = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
            if ".part" not in p.name]
    out: dict = {"tasks_done": len(rows), "wall_s": round(sum(r["wall_s"] for r in rows), 1)}
    if not rows:
        return out
    if len(rows) < 10 or not any(m in rows[0]["metrics"] for m in AVERAGED):
        out["tasks"] = {r["task"]: {"n": r["n"], **r["metrics"]} for r in rows}
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


def _numbers(results: dict) -> dict:
    """The metric values of an lm-eval result: numbers, and None for a metric that does not
    apply to the run (lm-eval's null)."""
    return {k: v for k, v in results.items()
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}


def _write_text(path: Path, text: str) -> None:
    """Write atomically (temp file + rename): a crash never leaves half a record."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write(path: Path, record: dict) -> None:
    _write_text(path, json.dumps(record, indent=2) + "\n")


def _plain(value):
    """Per-document metric values as JSON keeps them (tuples become lists)."""
    return json.loads(json.dumps(value))


def _write_samples(path: Path, samples: list[dict]) -> None:
    """One chunk's lm-eval samples (documents, answers, grades) as JSONL, outside the repo:
    they hold the shared data's questions, which are not copied into the repository."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text(path, "".join(json.dumps(sample, default=str, ensure_ascii=False) + "\n"
                              for sample in samples))


def _aggregate(task_obj, values: dict[str, list]) -> dict[str, float]:
    functions = task_obj.aggregation()
    out = {}
    for key, items in values.items():
        metric = key.split(",")[0]
        out[key] = functions[metric](items)
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b  # both None: a metric with no eligible documents
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def run_chunked(model, manager, task: str, folder: Path, args) -> dict:
    """Run ``task`` ``args.chunk`` documents at a time; see the module docstring."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import get_task_dict

    task_obj = get_task_dict([task], manager)[task]
    n_docs = len(task_obj.eval_docs)
    starts = range(0, n_docs, args.chunk)
    for k, begin in enumerate(starts):
        part = folder / f"{task}.part{k:03d}.json"
        if part.is_file():
            continue
        indices = list(range(begin, min(begin + args.chunk, n_docs)))
        start = time.perf_counter()
        results = simple_evaluate(model=model, tasks=[task], task_manager=manager,
                                  samples={task: indices}, log_samples=True,
                                  apply_chat_template=args.apply_chat_template,
                                  gen_kwargs=args.gen_kwargs)
        values: dict[str, list] = {}
        for sample in results["samples"][task]:
            for metric in sample["metrics"]:
                values.setdefault(f"{metric},{sample['filter']}", []).append(
                    _plain(sample[metric]))
        expected = {k2: v for k2, v in _numbers(results["results"][task]).items()
                    if k2 in values}
        again = _aggregate(task_obj, values)
        wrong = {k2: (v, again[k2]) for k2, v in expected.items() if not _same(v, again[k2])}
        if wrong:
            raise SystemExit(f"{task} chunk {k}: stored values do not reproduce lm-eval's "
                             f"figures {wrong}; not saved")
        if args.samples_dir:
            _write_samples(Path(args.samples_dir) / Path(args.pretrained).name / task
                           / f"samples_{task}.part{k:03d}.jsonl", results["samples"][task])
        _write(part, {"task": task, "chunk": k, "indices": [indices[0], indices[-1]],
                      "wall_s": round(time.perf_counter() - start, 1), "values": values})
        log.info("%s chunk %d/%d done (%s)", task, k + 1, len(starts), expected)
    parts = [json.loads((folder / f"{task}.part{k:03d}.json").read_text())
             for k in range(len(starts))]
    values = {}
    for part in parts:
        for key, items in part["values"].items():
            values.setdefault(key, []).extend(items)
    metrics = _aggregate(task_obj, values)
    return {"task": task, "wall_s": round(sum(p["wall_s"] for p in parts), 1), "n": n_docs,
            "chunks": len(parts), "metrics": metrics}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("--pretrained", default="smollm2-135m-instruct")
    parser.add_argument("--batch-size", default="8")
    parser.add_argument("--out", default=str(Path.home() / ".cache/imitation-suite/full-runs"))
    parser.add_argument("--summary", action="store_true", help="print what is done and stop")
    parser.add_argument("--apply-chat-template", action="store_true",
                        help="prompt through the model's chat template (instruction-tuned models)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="run each task N documents at a time, resumable per chunk")
    parser.add_argument("--samples-dir",
                        default=str(Path.home() / ".cache/imitation-suite/full-run-samples"),
                        help="with --chunk: each chunk's lm-eval samples (answers, grades) go "
                        "to DIR/<model>/<task>/samples_<task>.partNNN.jsonl ('' to skip); e.g. "
                        "for benchmarks/factuality_grader_agreement.py")
    parser.add_argument("--gen-kwargs", default=None,
                        help="lm-eval generation overrides, e.g. max_gen_toks=256 (recorded)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    folder = Path(args.out) / Path(args.pretrained).name / args.family
    folder.mkdir(parents=True, exist_ok=True)
    todo = [t for t in FAMILIES[args.family] if not (folder / f"{t}.json").is_file()]
    if args.summary or not todo:
        print(json.dumps(summary(folder) | {"tasks_left": len(todo)}, indent=2, default=str))
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
        if args.chunk:
            record = run_chunked(model, manager, task, folder, args)
        else:
            start = time.perf_counter()
            results = simple_evaluate(model=model, tasks=[task], task_manager=manager,
                                      log_samples=False,
                                      apply_chat_template=args.apply_chat_template,
                                      gen_kwargs=args.gen_kwargs)
            record = {"task": task, "wall_s": round(time.perf_counter() - start, 1),
                      "n": results["n-samples"][task]["effective"],
                      "metrics": _numbers(results["results"][task])}
        record.update({"pretrained": args.pretrained, "device": device,
                       "batch_size": args.batch_size, "cpu_count": os.cpu_count(),
                       "apply_chat_template": args.apply_chat_template,
                       "gen_kwargs": args.gen_kwargs})
        _write(folder / f"{task}.json", record)
        log.info("%s: %s in %.0f s", task, record["metrics"], record["wall_s"])
    print(json.dumps(summary(folder), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
