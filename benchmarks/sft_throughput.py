"""SFT throughput: imitation-train sft against TRL's SFTTrainer, same model, data, sequence
length and batch, in one run, with MFU for every run and their loss curves side by side.

    python benchmarks/sft_throughput.py                       # small SmolLM2-shaped model, CPU
    python benchmarks/sft_throughput.py --hidden 576 --layers 30 --heads 9 --kv-heads 3 \
        --intermediate 1536 --examples 1200 --batch-size 16 --seq-len 2048 --bf16   # 135M, GPU
    python benchmarks/sft_throughput.py --hidden 2048 --layers 24 --heads 32 --kv-heads 32 \
        --intermediate 8192 --examples 2000 --batch-size 8 --seq-len 2048 --bf16    # 1.7B, GPU
    ... --attention imitation_varlen,imitation_torch_varlen,imitation_flex  # one run per path
    ... --profile-steps 3            # where a step of ours goes, instead of the comparison

(docs/measurements/sft-throughput/README.md has the exact GPU commands.) The model is
SmolLM2-shaped (Llama architecture, SmolLM2's tokenizer and chat template) and initialised
from a config with a fixed seed; both trainers start from the same saved weights. Data: the
Alpaca-GPT4 samples in the shared data (prompt -> completion, loss on the reply only), the
examples that fit in --seq-len under both tokenisations, one epoch.

Runs: TRL unpacked (padded batches), TRL packing "bfd" (padding-free, examples kept apart),
TRL packing "wrapped" (rows cut from the concatenated stream: examples attend to each other),
ours unpacked (length-grouped) and ours packed (examples kept apart), once per --attention
path. Throughput is real (non-pad) tokens per second of the training loop; MFU is tokens/s x
the model's training FLOPs per token (imitation_train.model_setup.flops_per_token, the same
formula for every run) over the device peak (from the GPU name, or --peak-tflops); the ratios
printed are each ours-packed run over each TRL run. Loss curves: mean per-token loss by
fraction of the epoch (ours unpacked vs TRL unpacked, ours packed vs TRL bfd), which should
agree to within noise: same init, data, lr schedule and optimizer settings, different batch
order (--seed changes ours' order, to measure that noise).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import textwrap
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
    p.add_argument("--seed", type=int, default=0,
                   help="ours: seed of the batch order (another seed measures the noise)")
    p.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPU)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--attn", default="sdpa", help="attention of TRL's runs and ours unpacked")
    p.add_argument("--attention", default="auto",
                   help="attention path(s) of ours packed, comma-separated, one run each: auto, "
                   "imitation_varlen, imitation_flex, imitation_torch_varlen, "
                   "flash_attention_2 (see imitation_train/attention.py)")
    p.add_argument("--loss-chunk", type=int, default=4096,
                   help="ours: supervised tokens per head + loss chunk (0: full logits)")
    p.add_argument("--compile-layers", action="store_true",
                   help="ours: torch.compile each decoder layer")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="device peak TFLOP/s for MFU (default: from the GPU name; none on CPU)")
    p.add_argument("--plot", default=None, help="write the loss curves as a PNG here")
    p.add_argument("--profile-steps", type=int, default=0,
                   help="instead of the comparison: profile N optimizer steps of ours packed "
                   "(first --attention path; torch.profiler, CPU and CUDA) and print where "
                   "the time goes")
    p.add_argument("--save-init", default=None,
                   help="write the random-init model (DIR/init) and the training records "
                   "(DIR/train.jsonl) and stop (e.g. for an accelerate launch run)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--runs", default="trl_unpacked,trl_bfd,trl_wrapped,ours_unpacked,ours_packed",
                   help="runs in order; ours_packed runs once per --attention path")
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


def run_ours(args, model_dir: Path, data: Path, attention: str | None, out: Path,
             max_steps: int | None = None) -> dict:
    """Ours packed with ``attention``, or unpacked (``attention`` None, --attn)."""
    from imitation_train.train_config import SFTConfig
    from imitation_train.trainer import train

    cfg = SFTConfig(model=str(model_dir), data=str(data), output_dir=str(out),
                    max_seq_len=args.seq_len, packing=attention is not None,
                    batch_size=args.batch_size, lr=args.lr, warmup_steps=1,
                    precision="bf16" if args.bf16 else "fp32",
                    gradient_checkpointing=args.gradient_checkpointing,
                    attn_implementation=attention or args.attn, loss_chunk=args.loss_chunk,
                    compile_layers=args.compile_layers, log_every=10**9, resume="never",
                    seed=args.seed, max_steps=max_steps)
    result = train(cfg)
    row = json.loads((out / "train_log.jsonl").read_text().splitlines()[-1])
    return {"tokens": result.tokens, "seconds": result.tokens / row["tokens_per_s"],
            "tokens_per_s": row["tokens_per_s"], "steps": result.steps, "losses": result.losses}


def profile_ours(args, model_dir: Path, data: Path, out: Path) -> None:
    """Profile --profile-steps optimizer steps of ours packed (after one warm-up step):
    the top operators by device time (CPU time on CPU), and a Chrome trace when --out."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    attention = args.attention.split(",")[0].strip()
    run_ours(args, model_dir, data, attention, out / "warm", max_steps=1)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if torch.cuda.is_available() else [])
    with profile(activities=activities, record_shapes=False) as prof:
        run_ours(args, model_dir, data, attention, out / "profiled",
                 max_steps=args.profile_steps)
    key = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    print(f"profile of {args.profile_steps} steps, ours packed [{attention}] "
          f"(includes loading the model and data):")
    print(prof.key_averages().table(sort_by=key, row_limit=30))
    if args.out:
        prof.export_chrome_trace(str(Path(args.out).with_suffix(".trace.json")))


