"""What ``imitation-eval run`` costs over plain ``lm_eval --include_path`` on the same work.

    IMITATION_SUITE_DATA=../shared/data python benchmarks/suite_overhead.py --repeat 3

Both run as fresh processes, alternately, on the same tasks, documents (``--limit``), model
folder, batch size and prompts (``--chat-template never`` on our side: lm_eval's default is no
chat template), with an empty response cache each time (ours writes every response as it
comes, which is part of what is measured). The wall time of each process is taken whole:
imports, model load, requests, scoring, writing results. Prints the median of each side and
the ratio ours / lm_eval (the goal: <= 1.05), and writes a JSON record with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TASKS = "imitation_nq_open_0shot_lite,imitation_mmlu_lite,imitation_truthfulqa_mc2_lite"


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({out.returncode}):\n"
                         f"{out.stderr[-3000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--batch-size", default="64")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="write the record (JSON) here")
    args = parser.parse_args(argv)
    from harness_tasks import task_dir
    from harness_tasks.presets import resolve_model

    folder = resolve_model(args.model)
    bin_dir = Path(sys.executable).parent
    times: dict[str, list[float]] = {"imitation-eval": [], "lm_eval": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false",
                   "IMITATION_SUITE_CACHE": f"{tmp}/cache-{k}"}  # an empty response cache
            ours = [sys.executable, "-m", "harness_tasks", "run", "--pretrained", folder,
                    "--tasks", args.tasks, "--limit", str(args.limit), "--batch-size",
                    args.batch_size, "--chat-template", "never", "--device", "cpu",
                    "--output-dir", f"{tmp}/ours-{k}"]
            theirs = [str(bin_dir / "lm_eval"), "--model", "hf", "--model_args",
                      f"pretrained={folder}", "--tasks", args.tasks, "--include_path",
                      str(task_dir()), "--limit", str(args.limit), "--batch_size",
                      args.batch_size, "--device", "cpu", "--log_samples",
                      "--output_path", f"{tmp}/theirs-{k}"]
            pair = [("imitation-eval", ours), ("lm_eval", theirs)]
            for name, cmd in (pair if k % 2 == 0 else pair[::-1]):
                times[name].append(_timed(cmd, env))
                print(f"run {k + 1}/{args.repeat} {name}: {times[name][-1]:.1f} s", flush=True)
    ours_s, theirs_s = (statistics.median(times[n]) for n in ("imitation-eval", "lm_eval"))
    ratio = ours_s / theirs_s
    print(f"median: imitation-eval {ours_s:.1f} s, lm_eval {theirs_s:.1f} s; "
          f"ratio {ratio:.3f} (goal <= 1.05)")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "tasks": args.tasks, "limit": args.limit, "batch_size": args.batch_size,
            "model": args.model, "seconds": times, "median_ours": ours_s,
            "median_lm_eval": theirs_s, "ratio": ratio}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
