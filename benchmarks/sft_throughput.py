"""SFT throughput: imitation-train sft against TRL's SFTTrainer, same model, data, sequence
length and batch, in one run, with their loss curves side by side.

    python benchmarks/sft_throughput.py                       # small SmolLM2-shaped model, CPU
    python benchmarks/sft_throughput.py --hidden 576 --layers 30 --heads 9 --kv-heads 3 \
        --intermediate 1536 --examples 2000 --batch-size 16 --seq-len 2048 --bf16   # 135M, GPU
    python benchmarks/sft_throughput.py --hidden 2048 --layers 24 --heads 32 --kv-heads 32 \
        --intermediate 8192 --bf16 --gradient-checkpointing ...                    # 1.7B, GPU

The model is SmolLM2-shaped (Llama architecture, SmolLM2's tokenizer and chat template) and
initialised from a config with a fixed seed; both trainers start from the same saved weights.
Data: the Alpaca-GPT4 samples in the shared data (prompt -> completion, loss on the reply
only), the examples that fit in --seq-len under both tokenisations, one epoch.

Runs: TRL unpacked (padded batches), TRL packing "bfd" (padding-free, examples kept apart),
TRL packing "wrapped" (rows cut from the concatenated stream: examples attend to each other),
ours unpacked (length-grouped) and ours packed (examples kept apart). Throughput is real
(non-pad) tokens per second of the training loop; the ratios printed are ours-packed over each
TRL run. Loss curves: mean per-token loss by fraction of the epoch (ours unpacked vs TRL
unpacked, ours packed vs TRL bfd), which should agree to within noise: same init, data, lr
schedule and optimizer settings, different batch order.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="shared data folder (default: "
                   "$IMITATION_SUITE_DATA or ../shared/data)")
    p.add_argument("--tokenizer", default="smollm2-135m-instruct",
                   help="preset or folder whose tokenizer and chat template are used")
    p.add_argument("--examples", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--intermediate", type=int, default=768)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPU)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--attn", default="sdpa")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--runs", default="trl_unpacked,trl_bfd,trl_wrapped,ours_unpacked,ours_packed")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    return p.parse_args(argv)


def build_model(args, folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from harness_tasks.presets import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(args.tokenizer))
    config = LlamaConfig(vocab_size=len(tok), hidden_size=args.hidden,
                         intermediate_size=args.intermediate, num_hidden_layers=args.layers,
                         num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                         max_position_embeddings=max(2048, args.seq_len),
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, rope_theta=100000.0)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def load_data(args, model_dir: Path, folder: Path) -> tuple[Path, list[dict]]:
    """Alpaca rows that fit --seq-len, as our records (JSONL) and TRL prompt/completion rows."""
    import os

    from transformers import AutoTokenizer

    from imitation_train.chat_encoding import encode, prepare_format
    from imitation_train.chat_records import record_from_json

    data_dir = Path(args.data_dir or os.environ.get("IMITATION_SUITE_DATA")
                    or REPO.parent / "shared" / "data")
    rows = []
    for name in ("alpaca_en_demo.json", "alpaca_data_cleaned_1000.json"):
        rows += json.loads((data_dir / "imitation" / "alpaca_gpt4" / name).read_text())
    fmt, _ = prepare_format(AutoTokenizer.from_pretrained(model_dir), "auto")
    records, trl_rows = [], []
    for i, row in enumerate(rows):
        user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
        rec = {"id": f"a{i}", "source": "alpaca_gpt4", "teacher": "gpt-4",
               "messages": [{"role": "user", "content": user},
                            {"role": "assistant", "content": row["output"]}]}
        ex = encode(fmt, record_from_json(rec), args.seq_len - 8)  # room for TRL's extra "\n"
        if ex is None:
            continue
        records.append(rec)
        trl_rows.append({"prompt": rec["messages"][:1], "completion": rec["messages"][1:]})
        if len(records) == args.examples:
            break
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, trl_rows


def run_trl(args, model_dir: Path, rows: list[dict], mode: str, out: Path) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    times: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            times["start"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            times["end"] = time.perf_counter()

    packing = mode != "unpacked"
    cfg = SFTConfig(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, max_length=args.seq_len,
        packing=packing, packing_strategy=mode if packing else "bfd", num_train_epochs=1,
        learning_rate=args.lr, lr_scheduler_type="cosine", warmup_steps=1, adam_beta2=0.95,
        weight_decay=0.0, max_grad_norm=1.0, logging_steps=1, save_strategy="no",
        report_to="none", bf16=args.bf16, use_cpu=not torch.cuda.is_available(), seed=0,
        gradient_checkpointing=args.gradient_checkpointing, dataset_num_proc=None,
        model_init_kwargs=None, completion_only_loss=True, disable_tqdm=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation=args.attn,
                                                 dtype=torch.float32)
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(rows),
                         processing_class=AutoTokenizer.from_pretrained(model_dir),
                         callbacks=[Clock()])
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    seconds = times["end"] - times["start"]
    return {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
            "steps": trainer.state.global_step, "losses": losses}


def run_ours(args, model_dir: Path, data: Path, packing: bool, out: Path) -> dict:
    from imitation_train.train_config import SFTConfig
    from imitation_train.trainer import train

    cfg = SFTConfig(model=str(model_dir), data=str(data), output_dir=str(out),
                    max_seq_len=args.seq_len, packing=packing, batch_size=args.batch_size,
                    lr=args.lr, warmup_steps=1, precision="bf16" if args.bf16 else "fp32",
                    gradient_checkpointing=args.gradient_checkpointing,
                    attn_implementation=args.attn, log_every=10**9, resume="never", seed=0)
    result = train(cfg)
    row = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
    return {"tokens": result.tokens, "seconds": result.tokens / row["tokens_per_s"],
            "tokens_per_s": row["tokens_per_s"], "steps": result.steps, "losses": result.losses,
            "mfu": row.get("mfu")}


def curve(losses: list[float], points: int = 5) -> list[float]:
    """Mean loss in each of ``points`` equal slices of the epoch (by step)."""
    n = len(losses)
    out = []
    for k in range(points):
        part = losses[k * n // points:max((k + 1) * n // points, k * n // points + 1)]
        out.append(round(sum(part) / len(part), 4))
    return out


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="sft-bench-"))
    try:
        model_dir = build_model(args, work / "init")
        data, rows = load_data(args, model_dir, work)
        print(f"model: SmolLM2-shaped Llama, hidden {args.hidden}, {args.layers} layers, "
              f"vocab 49152; {len(rows)} Alpaca-GPT4 examples, seq len {args.seq_len}, batch "
              f"{args.batch_size}, device {'cuda' if torch.cuda.is_available() else 'cpu'} "
              f"({torch.get_num_threads()} threads)")
        results = {}
        for name in [r.strip() for r in args.runs.split(",") if r.strip()]:
            kind, mode = name.split("_", 1)
            if kind == "trl":
                results[name] = run_trl(args, model_dir, rows, mode, work / name)
            else:
                results[name] = run_ours(args, model_dir, data, mode == "packed", work / name)
            r = results[name]
            print(f"{name:14s} {r['tokens_per_s']:9.1f} tokens/s  {r['tokens']:7d} tokens  "
                  f"{r['seconds']:7.1f} s  {r['steps']:4d} steps  loss by fifth of the epoch "
                  f"{curve(r['losses'])}" + (f"  MFU {r['mfu']:.1%}" if r.get("mfu") else ""))
        if "ours_packed" in results:
            ours = results["ours_packed"]["tokens_per_s"]
            goals = {"trl_unpacked": 1.5, "trl_bfd": 2.0, "trl_wrapped": 1.0}
            for name, goal in goals.items():
                if name in results:
                    ratio = ours / results[name]["tokens_per_s"]
                    print(f"ours packed / {name}: {ratio:.2f}x (goal >= {goal}x: "
                          f"{'met' if ratio >= goal else 'NOT met'})")
        for a, b in (("ours_unpacked", "trl_unpacked"), ("ours_packed", "trl_bfd")):
            if a in results and b in results:
                ca, cb = curve(results[a]["losses"]), curve(results[b]["losses"])
                gap = max(abs(x - y) for x, y in zip(ca, cb))
                print(f"loss curves {a} vs {b}: max gap {gap:.3f} over the fifths {ca} / {cb}")
        if args.out:
            Path(args.out).write_text(json.dumps({"args": vars(args), "results": results},
                                                 indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