def curve(losses: list[float], points: int = 5) -> list[float]:
    """Mean loss in each of ``points`` equal slices of the epoch (by step)."""
    n = len(losses)
    out = []
    for k in range(points):
        part = losses[k * n // points:max((k + 1) * n // points, k * n // points + 1)]
        out.append(round(sum(part) / len(part), 4))
    return out


def run_names(args) -> list[tuple[str, str, str | None]]:
    """(name, kind, mode or attention) of every run, in order."""
    paths = [a.strip() for a in args.attention.split(",") if a.strip()]
    out = []
    for name in [r.strip() for r in args.runs.split(",") if r.strip()]:
        kind, mode = name.split("_", 1)
        if name == "ours_packed":
            out += [(name if len(paths) == 1 else f"{name}[{a}]", "ours", a) for a in paths]
        elif kind == "ours":
            out.append((name, "ours", None))
        else:
            out.append((name, "trl", mode))
    return out


def mfu_text(result: dict) -> str:
    mfu = result.get("mfu")
    return f"MFU {mfu:6.1%}" if mfu is not None else "MFU n/a (no peak: --peak-tflops)"


def report(results: dict, fpt: float, peak: float | None) -> None:
    """MFU for every run, then each ours-packed run over each TRL run, then the loss curves."""
    for r in results.values():
        r["flops_per_token"] = fpt
        r["mfu"] = r["tokens_per_s"] * fpt / (peak * 1e12) if peak else None
    ours = [n for n in results if n.startswith("ours_packed")]
    trl = [n for n in results if n.startswith("trl")]
    for a in ours:
        for b in trl:
            ratio = results[a]["tokens_per_s"] / results[b]["tokens_per_s"]
            print(f"{a} / {b}: {ratio:.2f}x tokens/s ({mfu_text(results[a])} vs "
                  f"{mfu_text(results[b])})")
    pairs = [("ours_unpacked", "trl_unpacked")] + [(a, "trl_bfd") for a in ours]
    for a, b in pairs:
        if a in results and b in results:
            ca, cb = curve(results[a]["losses"]), curve(results[b]["losses"])
            gap = max(abs(x - y) for x, y in zip(ca, cb))
            print(f"loss curves {a} vs {b}: max gap {gap:.3f} over the fifths {ca} / {cb}")


def plot(results: dict, path: str, title: str) -> None:
    """Loss per optimizer step against the fraction of the epoch, one line per run."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    for name, r in results.items():
        n = len(r["losses"])
        ax.plot([(i + 1) / n for i in range(n)], r["losses"], marker=".", label=name)
    ax.set_xlabel("fraction of the epoch")
    ax.set_ylabel("mean token loss of the step")
    ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    import torch
    from transformers import AutoModelForCausalLM

    from imitation_train.model_setup import flops_per_token, peak_tflops

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    peak = peak_tflops(args.peak_tflops)
    work = Path(tempfile.mkdtemp(prefix="sft-bench-"))
    try:
        model_dir = build_model(args, work / "init")
        fpt = flops_per_token(AutoModelForCausalLM.from_pretrained(model_dir), args.seq_len)
        data, rows = load_data(args, model_dir, work)
        if args.save_init:
            shutil.copytree(model_dir, Path(args.save_init) / "init", dirs_exist_ok=True)
            shutil.copy(data, Path(args.save_init) / "train.jsonl")
            print(f"wrote {args.save_init}/init and {args.save_init}/train.jsonl")
            return 0
        if args.profile_steps:
            profile_ours(args, model_dir, data, work)
            return 0
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
        title = (f"SmolLM2-shaped Llama, hidden {args.hidden}, {args.layers} layers, vocab "
                 f"49152; {len(rows)} Alpaca-GPT4 examples, seq len {args.seq_len}, batch "
                 f"{args.batch_size}, {device} ({torch.get_num_threads()} threads)")
        print(f"model: {title}; {fpt / 1e9:.3f} GFLOP/token; peak "
              f"{f'{peak:.0f} TFLOP/s' if peak else 'unknown (MFU n/a)'}")
        results = {}
        for name, kind, mode in run_names(args):
            if kind == "trl":
                results[name] = run_trl(args, model_dir, rows, mode, work / name)
            else:
                results[name] = run_ours(args, model_dir, data, mode, work / name)
            r = results[name]
            r["mfu"] = r["tokens_per_s"] * fpt / (peak * 1e12) if peak else None
            print(f"{name:30s} {r['tokens_per_s']:9.1f} tokens/s  {mfu_text(r)}  "
                  f"{r['tokens']:7d} tokens  {r['seconds']:7.1f} s  {r['steps']:4d} steps  "
                  f"loss by fifth of the epoch {curve(r['losses'])}", flush=True)
        report(results, fpt, peak)
        if args.plot:
            plot(results, args.plot, title)
        if args.out:
            Path(args.out).write_text(json.dumps({"args": vars(args), "peak_tflops": peak,
                                                  "results": results}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
