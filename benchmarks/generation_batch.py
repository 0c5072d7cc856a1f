"""Greedy generation throughput by batch size on this machine (for ``full_runs.py --batch-size``).

    python benchmarks/generation_batch.py --model gemma3-270m --batch-sizes 8,16,32,64,128

Loads the model once (a preset, a local folder or a Hub id), generates ``--new-tokens`` tokens
for each of ``batch`` short instruction prompts (left-padded, as lm-eval batches them) and
prints tokens per second for each batch size and the ratio to the first one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--batch-sizes", default="8,16,32,64,128")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args(argv)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_tasks.presets import resolve_model

    if args.threads:
        torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    sizes = [int(x) for x in args.batch_sizes.split(",")]
    prompts = [f"Explain topic number {i} of basic science and give two examples."
               for i in range(max(sizes))]
    first = None
    for size in sizes:
        batch = tokenizer(prompts[:size], return_tensors="pt", padding=True)
        start = time.perf_counter()
        with torch.no_grad():
            model.generate(**batch, max_new_tokens=args.new_tokens,
                           min_new_tokens=args.new_tokens, do_sample=False)
        rate = size * args.new_tokens / (time.perf_counter() - start)
        first = first or rate
        print(f"{args.model} batch {size:4d}: {rate:7.1f} tokens/s  ({rate / first:.2f}x batch "
              f"{sizes[0]}), torch threads {torch.get_num_threads()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
