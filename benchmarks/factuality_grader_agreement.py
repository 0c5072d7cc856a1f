"""Agreement of the deterministic three-way grader with an LLM grader on a sample of answers.

    python benchmarks/factuality_grader_agreement.py SAMPLES.jsonl [...] --n 40
    python benchmarks/factuality_grader_agreement.py SAMPLES.jsonl --base-url URL --model gpt-4o

SAMPLES are ``samples_imitation_{simpleqa,nq_graded}[_lite].jsonl`` files written by
``imitation-eval run`` or, per chunk, by ``benchmarks/full_runs.py`` (its ``--samples-dir``:
``~/.cache/imitation-suite/full-run-samples/<model>/<task>/samples_<task>.partNNN.jsonl``), with
the answers and their deterministic grades. Without ``--base-url`` the
LLM grader is a STAND-IN: judges/testing_chat_server.py serving a local model folder
(default: the smollm2-135m-instruct preset) on 127.0.0.1, graded with the same factual prompt
(judges/prompts/factual.yaml) a GPT-4-class judge would get. A 135M model is not a competent
grader, so that figure shows the plumbing and a floor, not the agreement with a real judge.
Prints the agreement, Cohen's kappa and the confusion matrix (rows: deterministic).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from judges.jsonl import iter_jsonl  # noqa: E402

GRADES = ("correct", "incorrect", "not_attempted", "unscored")


def read_samples(paths: list[str] | list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for _, sample in iter_jsonl(path):
            record = sample["filtered_resps"][0]
            rows.append({"question": sample["doc"]["question"], "golds": sample["doc"]["answer"],
                         "answer": record["answer"], "det": record["deterministic_grade"]})
    return rows


def kappa(pairs: list[tuple[str, str]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(left[g] * right[g] for g in GRADES) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", nargs="+")
    parser.add_argument("--n", type=int, default=40, help="answers sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-url", default=None, help="a real judge endpoint (up to /v1)")
    parser.add_argument("--model", default="stand-in", help="judge model name")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--stand-in", default="smollm2-135m-instruct",
                        help="preset or folder served locally when no --base-url is given")
    args = parser.parse_args(argv)
    rows = read_samples(args.samples)
    rows = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    server = None
    base_url = args.base_url
    if base_url is None:
        from harness_tasks.presets import build_preset
        from judges.testing_chat_server import ChatModel, serve

        folder = (Path(args.stand_in) if Path(args.stand_in).is_dir()
                  else build_preset(args.stand_in))
        server, url = serve(ChatModel(folder))
        base_url = url.rsplit("/chat/completions", 1)[0]
        os.environ.setdefault(args.api_key_env, "local-no-auth")
    from judges.config import ClientConfig
    from judges.endpoint import JudgeEndpoint

    from harness_tasks.factuality.llm_grading import grade_with_llm

    endpoint = JudgeEndpoint(ClientConfig(base_url=base_url, model=args.model,
                                          api_key_env=args.api_key_env, concurrency=2,
                                          timeout=600.0), "pairwise", "pairwise@v1")
    graded = grade_with_llm([r["question"] for r in rows], [" / ".join(r["golds"]) for r in rows],
                            [r["answer"] for r in rows], endpoint)
    if server is not None:
        server.shutdown()
    pairs = [(r["det"], g["grade"]) for r, g in zip(rows, graded)]
    scored = [(a, b) for a, b in pairs if b != "unscored"]
    print(f"LLM grader: {args.model} at {base_url}"
          f"{' (STAND-IN small model, not a GPT-4-class judge)' if args.base_url is None else ''}")
    print(f"answers: {len(pairs)}, LLM-scored: {len(scored)}, unscored: {len(pairs) - len(scored)}")
    if scored:
        agree = sum(a == b for a, b in scored) / len(scored)
        print(f"agreement (scored): {agree:.3f}   Cohen's kappa: {kappa(scored):.3f}")
    confusion = Counter(pairs)
    print("deterministic \\ LLM".ljust(22) + "".join(g.rjust(15) for g in GRADES))
    for a in GRADES[:3]:
        print(a.ljust(22) + "".join(str(confusion[(a, b)]).rjust(15) for b in GRADES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
